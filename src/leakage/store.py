"""The experiment store: artefacts keyed by the hash of their full config, written atomically.

An artefact is a folder ``<root>/<kind>/<hash>/`` holding

- ``arrays.npz``   every NumPy array of the payload (per-example scores, masks, ...),
- ``<name>.pt``    every torch state dict of the payload (model weights),
- ``values.json``  everything else (metrics, small tables), JSON-able,
- ``record.json``  written last: config, seed, package versions, device, wall time, file checksums.

The folder is assembled under a temporary name and renamed into place in one step, so a run
killed half-way leaves no folder that a later run could trust; the next run recomputes it.
A folder whose checksums do not match is moved aside to ``<hash>.corrupt-<time>`` (kept for
inspection, never deleted) and recomputed, with a warning. Processes that need the same missing
artefact at once (notebooks run in parallel) compute it once: the others wait on a lock file
under ``<root>/.locks/`` and then load it; the operating system drops the lock of a killed process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from leakage.config import config_dict, config_hash, input_digests
from leakage.paths import store_root

try:
    import fcntl  # POSIX only: where it is missing, parallel runs may compute an artefact twice
except ImportError:
    fcntl = None

COMPUTED_LOG = ".computed.log"
RECORD = "record.json"
FORCE_ENV = "LEAKAGE_FORCE_BEFORE"


class CorruptArtifactWarning(UserWarning):
    """An artefact on disk failed its checksum and was set aside."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that can change a number."""
    import scipy
    import sklearn

    import leakage

    return {
        "python": platform.python_version(),
        "leakage": leakage.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def _write_payload(folder: Path, payload: Mapping[str, Any]) -> None:
    arrays = {k: v for k, v in payload.items() if isinstance(v, np.ndarray)}
    tensors = {k: v for k, v in payload.items() if _is_state_dict(v)}
    values = {k: v for k, v in payload.items() if k not in arrays and k not in tensors}
    for name in payload:
        if not name.isidentifier():
            raise ValueError(f"artefact entry names must be identifiers, got {name!r}")
    if arrays:
        np.savez(folder / "arrays.npz", **arrays)
    for name, state in tensors.items():
        torch.save({k: v.detach().cpu() for k, v in state.items()}, folder / f"{name}.pt")
    try:
        text = json.dumps(values, indent=1, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"artefact entries must be arrays, state dicts or JSON-able values: {err}") from None
    (folder / "values.json").write_text(text)


def _read_payload(folder: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((folder / "values.json").read_text())
    if (folder / "arrays.npz").exists():
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            payload.update({k: npz[k] for k in npz.files})
    for file in folder.glob("*.pt"):
        payload[file.stem] = torch.load(file, map_location="cpu", weights_only=True)
    return payload


class Store:
    """Artefacts keyed by (kind, config hash) under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike | None = None, force_before: float | None = None):
        """``force_before``: artefacts finished before this UNIX time count as missing (``--force``);
        defaults to ``$LEAKAGE_FORCE_BEFORE`` when set."""
        self.root = Path(root) if root is not None else store_root()
        env = os.environ.get(FORCE_ENV)
        self.force_before = force_before if force_before is not None else (float(env) if env else None)

    def folder(self, kind: str, config: Any) -> Path:
        """The artefact folder for (kind, config), whether or not it exists yet."""
        if not kind.isidentifier():
            raise ValueError(f"artefact kind must be an identifier, got {kind!r}")
        return self.root / kind / config_hash(kind, config)

    def record(self, kind: str, config: Any) -> dict[str, Any] | None:
        """The run record of a finished, intact, fresh artefact, else None."""
        folder = self.folder(kind, config)
        try:
            record = json.loads((folder / RECORD).read_text())
            intact = all(_sha256(folder / name) == digest for name, digest in record["files"].items())
        except FileNotFoundError:
            if folder.exists():  # a folder without its record was not written by this store
                self._set_aside(folder, "it has no readable record")
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self._set_aside(folder, "its record is unreadable")
            return None
        if not intact:
            self._set_aside(folder, "a file does not match its checksum")
            return None
        if self.force_before is not None and record["finished_at"] < self.force_before:
            return None
        return record

    def load(self, kind: str, config: Any) -> dict[str, Any] | None:
        """The payload of a finished, intact, fresh artefact, else None."""
        if self.record(kind, config) is None:
            return None
        return _read_payload(self.folder(kind, config))

    def save(self, kind: str, config: Any, payload: Mapping[str, Any], *, seed: int | None,
             device: str = "cpu", wall_time_s: float = 0.0) -> Path:
        """Write ``payload`` as the artefact of (kind, config), atomically; returns its folder."""
        final = self.folder(kind, config)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
        try:
            _write_payload(tmp, payload)
            record = {
                "kind": kind,
                "config_hash": final.name,
                "config": config_dict(config),
                "inputs": input_digests(config),
                "seed": seed,
                "versions": package_versions(),
                "device": device,
                "wall_time_s": round(wall_time_s, 3),
                "finished_at": time.time(),
                "files": {f.name: _sha256(f) for f in sorted(tmp.iterdir())},
            }
            (tmp / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True))
            if final.exists():  # stale (forced) or written meanwhile by a parallel run: replace it
                old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
                with contextlib.suppress(FileNotFoundError):
                    os.rename(final, old)
                    shutil.rmtree(old, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError:  # a parallel run renamed its copy in first: keep that one
                if not (final / RECORD).exists():
                    raise
            self._log_computed(kind, final.name, record["wall_time_s"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    def _log_computed(self, kind: str, config_hash: str, seconds: float) -> None:
        """Append one line to ``<root>/.computed.log`` (one ``write`` of a short line in append mode: lines of
        concurrent processes never interleave)."""
        line = json.dumps({"kind": kind, "config_hash": config_hash, "pid": os.getpid(), "seconds": seconds,
                           "at": time.time()}) + "\n"
        with open(self.root / COMPUTED_LOG, "a") as handle:
            handle.write(line)

    def computed(self, since: float = 0.0) -> list[dict[str, Any]]:
        """Every artefact this store's root saw computed (finished) at or after ``since`` (UNIX time), oldest
        first: dicts with ``kind``, ``config_hash``, ``pid``, ``seconds``, ``at``. How a run proves it computed
        each artefact once, and that a later run computed nothing."""
        try:
            lines = (self.root / COMPUTED_LOG).read_text().splitlines()
        except FileNotFoundError:
            return []
        entries = [json.loads(line) for line in lines if line.strip()]
        return [e for e in entries if e["at"] >= since]

    def cached(self, kind: str, config: Any, compute: Callable[[], Mapping[str, Any]], *,
               seed: int | None, device: str = "cpu") -> dict[str, Any]:
        """Load the artefact of (kind, config), or run ``compute()``, save its payload and return it."""
        payload = self.load(kind, config)
        if payload is not None:
            return payload
        with self._computing(kind, config):
            payload = self.load(kind, config)  # another process may have made it while this one waited
            if payload is not None:
                return payload
            start = time.perf_counter()
            payload = dict(compute())
            self.save(kind, config, payload, seed=seed, device=device, wall_time_s=time.perf_counter() - start)
        return _read_payload(self.folder(kind, config))

    @contextlib.contextmanager
    def _computing(self, kind: str, config: Any) -> Iterator[None]:
        """Hold the exclusive lock of artefact (kind, config) for the duration (no-op where fcntl is missing)."""
        if fcntl is None:
            yield
            return
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{kind}-{self.folder(kind, config).name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _set_aside(self, folder: Path, why: str) -> None:
        aside = folder.with_name(f"{folder.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(FileNotFoundError):
            os.rename(folder, aside)
            warnings.warn(f"artefact {folder} is corrupt ({why}); moved to {aside} and recomputing",
                          CorruptArtifactWarning, stacklevel=3)
