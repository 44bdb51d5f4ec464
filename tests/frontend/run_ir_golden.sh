#!/bin/sh
# run_ir_golden.sh SHARPC EXAMPLES GOLDEN_DIR: the IR text of tiny.nas and the
# stats of fashion_mnist.nas must match the files kept in GOLDEN_DIR.
sharpc=$1
examples=$2
golden=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"$sharpc" dump "$examples/tiny.nas" --ir > "$out" || status=1
diff -u "$golden/tiny.ir" "$out" || { echo "FAIL: IR of tiny.nas differs from golden/tiny.ir"; status=1; }
"$sharpc" dump "$examples/fashion_mnist.nas" --stats > "$out" || status=1
diff -u "$golden/fashion_mnist.stats" "$out" || { echo "FAIL: stats of fashion_mnist.nas differ"; status=1; }
"$sharpc" dump "$examples/darts_v2.nas" --dot > "$out" || status=1
diff -u "$golden/darts_v2.dot" "$out" || { echo "FAIL: Graphviz of darts_v2.nas differs"; status=1; }
[ $status -eq 0 ] && echo "ok: 3 golden dumps match"
exit $status
