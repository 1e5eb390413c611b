"""Retroactive matching in batches finds what matching every stored media one by one finds: the same
decisions, in the same order, and so the same sightings; its filter keeps exactly the matcher's radii."""

from __future__ import annotations

import dataclasses
import io
import random
import shutil
import sqlite3

import faiss
import numpy as np
import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import ContentKind, Matcher, MediaHashes, Signal, VideoLimits, hash_file, hash_media
from matcher.hashers.vpdq import VpdqFrame, frames_from_text, frames_to_text
from matcher.local import LocalFeatures
from simsites.corpus import distractors, encode, generated_image, sample_image
from simsites.transforms import IMAGE_EDITS, collage
from simsites.videos import VIDEO_EDITS, camera_move, decode_all, slideshow, video_bytes
from tests.test_tracker_store_contract import observation
from tracker import Tracker, open_store
from tracker.retroactive import RetroactiveFilter, earlier_matches
from tracker.store import MediaCodes, media_codes
from tracker.stores.sqlite_schema import MIGRATIONS, SCHEMA

OPTIONS = dataclasses.replace(
    default_hash_options(),
    video=VideoLimits(max_bytes=50 * 1024**2, max_seconds=60, max_frames=7200, max_pixels=50_000_000, max_decoded_pixels=10**12),
)
PICTURES = ("rocket", "chelsea")
EDITS = ("jpeg q30", "resize 0.3x", "mirror", "crop 20%", "rotate 10", "screenshot", "pad 30%")
SYNTHETIC = 2000
SIZE, FPS = (240, 180), 8


def flipped(value: str, bits: int) -> str:
    """``value`` (hex) at Hamming distance ``bits`` from itself."""
    return f"{int(value, 16) ^ ((1 << bits) - 1):0{len(value)}x}"


def saved(path, data: bytes):
    path.write_bytes(data)
    return path


def chunks(text: str, width: int) -> list[str]:
    return sorted(text[i : i + width] for i in range(0, len(text), width))


def random_hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def picture(sha: str, signals: list[Signal]) -> MediaHashes:
    return MediaHashes(sha, "m" * 32, 1000, ContentKind.IMAGE, 640, 480, tuple(signals))


def video(sha: str, frames: list[str]) -> MediaHashes:
    text = frames_to_text(VpdqFrame(n, 90, pdq, n * 0.5) for n, pdq in enumerate(frames))
    return MediaHashes(sha, "m" * 32, 1000, ContentKind.VIDEO, 320, 240, (Signal("vpdq", text, 1, 90),), duration=len(frames) / 2)


@pytest.fixture(scope="module", autouse=True)
def one_faiss_thread():
    """FAISS's OpenMP threads spin while they wait: on a busy two-core runner a search of one picture's
    keypoints takes several times longer on two threads than on one. Results are the same either way."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A store of real copies (edits, crops, rotations, a screenshot, a collage, videos), near misses at
    every radius the matcher uses, and a few thousand unrelated media; the new case's references."""
    folder = tmp_path_factory.mktemp("retroactive")
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    tracker = Tracker(store, default_match_policy())
    references = [hash_media(encode(sample_image(name), "PNG"), OPTIONS, reference=True) for name in PICTURES]
    clip = list(camera_move(sample_image("coffee"), 4.0, FPS, SIZE, seed=3))
    references.append(hash_file(saved(folder / "reference.mp4", video_bytes(clip, FPS)), OPTIONS, reference=True))

    pictures: list[bytes] = [IMAGE_EDITS[edit].bytes_of(sample_image(name), seed=5) for name in PICTURES for edit in EDITS]
    pictures.append(encode(collage(sample_image("rocket"), random.Random(1), [generated_image(s) for s in range(3)])))
    pictures.append(encode(Image.fromarray(clip[len(clip) // 2])))  # a still of the reference video
    pictures += [encode(image) for _, image in distractors(6)]
    frames, fps = decode_all(io.BytesIO(video_bytes(clip, FPS)))
    videos = []
    for edit in (VIDEO_EDITS[0], VIDEO_EDITS[3], VIDEO_EDITS[7]):  # re-encoded, mirrored, trimmed to 20%
        edited, rate = edit.apply(frames, fps)
        videos.append(video_bytes(edited, rate, crf=edit.crf))
    shown = np.asarray(sample_image("chelsea").resize(SIZE))  # the picture reference, shown for 2 s
    videos.append(video_bytes([*camera_move(generated_image(9), 2.0, FPS, SIZE), *[shown] * 2 * FPS], FPS))
    videos.append(video_bytes(slideshow([generated_image(7), generated_image(8)], 2.0, FPS, SIZE), FPS))
    stored = [hash_media(data, OPTIONS) for data in pictures]
    stored += [hash_file(saved(folder / f"copy-{n}.mp4", data), OPTIONS) for n, data in enumerate(videos)]

    rng = random.Random(13)
    pdq = references[0].signals[0].value
    region = next(s.value for s in references[1].signals if s.variant.startswith("region"))
    phash = next(s.value for s in references[0].signals if s.kind == "phash")
    frame = frames_from_text(next(s.value for s in references[2].signals if s.kind == "vpdq")).pop().pdq
    keypoints = next(s for s in stored[len(PICTURES) * len(EDITS)].signals if s.kind == "orb")  # the collage's
    noise = [next(s for s in m.signals if s.kind == "orb") for m in stored[-9:-5]]  # the unrelated pictures'

    near = [picture(f"{d:02x}" * 32, [Signal("pdq", flipped(pdq, d), 1, 90)]) for d in (31, 32, 48, 49)]
    near += [picture(f"1{d:02x}".ljust(64, "1"), [Signal("pdq", flipped(region, d), 1, 90)]) for d in (31, 32, 48, 49)]
    near.append(picture("2" * 64, [Signal("pdq", flipped(pdq, 3), 1, 20)]))  # close, but of too low a quality
    near += [picture(f"3{d:02x}".ljust(64, "3"), [Signal("pdq", random_hex(rng, 256), 1, 90), Signal("phash", flipped(phash, d))])
             for d in (8, 9)]  # fmt: skip
    near += [video(f"4{d:02x}".ljust(64, "4"), [flipped(frame, d)] * 8) for d in (30, 40, 41, 49)]
    near.append(picture("5" * 64, [Signal("pdq", random_hex(rng, 256), 1, 90), keypoints]))  # found by keypoints alone
    unrelated = [
        picture(random_hex(rng, 256), [Signal("pdq", random_hex(rng, 256), 1, 90), Signal("phash", random_hex(rng, 64)),
                                       Signal("dhash", random_hex(rng, 64)), *([noise[n % 4]] if n % 150 == 0 else [])])
        for n in range(SYNTHETIC)
    ]  # fmt: skip
    for n, media in enumerate([*stored, *near, *unrelated]):
        tracker.record_media(media)
        if n < len(stored) + len(near):
            site = f"site{n % 3}.example"
            store.append_observation(observation(sha256=media.sha256, page_url=f"http://{site}/p/{n}", site=site,
                                                 media_url=f"http://{site}/m/{n}.jpg"))  # fmt: skip
            store.append_observation(observation(sha256=media.sha256, page_url=f"http://mirror.example/t/{n}",
                                                 site="mirror", media_url=f"http://mirror.example/m/{n}.jpg",
                                                 observed_at="2026-03-04T00:00:00Z"))  # fmt: skip
    store.ensure_case("new")
    added = [tracker.add_reference("new", hashes, f"{n}") for n, hashes in enumerate(references)]
    store.close()
    return folder / "store.db", added


def one_by_one(store, policy, references):
    """Retroactive matching as it was: every stored media through a matcher of the new references."""
    matcher = Matcher(policy, ((ref.id, ref.signals) for ref in references))
    return [(sha256, decisions) for sha256, signals in store.iter_media_signals() if (decisions := matcher.match(signals))]


@pytest.fixture
def copy_of_world(world, tmp_path):
    path, references = world
    shutil.copy(path, tmp_path / "store.db")
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store, references
    store.close()


def test_batched_matching_decides_as_matching_one_by_one(copy_of_world, policy):
    store, references = copy_of_world
    expected = one_by_one(store, policy, references)
    assert list(earlier_matches(store, policy, references)) == expected
    decided = {(d.decided_by, str(d.verdict)) for _, decisions in expected for d in decisions}
    assert {"pdq", "orb", "vpdq+align", "vpdq-frame", "pdq-frames"} <= {by for by, _ in decided}, decided  # every route took part
    assert any(d.reference_id != references[0].id for _, ds in expected for d in ds)


def test_a_new_case_gets_the_sightings_matching_one_by_one_gives(copy_of_world, policy):
    store, references = copy_of_world
    expected = {
        (d.reference_id, o.page_url, o.media_url, d.verdict, d.decided_by, d.distance)
        for sha256, decisions in one_by_one(store, policy, references)
        for o in store.observations_of(sha256) if o.shows and o.error is None
        for d in decisions
    }  # fmt: skip
    progress: list[tuple[int, int]] = []
    found = Tracker(store, policy).match_history(references, lambda done, total: progress.append((done, total)))
    assert {(s.reference_id, s.page_url, s.media_url, s.verdict, s.decided_by, s.distance) for s in found} == expected
    assert len(found) == len(expected) > 40
    media = store.media_count()
    assert (media, media) in progress  # every stored media compared, then the candidates judged:
    assert progress[-1][0] == progress[-1][1] > media and [d for d, _ in progress] == sorted({d for d, _ in progress})


def test_the_filter_keeps_the_matchers_radii_and_takes_keypoints_only_for_references_with_some(world, policy):
    _, references = world
    pdq = next(s.value for s in references[0].signals if s.kind == "pdq")
    phash = next(s.value for s in references[0].signals if s.kind == "phash")
    frame = frames_from_text(next(s.value for s in references[2].signals if s.kind == "vpdq"))[0].pdq
    radius = max(policy.pdq_max_distance, policy.pdq_corroborated_max_distance, policy.video_frame_max_distance)
    batch = [
        MediaCodes(1, flipped(pdq, radius), "", 0), MediaCodes(2, flipped(pdq, radius + 1), "", 0),
        MediaCodes(3, "", flipped(phash, policy.phash_max_distance), 0),
        MediaCodes(4, "", flipped(phash, policy.phash_max_distance + 1), 0),
        MediaCodes(5, random_hex(random.Random(1), 256) + flipped(frame, radius), "", 0),
        MediaCodes(6, "", "", 1), MediaCodes(7, "", "", 0),
    ]  # fmt: skip
    assert RetroactiveFilter(policy, references).candidates(batch).tolist() == [1, 3, 5, 6]
    hash_only = [dataclasses.replace(references[0], signals=(Signal("pdq", pdq, 1, 90),))]
    assert RetroactiveFilter(policy, hash_only).candidates(batch).tolist() == [1]
    no_keypoints = [dataclasses.replace(references[0], signals=(Signal("orb", LocalFeatures(1, 1, np.zeros((0, 2), np.float32),
                                                                np.zeros((0, 32), np.uint8)).to_text()),))]  # fmt: skip
    assert RetroactiveFilter(policy, no_keypoints).empty  # the matcher indexes no empty keypoint set


def test_a_periodic_reference_takes_up_the_stored_media_with_a_spectrum_signature(world, policy):
    """A spectrum signature is compared one by one, as keypoints are: a reference with only that takes up
    every stored media flagged for it, and a media with a signature (and no keypoints) is flagged."""
    _, references = world
    stripes = Image.fromarray(np.tile(np.array([[40], [40], [200], [200]], np.uint8), (120, 480)))
    (signal,) = [s for s in hash_media(encode(stripes.convert("RGB"), "PNG"), OPTIONS, reference=True).signals if s.kind == "spectrum"]
    periodic = [dataclasses.replace(references[0], signals=(signal,))]
    assert not RetroactiveFilter(policy, periodic).empty
    batch = [MediaCodes(1, "", "", 0), MediaCodes(2, "", "", media_codes([signal])[2])]
    assert RetroactiveFilter(policy, periodic).candidates(batch).tolist() == [2]


def test_stores_of_schema_5_get_the_codes_put_media_writes(world, tmp_path):
    path, _ = world
    source = open_store(f"sqlite:///{path}")
    media = [(sha256, signals) for sha256, signals in source.iter_media_signals()]
    source.close()
    old = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    old.executescript(f"BEGIN; {SCHEMA}; PRAGMA user_version = 1; COMMIT;")
    for step, script in enumerate(MIGRATIONS[:4], start=2):
        old.executescript(f"BEGIN; {script}; PRAGMA user_version = {step}; COMMIT;")
    old.execute("BEGIN")
    for sha256, signals in media:
        old.execute("INSERT INTO media (sha256, size, hashed_at) VALUES (?, 1, 'now')", (sha256,))
        old.executemany("INSERT INTO media_signals (sha256, kind, version, value, quality, variant) VALUES (?, ?, ?, ?, ?, ?)",
                        [(sha256, s.kind, s.version, s.value, s.quality, s.variant) for s in signals])  # fmt: skip
    old.execute("INSERT INTO media (sha256, size, hashed_at, error) VALUES (?, 0, 'now', 'empty file')", ("e" * 64,))
    old.execute("COMMIT")
    old.close()
    migrated = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        streamed = [m for batch in migrated.iter_media_codes(1000) for m in batch]
        # Inserted in SHA-256 order: numbered in it too, so the n-th streamed is the n-th media.
        assert list(migrated.media_sha256(m.number for m in streamed)) == [sha256 for sha256, _ in media]
        # The order of hashes within a media's codes is SQL's to choose, and nobody's concern.
        assert [(chunks(m.pdq, 64), chunks(m.phash, 16), m.keypoints) for m in streamed] == [
            (chunks(pdq, 64), chunks(phash, 16), keypoints) for pdq, phash, keypoints in (media_codes(s) for _, s in media)
        ]
    finally:
        migrated.close()
