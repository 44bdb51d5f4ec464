#!/bin/sh
# run.sh: the GPU checks, for a machine with an NVIDIA GPU (not run by ctest).
# Prints the toolchain versions found, builds sharpc in build-gpu/, then runs
# gpu_vs_cpu: every CUDA kernel against its CPU reference at a few shapes
# (|gpu - cpu| <= 1e-5 + 1e-4*|cpu|, worst element printed).
# Exits 77 when no GPU is present. Meant to finish in under five minutes.
# usage: tests/gpu/run.sh [BUILD_DIR]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-gpu}
cuda=${CUDA_HOME:-/usr/local/cuda}
start=$(date +%s)

echo "== toolchain"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  echo "nvidia-smi: not found"
fi
if [ -x "$cuda/bin/nvcc" ]; then "$cuda/bin/nvcc" --version | tail -n 2; else echo "nvcc: not found under $cuda"; fi
for h in "$cuda/include/cudnn_version.h" /usr/include/cudnn_version.h /usr/include/x86_64-linux-gnu/cudnn_version.h; do
  if [ -f "$h" ]; then
    printf 'cuDNN %s.%s.%s (%s)\n' \
      "$(sed -n 's/^#define CUDNN_MAJOR \([0-9]*\).*/\1/p' "$h")" \
      "$(sed -n 's/^#define CUDNN_MINOR \([0-9]*\).*/\1/p' "$h")" \
      "$(sed -n 's/^#define CUDNN_PATCHLEVEL \([0-9]*\).*/\1/p' "$h")" "$h"
    break
  fi
done
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>/dev/null \
  || echo "PyTorch: not importable"

echo "== build ($build)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target gpu_vs_cpu test_nvrtc test_cuda_cache >"$build.build.log" 2>&1 \
  || { tail -n 50 "$build.build.log"; exit 1; }

echo "== kernel cache"
"$build/tests/cuda/test_cuda_cache" "$root/runtime/kernels/cuda" || exit 1

echo "== gpu_vs_cpu"
"$build/tests/gpu/gpu_vs_cpu" "$root/runtime/kernels/cuda"
rc=$?
echo "== done in $(( $(date +%s) - start )) s (gpu_vs_cpu exit $rc)"
exit $rc
