"""Content digests of external inputs (data files, corpora, archives, pretrained weights), for artefact keys.

An artefact's key must change when anything it was computed from changes, including a file read from
a path (or a path chosen by an environment variable) whose content is rewritten in place. A config
that reads such an input says so by defining ``input_digests() -> dict[str, str]``; ``config_hash``
folds those digests into the key (see :mod:`leakage.config`).

Hashing a large file on every call would be slow, so a digest is cached by (resolved path, size,
modification and status-change times in ns, inode): in memory for the process, and on disk under
``<store>/.digests/`` for later processes. Any rewrite changes the status-change time (which no
program can set back), so the cache never serves an old digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from leakage.paths import store_root

_MEMO: dict[tuple[str, int, int, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int, int, int]:
    """(resolved path, size, mtime, ctime, inode): a rewrite in place changes the ctime even when it keeps
    the size and lands in the same mtime tick (or restores the mtime), and a replacement changes the inode."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def file_digest(path: str | os.PathLike[str]) -> str:
    """A 16-hex-digit SHA-256 digest of the file's bytes (cached by path, size and mtime).

    Raises ``FileNotFoundError`` naming the path when it does not exist.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist (or is not a file)")
    key = _stat_key(path)
    if key in _MEMO:
        return _MEMO[key]
    cache = store_root() / ".digests" / (hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24] + ".txt")
    try:
        digest = cache.read_text().strip()
    except OSError:
        digest = ""
    if len(digest) != 16:
        sha = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        digest = sha.hexdigest()[:16]
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            tmp.write_text(digest)
            os.replace(tmp, cache)
        except OSError:  # a read-only store still works, just without the on-disk cache
            pass
    _MEMO[key] = digest
    return digest


def path_digest(path: str | os.PathLike[str]) -> str:
    """The digest of a file, or of a folder: every file below it (names relative to it, and contents).

    Hidden files and folders (``.name``) are skipped. Raises ``FileNotFoundError`` when ``path`` is missing.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return file_digest(path)
    if not path.is_dir():
        raise FileNotFoundError(f"input {path} does not exist")
    sha = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue
        sha.update(f"{relative.as_posix()}\0{file_digest(file)}\n".encode())
    return sha.hexdigest()[:16]


def bytes_digest(*chunks: bytes) -> str:
    """A 16-hex-digit SHA-256 digest of in-memory content (e.g. a loaded data set's arrays)."""
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(len(chunk).to_bytes(8, "little"))
        sha.update(chunk)
    return sha.hexdigest()[:16]


def array_digest(*arrays: Any) -> str:
    """A 16-hex-digit digest of arrays' or tensors' content (dtype, shape and bytes, in order).

    For keying artefacts computed from data handed in (images, labels): equal content, equal digest,
    wherever it lives (CPU or GPU). Raises ``ValueError`` for something that is not an array or tensor.
    """
    import numpy as np

    chunks = []
    for a in arrays:
        dtype = str(getattr(a, "dtype", ""))
        if hasattr(a, "detach"):  # a torch tensor (bfloat16 has no numpy dtype: widened, its name kept above)
            a = a.detach().cpu()
            a = (a.float() if dtype == "torch.bfloat16" else a).numpy()
        elif not isinstance(a, np.ndarray):
            raise ValueError(f"expected arrays or tensors to digest, got {type(a).__name__}")
        a = np.ascontiguousarray(a)
        chunks += [f"{dtype}{a.shape}".encode(), a.tobytes()]
    return bytes_digest(*chunks)


def module_digest(model: Any) -> str:
    """A 16-hex-digit digest of a torch module's weights and buffers (names, dtypes, shapes, values).

    Two models with the same architecture and different weights get different digests; the same weights
    on another device the same one. This is what keys an artefact computed from a model handed in.
    """
    state = model.state_dict()
    names = sorted(state)
    return bytes_digest(repr(names).encode(), array_digest(*(state[n] for n in names)).encode())
