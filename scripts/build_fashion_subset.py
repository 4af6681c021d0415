"""Build data/fashion_mnist_small.npz: a stratified, deterministic Fashion-MNIST subset.

Usage: python scripts/build_fashion_subset.py [--source DIR] [--train 10000] [--test 2000]
The source is the folder of the four original *-ubyte.gz files (default: the Debian package
dataset-fashion-mnist, /usr/share/datasets/fashion-mnist).
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from utils.data import DEBIAN_FASHION_DIR, SMALL_FASHION_FILE, read_fashion_dir

SEED = 20261122


def stratified_sample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices, n/classes from each class drawn without replacement, then shuffled."""
    classes = np.unique(y)
    per_class = n // len(classes)
    picks = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes]
    return rng.permutation(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_FASHION_DIR)
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=SMALL_FASHION_FILE)
    args = parser.parse_args()
    (xtr, ytr), (xte, yte) = read_fashion_dir(args.source)
    rng = np.random.default_rng(SEED)
    i, j = stratified_sample(ytr, args.train, rng), stratified_sample(yte, args.test, rng)
    np.savez_compressed(args.out, x_train=xtr[i], y_train=ytr[i], x_test=xte[j], y_test=yte[j],
                        train_index=i.astype(np.int32), test_index=j.astype(np.int32))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest}): "
          f"{len(i)} train + {len(j)} test")


if __name__ == "__main__":
    main()
