"""Reading clips through the registry: which frames come back, from every source kind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metaframe_video.decode import decode_video_frames

CONTAINERS = [(".mp4", "libx264"), (".avi", "mpeg4"), (".webm", "libvpx"), (".mkv", "ffv1")]
RAW = {"size": None, "normalize": "none"}


@pytest.mark.parametrize("ext,codec", CONTAINERS)
def test_uniform_sampling_returns_segment_centres(video, make_clip, ids, ext, codec):
    clip = video.read(make_clip(40, ext, codec), num_frames=8, **RAW)
    assert clip.shape == (3, 8, 32, 48)
    assert ids(clip) == [2, 7, 12, 17, 22, 27, 32, 37]


@pytest.mark.parametrize("ext,codec", CONTAINERS[:3])
def test_strided_sampling_from_start(video, make_clip, ids, ext, codec):
    path = make_clip(40, ext, codec, gop=6)
    assert ids(video.read(path, num_frames=5, sampling_rate=3, start=10, **RAW)) == [10, 13, 16, 19, 22]
    assert ids(video.read(path, num_frames=4, sampling="strided", **RAW)) == [0, 4, 8, 12]


def test_short_clip_is_padded_by_repeating_frames(video, make_clip, ids):
    path = make_clip(5)
    assert ids(video.read(path, num_frames=8, **RAW)) == [0, 0, 1, 2, 2, 3, 4, 4]  # floor((i + 0.5) * 5 / 8)
    assert ids(video.read(path, num_frames=6, sampling_rate=2, **RAW)) == [0, 2, 4, 4, 4, 4]


def test_seeking_decodes_fewer_frames_with_the_same_result(make_clip, ids):
    path = make_clip(60, gop=5)
    wanted = lambda total: [3, 31, 57]  # noqa: E731
    seek, seek_stats = decode_video_frames(path, wanted, seek=True)
    full, full_stats = decode_video_frames(path, wanted, seek=False)
    assert seek_stats.total == full_stats.total == 60
    assert seek_stats.decoded < 20 < full_stats.decoded
    for a, b in zip(seek, full):
        np.testing.assert_array_equal(a, b)
    clip = torch.from_numpy(np.stack(seek)).permute(3, 0, 1, 2).float() / 255
    assert ids(clip) == [3, 31, 57]


def test_frame_folder_in_natural_order_ignoring_other_files(video, make_frames, ids):
    folder = make_frames(12)
    (folder / "notes.txt").write_text("not a frame")
    assert ids(video.read(folder, num_frames=4, **RAW)) == [1, 4, 7, 10]  # frame_10 after frame_9
    assert ids(video.read(folder, num_frames=3, sampling_rate=5, start=1, **RAW)) == [1, 6, 11]


def test_in_memory_arrays_tensors_and_frame_lists(video, frames_array, ids, make_frames):
    array = frames_array(10)  # [T, H, W, C] uint8
    assert ids(video.read(array, num_frames=5, **RAW)) == [1, 3, 5, 7, 9]
    tensor = torch.from_numpy(array).permute(3, 0, 1, 2).float() / 255  # [C, T, H, W]
    assert ids(video.read(tensor, num_frames=5, **RAW)) == [1, 3, 5, 7, 9]
    files = sorted(make_frames(10).iterdir(), key=lambda p: int(p.stem.split("_")[1]))
    assert ids(video.read(files, num_frames=5, **RAW)) == [1, 3, 5, 7, 9]
    gray = array[..., 0]  # [T, H, W]: replicated to 3 channels
    assert video.read(gray, num_frames=2, **RAW).shape == (3, 2, 32, 48)


def test_resize_and_normalise_are_the_documented_transform(video, frames_array):
    array = np.zeros((2, 32, 64, 3), np.uint8)
    array[:, :, 12:52] = 255  # a white band in the middle of the width
    stretched = video.read(array, num_frames=2, size=16, normalize="none")
    cropped = video.read(array, num_frames=2, size=16, resize_mode="crop", normalize="none")
    assert stretched.shape == cropped.shape == (3, 2, 16, 16)
    assert stretched[:, :, :, 0].max() < 0.1 < 0.9 < stretched[:, :, :, 8].min()  # the whole width, squeezed
    assert cropped.min() > 0.9  # the centre square only: all white
    assert video.read(array, num_frames=2, size=[8, 24]).shape == (3, 2, 8, 24)
    flat = np.full((2, 16, 16, 3), 255, np.uint8)
    clip = video.read(flat, num_frames=2, size=16, normalize="imagenet")
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(clip[:, :, 0, 0], expected[:, None].expand(3, 2))
    assert video.read(flat, num_frames=2, size=16, channels=1).shape == (1, 2, 16, 16)


def test_clips_of_different_sources_line_up_after_the_reader(video, make_clip, make_frames):
    a = video.read(make_clip(9), num_frames=4, size=32)
    b = video.read(make_frames(3, height=20, width=40), num_frames=4, size=32)
    assert video.collate([a, b]).shape == (2, 3, 4, 32, 32)


def test_examples_and_their_options_make_a_batch(video, tmp_path):
    sources = video.examples(tmp_path)
    assert len(sources) >= 2
    samples = [video.read(s, **video.manifest.example_reader_options) for s in sources]
    batch = video.collate(samples)
    tokenizer = video.build_tokenizer(embed_dim=16, **video.manifest.example_tokenizer_options)
    assert tokenizer(batch).tokens.shape == (2, 2 * 2 * 2, 16)
