#!/usr/bin/env bash
# The benchmarks on a GPU machine in one command (a few minutes on one modern GPU):
#
#   bash bench/gpu.sh              # hymenoptera seed-vs-ours, predict latency
#   bash bench/gpu.sh all          # + flowers and cifar10 (needs those folders too)
#
# Data: ../shared/data beside the repo, or FEWSHOT_BENCH_DATA=/path/to/data (ImageFolder sets
# hymenoptera/, flowers/, cifar10/), and FEWSHOT_BENCH_WEIGHTS=/path/to/mobilenet_v2-b0353104.pth.
# On this project's device tool, which only sends the repo: copy hymenoptera and the weights file
# into an ignored folder (.benchdata/data/hymenoptera, .benchdata/mobilenet_v2-b0353104.pth; 60 MB),
# add "/.benchdata/" to .git/info/exclude, and run with carry [".benchdata"]: this script finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FEWSHOT_BENCH_DATA:-}" ] && [ -d .benchdata/data ]; then
  export FEWSHOT_BENCH_DATA="$PWD/.benchdata/data" FEWSHOT_BENCH_WEIGHTS="$PWD/.benchdata/mobilenet_v2-b0353104.pth"
fi
export PYTHONUNBUFFERED=1 FEWSHOT_DEVICE=cuda
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible to PyTorch"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0), "bf16" if torch.cuda.is_bf16_supported() else "fp16")
PY
python bench/seed_vs_ours.py
python bench/predict_latency.py
if [ "${1:-}" = "all" ]; then python bench/scale.py; fi
if [ -n "${OUT:-}" ]; then cp bench/results/*.json "$OUT"/ 2>/dev/null || true; fi
