"""The accuracy benchmark's pictures, by recipe: references and distractors, each a `Spec` that a worker
renders when it needs the picture, so that ten thousand distractors never sit in memory at once.

References (`references(count)`): Thorn perception's testing photographs and people-free scikit-image
photographs (the benchmark's references from the start), generated photo-like scenes
(`benchmarks.scenes.scene`) and a few fine periodic textures (`benchmarks.textures.fine_texture`).

Distractors (`distractors(count)`): a quarter real pictures present offline in installed packages
(scikit-image samples shipped in its wheel, none of a person and none a reference; frames of perception's
testing videos), a quarter crops of those, the rest generated: periodic textures, interference, noise,
flat gradients, cell mosaics, 1/f clouds and terrain, landscapes, still lifes, out-of-focus lights,
documents and web pages, in equal numbers. Generated distractors and references are seeded apart
(`benchmarks.textures.rngs`), and none is a picture of the tests' fixtures (`simsites.corpus`'s
generated pictures).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import cv2
import numpy as np
from PIL import Image

from benchmarks import scenes, textures
from simsites.corpus import sample_image

SKIMAGE_REFERENCES = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "coins", "moon")
# scikit-image samples in its wheel (no download) that are not references; astronaut, camera, the LFW
# faces and the GIF show people and are left out.
SKIMAGE_DISTRACTORS = (
    "brick", "cell", "checkerboard", "clock", "colorwheel", "grass", "gravel", "horse", "logo",
    "microaneurysms", "motorcycle_left", "motorcycle_right", "page", "shepp_logan_phantom", "text",
)  # fmt: skip
PERCEPTION_VIDEOS = ("extra_channel_attached_pic.mp4", "rgb.m4v", "v1.m4v", "v2.m4v")  # the others repeat these
FRAME_EVERY = 4
CROPS_PER_REAL = 10

DISTRACTOR_FAMILIES: dict[str, Callable[[int], Image.Image]] = {
    "periodic": textures.periodic,
    "interference": textures.interference,
    "noise": textures.noise,
    "flat": textures.flat,
    "cells": textures.cells,
    "fractal": scenes.fractal,
    "landscape": scenes.landscape,
    "still-life": scenes.still_life,
    "bokeh": scenes.bokeh,
    "document": scenes.document,
    "webpage": scenes.webpage,
}
REFERENCE_FAMILIES: dict[str, Callable[[int], Image.Image]] = {"scene": scenes.scene, "texture": textures.fine_texture}
GENERATORS = {**DISTRACTOR_FAMILIES, **REFERENCE_FAMILIES}
REAL_FAMILIES = ("perception", "skimage", "frame", "crop")


@dataclass(frozen=True, slots=True)
class Spec:
    """A picture by its recipe: a family (a real source, ``crop``, or a generator of `GENERATORS`), a
    name (a file, a sample, a video frame) or a seed, and for a crop the picture it is cut from."""

    family: str
    name: str = ""
    seed: int = 0
    of: Spec | None = None

    @property
    def label(self) -> str:
        if self.of is not None:
            return f"crop {self.seed} of {self.of.label}"
        return f"{self.family}/{self.name}" if self.name else f"{self.family}/{self.seed}"


def render(spec: Spec) -> Image.Image:
    """The RGB picture ``spec`` describes; the same pixels in every process. Real pictures and the last
    generated ones are cached: treat what is returned as read-only."""
    if spec.family == "perception":
        return _perception(spec.name)
    if spec.family == "skimage":
        return _skimage(spec.name)
    if spec.family == "frame":
        return _frames()[spec.name]
    if spec.family == "crop":
        assert spec.of is not None, "a crop names its source"
        return _crop(render(spec.of), spec.seed)
    return _generated(spec.family, spec.seed)


def references(count: int) -> list[Spec]:
    """``count`` references (at least 4): about 6% fine periodic textures (two or more), up to 18 real
    photographs, generated scenes (two or more) for the rest."""
    count = max(4, count)
    periodic = max(2, round(count * 0.06))
    scenes_ = max(2, count - len(REAL_REFERENCES) - periodic)
    real = REAL_REFERENCES[: count - periodic - scenes_]
    return [*real, *(Spec("scene", seed=i) for i in range(scenes_)), *(Spec("texture", seed=i) for i in range(periodic))]


def distractors(count: int, seed: int = 11) -> list[Spec]:
    """``count`` distractors: a quarter real pictures (evenly spread over the samples and the videos'
    frames when fewer than all), a quarter crops of them (at most CROPS_PER_REAL each), then generated
    pictures, the families taking turns."""
    rng = random.Random(seed)
    real = [Spec("skimage", name) for name in SKIMAGE_DISTRACTORS] + [Spec("frame", name) for name in frame_names()]
    kept = min(len(real), count // 4)
    chosen = [real[i * len(real) // kept] for i in range(kept)]
    crops = [Spec("crop", seed=i, of=rng.choice(real)) for i in range(min(count // 4, CROPS_PER_REAL * len(real)))]
    families = list(DISTRACTOR_FAMILIES)
    generated = [Spec(families[i % len(families)], seed=i // len(families)) for i in range(count - kept - len(crops))]
    return chosen + crops + generated


def source_of(spec: Spec) -> str:
    """What a distractor is, for the false matches' breakdown: a real source, a crop, or its family."""
    return {"skimage": "scikit-image samples", "frame": "video frames", "crop": "crops of real pictures"}.get(spec.family, spec.family)


# -- real pictures --------------------------------------------------------------------------------------


def _perception_names() -> list[str]:
    folder = resources.files("perception") / "testing" / "images"
    return sorted((p.name for p in folder.iterdir() if p.name.endswith(".jpg")), key=lambda n: int(n[5:-4]))


REAL_REFERENCES: tuple[Spec, ...] = (
    *(Spec("perception", name) for name in _perception_names()),
    *(Spec("skimage", name) for name in SKIMAGE_REFERENCES),
)


@cache
def _perception(name: str) -> Image.Image:
    with (resources.files("perception") / "testing" / "images" / name).open("rb") as file:
        return Image.open(file).convert("RGB")


@cache
def _skimage(name: str) -> Image.Image:
    if name.startswith("motorcycle_"):
        from skimage import data

        left, right, _ = data.stereo_motorcycle()  # type: ignore[no-untyped-call]
        return Image.fromarray(left if name.endswith("left") else right).convert("RGB")
    return sample_image(name)


def _video_frames(every: int) -> Iterator[tuple[str, np.ndarray | None]]:
    """Each ``every``-th frame of perception's testing videos, named ``VIDEO#INDEX``; decoded to RGB only
    when ``every`` frames are wanted, not just their names (``every`` negative: names only)."""
    folder = resources.files("perception") / "testing" / "videos"
    step = abs(every)
    for name in PERCEPTION_VIDEOS:
        capture = cv2.VideoCapture(str(folder / name))
        index = 0
        while capture.grab():
            if index % step == 0:
                if every < 0:
                    yield f"{name}#{index}", None
                else:
                    _, frame = capture.retrieve()
                    yield f"{name}#{index}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
        capture.release()


@cache
def frame_names() -> tuple[str, ...]:
    return tuple(name for name, _ in _video_frames(-FRAME_EVERY))


@cache
def _frames() -> dict[str, Image.Image]:
    return {name: Image.fromarray(pixels) for name, pixels in _video_frames(FRAME_EVERY) if pixels is not None}


def _crop(picture: Image.Image, seed: int) -> Image.Image:
    rng = random.Random(f"crop:{seed}")
    w, h = picture.size
    cw, ch = int(w * rng.uniform(0.35, 0.7)), int(h * rng.uniform(0.35, 0.7))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return picture.crop((x, y, x + cw, y + ch))


@lru_cache(maxsize=16)
def _generated(family: str, seed: int) -> Image.Image:
    return GENERATORS[family](seed)


# -- the speed benchmark's pictures ---------------------------------------------------------------------


def perception_images() -> list[tuple[str, Image.Image]]:
    """perception's testing photographs, named ``perception/FILE``."""
    return [(f"perception/{name}", _perception(name)) for name in _perception_names()]
