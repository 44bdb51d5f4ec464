#!/bin/sh
# run_devloop.sh SHARPC SRC_DIR WORK_DIR [DEVICE]: the device loop (the
# program's CUDA launch plan, interpreted by runtime/device/rt_dev.c) against
# the CPU loop, from the same seed, on random CIFAR-format data (so the
# script needs no data set on a GPU machine): a first-order search step with
# Max-W, a second-order search step with scalar weighting, and a final
# training (DARTS_V2 with the auxiliary head, drop path, cutout, clipping)
# of two steps; the checkpoints (weights, architecture parameters, BN
# statistics, SGD momentum, Adam moments) must agree within
# |a-b| <= 1e-5 + 1e-4*|b|. Then resumed device runs (a two-epoch search, a
# two-epoch training) must repeat uninterrupted ones, which covers the state
# carried from step to step and through the host mirrors; --eval-only must
# agree with the CPU's.
#
# DEVICE is `ref` (the default; the CUDA kernels' CPU references, no GPU
# needed) or `cuda` (tests/gpu/run.sh on a GPU machine). Two float
# implementations drift apart within a few steps (a max-pool tie or a ReLU at
# zero decided the other way moves a whole gradient; Max-W's maximum is a
# near-tie at the start of a search; the second-order step divides a
# difference of two gradients by 2r; Adam's first step moves every
# parameter by about lr whatever its gradient's size), so the CPU-device
# comparisons are one or two steps long. The second-order search runs Adam
# with eps 1 (its update then follows the gradient's size): with eps 1e-8
# the Debug/sanitizer build's step was 4.6 times past the tolerance, with
# eps 1 at 0.011 of it; three scalar steps there went 38 times past it.
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
sed -e 's/weighting max_w/weighting scalar/' -e 's/eps = 1e-8/eps = 1/' "$SRC/tests/cuda/devloop_search.nas" \
    >devloop_scalar.nas
grep -q "eps = 1," devloop_scalar.nas || fail "devloop_scalar.nas: Adam's eps not set"
"$SHARPC" build -I "$SRC/examples" devloop_scalar.nas -o search_sc || fail "sharpc build (scalar)"
"$SHARPC" build -I "$SRC/examples" "$SRC/tests/cuda/devloop_train.nas" -o train || fail "sharpc build (DARTS_V2)"

S="--epochs 1 --batch 8 --threads 2 --final-C 4 --final-layers 3 --final-epochs 1 --data rc"
both first ./search_mw $S --subset 16 --order first
ok "first-order Max-W search, 1 step: --device $DEV agrees with the CPU"
both second ./search_sc $S --subset 16 --order second
ok "second-order scalar search, 1 step: --device $DEV agrees with the CPU"
if [ "$DEV" = ref ]; then tol="0 0"; else tol="1e-5 1e-4"; fi
# a resumed device search repeats the uninterrupted one (Adam's moments and
# the momentum go through the mirrors; 2 epochs of 2 steps)
R="--epochs 2 --batch 8 --threads 2 --final-C 4 --final-layers 3 --final-epochs 1 --data rc --subset 32"
./search_sc $R --device "$DEV" --out su >su.log 2>&1 || { cat su.log; fail "two search epochs on $DEV"; }
./search_sc $R --device "$DEV" --stop-after 1 --out sr >sr.log 2>&1 || { cat sr.log; fail "first half on $DEV"; }
./search_sc $R --device "$DEV" --resume sr >srr.log 2>&1 || { cat srr.log; fail "resumed search on $DEV"; }
$CMP su/checkpoint.safetensors sr/checkpoint.safetensors $tol || fail "the resumed search differs"
cmp -s su/genotype.nas sr/genotype.nas || fail "the resumed search found another genotype"
ok "a resumed --device $DEV search repeats the uninterrupted one (tolerance $tol)"

T="--data rc --subset 16 --batch 8 --threads 2"
both train ./train $T --epochs 1
$CMP c_train/weights.safetensors d_train/weights.safetensors || fail "train: weights.safetensors differ"
ok "final training (DARTS_V2, aux head, drop path, cutout, clip), 2 steps: --device $DEV agrees with the CPU"

# a resumed device run repeats the uninterrupted one (the mirrors go back)
./train $T --epochs 2 --device "$DEV" --out u1 >u1.log 2>&1 || { cat u1.log; fail "two epochs on $DEV"; }
./train $T --epochs 2 --device "$DEV" --stop-after 1 --out r1 >r1.log 2>&1 || { cat r1.log; fail "first half on $DEV"; }
./train $T --epochs 2 --device "$DEV" --resume r1 >r1r.log 2>&1 || { cat r1r.log; fail "resumed run on $DEV"; }
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
