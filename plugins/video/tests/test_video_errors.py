"""Bad input: every failure names the source and the problem; nothing is silently misaligned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metaframe_registry import ReadError


def _fails(video, source, *phrases, **options):
    with pytest.raises(ReadError) as info:
        video.read(source, **options)
    message = str(info.value)
    if isinstance(source, (str,)) or hasattr(source, "__fspath__"):
        assert message.startswith(str(source) + ": "), message
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_empty_and_garbage_files(video, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _fails(video, empty, "empty")
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(b"this is not a video " * 50)
    _fails(video, garbage, "not a video container")
    _fails(video, tmp_path / "missing.mp4", "not found")


@pytest.mark.parametrize("ext,codec", [(".mp4", "libx264"), (".avi", "mpeg4"), (".webm", "libvpx"), (".mkv", "ffv1")])
def test_truncated_files(video, make_clip, tmp_path, ext, codec):
    data = make_clip(30, ext, codec).read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    _fails(video, cut, "truncated", num_frames=8)


def test_corrupt_data_inside_a_file(video, make_clip, tmp_path):
    data = bytearray(make_clip(30, ".webm", "libvpx").read_bytes())
    rng = np.random.default_rng(1)
    for pos in rng.integers(len(data) // 4, 3 * len(data) // 4, 200):
        data[pos] = (data[pos] + 97) % 256
    bad = tmp_path / "bad.webm"
    bad.write_bytes(bytes(data))
    _fails(video, bad, "corrupt", num_frames=30)


def test_no_video_stream_and_no_frames(video, tmp_path):
    av = pytest.importorskip("av")
    audio = tmp_path / "audio.mkv"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    _fails(video, audio, "no video stream")
    silent = tmp_path / "noframes.avi"  # a valid header, a video stream, zero frames
    with av.open(str(silent), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.start_encoding()
    _fails(video, silent, "no decodable video frames")


def test_bad_frame_folders(video, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no frames here")
    _fails(video, empty, "no frame images")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (32, 32)).save(mixed / "f1.png")
    Image.new("RGB", (48, 32)).save(mixed / "f2.png")
    _fails(video, mixed, "f2.png", "one size", num_frames=2)
    broken = tmp_path / "broken"
    broken.mkdir()
    Image.new("RGB", (32, 32)).save(broken / "f1.png")
    (broken / "f2.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ReadError, match="f2.png: not an image"):  # the frame file itself is named
        video.read(broken, num_frames=2)


def test_wrong_channels_and_shapes_in_memory(video):
    _fails(video, np.zeros((4, 16, 16, 5), np.uint8), "5 channels")
    _fails(video, torch.zeros(16, 3, 32, 32), "16 channels", "[C, T, H, W]")  # [T, C, H, W] by mistake
    _fails(video, np.zeros((16, 16), np.uint8), "[T, H, W, C]")
    _fails(video, np.zeros((0, 16, 16, 3), np.uint8), "no frames")
    _fails(video, 3.5, "expected a video file")


def test_bad_options_are_named(video, make_clip):
    path = make_clip(10)
    with pytest.raises(ValueError, match="sampling_rate=2 applies to sampling='strided'"):
        video.read(path, sampling="uniform", sampling_rate=2)
    with pytest.raises(ValueError, match="num_frames=0"):
        video.read(path, num_frames=0)
    with pytest.raises(ValueError, match="start=10 is past"):
        video.read(path, num_frames=2, sampling_rate=1, start=10)
    with pytest.raises(ValueError, match="start=3 applies to sampling='strided'"):
        video.read(path, num_frames=2, start=3)
    with pytest.raises(ValueError, match="resize_mode='fit'"):
        video.read(path, num_frames=2, resize_mode="fit")


def test_collate_refuses_mismatched_clips(video):
    a, b = torch.zeros(3, 4, 32, 32), torch.zeros(3, 4, 32, 48)
    with pytest.raises(ValueError, match=r"clip 0 is \(3, 4, 32, 32\), clip 1 is \(3, 4, 32, 48\)"):
        video.collate([a, b])
    with pytest.raises(ValueError, match="expected a tensor"):
        video.collate([torch.zeros(3, 32, 32)])


@pytest.mark.parametrize("ext", [".m4v", ".mp4", ".mov", ".avi"])
def test_random_bytes_are_named_read_errors(video, tmp_path, ext):
    # random bytes make PyAV's seek fail with EPERM (a PermissionError): still a ReadError
    path = tmp_path / f"random{ext}"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(ReadError) as info:
        video.read(path, num_frames=2)
    assert str(info.value).startswith(f"{path}: "), info.value
    assert not isinstance(info.value, PermissionError)


def test_nan_and_inf_frames_in_memory_are_refused(video):
    clip = np.full((4, 8, 8, 3), 0.5, np.float32)
    clip[2, 1, 1, 0] = np.nan
    _fails(video, clip, "1 NaN", "sampled frame 2", num_frames=4)
    tensor = torch.full((3, 4, 8, 8), 0.5)
    tensor[1, 3, 0, 0] = float("inf")
    _fails(video, tensor, "1 infinite", "sampled frame 3", num_frames=4)
    _fails(video, [clip[0], clip[2]], "NaN", num_frames=2)
