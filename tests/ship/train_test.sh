#!/bin/sh
# train_test.sh SHARPC: the training program of `sharpc emit --train`.
# - emit writes DIR/train: the network's C, the runtime sources, a Makefile
#   and a README, and nothing there includes a file from outside DIR/train;
# - `make` builds it at -std=c99 -O2 -Wall -Wextra -Werror -pedantic with
#   clang (no OpenMP) and with gcc (OPENMP=1 NATIVE=1 ZLIB=1);
# - the OPENMP=1 NATIVE=1 build repeats the `sharpc build` executable of the
#   same network bit for bit (same seed, same threads): every figure of
#   log.jsonl but the timings, and the weights file; the clang build (no
#   FMA contraction, no OpenMP) follows its loss curve closely (as does the
#   OpenMP build when sharpc is a sanitizer build, whose executables are
#   compiled with -fsanitize);
# - --stop-after then --resume repeats the uninterrupted run; gzip'd IDX
#   files load with ZLIB=1;
# - valgrind (memcheck) reports no error and no leak for a short run and a
#   resumed one of the clang build;
# - `emit --target cuda --train` adds the GPU layer (the device loop, the
#   CUDA kernel sources, the launch plan in net.c); it builds the same strict
#   way, takes two training steps on --device ref as the CPU run does
#   (two: the two loops agree bit for bit for two steps, then drift apart
#   by rounding, which this tiny training amplifies about a hundredfold
#   per epoch: 1.8x the tolerance on a near-zero weight after four steps),
#   and `make cache ARCH=90` compiles its kernels with NVRTC.
# The data: a few Fashion-MNIST images cut from Debian's dataset-fashion-mnist.
set -u
SHARPC=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
PY=${SHARPC_REF_PYTHON:-/usr/bin/python3}
FM=${SHARPC_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
T=$(mktemp -d /tmp/ship-train-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
die() { echo "FAIL $1"; exit 1; }
[ -d "$FM" ] || die "no Fashion-MNIST in $FM: install Debian's dataset-fashion-mnist"

# ---- data: 64 training and 64 test images as raw IDX files ----
"$PY" - "$FM" "$T/data" <<'PY' || die "cutting the data"
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
    with gzip.open(os.path.join(src, name + ".gz"), "rb") as f:
        magic = f.read(4)
        dims = list(struct.unpack(">%dI" % magic[3], f.read(4 * magic[3])))
        per = 1
        for d in dims[1:]:
            per *= d
        dims[0] = 64
        body = f.read(64 * per)
    with open(os.path.join(dst, name), "wb") as o:
        o.write(magic + struct.pack(">%dI" % len(dims), *dims) + body)
PY

# ---- emit ----
cd "$ROOT/examples" || exit 1
"$SHARPC" emit "$HERE/train_fm.nas" --target c -o "$T/e" --train >"$T/emit.log" 2>&1 ||
    { cat "$T/emit.log"; die "sharpc emit --train"; }
E=$T/e/train
for f in Makefile README.md kernels.c net.c runtime/sharprt.h runtime/rt_loops.c runtime/kernels/cpu/cpu_kernels.h \
         runtime/kernels/cpu/cpu_kernels_all.h; do
    [ -s "$E/$f" ] || fail "emit: train/$f missing"
done
[ ! -e "$E/runtime/rt_cuda.c" ] && pass "emit: train/ holds the network's C, the runtime, Makefile, README.md" ||
    fail "emit: the GPU layer was copied"
# every quoted include names a file in the same folder (the build's -I paths);
# the GPU layer's, under #ifndef SHARPRT_NO_CUDA, are compiled out here
bad=$(cd "$E" && for f in *.c runtime/*.[ch] runtime/kernels/cpu/*.[ch]; do
    d=$(dirname "$f")
    awk '/^#ifndef SHARPRT_NO_CUDA/ { gpu = 1; next } gpu && /^#(else|endif)/ { gpu = 0 }
         !gpu && /^#include "/ { sub(/^#include "/, ""); sub(/".*/, ""); print }' "$f" | while read -r h; do
        [ -f "$d/$h" ] || [ -f "runtime/$h" ] || [ -f "runtime/kernels/cpu/$h" ] || echo "$f:$h"
    done
done)
[ -z "$bad" ] && pass "emit: every include is inside train/" || fail "emit: includes from outside: $bad"

# ---- builds ----
build() { # build NAME MAKE_ARGS...: a copy of train/ built in $T/NAME
    name=$1; shift
    cp -r "$E" "$T/$name"
    if (cd "$T/$name" && make -j2 "$@" >make.log 2>&1) && [ -x "$T/$name/train" ]; then
        pass "make $* ($name)"
    else
        tail -30 "$T/$name/make.log"; fail "make $* ($name)"
    fi
}
build gcc_omp CC=gcc OPENMP=1 NATIVE=1 ZLIB=1
build clang CC=clang
grep -q -- "-std=c99 -O2 -Wall -Wextra -Werror -pedantic" "$T/clang/make.log" &&
    pass "the builds use -std=c99 -O2 -Wall -Wextra -Werror -pedantic" || fail "strict flags not used"
"$SHARPC" build "$HERE/train_fm.nas" -o "$T/ref" >"$T/build.log" 2>&1 || { cat "$T/build.log"; die "sharpc build"; }

# ---- the same run three times: sharpc build, and the two builds ----
A="--data $T/data --epochs 3 --threads 2"
for x in ref gcc_omp/train clang/train; do
    r=$T/run_$(dirname "$x" | sed 's/^\.$/ref/')
    "$T/$x" $A --out "$r" >"$r.log" 2>&1 || { cat "$r.log"; fail "run $x"; }
done
# a sanitizer build of sharpc compiles its executables with -fsanitize (other
# code, other rounding): then the OpenMP build is held to the strict bound
SAN=0
ldd "$T/ref" 2>/dev/null | grep -q 'libasan\|libubsan' && SAN=1
if [ $SAN = 1 ]; then
    echo "note: sharpc is a sanitizer build: no bit-for-bit comparison"
else
    cmp -s "$T/run_ref/weights.safetensors" "$T/run_gcc_omp/weights.safetensors" &&
        pass "OPENMP=1 NATIVE=1: weights.safetensors identical to sharpc build's" ||
        fail "OPENMP=1 NATIVE=1: weights differ"
fi
"$PY" - "$T" $SAN <<'PY' && pass "loss curves compared (above)" || fail "loss curves differ"
import json, sys
t, sanitized = sys.argv[1], sys.argv[2] == "1"
def log(name):
    return [json.loads(l) for l in open("%s/run_%s/log.jsonl" % (t, name))]
keys = ["lr", "drop_path", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5"]
ref = log("ref")
assert [r["epoch"] for r in ref] == [1, 2, 3], ref
ok = True
print("epoch  sharpc build train/test loss      " + "   ".join("%-18s" % n for n in ["gcc_omp", "clang"]))
runs = {n: log(n) for n in ["gcc_omp", "clang"]}
for i, r in enumerate(ref):
    cells = []
    for n, l in runs.items():
        d = max(abs(l[i][k] - r[k]) / max(abs(r[k]), 1e-12) for k in ("train_loss", "test_loss"))
        cells.append("%.6f rel %.1e" % (l[i]["train_loss"], d))
    print("%5d  %.6f %.6f      %s" % (r["epoch"], r["train_loss"], r["test_loss"], "   ".join(cells)))
close = ["clang"]
if sanitized:
    close.append("gcc_omp")
else:
    same = all(runs["gcc_omp"][i][k] == r[k] for i, r in enumerate(ref) for k in keys)
    print("gcc OPENMP=1 NATIVE=1 vs sharpc build: %s" % ("identical in every figure" if same else "DIFFERENT"))
    ok &= same
# the strict build: no FMA contraction, no OpenMP; the first epoch within
# 1e-3, the curve within 5% (a few steps of SGD amplify rounding differences)
for n in close:
    l = runs[n]
    e1 = abs(l[0]["train_loss"] - ref[0]["train_loss"]) / ref[0]["train_loss"]
    worst = max(abs(l[i][k] - r[k]) / r[k] for i, r in enumerate(ref) for k in ("train_loss", "test_loss"))
    good = e1 <= 1e-3 and worst <= 5e-2 and all(l[i]["lr"] == r["lr"] for i, r in enumerate(ref))
    print("%s: epoch-1 train loss rel diff %.1e, worst %.1e: %s" % (n, e1, worst, "ok" if good else "TOO FAR"))
    ok &= good
sys.exit(0 if ok else 1)
PY

# ---- resume, gzip ----
G=$T/gcc_omp/train
$G $A --stop-after 1 --out "$T/half" >/dev/null 2>&1 && $G $A --resume "$T/half" >"$T/resume.log" 2>&1 &&
    cmp -s "$T/half/weights.safetensors" "$T/run_gcc_omp/weights.safetensors" &&
    pass "--stop-after 1 then --resume repeats the uninterrupted run" || { cat "$T/resume.log"; fail "resume"; }
$G --data "$FM" --subset 32 --epochs 1 --threads 2 --out "$T/gz" >"$T/gz.log" 2>&1 && [ -s "$T/gz/weights.safetensors" ] &&
    pass "ZLIB=1 reads the gzip'd IDX files" || { cat "$T/gz.log"; fail "ZLIB=1 with .gz data"; }

# ---- valgrind: a short run and its resumption, the clang build ----
if command -v valgrind >/dev/null 2>&1; then
    V="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
    S="--data $T/data --subset 16 --batch 8 --epochs 2"
    $V "$T/clang/train" $S --stop-after 1 --out "$T/vg" >"$T/vg1.log" 2>&1 &&
        $V "$T/clang/train" $S --resume "$T/vg" >"$T/vg2.log" 2>&1 &&
        pass "valgrind: no error, no leak (a run and its resumption)" ||
        { cat "$T/vg1.log" "$T/vg2.log"; fail "valgrind"; }
else
    echo "skip valgrind (not installed)"
fi

# ---- the CUDA target's training program: the GPU layer, run on --device ref ----
"$SHARPC" emit "$HERE/train_fm.nas" --target cuda -o "$T/g" --train >"$T/emitg.log" 2>&1 ||
    { cat "$T/emitg.log"; die "sharpc emit --target cuda --train"; }
EG=$T/g/train
for f in runtime/rt_cuda.c runtime/device/rt_dev.c runtime/device/rt_cuda_sources.c runtime/device/rt_plan.h \
    runtime/kernels/cuda/conv.cu runtime/kernels/cuda/cuda_kernels.h; do
    [ -s "$EG/$f" ] || fail "emit --target cuda: train/$f missing"
done
grep -q "net_cuda" "$EG/net.c" && pass "emit --target cuda --train: the GPU layer and the launch plan are there" ||
    fail "emit --target cuda: net.c carries no launch plan"
if (cd "$EG" && make -j2 CC=gcc OPENMP=1 NATIVE=1 ZLIB=1 >make.log 2>&1) && [ -x "$EG/train" ]; then
    pass "make CC=gcc OPENMP=1 NATIVE=1 ZLIB=1 (the CUDA target's train/, strict C99)"
    A1="--data $T/data --subset 32 --epochs 1 --threads 2"
    "$T/ref" $A1 --out "$T/run_ref1" >"$T/run_ref1.log" 2>&1 || { cat "$T/run_ref1.log"; fail "run ref, two steps"; }
    "$EG/train" $A1 --device ref --out "$T/run_g" >"$T/run_g.log" 2>&1 || { cat "$T/run_g.log"; fail "run --device ref"; }
    "$PY" "$ROOT/tests/cuda/compare_st.py" "$T/run_ref1/weights.safetensors" "$T/run_g/weights.safetensors" &&
        pass "the CUDA target's program on --device ref trains as sharpc build's on the CPU" ||
        fail "--device ref weights differ from the CPU run's"
    (cd "$EG" && XDG_CACHE_HOME=$T/kc make cache ARCH=90 >cache.log 2>&1) &&
        grep -q "CUDA kernels compiled" "$EG/cache.log" && pass "make cache ARCH=90 compiles the kernels with NVRTC" ||
        { cat "$EG/cache.log"; fail "make cache ARCH=90"; }
else
    tail -30 "$EG/make.log"; fail "make (the CUDA target's train/)"
fi

[ $fails -eq 0 ] && echo "ship_train: all checks passed" || echo "ship_train: $fails failed"
[ $fails -eq 0 ]
