#!/bin/sh
# ship_errors.sh SHARPC: `sharpc emit` and the emitted classifier on bad
# input, and the classifier under valgrind.
# - emit refuses a search space, an occupied directory, a missing --target,
#   --embed-weights without --weights, and a weights file of another network
#   (naming the tensor), and leaves nothing behind;
# - emit replaces its own earlier output whole;
# - the classifier rejects a truncated, corrupt or mismatched weights file
#   and bad image files with a message naming the file, exits non-zero and
#   writes no logits file;
# - two models run at the same time in two threads give the logits one
#   model gives alone (no global mutable state);
# - valgrind (memcheck) reports no error and no leak for a full run of the
#   classifier (load, forward in chunks, logits, accuracy) and for a rejected
#   weights file.
set -u
SHARPC=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
T=$(mktemp -d /tmp/ship-errors-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect_fail NAME PATTERN CMD...: CMD exits non-zero and prints PATTERN
expect_fail() {
    name=$1 pat=$2; shift 2
    if "$@" >"$T/out" 2>&1; then fail "$name: exited 0"; cat "$T/out"; return; fi
    if grep -q -- "$pat" "$T/out"; then pass "$name: $(head -1 "$T/out" | cut -c1-150)"
    else fail "$name: message lacks '$pat'"; cat "$T/out"; fi
}

NAS=$HERE/fashion_found.nas
cd "$ROOT/examples" || exit 1

# ---- sharpc emit ----
expect_fail "emit: search space" "search network" "$SHARPC" emit "$ROOT/examples/tiny.nas" --target c -o "$T/s"
[ ! -e "$T/s" ] && pass "emit: nothing left after a refusal" || fail "emit: left $T/s"
expect_fail "emit: no --target" "--target" "$SHARPC" emit "$NAS" -o "$T/x"
expect_fail "emit: --embed-weights alone" "needs the weights" "$SHARPC" emit "$NAS" --target c -o "$T/x" --embed-weights
mkdir "$T/occupied" && echo hi >"$T/occupied/notes.txt"
expect_fail "emit: occupied directory" "not empty" "$SHARPC" emit "$NAS" --target c -o "$T/occupied"
[ -f "$T/occupied/notes.txt" ] && pass "emit: the occupied directory is untouched" || fail "emit: touched occupied dir"

# weights (random, non-trivial BN statistics) of this network and of another
/usr/bin/python3 "$HERE/ship_parity.py" --write-weights fashion_found "$T/W.safetensors" &&
/usr/bin/python3 "$HERE/ship_parity.py" --write-weights ssc_darts_8 "$T/W8.safetensors" ||
    { fail "write weights (Debian's python3-torch is needed)"; exit 1; }
[ -f "$T/W.safetensors" ] && pass "weights of the network written" || { fail "no weights"; exit 1; }

"$SHARPC" emit "$NAS" --target c -o "$T/m" --weights "$T/W.safetensors" >"$T/out" 2>&1 &&
    pass "emit: $(cat "$T/out")" || { fail "emit"; cat "$T/out"; exit 1; }
echo stale >"$T/m/stale.txt"
"$SHARPC" emit "$NAS" --target c -o "$T/m" --weights "$T/W.safetensors" >/dev/null 2>&1 && [ ! -e "$T/m/stale.txt" ] &&
    [ -f "$T/m/model.c" ] && pass "emit: an earlier output is replaced whole" || fail "emit: re-emit"
expect_fail "emit: weights of another network" "tensor '" "$SHARPC" emit "$NAS" --target c -o "$T/y" --weights "$T/W8.safetensors"
[ ! -e "$T/y" ] && pass "emit: nothing left after bad weights" || fail "emit: left $T/y"

# ---- the classifier ----
(cd "$T/m" && make >"$T/make.log" 2>&1) && pass "make (strict C99)" || { cat "$T/make.log"; fail "make"; exit 1; }
C=$T/m/classify
/usr/bin/python3 -c "
import numpy as np
np.random.seed(0)
np.save('$T/img.npy', np.random.randn(5, 1, 28, 28).astype('<f4'))
np.save('$T/lab.npy', np.arange(5, dtype='<i8'))
np.save('$T/img3.npy', np.random.randn(2, 3, 28, 28).astype('<f4'))
"
"$C" "$T/img.npy" --weights "$T/W.safetensors" --labels "$T/lab.npy" --batch 2 >"$T/out" 2>&1 &&
    grep -q "accuracy:" "$T/out" && pass "classify: $(cat "$T/out")" || { fail "classify"; cat "$T/out"; }
W=$T/W.safetensors
size=$(stat -c %s "$W")
head -c $((size / 2)) "$W" >"$T/trunc.safetensors"
expect_fail "classify: truncated weights" "trunc" "$C" "$T/img.npy" --weights "$T/trunc.safetensors" --logits "$T/L1.npy"
head -c 3 "$W" >"$T/tiny.safetensors"
expect_fail "classify: 3-byte weights" "too short" "$C" "$T/img.npy" --weights "$T/tiny.safetensors" --logits "$T/L1.npy"
cp "$W" "$T/corrupt.safetensors"
printf '\377\377\377\377' | dd of="$T/corrupt.safetensors" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_fail "classify: corrupt header" "safetensors" "$C" "$T/img.npy" --weights "$T/corrupt.safetensors" --logits "$T/L1.npy"
expect_fail "classify: weights of another network" "tensor '" "$C" "$T/img.npy" --weights "$T/W8.safetensors" --logits "$T/L1.npy"
expect_fail "classify: missing weights file" "cannot open" "$C" "$T/img.npy" --weights "$T/none.safetensors" --logits "$T/L1.npy"
expect_fail "classify: images of the wrong shape" "1x28x28" "$C" "$T/img3.npy" --weights "$W" --logits "$T/L1.npy"
head -c 100 "$T/img.npy" >"$T/trunc.npy"
expect_fail "classify: truncated images" "truncated" "$C" "$T/trunc.npy" --weights "$W" --logits "$T/L1.npy"
echo "not an image" >"$T/junk.bin"
expect_fail "classify: unknown image file" "not an IDX" "$C" "$T/junk.bin" --weights "$W"
[ ! -e "$T/L1.npy" ] && [ ! -e "$T/L1.npy.tmp" ] && pass "classify: no logits file after a failure" || fail "classify: partial logits"

# ---- two models in two threads (no global mutable state) ----
if cc -std=c99 -O2 -Wall -Wextra -Werror -pthread -I"$T/m" "$HERE/two_models.c" "$T/m/model.c" -lm -o "$T/two" \
    >"$T/out" 2>&1 && "$T/two" "$W" >"$T/out" 2>&1; then
    pass "$(cat "$T/out")"
else
    fail "two models in two threads"; cat "$T/out"
fi

# ---- valgrind ----
if ! command -v valgrind >/dev/null; then
    fail "valgrind is missing: install Debian's valgrind (scripts/install-deps.sh)"
else
    VG="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible -q"
    $VG "$C" "$T/img.npy" --weights "$W" --labels "$T/lab.npy" --batch 2 --logits "$T/L.npy" >"$T/vg" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ -f "$T/L.npy" ] && pass "valgrind: no error, no leak (full run)" || { fail "valgrind full run (exit $rc)"; cat "$T/vg"; }
    $VG "$C" "$T/img.npy" --weights "$T/trunc.safetensors" >"$T/vg" 2>&1
    rc=$?
    [ $rc -eq 1 ] && pass "valgrind: no error, no leak (rejected weights)" || { fail "valgrind rejected weights (exit $rc)"; cat "$T/vg"; }
fi

echo "ship_errors: $fails failure(s)"
[ $fails -eq 0 ]
