"""The Kaldi filterbank against torchaudio's reference output, and its batched form.

tests/data/fbank_ref.npz (a copy of shared/fbank_ref.npz) holds waveforms and the filterbanks
``torchaudio.compliance.kaldi.fbank`` gave for them (AST's settings; see shared/fbank_ref.md).

About the noise floor: where a spectrum holds only float32 rounding noise (most bins of a pure
sine), the result depends on the FFT code path. MKL's AVX-512 path (torch's CPU FFT on this
machine) rounds differently from its reproducible path (``MKL_CBWR=COMPATIBLE``, what the
reference machine used): torchaudio's own code differs from the reference by up to 1.2e-2 on the
AVX-512 path, at log values near the -15.94 floor. So bit-level parity is asserted in a child
process on MKL's reproducible path, and in-process (any path) above the noise floor.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import metaframe_audio
from metaframe_audio import kaldi_fbank, kaldi_fbank_batch, num_frames

DATA = Path(__file__).parent / "data" / "fbank_ref.npz"
AST = dict(htk_compat=True, use_energy=False, window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)

# torchaudio.compliance.kaldi.fbank's signature (torchaudio 2.x), name → default
TORCHAUDIO_FBANK = {
    "blackman_coeff": 0.42, "channel": -1, "dither": 0.0, "energy_floor": 1.0, "frame_length": 25.0,
    "frame_shift": 10.0, "high_freq": 0.0, "htk_compat": False, "low_freq": 20.0, "min_duration": 0.0,
    "num_mel_bins": 23, "preemphasis_coefficient": 0.97, "raw_energy": True, "remove_dc_offset": True,
    "round_to_power_of_two": True, "sample_frequency": 16000.0, "snip_edges": True, "subtract_mean": False,
    "use_energy": False, "use_log_fbank": True, "use_power": True, "vtln_high": -500.0, "vtln_low": 100.0,
    "vtln_warp": 1.0, "window_type": "povey",
}


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(DATA) as data:
        return {k: data[k] for k in data.files}


def _ours(ref: dict[str, np.ndarray], i: int) -> tuple[torch.Tensor, torch.Tensor]:
    wave = torch.from_numpy(ref[f"wave_{i}"])[None]
    out = kaldi_fbank(wave - wave.mean(), sample_frequency=int(ref[f"sr_{i}"]), **AST)
    return out, torch.from_numpy(ref[f"fbank_{i}"])


def test_reference_copy_matches_shared_file() -> None:
    shared = Path(__file__).resolve().parents[3] / ".." / "shared" / "fbank_ref.npz"
    if not shared.exists():
        pytest.skip("../shared/fbank_ref.npz is not beside this checkout")
    assert shared.read_bytes() == DATA.read_bytes()


def test_matches_torchaudio_reference_on_reproducible_fft_path() -> None:
    code = (
        "import json, numpy as np, torch\n"
        "from metaframe_audio import kaldi_fbank\n"
        f"d = np.load({str(DATA)!r})\n"
        "errs = []\n"
        "for i in range(4):\n"
        "    w = torch.from_numpy(d[f'wave_{i}'])[None]\n"
        f"    out = kaldi_fbank(w - w.mean(), sample_frequency=int(d[f'sr_{{i}}']), **{AST!r})\n"
        "    ref = torch.from_numpy(d[f'fbank_{i}'])\n"
        "    assert out.shape == ref.shape, (out.shape, ref.shape)\n"
        "    errs.append([(out - ref).abs().max().item(), (out == ref).float().mean().item()])\n"
        "print(json.dumps(errs))\n"
    )
    env = {**os.environ, "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    errs = json.loads(done.stdout.strip().splitlines()[-1])
    for i, (max_err, exact) in enumerate(errs):
        assert max_err <= 1e-3, f"fbank_{i}: max |ours - torchaudio| = {max_err}"
        assert exact > 0.8, f"fbank_{i}: only {exact:.0%} of values are bit-identical"


@pytest.mark.parametrize("i", range(4))
def test_matches_torchaudio_reference_above_noise_floor(ref, i: int) -> None:
    ours, theirs = _ours(ref, i)
    assert ours.shape == theirs.shape
    assert ours.dtype == torch.float32
    signal = theirs > -10.0  # energies well above float32 FFT rounding noise
    assert signal.any()
    assert (ours - theirs)[signal].abs().max() <= 1e-3
    assert (ours - theirs).abs().max() <= 5e-2  # floor-region noise: different rounding, same floor
    assert ours.min() == theirs.min() == pytest.approx(np.log(np.finfo(np.float32).eps))


def test_signature_is_torchaudios() -> None:
    params = inspect.signature(kaldi_fbank).parameters
    assert list(params)[0] == "waveform"
    got = {name: p.default for name, p in params.items() if name != "waveform"}
    assert got == TORCHAUDIO_FBANK


def test_sine_energy_lands_in_its_mel_bin() -> None:
    sr = 16000
    t = torch.arange(sr) / sr
    out = kaldi_fbank(torch.sin(2 * torch.pi * 1000.0 * t)[None], num_mel_bins=40, sample_frequency=sr)
    assert out.shape == (num_frames(sr), 40)
    peak = int(out.mean(0).argmax())
    low, high = 1127 * np.log(1 + 20 / 700), 1127 * np.log(1 + 8000 / 700)
    centre = 700 * (np.exp((low + (peak + 1) * (high - low) / 41) / 1127) - 1)
    assert abs(centre - 1000.0) < 80.0


@pytest.mark.parametrize(
    "options",
    [
        dict(AST),
        dict(window_type="povey", use_energy=True, htk_compat=False, num_mel_bins=23),
        dict(window_type="hamming", snip_edges=False, use_energy=True, raw_energy=False, htk_compat=True),
        dict(window_type="blackman", subtract_mean=True, use_power=False, low_freq=60.0, high_freq=-400.0),
        dict(window_type="rectangular", vtln_warp=1.1, use_log_fbank=False, round_to_power_of_two=False),
    ],
)
def test_batch_with_lengths_equals_each_clip_alone(options: dict) -> None:
    gen = torch.Generator().manual_seed(0)
    lengths = [4000, 2321, 1000]
    clips = [torch.randn(n, generator=gen) * 0.1 for n in lengths]
    batch = torch.zeros(3, max(lengths))
    for row, clip in zip(batch, clips):
        row[: clip.numel()] = clip
    out = kaldi_fbank_batch(batch, torch.tensor(lengths), pad_value=-1.0, **options)
    for b, clip in enumerate(clips):
        alone = kaldi_fbank(clip[None], **options)
        n = alone.shape[0]
        assert n == num_frames(clip.numel(), snip_edges=options.get("snip_edges", True))
        assert torch.allclose(out[b, :n], alone, atol=1e-4, rtol=1e-5), options
        assert (out[b, n:] == -1.0).all()
    assert out.shape[-1] == options.get("num_mel_bins", 23) + int(options.get("use_energy", False))


def test_energy_column_position_follows_htk_compat() -> None:
    wave = torch.randn(1, 1600, generator=torch.Generator().manual_seed(1))
    plain = kaldi_fbank(wave, num_mel_bins=10)
    htk = kaldi_fbank(wave, num_mel_bins=10, use_energy=True, htk_compat=True)
    kaldi = kaldi_fbank(wave, num_mel_bins=10, use_energy=True, htk_compat=False)
    assert torch.equal(htk[:, :10], plain) and torch.equal(kaldi[:, 1:], plain)
    assert torch.equal(htk[:, 10], kaldi[:, 0])


def test_channel_argument_picks_a_channel() -> None:
    gen = torch.Generator().manual_seed(2)
    stereo = torch.randn(2, 1600, generator=gen)
    assert torch.equal(kaldi_fbank(stereo, channel=1), kaldi_fbank(stereo[1:]))
    assert torch.equal(kaldi_fbank(stereo), kaldi_fbank(stereo[:1]))  # -1 means the first, as in torchaudio
    with pytest.raises(ValueError, match="channel 2"):
        kaldi_fbank(stereo, channel=2)


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="shorter than one 25.0 ms frame"):
        kaldi_fbank(torch.zeros(1, 100))
    with pytest.raises(ValueError, match="window_type"):
        kaldi_fbank(torch.zeros(1, 1600), window_type="hann")
    with pytest.raises(ValueError, match="more than 3"):
        kaldi_fbank(torch.zeros(1, 1600), num_mel_bins=3)
    with pytest.raises(ValueError, match="mel range"):
        kaldi_fbank(torch.zeros(1, 1600), low_freq=9000.0)
    assert kaldi_fbank(torch.zeros(1, 1600), min_duration=1.0).numel() == 0  # torchaudio returns empty


@pytest.mark.skipif(not torch.cuda.is_available(), reason="skipped: no CUDA")
def test_same_result_on_gpu(ref) -> None:
    wave = torch.from_numpy(ref["wave_1"])[None]
    wave = wave - wave.mean()
    cpu = kaldi_fbank(wave, **AST)
    gpu = kaldi_fbank(wave.cuda(), **AST).cpu()
    signal = cpu > -10.0
    assert (cpu - gpu)[signal].abs().max() <= 1e-3
    assert (cpu - gpu).abs().max() <= 5e-2


def test_lazy_export_from_entry_module() -> None:
    from metaframe_audio.fbank import kaldi_fbank as direct

    assert metaframe_audio.kaldi_fbank is direct
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        metaframe_audio.nope  # noqa: B018
