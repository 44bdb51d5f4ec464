#!/usr/bin/env python3
"""random_cifar.py DIR N: writes CIFAR-10 binary batches (data_batch_1..5.bin,
test_batch.bin) of N records each, random pixels and labels from a fixed
seed: data with no flat regions, for comparisons that real images' constant
backgrounds would make ill-conditioned. Standard library only."""
import os
import random
import sys

d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
rng = random.Random(20261128)
for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(d, name), "wb") as f:
        for _ in range(n):
            f.write(bytes([rng.randrange(10)]) + bytes(rng.getrandbits(8) for _ in range(3072)))
