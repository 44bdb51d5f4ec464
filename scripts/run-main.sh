#!/bin/sh
# run-main.sh: the README's first command. Installs the dependencies, builds
# sharpc, and runs the main job on the shipped examples: checks every space
# and genotype and prints their parameter and multiply-add counts.
set -e
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
for f in examples/*.nas; do
    echo "== sharpc check $f"
    ./build/codegen/sharpc check "$f"
done
for f in darts sharpdarts sharper fashion_mnist darts_v2 sharpsepconv_darts sharp_darts sharpsepconv_darts_max_w imagenet_sharp_darts; do
    echo "== sharpc dump examples/$f.nas --stats"
    ./build/codegen/sharpc dump "examples/$f.nas" --stats
done
