"""The experiment store: artefacts keyed by the hash of their full config, written atomically.

An artefact is a folder ``<root>/<kind>/<hash>/`` holding

- ``arrays.npz``   every NumPy array of the payload (per-example scores, masks, ...),
- ``<name>.pt``    every torch state dict of the payload (model weights),
- ``values.json``  everything else (metrics, small tables), JSON-able,
- ``record.json``  written last: config, seed, package versions, device, wall time, file checksums.

The folder is assembled under a temporary name and renamed into place in one step, so a run
killed half-way leaves no folder that a later run could trust; the next run recomputes it.
A folder that is malformed in any way (a ``record.json`` that is not JSON or not of the shape
:func:`record_problem` checks, a file missing, unlisted or not matching its checksum, a payload that
cannot be read) is moved aside to ``<hash>.corrupt-<time>`` (kept for inspection, never deleted) and
recomputed, with a :class:`CorruptArtifactWarning`. Processes that need the same missing
artefact at once (notebooks run in parallel) compute it once: the others wait on a lock file
under ``<root>/.locks/`` and then load it; the operating system drops the lock of a killed process.

Folders and files get the modes ``mkdir`` and ``open`` would give them under the process's umask
(:mod:`leakage.permissions`), so a store on a shared file system is readable by the other accounts a
umask of 022 or 002 lets in. An artefact this account cannot read is a ``PermissionError`` that says so,
never set aside as corrupt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
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
from leakage.permissions import honour_umask

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
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path`` in one step, with the
    mode ``open`` would give a new file under the umask (not ``tempfile``'s private 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if os.path.exists(tmp):
            honour_umask(tmp)
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
    """The payload :func:`_write_payload` wrote; raises (``OSError``, ``ValueError``, ...) if it is malformed."""
    payload = json.loads((folder / "values.json").read_text())
    if not isinstance(payload, dict):
        raise ValueError(f"values.json holds a {type(payload).__name__}, not an object")
    if (folder / "arrays.npz").exists():
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            payload.update({k: npz[k] for k in npz.files})
    for file in sorted(folder.glob("[!.]*.pt")):
        state = torch.load(file, map_location="cpu", weights_only=True)
        if not _is_state_dict(state):
            raise ValueError(f"{file.name} is not a state dict")
        payload[file.stem] = state
    return payload


#: Each field of ``record.json`` and the types its value may have (bool is refused where a number is wanted).
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,), "config_hash": (str,), "config": (dict,), "inputs": (dict,), "seed": (int, type(None)),
    "versions": (dict,), "device": (str,), "wall_time_s": (int, float), "finished_at": (int, float),
    "files": (dict,),
}


def record_problem(record: Any, folder: Path, kind: str) -> str | None:
    """What is wrong with ``record`` (a parsed ``record.json``) as the record of artefact ``folder`` of ``kind``,
    or None when it is well-formed: an object with every field of :data:`RECORD_FIELDS` of its type, this kind
    and config hash, a finite finish time, and ``files`` mapping exactly the folder's other files (plain names)
    to SHA-256 hex digests. Checksums are not compared here."""
    if not isinstance(record, dict):
        return f"its record is a JSON {type(record).__name__}, not an object"
    for name, types in RECORD_FIELDS.items():
        if name not in record:
            return f"its record has no {name!r}"
        value = record[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"its record's {name!r} is a {type(value).__name__}"
    if record["kind"] != kind or record["config_hash"] != folder.name:
        return f"its record is that of {record['kind']}/{record['config_hash']}"
    if not all(math.isfinite(record[name]) for name in ("finished_at", "wall_time_s")):
        return "its record's times are not finite"
    files = record["files"]
    for name, digest in files.items():
        if name in (RECORD, "", ".", "..") or "/" in name or "\\" in name:
            return f"its record lists a file named {name!r}"
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return f"its record's checksum of {name} is not a SHA-256 hex digest"
    present = {p.name for p in folder.iterdir() if not p.name.startswith(".")} - {RECORD}  # .DS_Store, .nfs*
    if set(files) != present:
        missing, extra = sorted(set(files) - present), sorted(present - set(files))
        return "its files are not those its record lists" + (f" (missing: {', '.join(missing)})" if missing else "") \
            + (f" (not listed: {', '.join(extra)})" if extra else "")
    if "values.json" not in files:
        return "it has no values.json"
    return None


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
        """The run record of a finished, intact, fresh artefact, else None.

        A malformed artefact (see the module docstring) is set aside with a :class:`CorruptArtifactWarning` and
        counts as missing. Raises ``PermissionError`` naming the folder when this account may not read it."""
        folder = self.folder(kind, config)
        try:
            if not folder.exists():
                return None
        except PermissionError as err:  # a folder above it this account may not enter
            raise self._unreadable(folder, err) from None
        record, problem = self._checked_record(folder, kind)
        if problem is not None:
            self._set_aside(folder, problem)
            return None
        if self.force_before is not None and record["finished_at"] < self.force_before:
            return None
        return record

    def _checked_record(self, folder: Path, kind: str) -> tuple[dict[str, Any], str | None]:
        """(record, None) for a well-formed artefact whose files match their checksums, else ({}, what is wrong)."""
        try:
            record = json.loads((folder / RECORD).read_text())
        except PermissionError as err:
            raise self._unreadable(folder, err) from None
        except FileNotFoundError:  # a folder without its record was not written by this store
            return {}, "it has no record"
        except (OSError, ValueError) as err:  # ValueError: not UTF-8, not JSON
            return {}, f"its record is unreadable ({type(err).__name__})"
        try:
            problem = record_problem(record, folder, kind)
            if problem is None and any(_sha256(folder / n) != d for n, d in record["files"].items()):
                problem = "a file does not match its checksum"
        except PermissionError as err:
            raise self._unreadable(folder, err) from None
        except OSError as err:  # e.g. a listed name that is a folder
            problem = f"a file is unreadable ({type(err).__name__}: {err})"
        return (record, None) if problem is None else ({}, problem)

    @staticmethod
    def _unreadable(folder: Path, err: OSError) -> PermissionError:
        return PermissionError(f"artefact {folder} exists but this account (uid {os.getuid()}) may not read it "
                               f"({err.strerror}: {err.filename}): its files must be readable by every account "
                               "using the store; the account that wrote it can run `chmod -R a+rX` on the store "
                               "(and use umask 022 or 002 from then on)")

    def load(self, kind: str, config: Any) -> dict[str, Any] | None:
        """The payload of a finished, intact, fresh artefact, else None (a malformed one is set aside as by
        :meth:`record`). Raises ``PermissionError`` naming the folder when this account may not read it."""
        if self.record(kind, config) is None:
            return None
        folder = self.folder(kind, config)
        try:
            return _read_payload(folder)
        except PermissionError as err:
            raise self._unreadable(folder, err) from None
        except Exception as err:  # noqa: BLE001 (any failure to parse a payload makes it corrupt, never a crash)
            self._set_aside(folder, f"its payload is unreadable ({type(err).__name__}: {err})")
            return None

    def save(self, kind: str, config: Any, payload: Mapping[str, Any], *, seed: int | None,
             device: str = "cpu", wall_time_s: float = 0.0) -> Path:
        """Write ``payload`` as the artefact of (kind, config), atomically; returns its folder."""
        final = self.folder(kind, config)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
        try:
            honour_umask(tmp)  # mkdtemp makes it 0700: others sharing the store could not read it
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
        entries = []
        for line in lines:  # a line cut short (a full disk, a killed writer) or edited by hand is skipped
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float)) and entry["at"] >= since:
                entries.append(entry)
        return entries

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
            folder = self.save(kind, config, payload, seed=seed, device=device,
                               wall_time_s=time.perf_counter() - start)
        return _read_payload(folder)

    @contextlib.contextmanager
    def _computing(self, kind: str, config: Any) -> Iterator[None]:
        """Hold the exclusive lock of artefact (kind, config) for the duration (no-op where fcntl is missing)."""
        if fcntl is None:
            yield
            return
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"{kind}-{self.folder(kind, config).name}.lock"
        try:  # a lock file another account made may be read-only to this one: flock needs no write access
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _set_aside(self, folder: Path, why: str) -> None:
        """Move a malformed artefact folder aside (kept for inspection) with a warning saying why."""
        aside = folder.with_name(f"{folder.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            os.rename(folder, aside)
        except FileNotFoundError:  # another process set it aside (or replaced it) first
            return
        except OSError as err:  # e.g. a store this account may read but not change
            warnings.warn(f"artefact {folder} is corrupt ({why}) and could not be moved aside ({err}); it counts "
                          "as missing", CorruptArtifactWarning, stacklevel=4)
            return
        warnings.warn(f"artefact {folder} is corrupt ({why}); moved to {aside} and recomputing",
                      CorruptArtifactWarning, stacklevel=4)
