#!/bin/sh
# run.sh: the GPU checks, for a machine with an NVIDIA GPU (not run by ctest).
# Prints the toolchain versions found, builds sharpc in build-gpu/, then runs
# gpu_vs_cpu: every CUDA kernel against its CPU reference at a few shapes
# (|gpu - cpu| <= 1e-5 + 1e-4*|cpu|, worst element printed), then the
# `sharpc emit --target cuda` model of a Fashion-MNIST genotype against the
# --target c model on the same weights and images (same tolerance, logits),
# then the device loop against the CPU loop (tests/cuda/run_devloop.sh with
# --device cuda: searches of each order, a training, resume, eval), and the
# issue-6 timings against PyTorch on the same GPU, networks and batches:
# the sharpDARTS search network (bench/sharpdarts_search_c16.nas, batch 64,
# first-order step time and device memory), DARTS_V2 training at batch 128
# (images/s), and the NVRTC start-up of the search network cold (empty
# kernel cache) and warm. Each timing prints a RESULT line.
# Exits 77 when no GPU is present. Meant to finish in under five minutes.
# usage: tests/gpu/run.sh [BUILD_DIR]
# With gpu-kit/ in the repository (tests/gpu/prepare.sh, built on the
# development machine and carried: the GPU machine has no flex or bison),
# the kit's sharpc, library and test programs are used, pointed at this
# copy's runtime/ through SHARPC_RUNTIME_DIR and friends; otherwise the
# script builds everything in BUILD_DIR.
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

kit=${SHARPC_GPU_KIT:-$root/gpu-kit}
if [ -x "$kit/bin/sharpc" ]; then
  echo "== the carried kit ($kit): $(ls "$kit/bin" | tr '\n' ' ')"
  export SHARPC_RUNTIME_DIR="$root/runtime" SHARPC_GEN_DIR="$kit/gen" SHARPC_RUNTIME_LIB="$kit/lib/libsharprt.a"
  export SHARPC_SHIP_LIB_DIR="$root/codegen/ship/lib"
  sharpc=$kit/bin/sharpc gpu_vs_cpu=$kit/bin/gpu_vs_cpu test_cache=$kit/bin/test_cuda_cache
  mkdir -p "$build"
else
  echo "== build ($build)"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log"; exit 1; }
  cmake --build "$build" -j"$(nproc)" --target gpu_vs_cpu test_cuda_cache sharpc sharprt >"$build.build.log" 2>&1 \
    || { tail -n 50 "$build.build.log"; exit 1; }
  sharpc=$build/codegen/sharpc gpu_vs_cpu=$build/tests/gpu/gpu_vs_cpu test_cache=$build/tests/cuda/test_cuda_cache
fi
command -v cc >/dev/null 2>&1 && echo "C compiler: $(cc --version | head -1)" || echo "C compiler: none (sharpc build needs one)"

echo "== kernel cache"
"$test_cache" "$root/runtime/kernels/cuda" || exit 1

echo "== gpu_vs_cpu"
"$gpu_vs_cpu" "$root/runtime/kernels/cuda"
rc=$?
[ $rc -eq 77 ] && { echo "no GPU here: stopping"; exit 77; }

if [ $rc -eq 0 ]; then
echo "== emitted model.cu against model.c (tests/ship/fashion_found.nas)"
py=python3
$py -c 'import torch, numpy' 2>/dev/null || py=/usr/bin/python3
arch=sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
[ "$arch" = "sm_" ] && arch=sm_90
e=$(mktemp -d /tmp/gpu-ship-XXXXXX)
nas=$root/tests/ship/fashion_found.nas
if $py "$root/tests/ship/ship_parity.py" --write-weights fashion_found "$e/W.safetensors" &&
   $py -c "import numpy as np; np.random.seed(1); np.save('$e/x.npy', np.random.randn(64, 1, 28, 28).astype('<f4'))" &&
   "$sharpc" emit "$nas" --target c -o "$e/c" --weights "$e/W.safetensors" &&
   "$sharpc" emit "$nas" --target cuda -o "$e/g" --weights "$e/W.safetensors" &&
   make -C "$e/c" OPENMP=1 NATIVE=1 >/dev/null && make -C "$e/g" NVCC="$cuda/bin/nvcc" ARCH="$arch" >/dev/null &&
   "$e/c/classify" "$e/x.npy" --weights "$e/W.safetensors" --logits "$e/Lc.npy" --bench -q &&
   "$e/g/classify" "$e/x.npy" --weights "$e/W.safetensors" --logits "$e/Lg.npy" --bench -q &&
   $py -c "
import numpy as np
c, g = np.load('$e/Lc.npy').astype('f8'), np.load('$e/Lg.npy').astype('f8')
r = (np.abs(g - c) / (1e-5 + 1e-4 * np.abs(c))).max()
print('emitted cuda vs c: logits %s, worst ratio %.3g (limit 1)' % (c.shape, r))
raise SystemExit(0 if r <= 1 else 1)"; then
  echo "emitted model: ok"
else
  echo "emitted model: FAIL"; rc=1
fi
rm -rf "$e"
fi
echo "== device loop against the CPU loop (--device cuda)"
[ -x /usr/bin/python3 ] || export SHARPC_REF_PYTHON="$(command -v python3)"
sh "$root/tests/cuda/run_devloop.sh" "$sharpc" "$root" "$build/devloop" cuda || rc=1

echo "== timings: sharpc --device cuda against PyTorch on the same GPU"
b=$build/bench-gpu
mkdir -p "$b"
py=python3
$py -c 'import torch' 2>/dev/null || py=/usr/bin/python3
if "$sharpc" build -I "$root/examples" "$root/bench/sharpdarts_search_c16.nas" -o "$b/search" &&
   "$sharpc" build -I "$root/examples" "$root/examples/darts_v2.nas" -o "$b/darts_v2"; then
  cold=$(mktemp -d /tmp/gpu-cache-XXXXXX)
  echo "-- sharpDARTS search, C 16, 8 cells, batch 64: NVRTC cold (empty cache), then warm"
  XDG_CACHE_HOME=$cold "$b/search" bench --device cuda --batch 64 --steps 1 --warmup 0 | grep -E 'start-up|RESULT'
  XDG_CACHE_HOME=$cold "$b/search" bench --device cuda --batch 64 --steps 5 --warmup 2 | grep -E 'start-up|step:|RESULT'
  rm -rf "$cold"
  $py "$root/bench/torch_bench.py" sharpdarts_search_c16 --device cuda --batch 64 --steps 5 --warmup 2 \
    | grep -E 'step:|RESULT'
  echo "-- DARTS_V2, C 36, 20 cells, training step at batch 128"
  "$b/darts_v2" bench --device cuda --mode train --batch 128 --steps 5 --warmup 2 | grep -E 'start-up|step:|RESULT'
  $py "$root/bench/torch_bench.py" darts_v2 --device cuda --mode train --batch 128 --steps 5 --warmup 2 \
    | grep -E 'step:|RESULT'
else
  echo "timings: sharpc build FAILED"; rc=1
fi
echo "== done in $(( $(date +%s) - start )) s (exit $rc)"
exit $rc
