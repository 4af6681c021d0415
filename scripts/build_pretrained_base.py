"""Build data/fashion_base.keras: a small convolutional base pretrained on 7 Fashion-MNIST classes.

Usage: python scripts/build_pretrained_base.py [--epochs 3] [--out data/fashion_base.keras]

Lesson 17 (transfer learning) reuses this base on the *other* three classes (Pullover, Coat,
Shirt: the most easily confused ones). The source task is the full Fashion-MNIST training split
(Debian package dataset-fashion-mnist, the Keras cache or a download, see
utils.data.load_fashion_mnist) restricted to SOURCE_CLASSES, 6,000 images each; their labels are
renumbered 0..6 in the order of SOURCE_CLASSES for the temporary source classifier.
Training is deterministic (fixed seed, deterministic TensorFlow ops): the weights digest printed
at the end is the same on every run on the same TensorFlow build. Only the base is saved, without
the source classifier, in the native .keras format; loading it needs no network.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

os.environ["COURSE_SMOKE"] = "0"  # always the full data, whatever the shell says
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import utils
from utils.config import DATA_DIR
from utils.data import FASHION_CLASSES, load_fashion_mnist, to_float_images

SEED = 15
# T-shirt/top, Trouser, Dress, Sandal, Sneaker, Bag, Ankle boot; lesson 17's target is 2, 4, 6
SOURCE_CLASSES = (0, 1, 3, 5, 7, 8, 9)
OUT = DATA_DIR / "fashion_base.keras"


def build_base():
    """Three blocks Conv -> BatchNorm -> ReLU -> MaxPool: 28x28x1 images -> 3x3x128 feature maps.

    BatchNorm momentum 0.9 (not Keras' 0.99): its moving statistics must settle within the few
    dozen steps of training on a few hundred images, as the lesson's from-scratch baseline does.
    """
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="fashion_base")


def weights_digest(model) -> str:
    """sha256 of all weights (the .keras zip also stores a date, so its bytes vary)."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    start = time.perf_counter()
    utils.setup(seed=SEED)
    import keras
    from keras import layers

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist("full")
    keep_train, keep_test = np.isin(y_train, SOURCE_CLASSES), np.isin(y_test, SOURCE_CLASSES)
    renumber = np.full(10, -1)
    renumber[list(SOURCE_CLASSES)] = np.arange(len(SOURCE_CLASSES))  # 0, 1, 3, 5, ... -> 0..6
    x_train, y_train = to_float_images(x_train[keep_train]), renumber[y_train[keep_train]]
    x_test, y_test = to_float_images(x_test[keep_test]), renumber[y_test[keep_test]]
    names = ", ".join(FASHION_CLASSES[c] for c in SOURCE_CLASSES)
    print(f"source task: {len(x_train)} training and {len(x_test)} test images of {names}")

    base = build_base()
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalAveragePooling2D()(base(inputs))
    outputs = layers.Dense(len(SOURCE_CLASSES), activation="softmax", name="source_head")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"source test accuracy ({len(SOURCE_CLASSES)} classes): {accuracy:.4f}")

    base.save(args.out)
    print(f"wrote {args.out}: the base only ({base.count_params():,} parameters, "
          f"input {base.input_shape}, output {base.output_shape}), "
          f"{args.out.stat().st_size / 1e6:.2f} MB, weights sha256 {weights_digest(base)}, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
