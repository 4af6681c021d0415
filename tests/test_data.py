"""Data loaders, tested on small files made here in the real formats (IDX gz, CIFAR-10 archive)."""
import gzip
import io
import pickle
import tarfile

import numpy as np
import pytest

from utils import data


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_fashion_dir(folder, n_train=30, n_test=20):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28)), "y_train": np.arange(n_train) % 10,
              "x_test": rng.integers(0, 256, (n_test, 28, 28)), "y_test": np.arange(n_test) % 10}
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in data.FASHION_FILES.items():
        write_idx(folder / name, arrays[key])
    return arrays


def cifar_batch_bytes(n, first_label):
    # channel planes: R = 10, G = 20, B = 30 so that a wrong transpose is caught
    x = np.zeros((n, 3, 32, 32), np.uint8)
    x[:, 0], x[:, 1], x[:, 2] = 10, 20, 30
    batch = {b"data": x.reshape(n, 3072), b"labels": [(first_label + i) % 10 for i in range(n)]}
    return pickle.dumps(batch)


def make_cifar_archive(path, n=4):
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for k, name in enumerate(names):
            raw = cifar_batch_bytes(n, k)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No Keras cache, no Debian package, no smoke mode: only what the test puts in place."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    for var in ("FASHION_MNIST_DIR", "CIFAR10_DIR", "COURSE_SMOKE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.uint8)
    write_idx(tmp_path / "a.gz", array)
    out = data.read_idx(tmp_path / "a.gz")
    assert out.dtype == np.uint8 and np.array_equal(out, array)


def test_read_idx_rejects_a_wrong_header(tmp_path):
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(b"\x01\x02\x03\x04garbage")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad.gz")


def test_full_fashion_from_keras_cache(offline):
    arrays = make_fashion_dir(offline / "keras" / "datasets" / "fashion-mnist")
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist("full", download=False)
    assert xtr.shape == (30, 28, 28) and xte.shape == (20, 28, 28)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.uint8
    assert np.array_equal(ytr, arrays["y_train"]) and np.array_equal(xte, arrays["x_test"])


def test_full_fashion_from_debian_folder(offline):
    make_fashion_dir(offline / "no-debian", n_train=40)
    (xtr, _), _ = data.load_fashion_mnist("full", download=False)
    assert len(xtr) == 40


def test_full_fashion_offline_says_what_to_do(offline):
    with pytest.raises(data.DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist("full", download=False)


def test_unknown_size_is_a_clear_error():
    with pytest.raises(ValueError, match="'small' or 'full'"):
        data.load_fashion_mnist("medium")


def test_bundled_subset_shape_and_balance(offline):
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist()
    assert xtr.shape == (10_000, 28, 28) and xte.shape == (2_000, 28, 28)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.uint8
    assert np.all(np.bincount(ytr) == 1_000) and np.all(np.bincount(yte) == 200)


def test_smoke_mode_gives_a_small_stratified_subset(offline, monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist()
    assert (len(xtr), len(xte)) == data.SMOKE_SIZES
    assert np.all(np.bincount(ytr) == data.SMOKE_SIZES[0] // 10)


def test_cifar_from_archive_in_keras_cache(offline):
    (offline / "keras" / "datasets").mkdir(parents=True)
    make_cifar_archive(offline / "keras" / "datasets" / "cifar-10-python.tar.gz")
    (xtr, ytr), (xte, yte) = data.load_cifar10(download=False)
    assert xtr.shape == (20, 32, 32, 3) and xte.shape == (4, 32, 32, 3)
    assert ytr.shape == (20,) and ytr.dtype == np.uint8
    assert tuple(xtr[0, 5, 7]) == (10, 20, 30)  # channels last, in RGB order
    assert list(yte) == [5, 6, 7, 8]


def test_cifar_from_unpacked_keras3_folder(offline):
    target = offline / "keras" / "datasets" / "cifar-10-batches-py-target"
    target.mkdir(parents=True)
    make_cifar_archive(offline / "a.tar.gz", n=3)
    with tarfile.open(offline / "a.tar.gz") as tar:
        tar.extractall(target, filter="data")
    (xtr, _), (xte, _) = data.load_cifar10(download=False)
    assert len(xtr) == 15 and len(xte) == 3


def test_cifar_offline_says_what_to_do(offline):
    with pytest.raises(data.DatasetUnavailable, match="cifar-10-python.tar.gz"):
        data.load_cifar10(download=False)


def test_sample_photo_is_an_rgb_tensor():
    photo = data.sample_photo("china")
    assert photo.ndim == 3 and photo.shape[2] == 3 and photo.dtype == np.uint8
    gray = data.sample_photo("flower", gray=True)
    assert gray.ndim == 2 and 0.0 <= gray.min() and gray.max() <= 1.0


def test_to_float_images_adds_a_channel_axis():
    x = data.to_float_images(np.full((2, 28, 28), 255, np.uint8))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0


def test_cifar_without_download_does_not_blame_the_network(offline):
    with pytest.raises(data.DatasetUnavailable) as info:
        data.load_cifar10(download=False)
    first = str(info.value).splitlines()[0]
    assert "download=False" in first and "network" not in first
