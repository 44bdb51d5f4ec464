#!/bin/sh
# ship_cuda.sh SHARPC: `sharpc emit --target cuda` writes model.cu that nvcc
# compiles with every warning an error (-Werror all-warnings, host -Wall
# -Wextra -Werror) and links with the C classifier: the Fashion-MNIST
# genotype for sm_80 and sm_90 (weights loaded, and embedded) and every
# primitive of the sharpDARTS table for sm_80. (DARTS_V2's dropped aux head
# is ship_plan.c's, which both targets share: ship_parity checks it.)
# Runs nothing on a GPU (tests/gpu/run.sh compares the GPU logits with the
# C target's when a GPU is there). Fails, naming the package, without nvcc.
set -u
SHARPC=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/ship-cuda-XXXXXX)
trap 'rm -rf "$T"' EXIT
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$NVCC" ]; then
    echo "FAIL: nvcc not found (install the CUDA toolkit at /usr/local/cuda)"
    exit 1
fi
fails=0
n=0
/usr/bin/python3 "$HERE/ship_parity.py" --write-weights fashion_found "$T/W.safetensors" ||
    { echo "FAIL: writing weights needs Debian's python3-torch"; exit 1; }
# case: NAS ARCH [emit options]
build() {
    nas=$1 arch=$2; shift 2
    n=$((n + 1))
    d=$T/case$n
    if ! "$SHARPC" emit "$nas" --target cuda -o "$d" "$@" >"$T/log" 2>&1; then
        echo "FAIL emit $nas: $(cat "$T/log")"; fails=$((fails + 1)); return
    fi
    t0=$(date +%s)
    if (cd "$d" && make NVCC="$NVCC" ARCH="$arch" >"$T/make.log" 2>&1) && [ -x "$d/classify" ]; then
        echo "ok   $(basename "$nas") $arch $*: model.cu ($(wc -l <"$d/model.cu") lines, $(grep -c '<<<' "$d/model.cu") launches) compiled in $(( $(date +%s) - t0 )) s; $(cat "$T/log")"
    else
        echo "FAIL $(basename "$nas") $arch $*:"; cat "$T/make.log"; fails=$((fails + 1))
    fi
}
build "$HERE/fashion_found.nas" sm_80 --weights "$T/W.safetensors"
build "$HERE/fashion_found.nas" sm_90 --weights "$T/W.safetensors" --embed-weights
build "$HERE/../parity/all_ops_sharp_9.nas" sm_80
echo "ship_cuda: $fails failure(s)"
[ $fails -eq 0 ]
