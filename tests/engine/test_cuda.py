"""Checks that need a CUDA device (``pytest -m cuda``; scripts/gpu-check.sh runs them).

Without CUDA every test here is reported "skipped: no CUDA" (tests/conftest.py), never passed:
CPU/GPU parity of each installed tokenizer, of the audio fbank and of the encoder; a short train
with bf16 autocast and one with fp16 and its GradScaler; nccl DDP when two GPUs are present.
One test runs everywhere: on a CPU an fp16 config is refused, in one line, before any step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from engine_helpers import run_module, tiny_config, write_image_folders

cuda = pytest.mark.cuda

MODALITIES = ("image", "audio", "text", "tabular", "time_series", "video", "point_cloud", "graph", "imu",
              "hyperspectral", "infrared", "xray")


def _modality(name: str) -> Any:
    from metaframe.api import get_modality

    try:
        return get_modality(name)
    except Exception:
        pytest.skip(f"the {name} plugin is not installed")


@cuda
@pytest.mark.parametrize("name", MODALITIES)
def test_tokenizer_cpu_and_cuda_agree(name: str, tmp_path: Path) -> None:
    from metaframe.device import move_to
    from metaframe.protocols import is_fittable

    mod = _modality(name)
    samples = [mod.read(s) for s in mod.examples(tmp_path)]
    torch.manual_seed(0)
    tokenizer = mod.build_tokenizer(embed_dim=32).eval()
    if is_fittable(tokenizer):
        tokenizer.fit(samples)
    batch = mod.collate(samples)
    with torch.no_grad():
        cpu = tokenizer(batch)
        gpu = tokenizer.to("cuda")(move_to(batch, "cuda"))
    assert gpu.tokens.device.type == "cuda"
    assert torch.equal(cpu.valid_mask, gpu.valid_mask.cpu())
    torch.testing.assert_close(gpu.tokens.cpu()[cpu.valid_mask], cpu.tokens[cpu.valid_mask], atol=1e-2, rtol=1e-2)


@cuda
def test_fbank_cpu_and_cuda_agree() -> None:
    pytest.importorskip("metaframe_audio")
    from metaframe_audio.fbank import kaldi_fbank_batch

    wave = torch.randn(3, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    lengths = torch.tensor([16000, 12000, 8000])
    cpu = kaldi_fbank_batch(wave, lengths)
    gpu = kaldi_fbank_batch(wave.cuda(), lengths.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-3, rtol=1e-3)


@cuda
def test_encoder_cpu_and_cuda_agree() -> None:
    from metaframe import FrozenEncoder

    encoder = FrozenEncoder.from_preset("tiny", seed=0)
    tokens = torch.randn(4, 50, encoder.embed_dim, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(4, 50, dtype=torch.bool)
    mask[1, 30:] = False
    with torch.no_grad():
        cpu = encoder(tokens, mask)
        gpu = encoder.to("cuda")(tokens.cuda(), mask.cuda())
    torch.testing.assert_close(gpu.cpu()[mask], cpu[mask], atol=2e-3, rtol=2e-3)  # TF32 matmuls allowed


@cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_short_train_with_mixed_precision(precision: str, tmp_path: Path) -> None:
    import metaframe

    data = write_image_folders(tmp_path / "images")
    config = tiny_config(data, tmp_path / "run", epochs=2, device="cuda", mixed_precision=precision)
    result = metaframe.train(config, quiet=True)
    losses = [r["train_loss"] for r in result.history if "train_loss" in r]
    assert losses and all(math.isfinite(v) for v in losses)
    assert result.steps > 0


@cuda
@pytest.mark.skipif(torch.cuda.is_available() and torch.cuda.device_count() < 2, reason="nccl DDP needs 2 GPUs")
def test_nccl_ddp_two_gpus(tmp_path: Path) -> None:
    data = write_image_folders(tmp_path / "images")
    config = tiny_config(data, tmp_path / "ddp", epochs=2, device="cuda")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    done = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "train", str(path), "-q"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((tmp_path / "ddp").rglob("*.safetensors")), "the DDP run wrote no checkpoint"


def test_fp16_on_cpu_is_refused_in_one_line(tmp_path: Path) -> None:
    """fp16 autocast needs CUDA (its GradScaler is a CUDA one); on a CPU the run stops before any step."""
    import metaframe
    from metaframe_registry import MetaframeError

    data = write_image_folders(tmp_path / "images", per_class=4)
    config = tiny_config(data, tmp_path / "run", epochs=1, device="cpu", mixed_precision="fp16")
    steps: list[Any] = []
    with pytest.raises(MetaframeError, match=r"mixed_precision: 'fp16' .*needs a CUDA device"):
        metaframe.train(config, quiet=True, callback=steps.append)
    assert steps == []
