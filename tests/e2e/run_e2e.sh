#!/bin/sh
# run_e2e.sh SHARPC SRC_DIR WORK_DIR: the user's path on real data, short:
# sharpc builds the Fashion-MNIST search space; the search runs 2 epochs on
# a subset; its genotype.nas is built (small C) and trained 2 epochs; the
# test checks that the outputs are well formed and that the loss falls,
# that a resumed search and a resumed and an interrupted-then-resumed
# training repeat an uninterrupted one bit for bit, and that bad input and faults are reported.
set -u
SHARPC=$1
SRC=$2
W=$3
PY=${SHARPC_REF_PYTHON:-/usr/bin/python3}
DATA=${SHARPC_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
fail() { echo "e2e: FAIL: $*"; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "e2e: ok: $*"; }
[ -d "$DATA" ] || fail "no Fashion-MNIST in $DATA: install Debian's dataset-fashion-mnist"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1

# --- search ---
"$SHARPC" build "$SRC/examples/fashion_mnist.nas" -o search || fail "sharpc build of the search space"
./search --data "$DATA" --subset 384 --epochs 2 --batch 32 --threads 2 --out s1 \
    --final-C 8 --final-layers 5 --final-epochs 2 >search.log 2>&1 || { cat search.log; fail "search run"; }
for f in genotype.nas alphas.csv log.jsonl checkpoint.safetensors weights.best.safetensors; do
    [ -s "s1/$f" ] || fail "search output s1/$f missing"
done
ok "search wrote genotype.nas, alphas.csv, log.jsonl, checkpoint, weights"
"$PY" - s1 <<'PY' || fail "search outputs malformed or loss did not fall"
import json, sys, csv, math
d = sys.argv[1]
logs = [json.loads(l) for l in open(d + "/log.jsonl")]
assert [l["epoch"] for l in logs] == [1, 2], logs
assert all(math.isfinite(l["train_loss"]) for l in logs)
assert logs[1]["train_loss"] < logs[0]["train_loss"], [l["train_loss"] for l in logs]
rows = list(csv.reader(open(d + "/alphas.csv")))
assert len(rows) == 2 and all(len(r) == 1 + 2 * 9 * 8 for r in rows), [len(r) for r in rows]
for r in rows:
    w = [float(x) for x in r[1:]]
    for i in range(0, len(w), 8):
        assert abs(sum(w[i:i + 8]) - 1) < 1e-4
print("search: train loss %.4f -> %.4f, valid acc %.3f; %d alphas rows" %
      (logs[0]["train_loss"], logs[1]["train_loss"], logs[1]["valid_acc"], len(rows)))
PY
ok "search log and alphas well formed, loss falls"
"$SHARPC" check -I "$SRC/examples" s1/genotype.nas || fail "genotype.nas does not compile"
ok "genotype.nas checks"

# --- search resume: 1 epoch, then resume to 2, equals the uninterrupted run ---
S="--data $DATA --subset 128 --epochs 2 --batch 32 --threads 2 --final-C 8 --final-layers 5 --final-epochs 2"
./search $S --out s4 >s4.log 2>&1 || { cat s4.log; fail "uninterrupted small search"; }
./search $S --stop-after 1 --out s5 >s5.log 2>&1 || { cat s5.log; fail "first half of the resumed search"; }
./search $S --resume s5 >s5r.log 2>&1 || { cat s5r.log; fail "resumed search"; }
for f in alphas.csv genotype.nas checkpoint.safetensors weights.best.safetensors; do
    cmp s4/$f s5/$f || fail "resumed search: $f differs from the uninterrupted run's"
done
ok "resumed search is bit-identical to the uninterrupted run (alphas, genotype, checkpoint, weights)"

# --- second order (the unrolled step, §5.5) runs and keeps the alphas finite ---
./search --data "$DATA" --subset 128 --epochs 1 --batch 32 --threads 2 --order second --out s2 \
    >search2.log 2>&1 || { cat search2.log; fail "second-order search run"; }
"$PY" - s2 <<'PY' || fail "second-order search output malformed"
import json, sys, math
l = [json.loads(x) for x in open(sys.argv[1] + "/log.jsonl")][-1]
assert all(math.isfinite(v) for v in l["alphas_softmax"]) and math.isfinite(l["train_loss"]), l
print("second order: train loss %.4f" % l["train_loss"])
PY
ok "second-order search step runs"

# --- training of the found genotype ---
"$SHARPC" build -I "$SRC/examples" s1/genotype.nas -o train || fail "sharpc build of genotype.nas"
T="--data $DATA --subset 256 --epochs 2 --batch 32 --threads 2 --cutout 8 --schedule cosine"
./train $T --out t1 >t1.log 2>&1 || { cat t1.log; fail "training run"; }
[ -s t1/weights.safetensors ] && [ -s t1/weights.best.safetensors ] || fail "training weights missing"
"$PY" - t1 <<'PY' || fail "training log malformed or loss did not fall"
import json, sys, math
logs = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl")]
assert [l["epoch"] for l in logs] == [1, 2]
assert logs[1]["train_loss"] < logs[0]["train_loss"], [l["train_loss"] for l in logs]
assert 0 <= logs[1]["test_top1"] <= logs[1]["test_top5"] <= 1
print("train: loss %.4f -> %.4f, test top-1 %.3f" % (logs[0]["train_loss"], logs[1]["train_loss"], logs[1]["test_top1"]))
PY
ok "training log well formed, loss falls"
./train $T --eval-only --weights t1/weights.safetensors >eval.log 2>&1 || { cat eval.log; fail "--eval-only"; }
grep -q "top-1" eval.log || fail "--eval-only printed no accuracy"
ok "--eval-only evaluates the trained weights"

# --- resume: 1 epoch, then resume to 2, equals the uninterrupted run ---
./train $T --stop-after 1 --out t2 >/dev/null 2>&1 || fail "first half of the resumed run"
./train $T --resume t2 >t2.log 2>&1 || { cat t2.log; fail "resumed run"; }
cmp t1/weights.safetensors t2/weights.safetensors || fail "resumed run differs from the uninterrupted one"
ok "resumed training is bit-identical to the uninterrupted run"
epochs_of() { "$PY" -c 'import json,sys; print(" ".join(str(json.loads(l)["epoch"]) for l in open(sys.argv[1])))' "$1"; }
[ "$(epochs_of t2/log.jsonl)" = "1 2" ] || fail "resumed run's log.jsonl has epochs '$(epochs_of t2/log.jsonl)', not '1 2'"
./train $T --epochs 1 --out t2 >/dev/null 2>&1 || fail "a fresh run into an earlier run's --out"
[ "$(epochs_of t2/log.jsonl)" = "1" ] || fail "a fresh run appended to the earlier run's log.jsonl ('$(epochs_of t2/log.jsonl)')"
ok "a resumed run appends to log.jsonl, a fresh run into the same --out starts it anew"

# --- --time-budget: the timing steps leave no trace; the epochs fit, and a resumed run keeps them ---
./train $T --time-budget 1000 --out t6 >t6.log 2>&1 || { cat t6.log; fail "--time-budget 1000"; }
grep -q "training 2 epochs (--epochs)" t6.log || { cat t6.log; fail "--time-budget 1000 did not keep --epochs 2"; }
cmp t1/weights.safetensors t6/weights.safetensors || fail "a --time-budget run differs from the --epochs run it chose"
./train $T --epochs 5 --time-budget 0.0001 --out t7 >t7.log 2>&1 || { cat t7.log; fail "--time-budget 0.0001"; }
grep -q "training 1 epochs (one epoch is over the budget)" t7.log || { cat t7.log; fail "a tiny --time-budget"; }
[ "$(epochs_of t7/log.jsonl)" = "1" ] || fail "a tiny --time-budget ran epochs '$(epochs_of t7/log.jsonl)', not '1'"
cmp t2/weights.safetensors t7/weights.safetensors || fail "a 1-epoch --time-budget run differs from --epochs 1"
./train $T --time-budget 1000 --stop-after 1 --out t8 >/dev/null 2>&1 || fail "first half of a --time-budget run"
./train $T --time-budget 0.0001 --resume t8 >t8.log 2>&1 || { cat t8.log; fail "resumed --time-budget run"; }
grep -q "resumed run trains 2 epochs" t8.log || { cat t8.log; fail "the resumed run did not keep its 2 epochs"; }
cmp t1/weights.safetensors t8/weights.safetensors || fail "a resumed --time-budget run differs"
ok "--time-budget: timing leaves the run bit-identical to --epochs N; it fits 1 epoch into a tiny budget; a resumed run keeps its epochs"

# --- SIGINT mid-epoch writes a checkpoint; resuming gives the same result ---
./train $T --out t3 >t3.log 2>&1 &
pid=$!
# the signal lands early in epoch 1 however fast the machine: once the run
# has said it started (its SIGINT handler is in place by then), 0.3 s more
n=0
while ! grep -q "^train " t3.log 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.3
kill -INT $pid
wait $pid
st=$?
[ $st -ne 0 ] || fail "SIGINT: the run finished before the signal (exit 0); cannot test"
[ -s t3/checkpoint.safetensors ] || { cat t3.log; fail "SIGINT wrote no checkpoint"; }
./train $T --resume t3 >t3r.log 2>&1 || { cat t3r.log; fail "resume after SIGINT"; }
cmp t1/weights.safetensors t3/weights.safetensors || fail "resumed-after-SIGINT run differs"
ok "SIGINT checkpoints (exit $st); the resumed run is bit-identical"

# --- bad input and faults ---
expect_fail() { # expect_fail WHAT PATTERN CMD...
    what=$1; pat=$2; shift 2
    "$@" >bad.log 2>&1 && fail "$what: exit status 0"
    grep -q "$pat" bad.log || { cat bad.log; fail "$what: message lacks '$pat'"; }
    ok "$what is reported"
}
expect_fail "a missing data directory" "nonexistent" ./train --data "$W/nonexistent" --epochs 1 --out bad1
[ ! -e bad1 ] || fail "a failed start left output behind"
mkdir -p trunc && head -c 1000 "$DATA/train-images-idx3-ubyte.gz" >trunc/train-images-idx3-ubyte.gz 2>/dev/null \
    || head -c 1000 "$DATA/train-images-idx3-ubyte" >trunc/train-images-idx3-ubyte
cp "$DATA"/train-labels* "$DATA"/t10k-* trunc/
expect_fail "a truncated data file" "train-images" ./train --data trunc --dataset fashion-mnist --epochs 1 --out bad2
cp t1/checkpoint.safetensors corrupt.safetensors
mkdir -p bad3 && head -c 5000 corrupt.safetensors >bad3/checkpoint.safetensors
expect_fail "a truncated checkpoint" "checkpoint.safetensors" ./train $T --resume bad3
head -c 3000 t1/weights.safetensors >badw.safetensors
expect_fail "a truncated weights file" "badw.safetensors" ./train $T --eval-only --weights badw.safetensors
expect_fail "an unwritable --out" "cannot" ./train $T --out /proc/sharpc-no
expect_fail "--device cuda without a GPU" "device cuda" ./train $T --device cuda --out bad6
[ ! -e bad6 ] || fail "the --device refusal left output behind"
expect_fail "AutoAugment on a 1-channel data set" "no AutoAugment policy" ./train $T --autoaugment 1 --out bad5
[ ! -e bad5 ] || fail "the AutoAugment refusal left output behind"
cp -r t1 t4
expect_fail "a NaN loss" "loss became" ./train $T --lr 1e30 --epochs 3 --resume t4
cmp t1/checkpoint.safetensors t4/checkpoint.safetensors || fail "a NaN run changed the last good checkpoint"
ok "the NaN run kept the last good checkpoint"
echo "e2e: $checks checks passed"
