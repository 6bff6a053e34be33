#!/usr/bin/env bash
# The GPU path in one command (builds nothing): is CUDA usable, does the app's device path
# (I/O binding, KV cache kept on the GPU and written in place) give the CPU's tokens, and
# how fast is it next to llama.cpp. Needs the built default model and onnxruntime-gpu
# (`.venv/bin/pip install -e '.[cuda]'`).
#
#   benchmarks/gpu_check.sh [--model DIR] [--llama-python PYTHON]
#
# llama.cpp runs on the GPU only when its Python package was built with CUDA
# (CMAKE_ARGS=-DGGML_CUDA=on); otherwise its column is llama.cpp on the CPU, and the
# benchmark's table says which.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
MODEL=()
LLAMA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL=(--model "$2"); shift 2 ;;
    --llama-python) LLAMA=(--llama-python "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ ${#LLAMA[@]} -eq 0 ] && [ -x benchmarks/.env/llama/bin/python ]; then
  LLAMA=(--llama-python benchmarks/.env/llama/bin/python)
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

echo "== devices"
"$PY" -m desktop.cli devices --device cuda || true
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true

echo
echo "== parity: CUDA (I/O binding, in-place KV on the GPU) vs the plain CPU path"
"$PY" benchmarks/device_parity.py --device cuda "${MODEL[@]}"

echo
echo "== generation benchmark on CUDA vs llama.cpp"
"$PY" benchmarks/generation_vs_llamacpp.py --device cuda "${MODEL[@]}" "${LLAMA[@]}"
