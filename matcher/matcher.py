"""Reference signals -> indexes -> decisions for one piece of media. Knows nothing of cases or URLs.

Each kind of signal is a signal matcher (`matcher.matchers`): it keeps its own index and says which
references a query proposes and how a query compares with one reference. The matcher only runs the
routes below over the registry; the rules that turn comparisons into a verdict are `matcher.policy`'s
and `matcher.video.matching`'s.

Two routes to a picture's candidate, one verdict policy:

1. Global hashes: every PDQ the media has (trimmed, untrimmed) against every PDQ of every reference (all
   orientations and sub-regions), pHash beside it. PDQ <= 31 is a match at once.
2. Local features, when route 1 found no match: ORB keypoints vote for references, and the geometric
   check (RANSAC) decides. This finds crops, rotations, screenshots and collages.
3. Spectrum signatures, when neither found a match: a periodic picture (stripes, checks, a fabric) whose
   hashes flip with every re-encoding and whose keypoints all look alike (`matcher.spectrum`).

Gray-zone candidates from route 1 go through the same geometric check: confirmed, they match; not
confirmed, they come back as "needs review".

Video (a ``vpdq`` signal) goes its own way: its frames are looked up in the index of reference frames,
and each reference they hit is aligned in time. Frames also meet picture references (a slideshow, a
compilation of stills), and a picture meets video frames (a thumbnail, a still).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from matcher.collage import split_tiles
from matcher.matchers import Query, signal_matchers
from matcher.policy import MatchDecision, MatchPolicy, Verdict, confirm, decide_global, decide_local, decide_spectrum
from matcher.signal import Signal
from matcher.video.matching import QueryFrames, decide_frame_of_video, decide_picture_in_video, decide_video


class Matcher:
    """Matches media signals against reference signals, both given as `Signal`s.

    References are opaque integer ids to the matcher; the tracker maps them to cases. A signal of a kind
    no signal matcher knows is kept by nobody (a reference of only such signals still counts in ``len``).
    """

    def __init__(self, policy: MatchPolicy, references: Iterable[tuple[int, Sequence[Signal]]] = ()) -> None:
        self.policy = policy
        self._signal_matchers = signal_matchers(policy)
        self._by_kind = {signal_matcher.kind: signal_matcher for signal_matcher in self._signal_matchers}
        self._references: set[int] = set()
        for reference_id, signals in references:
            self.add_reference(reference_id, signals)

    def __len__(self) -> int:
        return len(self._references)

    def add_reference(self, reference_id: int, signals: Sequence[Signal]) -> None:
        for signal in signals:
            self._references.add(reference_id)
            if (signal_matcher := self._by_kind.get(signal.kind)) is not None:
                signal_matcher.add(reference_id, signal)

    def remove_reference(self, reference_id: int) -> None:
        """Forget a reference (withdrawn by the case): its hashes are marked dead in the indexes."""
        for signal_matcher in self._signal_matchers:
            signal_matcher.remove(reference_id)
        self._references.discard(reference_id)

    def match(self, signals: Sequence[Signal]) -> list[MatchDecision]:
        """Every reference the media matches or may match, surest first."""
        own, tiles = split_tiles(signals)
        query = Query(own)
        video = self._signal_matchers.frames.frames(query)
        decisions = self._match_video(query, video) if video is not None else self._match_picture(query)
        if tiles and not any(d.verdict is Verdict.MATCH for d in decisions):
            decisions = self._match_tiles(decisions, tiles)
        return sorted(decisions, key=lambda d: (d.verdict is not Verdict.MATCH, -d.confidence, d.reference_id))

    def _match_tiles(self, decisions: list[MatchDecision], tiles: list[list[Signal]]) -> list[MatchDecision]:
        """A collage's tiles, each matched as a picture of its own (`matcher.collage`); per reference the
        surest decision, of the whole or of a tile."""
        best = {d.reference_id: d for d in decisions}
        for tile in tiles:
            for decision in self._match_picture(Query(tile)):
                known = best.get(decision.reference_id)
                if known is None or _surer(decision, known):
                    best[decision.reference_id] = replace(decision, decided_by=f"{decision.decided_by} (a collage's tile)")
        return list(best.values())

    # -- pictures ---------------------------------------------------------------------------------

    def _match_picture(self, query: Query) -> list[MatchDecision]:
        # Keypoints are read first: a malformed orb signal fails the match whichever routes run.
        checkable = self._signal_matchers.keypoints.features(query) is not None
        decisions = self._decide_global(query, checkable)
        if checkable and not any(d.verdict is Verdict.MATCH for d in decisions.values()):
            self._decide_local(query, decisions)
        if not any(d.verdict is Verdict.MATCH for d in decisions.values()):
            self._decide_spectrum(query, decisions)
        for decision in self._frames_of_videos(query):
            decisions.setdefault(decision.reference_id, decision)
        return list(decisions.values())

    def _decide_global(self, query: Query, checkable: bool) -> dict[int, MatchDecision]:
        """Route 1: candidates of every indexed picture hash, decided on every picture hash's comparison."""
        hashes, keypoints = self._signal_matchers.pictures, self._signal_matchers.keypoints
        candidates: set[int] = set()
        for signal_matcher in hashes:
            candidates.update(signal_matcher.candidates(query))
        decisions: dict[int, MatchDecision] = {}
        for reference_id in candidates:
            decision = decide_global(self.policy, reference_id, [h.compare(query, reference_id) for h in hashes])
            if decision is None:
                continue
            if decision.verdict is Verdict.NEEDS_REVIEW and checkable:
                if (check := keypoints.verify(query, reference_id)) is not None:
                    decision = confirm(self.policy, decision, check)
            decisions[reference_id] = decision
        return decisions

    def _decide_local(self, query: Query, decisions: dict[int, MatchDecision]) -> None:
        """Route 2: the references the keypoints vote for, decided by the geometric check."""
        hashes, keypoints = self._signal_matchers.pictures, self._signal_matchers.keypoints
        for reference_id in keypoints.candidates(query):
            if reference_id in decisions:
                continue  # a gray-zone candidate: its geometric check has run already
            check = keypoints.verify(query, reference_id)
            if check is None:
                continue
            agreements = [h.compare(query, reference_id) for h in hashes]
            if (decision := decide_local(self.policy, reference_id, agreements, check)) is not None:
                decisions[reference_id] = decision

    def _decide_spectrum(self, query: Query, decisions: dict[int, MatchDecision]) -> None:
        """Route 3: the references whose spectrum signature the query's agrees with."""
        spectrum, hashes = self._signal_matchers.spectrum, self._signal_matchers.pictures
        for reference_id in spectrum.candidates(query):
            agreements = [h.compare(query, reference_id) for h in hashes]
            decisions[reference_id] = decide_spectrum(reference_id, agreements, spectrum.compare(query, reference_id))

    def _frames_of_videos(self, query: Query) -> list[MatchDecision]:
        """A picture that is a frame of a reference video (a tube site's thumbnail, a screenshot)."""
        rows = self._signal_matchers.pdq.usable_rows(query)
        return [
            decide_frame_of_video(self.policy, reference_id, at, distance, variant)
            for reference_id, (at, distance, variant) in self._signal_matchers.frames.frame_of(rows).items()
        ]

    # -- video ------------------------------------------------------------------------------------

    def _match_video(self, query: Query, video: QueryFrames) -> list[MatchDecision]:
        """A video copy against video references (aligned in time) and picture references (its frames).

        Candidates come from the frames alone: a video decision is about the stretches that line up, and
        only frames line up. Every video signal is compared with each of them.
        """
        frames, videos = self._signal_matchers.frames, self._signal_matchers.videos
        alignments = frames.alignments(query)
        decisions = [
            decide_video(self.policy, reference_id, alignments[reference_id][1], video,
                         [v.compare(query, reference_id) for v in videos])  # fmt: skip
            for reference_id in frames.candidates(query)
        ]
        return decisions + self._pictures_in_video(video)

    def _pictures_in_video(self, video: QueryFrames) -> list[MatchDecision]:
        """Picture references shown in the video: at least ``video_min_frames`` frames within PDQ's threshold."""
        shown = self._signal_matchers.pdq.shown_in(video).items()
        decisions = (decide_picture_in_video(self.policy, reference_id, frames, video) for reference_id, frames in shown)
        return [decision for decision in decisions if decision is not None]


def _surer(a: MatchDecision, b: MatchDecision) -> bool:
    return (a.verdict is Verdict.MATCH, a.confidence) > (b.verdict is Verdict.MATCH, b.confidence)
