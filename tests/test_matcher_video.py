from __future__ import annotations

import dataclasses
import io
import os
import threading

import numpy as np
import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import HashingStopped, Matcher, UnhashableContent, VideoLimits, hash_file, hash_media
from matcher.hashers.vpdq import VpdqHasher, frames_from_text, frames_to_text
from matcher.hashlist import parse_hash_list
from matcher.video import frames as video_frames
from matcher.video.frames import SamplingPlan, VideoSampler
from simsites.corpus import generated_image, sample_image
from simsites.videos import camera_move, compilation, decode_all, fit, slideshow, write_video

LIMITS = VideoLimits(max_bytes=50 * 1024**2, max_seconds=60, max_frames=7200, max_pixels=50_000_000, max_decoded_pixels=10**12)
OPTIONS = dataclasses.replace(default_hash_options(), video=LIMITS)


@pytest.fixture(scope="module")
def reference_video(tmp_path_factory):
    """Twelve seconds, three scenes, 320x240 at 12 frames/s."""
    path = tmp_path_factory.mktemp("video") / "reference.mp4"
    stills = [sample_image(name) for name in ("coffee", "chelsea", "rocket")]
    write_video(path, slideshow(stills, 4.0, 12, (320, 240)), 12)
    return path


@pytest.fixture(scope="module")
def matcher(reference_video):
    matcher = Matcher(default_match_policy())
    matcher.add_reference(1, hash_file(reference_video, OPTIONS, reference=True).signals)
    return matcher


def test_frames_are_sampled_about_once_a_second_with_their_times(reference_video):
    plan = SamplingPlan(interval=1.0, min_samples=4, max_samples=100, max_seconds=60, max_pixels=50_000_000, max_decoded_pixels=0)
    with VideoSampler(reference_video, plan) as sampler:
        frames = list(sampler)
        assert (sampler.width, sampler.height, sampler.stopped) == (320, 240, None)
        assert sampler.duration == pytest.approx(12.0, abs=0.1)
    times = [f.timestamp for f in frames]
    assert len(times) == 12 and times[0] == 0.0
    assert all(0.8 <= b - a <= 1.2 for a, b in zip(times, times[1:]))  # B-frames skipped: within a frame or two
    assert all(f.image.size == (320, 240) and f.image.mode == "RGB" for f in frames)


@pytest.mark.parametrize("interval", [1.0, 0.1], ids=["sparse", "dense"])
def test_frame_threads_decode_the_same_frames_as_one_thread(reference_video, monkeypatch, interval):
    plan = SamplingPlan(interval=interval, min_samples=4, max_samples=200, max_seconds=60, max_pixels=50_000_000, max_decoded_pixels=0)

    def sampled():
        with VideoSampler(reference_video, plan) as sampler:
            return [(f.number, f.timestamp, f.image.tobytes()) for f in sampler]

    assert video_frames.DECODE_THREADS > 1
    threaded = sampled()
    monkeypatch.setattr(video_frames, "DECODE_THREADS", 1)
    assert sampled() == threaded and len(threaded) > 10  # frame numbers, times and pixels alike


def test_a_video_stops_at_its_decode_budget_counting_frames_it_never_samples(reference_video):
    budget = 320 * 240 * 30  # 30 frames' pixels, of 144; B-frames skipped are not decoded, so not charged
    plan = SamplingPlan(interval=1.0, min_samples=4, max_samples=100, max_seconds=60, max_pixels=50_000_000, max_decoded_pixels=budget)
    with VideoSampler(reference_video, plan) as sampler:
        frames = list(sampler)
        assert sampler.stopped is not None and sampler.stopped.startswith("decode budget of 2,304,000 pixel-frames spent after 31 frames")
    assert frames and frames[-1].number < 30 and frames[-1].timestamp < 6.0  # counted as decoded, threads or not


def test_short_videos_are_sampled_densely_and_long_ones_within_the_frame_budget():
    plan = SamplingPlan(interval=1.0, min_samples=32, max_samples=600, max_seconds=60, max_pixels=1, max_decoded_pixels=0)
    assert plan.interval_for(4.0) == 4.0 / 32  # a 4 s clip still gets 32 frames
    assert plan.interval_for(60.0) == 1.0
    assert plan.interval_for(3600.0) == 6.0  # an hour on a 600-frame budget
    assert plan.interval_for(None) == 1.0


def test_a_long_gop_video_sampled_sparsely_is_sought_not_decoded_through(tmp_path):
    path = tmp_path / "long.mp4"
    image = generated_image(3, (320, 240))
    write_video(path, camera_move(image, 40.0, 10, (160, 120)), 10, gop=20)  # a keyframe every 2 s
    plan = SamplingPlan(interval=8.0, min_samples=2, max_samples=100, max_seconds=60, max_pixels=50_000_000, max_decoded_pixels=0)
    with VideoSampler(path, plan) as sampler:
        frames = list(sampler)
    assert [round(f.timestamp) for f in frames] == [0, 8, 16, 24, 32]
    assert frames[-1].number < 400 - 50  # frame numbers are counted from the decoder, which skipped ahead


def test_a_reference_keeps_frames_as_found_mirrored_and_cropped_and_a_videohash(reference_video):
    hashes = hash_file(reference_video, OPTIONS, reference=True)
    assert hashes.kind == "video" and (hashes.width, hashes.height) == (320, 240)
    assert hashes.duration == pytest.approx(12.0, abs=0.1)
    kinds = sorted((s.kind, s.variant) for s in hashes.signals)
    assert kinds == [("videohash", "original"), ("vpdq", "band:b80"), ("vpdq", "band:t80"), ("vpdq", "flip_h"), ("vpdq", "original"),
                     ("vpdq", "region:c80"), ("vpdq", "region:c90")]  # fmt: skip
    frames = frames_from_text(next(s.value for s in hashes.signals if s.variant == "original" and s.kind == "vpdq"))
    assert len(frames) == 64  # a reference of 12 s: at least 64 frames, so a 1 s clip of it still aligns
    assert all(f.quality >= 50 for f in frames)


def test_a_clip_inside_a_compilation_is_found_with_its_time_in_both_videos(tmp_path, reference_video, matcher):
    frames, fps = decode_all(reference_video)
    clip = fit(frames[round(5.0 * fps) : round(7.5 * fps)], (256, 144))  # 2.5 s from the second scene
    fillers = [list(camera_move(generated_image(seed, (320, 240)), 6.0, 12, (256, 144), seed)) for seed in (11, 12)]
    path = tmp_path / "compilation.mp4"
    write_video(path, compilation(clip, fillers, at=1), 12)
    decisions = matcher.match(hash_file(path, OPTIONS).signals)
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision.decided_by == "vpdq+align" and decision.verdict == "match"
    segment = decision.segments[0]
    assert segment.query_start == pytest.approx(6.0, abs=0.6) and segment.query_end == pytest.approx(8.5, abs=0.6)
    assert segment.reference_start == pytest.approx(5.0, abs=0.6) and segment.reference_end == pytest.approx(7.5, abs=0.6)
    assert segment.speed == pytest.approx(1.0, abs=0.05)
    assert decision.coverage is not None and decision.coverage < 0.35  # most of the compilation is other footage


def test_a_mirrored_sped_up_copy_matches_through_the_mirrored_frames(tmp_path, reference_video, matcher):
    frames, fps = decode_all(reference_video)
    faster = [np.ascontiguousarray(frames[round(i * 1.25)][:, ::-1]) for i in range(int(len(frames) / 1.25))]
    path = tmp_path / "mirrored-faster.mp4"
    write_video(path, faster, fps, crf=32)
    (decision,) = matcher.match(hash_file(path, OPTIONS).signals)
    assert decision.signals[0].variant == "flip_h"
    assert decision.segments[0].speed == pytest.approx(1.25, abs=0.05)


def test_unrelated_video_and_a_still_of_the_reference(tmp_path, reference_video, matcher, hash_options):
    path = tmp_path / "other.mp4"
    write_video(path, slideshow([generated_image(s, (320, 240)) for s in (21, 22)], 4.0, 12, (320, 240)), 12)
    assert matcher.match(hash_file(path, OPTIONS).signals) == []
    frames, _ = decode_all(reference_video)
    still = tmp_path / "thumbnail.jpg"
    Image.fromarray(frames[99]).save(still, quality=75)  # a tube site's thumbnail: the frame at 8.25 s
    (decision,) = matcher.match(hash_file(still, hash_options).signals)
    assert decision.decided_by == "vpdq-frame"
    assert decision.segments[0].reference_start == pytest.approx(99 / 12, abs=0.2)


def test_vpdq_text_round_trips_and_imports_as_one_video(reference_video):
    signal = next(s for s in hash_file(reference_video, OPTIONS).signals if s.kind == "vpdq")
    first = signal.value.splitlines()[0].split(",")
    assert len(first) == 4 and first[0] == "0" and len(first[2]) == 64 and first[3] == "0.000"  # vPDQ's own layout
    assert frames_to_text(frames_from_text(signal.value)) == signal.value
    entries, bad = parse_hash_list("# from a partner\n" + signal.value + "12,90,nothex,3.000\n")
    assert [b.line for b in bad] == [len(signal.value.splitlines()) + 2]
    assert len(entries) == 1 and entries[0].signal.kind == "vpdq"
    assert entries[0].signal.value == signal.value
    assert VpdqHasher().distance(signal.value, entries[0].signal.value) == 0


def _bad(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnhashableContent) as caught:
        hash_file(path, OPTIONS)
    return str(caught.value)


def test_bad_videos_get_a_one_line_reason(tmp_path, reference_video):
    data = reference_video.read_bytes()
    assert _bad(tmp_path, "empty.mp4", b"") == "empty file (0 bytes)"
    assert "not a recognised video format" in _bad(tmp_path, "noise.mp4", os.urandom(4096))
    assert "not a recognised video format" in _bad(tmp_path, "head.mp4", data[:300])
    audio = tmp_path / "audio.m4a"
    _write_tone(audio)
    assert _bad(tmp_path, "audio.m4a", audio.read_bytes()) == "no video stream (audio only)"
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as sparse:  # 4 GB without writing 4 GB
        sparse.truncate(4 * 1024**3)
    with pytest.raises(UnhashableContent, match=r"4,294,967,296 bytes, over the 52,428,800-byte video cap"):
        hash_file(huge, OPTIONS)
    for reason in (_bad(tmp_path, n, d) for n, d in (("empty.mp4", b""), ("noise.mp4", os.urandom(64)))):
        assert "\n" not in reason


def test_a_truncated_video_keeps_the_frames_before_the_damage(tmp_path, reference_video):
    data = reference_video.read_bytes()
    path = tmp_path / "cut.mp4"
    write_video(path, camera_move(sample_image("coffee"), 6.0, 12, (320, 240)), 12, container="matroska")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # Matroska streams: the first half still plays
    hashes = hash_file(path, OPTIONS)
    frames = frames_from_text(next(s.value for s in hashes.signals if s.kind == "vpdq"))
    assert 0 < frames[-1].timestamp < 6.0
    assert len(data) > 0


def test_absurd_frame_size_and_rate_are_refused_from_the_header(tmp_path):
    small = tmp_path / "small.mp4"
    write_video(small, camera_move(generated_image(5, (320, 240)), 1.0, 10, (64, 48)), 10)
    tiny = VideoLimits(max_bytes=LIMITS.max_bytes, max_seconds=60, max_frames=100, max_pixels=1000, max_decoded_pixels=0)
    with pytest.raises(UnhashableContent, match=r"video frames too large \(64x48, over 1,000 pixels\)"):
        hash_file(small, dataclasses.replace(OPTIONS, video=tiny))
    fast = tmp_path / "fast.mkv"
    write_video(fast, camera_move(generated_image(6, (320, 240)), 0.01, 5000, (64, 48)), 5000, codec="mpeg4", container="matroska")
    with pytest.raises(UnhashableContent, match="implausible frame rate"):
        hash_file(fast, OPTIONS)


def test_apng_and_animated_webp_are_hashed_as_video(tmp_path, hash_options):
    frames = [generated_image(seed, (160, 120)) for seed in (31, 32, 33)]
    for fmt, name in (("PNG", "a.apng"), ("WEBP", "a.webp")):
        path = tmp_path / name
        frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=500, loop=0)
        hashes = hash_file(path, hash_options)
        assert hashes.kind == "video", name
        sampled = frames_from_text(next(s.value for s in hashes.signals if s.kind == "vpdq"))
        assert [f.timestamp for f in sampled] == [0.0, 0.5, 1.0], name


def _write_tone(path) -> None:
    import av

    with av.open(str(path), mode="w", format="mp4") as output:
        stream = output.add_stream("aac", rate=16000)
        samples = (np.sin(np.arange(16000) / 10) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


def test_videohash_survives_reencoding_and_differs_for_other_video(tmp_path, reference_video):
    def videohash(path):
        return next(s.value for s in hash_file(path, OPTIONS).signals if s.kind == "videohash")

    frames, fps = decode_all(reference_video)
    reencoded, other = tmp_path / "crf40.mp4", tmp_path / "other.mp4"
    write_video(reencoded, frames, fps, crf=40)
    write_video(other, slideshow([generated_image(s, (320, 240)) for s in (41, 42, 43)], 4.0, 12, (320, 240)), 12)
    original = videohash(reference_video)
    assert len(original) == 16
    assert bin(int(original, 16) ^ int(videohash(reencoded), 16)).count("1") <= 10  # videohash2's 15% rule
    assert bin(int(original, 16) ^ int(videohash(other), 16)).count("1") > 10


def test_a_file_is_read_once_as_a_stream(tmp_path, reference_video):
    buffer = io.BytesIO(reference_video.read_bytes())
    frames, fps = decode_all(buffer)
    assert fps == 12 and len(frames) == 144


def _patchwork_gif(size: int, frames: int) -> bytes:
    """A canvas of ``size`` x ``size`` and ``frames`` frames, each a 1x1 patch: tiny file, huge decode."""
    canvas = Image.new("P", (size, size))
    patches = [Image.new("P", (1, 1), color=n % 200 + 1) for n in range(frames - 1)]
    buffer = io.BytesIO()
    canvas.save(buffer, "GIF", save_all=True, append_images=patches, duration=40, disposal=1, optimize=False)
    return buffer.getvalue()


def test_an_animation_stops_at_its_decode_budget_counting_frames_it_never_samples(hash_options):
    data = _patchwork_gif(400, 300)
    budget = dataclasses.replace(hash_options.video, max_decoded_pixels=400 * 400 * 100)
    with pytest.raises(UnhashableContent, match="file is"):  # bytes come first: over the image cap, not decoded
        hash_media(data, dataclasses.replace(hash_options, max_image_bytes=len(data) - 1))
    hashes = hash_media(data, dataclasses.replace(hash_options, video=budget))
    sampled = frames_from_text(next(s.value for s in hashes.signals if s.kind == "vpdq"))
    # 40 ms frames sampled every 0.1 s: 100 frames decoded give about 40 samples, never the whole 12 s.
    assert hashes.kind == "video" and 30 <= len(sampled) <= 45
    too_big = dataclasses.replace(hash_options.video, max_pixels=400 * 400 - 1)
    with pytest.raises(UnhashableContent, match=r"animation too large \(400x400"):
        hash_media(data, dataclasses.replace(hash_options, video=too_big))


def test_a_stop_ends_hashing_at_the_next_frame_and_records_nothing(reference_video, hash_options):
    stop = threading.Event()
    stop.set()
    with pytest.raises(HashingStopped):
        hash_file(reference_video, hash_options, stop=stop)
    with pytest.raises(HashingStopped):
        hash_media(_patchwork_gif(64, 20), hash_options, stop=stop)
