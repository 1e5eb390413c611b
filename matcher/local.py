"""Local features (OpenCV ORB) and their geometric check: the evidence for crops, rotations, screenshots
and collages, where a global hash of the whole picture no longer resembles the reference's.

A match here is a set of keypoints whose positions agree with one similarity transform (rotation, uniform
scale, translation) found by RANSAC. Unrelated pictures share descriptors by chance but not geometry.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import cv2
import faiss
import numpy as np
from PIL import Image, ImageOps

from matcher.errors import InvalidSignal
from matcher.signal import Signal

if TYPE_CHECKING:
    from matcher.picture import Picture

# The picture is shrunk to this longest side first: ORB's own pyramid handles the rest of the scale
# range, and keypoints on a bounded picture keep extraction time and stored size independent of input.
WORKING_SIDE = 800
# Keypoints are detected generously, then kept: the strongest three quarters of the budget, and the rest
# spread over a GRID x GRID grid, the strongest of each cell first. A caption, a watermark or a text
# overlay has the strongest corners of any picture and would otherwise take the whole budget, leaving the
# uncovered picture, the part that matches, without keypoints (issue 14: on the accuracy benchmark's
# text-overlay misses, 0-9 consistent keypoints before, 14-29 after).
DETECTED, STRONGEST_SHARE, GRID = 3000, 0.75, 4
_HEADER = struct.Struct("<BHHH")  # format version, working width, height, keypoint count


@dataclass(frozen=True, slots=True)
class LocalFeatures:
    """Keypoint positions (pixels of the working-size picture) and their 256-bit ORB descriptors."""

    width: int
    height: int
    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray  # (n, 32) uint8

    def __len__(self) -> int:
        return len(self.points)

    def to_text(self) -> str:
        header = _HEADER.pack(1, self.width, self.height, len(self))
        body = self.points.astype(np.float16).tobytes() + self.descriptors.tobytes()
        return base64.b64encode(header + body).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> LocalFeatures:
        try:
            raw = base64.b64decode(text, validate=True)
            version, width, height, count = _HEADER.unpack_from(raw)
            if version != 1 or len(raw) != _HEADER.size + count * (4 + 32):
                raise ValueError("length does not match the header")
        except (ValueError, struct.error) as exc:
            raise InvalidSignal(f"orb features are not readable: {exc}") from None
        offset = _HEADER.size + count * 4
        points = np.frombuffer(raw, np.float16, count * 2, _HEADER.size).astype(np.float32).reshape(count, 2)
        descriptors = np.frombuffer(raw, np.uint8, count * 32, offset).reshape(count, 32)
        return cls(width, height, points, descriptors)


@dataclass(frozen=True, slots=True)
class Verification:
    """How a candidate fared in the geometric check.

    ``scale`` and ``rotation`` are the transform taking the copy's keypoints onto the reference's (both at
    working size): a scale of 2 means the copy shows the reference at half its size. ``spread`` is the
    share of the reference's keypoint area (their convex hull) that the consistent keypoints span: a copy
    shows a stretch of the reference, while a chance alignment sits on one small patch, an object or a
    watermark two different pictures share.
    """

    inliers: int
    matches: int
    scale: float | None = None
    rotation: float | None = None
    spread: float = 0.0

    def as_dict(self) -> dict[str, object]:
        fields: dict[str, object] = {"inliers": self.inliers, "matches": self.matches}
        if self.scale is not None and self.rotation is not None:
            fields["scale"] = round(self.scale, 3)
            fields["rotation_degrees"] = round(self.rotation, 1)
            fields["spread"] = round(self.spread, 3)
        return fields


class OrbExtractor:
    """ORB keypoints of the picture at working size, kept as an "orb" signal.

    Why ORB and not SIFT: 32-byte binary descriptors, Hamming-searchable in the same FAISS binary
    indexes as PDQ, and several times faster to extract; the RANSAC check supplies the precision.
    """

    name: ClassVar[str] = "orb"
    version: ClassVar[int] = 1

    def __init__(self, features: int = 800) -> None:
        self.features = features

    def extract(self, image: Image.Image) -> LocalFeatures:
        gray = image if image.mode == "L" else image.convert("L")
        scale = WORKING_SIDE / max(gray.size)
        if scale < 1:
            size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
            gray = gray.resize(size, Image.Resampling.BILINEAR)
        pixels = np.asarray(gray)
        orb = cv2.ORB_create(nfeatures=max(DETECTED, self.features), fastThreshold=10, edgeThreshold=15)  # type: ignore[attr-defined]
        detected = orb.detect(pixels, None)
        keypoints, descriptors = orb.compute(pixels, _spread(detected, self.features, pixels.shape)) if detected else ((), None)
        if descriptors is None or not keypoints:
            points, descriptors = np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        else:
            points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
        return LocalFeatures(gray.width, gray.height, points, np.ascontiguousarray(descriptors, dtype=np.uint8))

    def signal(self, image: Image.Image) -> Signal:
        return Signal(self.name, self.extract(image).to_text(), self.version)

    def signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        return []  # keypoints describe parts of the picture, not the whole: they come with the extras

    def extra_signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        """Keypoints of the trimmed picture; a reference's also mirrored ("flip_h"): ORB descriptors are
        not mirror-invariant, and a mirrored crop is as common as a plain one."""
        found = [self.signal(picture.gray)]
        if reference:
            found.append(replace(self.signal(ImageOps.mirror(picture.gray)), variant="flip_h"))
        return found


def _spread(keypoints: Sequence[cv2.KeyPoint], budget: int, shape: tuple[int, ...]) -> list[cv2.KeyPoint]:
    """At most ``budget`` of ``keypoints``: the strongest ``STRONGEST_SHARE`` of the budget, then the
    strongest left in each grid cell in turn (round by round, so every cell with keypoints gets some),
    then the strongest of what remains."""
    if len(keypoints) <= budget:
        return list(keypoints)
    height, width = shape[:2]
    response = np.array([kp.response for kp in keypoints], np.float32)
    points = np.array([kp.pt for kp in keypoints], np.float32)
    order = np.argsort(-response, kind="stable")
    strongest = round(budget * STRONGEST_SHARE)
    rest = order[strongest:]
    cell = (np.minimum(points[rest, 1] * GRID // height, GRID - 1) * GRID + np.minimum(points[rest, 0] * GRID // width, GRID - 1)).astype(np.int64)
    # Each keypoint's rank within its cell (``rest`` is strongest first): round r takes every cell's r-th.
    by_cell = np.argsort(cell, kind="stable")
    starts = np.searchsorted(cell[by_cell], cell[by_cell], side="left")
    rank = np.empty(len(rest), np.int64)
    rank[by_cell] = np.arange(len(rest)) - starts
    spread = rest[np.lexsort((np.arange(len(rest)), rank))][: budget - strongest]
    return [keypoints[i] for i in (*order[:strongest], *spread)]


def verify(reference: LocalFeatures, query: LocalFeatures, *, ratio: float = 0.8) -> Verification:
    """Count the descriptor matches that one similarity transform explains (RANSAC, 4 degrees of freedom).

    Lowe's ratio test first: a keypoint whose best and second-best partners are almost as close says
    nothing. A similarity rather than a homography: uploads crop, scale and rotate, they do not warp, and
    fewer degrees of freedom leave chance alignments less room.
    """
    if len(reference) < 4 or len(query) < 4:
        return Verification(0, 0)
    # FAISS's exact k-NN rather than OpenCV's BFMatcher: the same two nearest distances, about five times
    # faster (no DMatch objects). Which of two equally near rows is "nearest" differs, but such a pair
    # fails the strict ratio test either way, so the pairs kept are the same.
    distances, nearest = faiss.knn_hamming(query.descriptors, reference.descriptors, 2)
    (good,) = np.nonzero(distances[:, 0] < ratio * distances[:, 1])
    if len(good) < 4:
        return Verification(0, len(good))
    source = query.points[good]
    target = reference.points[nearest[good, 0]]
    transform, mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=6.0, maxIters=2000, confidence=0.995
    )
    if transform is None or mask is None:
        return Verification(0, len(good))
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    fitting = target[mask.ravel() == 1]
    inliers = _distinct_inliers(fitting)
    return Verification(inliers, len(good), scale, rotation, _hull_area(fitting) / max(_hull_area(reference.points), 1.0))


def _distinct_inliers(points: np.ndarray) -> int:
    """Inliers at distinct reference positions: ORB's pyramid can put several keypoints on one spot, and
    a stack of them should count once."""
    if not len(points):
        return 0
    return len(np.unique(np.round(points / 4.0), axis=0))


def _hull_area(points: np.ndarray) -> float:
    """The area of the points' convex hull, in working-size pixels (0 for fewer than three)."""
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))
