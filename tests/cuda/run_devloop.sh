#!/bin/sh
# run_devloop.sh SHARPC SRC_DIR WORK_DIR [DEVICE]: the device loop (the
# program's CUDA launch plan, interpreted by runtime/device/rt_dev.c) against
# the CPU loop, from the same seed: a first-order search of one step with
# Max-W and of three with scalar weighting, a second-order search of one
# step, and a final training (DARTS_V2 with the auxiliary head, drop path,
# cutout, clipping) of two steps, on random CIFAR-format data (so the script needs no data set on a
# GPU machine); the checkpoints (weights, architecture
# parameters, BN statistics, SGD momentum, Adam moments) must agree within
# |a-b| <= 1e-5 + 1e-4*|b|. Then a resumed device run repeats an
# uninterrupted one, and --eval-only agrees with the CPU's.
#
# DEVICE is `ref` (the default; the CUDA kernels' CPU references, no GPU
# needed) or `cuda` (tests/gpu/run.sh on a GPU machine). Differences of two
# float implementations grow with every step (a max-pool tie or a ReLU at
# zero decided the other way moves a whole gradient; Max-W's maximum is a
# near-tie at the start of a search; the second-order step divides a
# difference of two gradients by 2r), so the comparisons stop after a few
# steps: enough to cover the state a step hands the next. (A library built
# without -march=native against programs built with it moved the
# second-order search's second step past the tolerance.)
set -u
SHARPC=$1
SRC=$2
W=$3
DEV=${4:-ref}
PY=${SHARPC_REF_PYTHON:-/usr/bin/python3}
fail() { echo "devloop: FAIL: $*"; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "devloop: ok: $*"; }
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
CMP="$PY $SRC/tests/cuda/compare_st.py"

# runs EXE with ARGS on the CPU (into c_OUT) and on DEV (into d_OUT), then
# compares the two checkpoints: same OUT ARGS...
both() {
    out=$1; shift
    "$@" --device cpu --out "c_$out" >"c_$out.log" 2>&1 || { cat "c_$out.log"; fail "$out on the CPU"; }
    "$@" --device "$DEV" --out "d_$out" >"d_$out.log" 2>&1 || { cat "d_$out.log"; fail "$out on --device $DEV"; }
    grep -q "^device: " "d_$out.log" || fail "$out: no device line"
    $CMP "c_$out/checkpoint.safetensors" "d_$out/checkpoint.safetensors" || fail "$out: the checkpoints differ"
}

"$PY" "$SRC/tests/cuda/random_cifar.py" rc 32 || fail "writing random CIFAR-10 batches"
"$SHARPC" build -I "$SRC/examples" "$SRC/tests/cuda/devloop_search.nas" -o search_mw || fail "sharpc build (max_w)"
sed 's/weighting max_w/weighting scalar/' "$SRC/tests/cuda/devloop_search.nas" >devloop_scalar.nas
"$SHARPC" build -I "$SRC/examples" devloop_scalar.nas -o search_sc || fail "sharpc build (scalar)"
"$SHARPC" build -I "$SRC/examples" "$SRC/tests/cuda/devloop_train.nas" -o train || fail "sharpc build (DARTS_V2)"

S="--epochs 1 --batch 8 --threads 2 --final-C 4 --final-layers 3 --final-epochs 1 --data rc"
both first ./search_mw $S --subset 16 --order first
ok "first-order Max-W search, 1 step: --device $DEV agrees with the CPU"
both scalar ./search_sc $S --subset 48 --order first
ok "first-order scalar search, 3 steps: --device $DEV agrees with the CPU"
both second ./search_sc $S --subset 16 --order second
ok "second-order scalar search, 1 step: --device $DEV agrees with the CPU"

T="--data rc --subset 16 --batch 8 --threads 2"
both train ./train $T --epochs 1
$CMP c_train/weights.safetensors d_train/weights.safetensors || fail "train: weights.safetensors differ"
ok "final training (DARTS_V2, aux head, drop path, cutout, clip), 2 steps: --device $DEV agrees with the CPU"

# a resumed device run repeats the uninterrupted one (the mirrors go back)
./train $T --epochs 2 --device "$DEV" --out u1 >u1.log 2>&1 || { cat u1.log; fail "two epochs on $DEV"; }
./train $T --epochs 2 --device "$DEV" --stop-after 1 --out r1 >r1.log 2>&1 || { cat r1.log; fail "first half on $DEV"; }
./train $T --epochs 2 --device "$DEV" --resume r1 >r1r.log 2>&1 || { cat r1r.log; fail "resumed run on $DEV"; }
if [ "$DEV" = ref ]; then tol="0 0"; else tol="1e-5 1e-4"; fi
$CMP u1/checkpoint.safetensors r1/checkpoint.safetensors $tol || fail "the resumed run differs"
ok "a resumed --device $DEV training repeats the uninterrupted one (tolerance $tol)"

c=$(./train $T --device cpu --eval-only --weights d_train/weights.safetensors 2>/dev/null)
d=$(./train $T --device "$DEV" --eval-only --weights d_train/weights.safetensors 2>/dev/null)
echo "  cpu: $c"
echo "  $DEV: $d"
[ -n "$c" ] && [ "${c%%loss*}" = "${d%%loss*}" ] && [ "${c##*top-1}" = "${d##*top-1}" ] \
    || fail "--eval-only on $DEV disagrees with the CPU"
ok "--eval-only on --device $DEV: the same top-1 and top-5 as the CPU"
# the plan's kernels compile with NVRTC from the sources built into the
# program (sm_90, no GPU needed), and a second start finds them all cached
cache=$W/kernel-cache
for pass in cold warm; do
    XDG_CACHE_HOME=$cache ./search_mw cuda-compile --arch 90 >cc_$pass.log 2>&1 \
        || { cat cc_$pass.log; fail "cuda-compile --arch 90 ($pass)"; }
    echo "  $pass: $(tail -1 cc_$pass.log)"
done
grep -q "(0 of [0-9]* programs from the cache)" cc_cold.log || fail "the first compile was not cold"
grep -q "(\([0-9]*\) of \1 programs from the cache)" cc_warm.log || fail "the second compile missed the cache"
ok "the plan's kernels compile for sm_90 from the built-in sources; the second start is all cache hits"

# the step benchmark on the device (tests/gpu/run.sh times with it)
./search_mw bench --device "$DEV" --batch 8 --steps 1 --warmup 1 >bench.log 2>&1 \
    && grep -q "^RESULT side=sharpc device=$DEV .*median_s=" bench.log || { cat bench.log; fail "bench --device $DEV"; }
ok "bench --device $DEV times search steps: $(grep '^  step:' bench.log | sed 's/^ *//')"
echo "devloop: all $checks checks passed"
