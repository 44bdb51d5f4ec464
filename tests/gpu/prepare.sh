#!/bin/sh
# prepare.sh [KIT_DIR]: builds, on this machine, what tests/gpu/run.sh needs on
# a GPU machine that cannot build sharpc (no flex or bison there), into
# KIT_DIR (default gpu-kit/ in the repository, ignored by git): bin/sharpc,
# bin/gpu_vs_cpu, bin/test_cuda_cache, lib/libsharprt.a, gen/ (CMake's
# generated files). The build is for any x86-64 (no -march=native in the
# library; `sharpc build` still compiles each program's kernels for the
# machine it runs on) and without zlib (the GPU checks read no .gz file).
# Carry the kit with the device tool (`carry: ["gpu-kit"]`); run.sh finds it
# and points sharpc at the copy's runtime/ through SHARPC_RUNTIME_DIR and
# friends (codegen/c/paths.c).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
kit=${1:-$root/gpu-kit}
b=$root/build-gpu-kit
cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Release -DSHARPRT_NATIVE=OFF -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON \
    >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; exit 1; }
cmake --build "$b" -j"$(nproc)" --target sharpc sharprt gpu_vs_cpu test_cuda_cache >"$b.build.log" 2>&1 \
    || { tail -50 "$b.build.log"; exit 1; }
rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib" "$kit/gen"
cp "$b/codegen/sharpc" "$b/tests/gpu/gpu_vs_cpu" "$b/tests/cuda/test_cuda_cache" "$kit/bin/"
cp "$b/runtime/libsharprt.a" "$kit/lib/"
cp -r "$b/gen/." "$kit/gen/"
strip "$kit/bin/"* 2>/dev/null || true
echo "gpu kit in $kit ($(du -sh "$kit" | cut -f1)); carry it: run tests/gpu/run.sh there"
