#!/bin/sh
# run_plan_golden.sh SHARPC EXAMPLES GOLDEN_DIR: the CUDA launch plan of
# tiny.nas (sharpc dump --cuda-plan) must match GOLDEN_DIR/tiny.plan.
sharpc=$1
examples=$2
golden=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$sharpc" dump "$examples/tiny.nas" --cuda-plan > "$out" || { echo "FAIL: sharpc dump --cuda-plan failed"; exit 1; }
diff -u "$golden/tiny.plan" "$out" || { echo "FAIL: the CUDA plan of tiny.nas differs from golden/tiny.plan"; exit 1; }
echo "ok: the CUDA plan of tiny.nas matches golden/tiny.plan ($(wc -l < "$out") lines)"
