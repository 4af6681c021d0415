"""Datasets of the course: bundled Fashion-MNIST subset, full Fashion-MNIST, CIFAR-10, photos.

All image arrays are returned as ``uint8`` in [0, 255]; labels as ``uint8`` class ids.
Use :func:`to_float_images` to get ``float32`` in [0, 1] with a channel axis.
"""
from __future__ import annotations

import gzip
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from . import config

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
SMALL_FASHION_FILE = config.DATA_DIR / "fashion_mnist_small.npz"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
                 "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
SMOKE_SIZES = (1000, 500)  # train, test examples kept in smoke mode


class DatasetUnavailable(RuntimeError):
    """Raised when a dataset is neither on disk nor downloadable; the message says what to do."""


def keras_cache_dir() -> Path:
    """Folder where Keras keeps downloaded datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


# ----------------------------------------------------------------------------- file formats
def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into a NumPy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but the file holds {data.size} values")
    return data.reshape(dims)


def read_fashion_dir(folder) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read the four Fashion-MNIST IDX files from ``folder``."""
    folder = Path(folder)
    arrays = {key: read_idx(folder / name) for key, name in FASHION_FILES.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _cifar_batch(fileobj) -> tuple[np.ndarray, np.ndarray]:
    batch = pickle.load(fileobj, encoding="bytes")
    x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.asarray(batch[b"labels"], dtype=np.uint8)
    return x, y


def read_cifar10(source) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR-10 from a ``cifar-10-batches-py`` folder or the ``cifar-10-python.tar.gz`` archive."""
    source = Path(source)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    parts = {}
    if source.is_dir():
        for name in names:
            with open(source / name, "rb") as f:
                parts[name] = _cifar_batch(f)
    else:
        with tarfile.open(source, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in names:
                if name not in members:
                    raise ValueError(f"{source} has no member {name}")
                parts[name] = _cifar_batch(tar.extractfile(members[name]))
    x_train = np.concatenate([parts[n][0] for n in names[:5]])
    y_train = np.concatenate([parts[n][1] for n in names[:5]])
    return (x_train, y_train), parts["test_batch"]


# ----------------------------------------------------------------------------- subsets
def stratified_head(y: np.ndarray, n: int) -> np.ndarray:
    """Indices of the first ``n // classes`` examples of every class, in their original order."""
    classes = np.unique(y)
    per_class = max(1, n // len(classes))
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in classes])
    return np.sort(keep)


def _shrink_for_smoke(train, test):
    if not config.smoke():
        return train, test
    (xtr, ytr), (xte, yte) = train, test
    i, j = stratified_head(ytr, SMOKE_SIZES[0]), stratified_head(yte, SMOKE_SIZES[1])
    return (xtr[i], ytr[i]), (xte[j], yte[j])


# ----------------------------------------------------------------------------- loaders
def fashion_full_dir() -> Path | None:
    """The folder holding the full Fashion-MNIST on this machine, or None (nothing is read)."""
    candidates = [keras_cache_dir() / "fashion-mnist", DEBIAN_FASHION_DIR]
    if os.environ.get("FASHION_MNIST_DIR"):
        candidates.insert(0, Path(os.environ["FASHION_MNIST_DIR"]))
    for folder in candidates:
        if all((folder / name).is_file() for name in FASHION_FILES.values()):
            return folder
    return None


def load_fashion_mnist(size: str = "small", download: bool = True):
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``.

    ``x`` is ``uint8`` of shape (N, 28, 28), ``y`` is ``uint8`` of shape (N,) with ids into
    :data:`FASHION_CLASSES`. ``size="small"`` is the bundled stratified subset (10,000 train,
    2,000 test); ``size="full"`` is the original 60,000 + 10,000, looked for in the Keras cache,
    then in ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``),
    then downloaded by Keras. In smoke mode both are cut to a small stratified head.
    """
    if size == "small":
        with np.load(SMALL_FASHION_FILE) as f:
            train, test = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    elif size == "full":
        folder = fashion_full_dir()
        found = read_fashion_dir(folder) if folder else None
        if found is None and download:
            found = _try_keras_download("fashion_mnist")
        if found is None:
            raise DatasetUnavailable(
                "The full Fashion-MNIST is not on this machine"
                + (" and could not be downloaded (no network?).\n" if download else
                   " (no download was tried: download=False).\n") +
                "Do one of: (1) on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist; "
                "(2) with a network, run once: python -c \"import keras; "
                "keras.datasets.fashion_mnist.load_data()\"; (3) put the four *-ubyte.gz files "
                f"in {keras_cache_dir() / 'fashion-mnist'} or set FASHION_MNIST_DIR.\n"
                "Meanwhile, load_fashion_mnist('small') uses the bundled subset.")
        train, test = found
        train = (train[0], train[1].astype(np.uint8))
        test = (test[0], test[1].astype(np.uint8))
    else:
        raise ValueError(f"size must be 'small' or 'full', not {size!r}")
    return _shrink_for_smoke(train, test)


def _cifar_candidates() -> list[Path]:
    cache = keras_cache_dir()
    found = [Path(os.environ["CIFAR10_DIR"])] if os.environ.get("CIFAR10_DIR") else []
    return found + [cache / "cifar-10-batches-py-target" / "cifar-10-batches-py",
                    cache / "cifar-10-batches-py", cache / "cifar-10-python.tar.gz",
                    config.DATA_DIR / "cifar-10-python.tar.gz"]


def load_cifar10(download: bool = True):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``: ``x`` uint8 (N, 32, 32, 3), ``y`` uint8 (N,).

    Looks in the Keras cache (both the Keras 3 and the older folder layout, or the archive),
    then asks Keras to download it. Offline with no copy it raises :class:`DatasetUnavailable`.
    """
    for source in _cifar_candidates():
        if source.exists():
            return _shrink_for_smoke(*read_cifar10(source))
    found = _try_keras_download("cifar10") if download else None
    if found is None:
        raise DatasetUnavailable(
            "CIFAR-10 is not on this machine"
            + (" and could not be downloaded (no network?).\n" if download else
               " (no download was tried: download=False).\n") +
            "Do one of: (1) with a network, run once: python -c \"import keras; "
            "keras.datasets.cifar10.load_data()\"; (2) copy cifar-10-python.tar.gz into "
            f"{keras_cache_dir()} or into {config.DATA_DIR}; (3) set CIFAR10_DIR to an unpacked "
            "cifar-10-batches-py folder.\nThe lessons fall back to Fashion-MNIST meanwhile.")
    (xtr, ytr), (xte, yte) = found
    return _shrink_for_smoke((xtr, ytr.reshape(-1)), (xte, yte.reshape(-1)))


def _try_keras_download(name: str):
    """Ask Keras to download a dataset; ``None`` when that fails (e.g. offline)."""
    import socket

    import keras

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    try:
        return getattr(keras.datasets, name).load_data()
    except Exception:
        return None
    finally:
        socket.setdefaulttimeout(old)


def to_float_images(x: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 in [0, 1] with a channel axis."""
    x = np.asarray(x, dtype=np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


def sample_photo(name: str = "china", gray: bool = False) -> np.ndarray:
    """A real photo shipped with scikit-learn ("china" or "flower"): uint8 (H, W, 3), or float (H, W) if gray."""
    from sklearn.datasets import load_sample_image

    image = load_sample_image(f"{name}.jpg")
    if gray:
        return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
    return image
