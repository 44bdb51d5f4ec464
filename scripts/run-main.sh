#!/bin/sh
# run-main.sh: the README's first command. Installs the dependencies, builds
# sharpc, checks every example, then runs the main job on real data: a
# sharpDARTS search on Fashion-MNIST (Debian's dataset-fashion-mnist) with
# the search space of examples/fashion_mnist.nas, builds the genotype it
# finds, trains it and prints the test accuracy; then ships it: `sharpc emit`
# writes the trained network as standalone C (runs/model), which is built
# and classifies the test set. Outputs go to runs/.
# SEARCH_ARGS, FINAL_ARGS and TRAIN_ARGS override the run lengths and the
# final network (see runs/search --help and runs/train --help); HOUR (60)
# the minutes the whole command aims at, which set the training's epochs.
set -e
START=$(date +%s)
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
for f in examples/*.nas; do
    echo "== sharpc check $f"
    ./build/codegen/sharpc check "$f"
done
./build/codegen/sharpc dump examples/fashion_mnist.nas --stats
DATA=/usr/share/datasets/fashion-mnist
# The final network: C 16, 5 cells, at batch 64 with the peak learning rate
# doubled (0.05) and no cutout or drop path, which hold a run this short
# back (the network underfits: training accuracy stays below test accuracy);
# flip stays and the crop padding is halved (2). The schedule is set once
# per epoch and ends at --lr-min (spec section 7), so the last epoch trains
# at --lr-min: 0.001 instead of 1e-8 keeps that epoch learning.
# How many epochs: the whole command aims at HOUR minutes (60, the issue's
# hour); the training gets 85% of what is left of them when it starts, less
# 2 minutes (the emitted model's build and test; the machine's speed drifts
# within a run), and trains as many epochs as it measures to fit
# (--time-budget), at most 20. On a fast day that is 20 epochs in about 45
# minutes; a slow day (3x slower) gets about 6. See BENCHMARKS.md.
HOUR=${HOUR:-60}
FINAL_ARGS=${FINAL_ARGS:---final-C 16 --final-layers 5 --final-epochs 8}
SEARCH_ARGS=${SEARCH_ARGS:---subset 6400 --epochs 2 --batch 32}
mkdir -p runs
echo "== sharpc build examples/fashion_mnist.nas -o runs/search"
./build/codegen/sharpc build examples/fashion_mnist.nas -o runs/search
echo "== runs/search --data $DATA --out runs/search-out $SEARCH_ARGS"
# shellcheck disable=SC2086
runs/search --data "$DATA" --out runs/search-out $FINAL_ARGS $SEARCH_ARGS
echo "== the genotype found:"
grep '^FOUND' runs/search-out/genotype.nas
echo "== sharpc build runs/search-out/genotype.nas -o runs/train"
./build/codegen/sharpc build -I examples runs/search-out/genotype.nas -o runs/train
BUDGET=$(awk -v h="$HOUR" -v s="$START" -v now="$(date +%s)" 'BEGIN { b = (h - (now - s) / 60) * 0.85 - 2; printf "%.1f", b < 1 ? 1 : b }')
TRAIN_ARGS=${TRAIN_ARGS:---epochs 20 --time-budget $BUDGET --batch 64 --lr 0.05 --lr-min 0.001 --cutout 0 --drop-path 0 --crop 2}
echo "== runs/train --data $DATA --out runs/train-out $TRAIN_ARGS"
# shellcheck disable=SC2086
runs/train --data "$DATA" --out runs/train-out $TRAIN_ARGS
echo "== sharpc emit runs/search-out/genotype.nas --target c -o runs/model --weights runs/train-out/weights.safetensors"
rm -rf runs/model
./build/codegen/sharpc emit -I examples runs/search-out/genotype.nas --target c -o runs/model \
    --weights runs/train-out/weights.safetensors
make -C runs/model OPENMP=1 NATIVE=1 ZLIB=1
echo "== runs/model/classify $DATA/t10k-images-idx3-ubyte.gz --weights runs/train-out/weights.safetensors"
runs/model/classify "$DATA/t10k-images-idx3-ubyte.gz" --weights runs/train-out/weights.safetensors
echo "== the whole command took $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
