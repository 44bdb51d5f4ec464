#!/bin/sh
# ship_bench.sh [SHARPC]: the issue-5 inference benchmark. DARTS_V2 (C 36,
# 20 cells, 3x32x32, examples/darts_v2.nas) emitted by `sharpc emit --target
# c` and built with `make OPENMP=1 NATIVE=1`, against PyTorch 1.13 CPU eval
# (Debian's /usr/bin/python3, torch.no_grad()), 2 threads each, same random
# weights (non-trivial BN statistics) and images: forward latency at batch 1
# and batch 64, and the emitted arena against the growth of PyTorch's peak
# RSS over a batch-64 forward. Prints both sides and the ratios. Not a ctest
# test. Environment: BENCH_DIR (default /tmp/sharpc-ship-bench), BATCH (64).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sharpc=$(readlink -f "${1:-$root/build/codegen/sharpc}")
dir=${BENCH_DIR:-/tmp/sharpc-ship-bench}
batch=${BATCH:-64}
py=/usr/bin/python3
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
mkdir -p "$dir"
"$py" "$root/tests/ship/ship_parity.py" --write-weights darts_v2_bench "$dir/W.safetensors"
"$py" -c "import numpy as np; np.random.seed(0); np.save('$dir/images.npy', np.random.randn($batch, 3, 32, 32).astype('<f4'))"
rm -rf "$dir/emit"
"$sharpc" emit "$root/examples/darts_v2.nas" --target c -o "$dir/emit" --weights "$dir/W.safetensors"
(cd "$dir/emit" && make OPENMP=1 NATIVE=1 >/dev/null)
"$dir/emit/classify" "$dir/images.npy" --weights "$dir/W.safetensors" --batch "$batch" --bench -q | tee "$dir/sharpc.txt"
"$py" "$root/bench/ship_torch_bench.py" darts_v2 "$dir/W.safetensors" "$dir/images.npy" --batch "$batch" | tee "$dir/torch.txt"
arena=$(sed -n 's/.*arena \([0-9.]*\) MiB.*/\1/p' "$dir/sharpc.txt")
s1=$(sed -n 's/.*batch 1: \([0-9.]*\) ms.*/\1/p' "$dir/sharpc.txt")
sb=$(sed -n "s/.*batch $batch: \([0-9.]*\) ms (.*/\1/p" "$dir/sharpc.txt")
eval "$(sed -n 's/^RESULT //p' "$dir/torch.txt")"
awk -v s1="$s1" -v sb="$sb" -v t1="$t1_ms" -v tb="$tb_ms" -v a="$arena" -v ta="$act_mib" -v b="$batch" 'BEGIN {
  printf "DARTS_V2 C36 L20 eval, 2 threads: batch 1 %.1f ms vs PyTorch %.1f ms (%.2fx faster; goal 3x); ", s1, t1, t1 / s1
  printf "batch %d %.0f ms vs %.0f ms (%.2fx; goal 1.5x); arena %.1f MiB vs PyTorch activation peak %.1f MiB (%.2f)\n", b, sb, tb, tb / sb, a, ta, a / ta }'
