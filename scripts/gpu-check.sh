#!/usr/bin/env bash
# The checks that need a CUDA device, in one go (under 8 minutes on one GPU):
#   1. pytest -m cuda: CPU/GPU parity of the tokenizers, the audio fbank and the encoder; a short
#      train with mixed_precision bf16 and one with fp16 (GradScaler); nccl DDP when 2 GPUs are present
#   2. benchmarks/bench_gpu_encoder.py: encoder throughput, base and large, batch 64, bf16, fused attention
# Usage: bash scripts/gpu-check.sh   (from anywhere; uses .venv/bin/python when there is one)
# Without CUDA it says so and exits 2: nothing here passes silently on a CPU.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
PY=$(command -v "$PY") || { echo "gpu-check: no python found" >&2; exit 2; }
case "$PY" in /*) ;; *) PY="$PWD/$PY" ;; esac

if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu-check: skipped: no CUDA (torch.cuda.is_available() is False on this machine); run it on a GPU machine" >&2
    exit 2
fi
"$PY" -c 'import torch; print("gpu-check:", torch.cuda.device_count(), "GPU(s):", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)'

status=0
echo "== pytest -m cuda"
timeout 300 "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/engine/test_cuda.py -rs || status=1
echo "== encoder throughput"
(cd benchmarks && timeout 150 "$PY" bench_gpu_encoder.py --batch 64) || status=1
if [ "$status" -ne 0 ]; then echo "gpu-check: FAILED (see above)" >&2; else echo "gpu-check: all passed"; fi
exit "$status"
