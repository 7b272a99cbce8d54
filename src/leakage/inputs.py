"""Content digests of external inputs (data files, corpora, archives, pretrained weights), for artefact keys.

An artefact's key must change when anything it was computed from changes, including a file read from
a path (or a path chosen by an environment variable) whose content is rewritten in place. A config
that reads such an input says so by defining ``input_digests() -> dict[str, str]``; ``config_hash``
folds those digests into the key (see :mod:`leakage.config`).

Hashing a large file on every call would be slow, so a digest is cached by (resolved path, size,
modification and status-change times in ns, inode): in memory for the process, and on disk under
``<store>/.digests/`` for later processes. Any rewrite changes the status-change time (which no
program can set back), so the cache never serves an old digest.

A torch model handed in is keyed by what determines its outputs: :func:`module_digest` (weights, buffers and
architecture: the same weights with Tanh for ReLU get another key) and :func:`model_behaviour_digest` (that,
and the outputs on a fixed probe batch, for models from outside the package). What a key cannot see (a global
the forward reads, an attribute of an arbitrary type) is said in a :class:`UncertainKeyWarning`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from leakage.paths import store_root
from leakage.seed import rewind_generator, seed_torch, seeded_generator

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
    if len(digest) != 16 or any(c not in "0123456789abcdef" for c in digest):  # missing, cut short or edited
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


class UncertainKeyWarning(UserWarning):
    """A model's digest cannot see everything its outputs may depend on (see :func:`model_behaviour_digest`)."""


_SIMPLE = (bool, int, float, complex, str, bytes, type(None), type(Ellipsis))
_MODULE_INTERNALS = frozenset(vars(nn.Module()))  # training, _parameters, _buffers, _modules, hooks, ...


def _code_digest(code: types.CodeType) -> str:
    """A digest of a function's compiled code: bytecode, names and constants (nested code too)."""
    def const(value: Any) -> str:
        if isinstance(value, types.CodeType):
            return _code_digest(value)
        if isinstance(value, tuple):
            return "(" + ",".join(const(v) for v in value) + ")"
        if isinstance(value, frozenset):  # its repr's order follows string hashing, which differs per process
            return "frozenset(" + ",".join(sorted(const(v) for v in value)) + ")"
        return repr(value)

    return bytes_digest(code.co_code, repr((code.co_names, code.co_varnames, code.co_freevars)).encode(),
                        const(code.co_consts).encode())


def _function(value: Any) -> Any:
    """The plain Python function behind ``value`` (a function, a static or class method, a bound method)."""
    value = getattr(value, "__func__", value)
    return value if isinstance(value, types.FunctionType) else None


def _describe(value: Any) -> str | None:
    """A description of a plain attribute's value that is the same in every process (numbers, strings, dtypes,
    arrays by content, functions by name and code, containers of those, configs with ``to_dict``), or None
    for a value the digest cannot see (an arbitrary object, a module kept outside the module tree, ...)."""
    if isinstance(value, _SIMPLE) or isinstance(value, enum.Enum):
        return repr(value)
    if isinstance(value, (torch.dtype, torch.device, torch.Size)):
        return f"{type(value).__name__}({value})"
    if isinstance(value, torch.Generator):  # its seed, not its state (which every draw moves on)
        return f"Generator(seed={value.initial_seed()}, device={value.device})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. a defence's config
        fields = [(f.name, _describe(getattr(value, f.name))) for f in dataclasses.fields(value)]
        if any(d is None for _, d in fields):
            return None
        return f"{type(value).__qualname__}(" + ",".join(f"{n}={d}" for n, d in fields) + ")"
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"array:{array_digest(value)}"
    if isinstance(value, (tuple, list, set, frozenset)):
        parts = [_describe(v) for v in value]
        if any(p is None for p in parts):
            return None
        return f"{type(value).__name__}({','.join(sorted(parts) if isinstance(value, (set, frozenset)) else parts)})"
    if isinstance(value, dict):
        items = [(_describe(k), _describe(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return "dict(" + ",".join(f"{k}:{v}" for k, v in sorted(items)) + ")"
    function = _function(value)
    if function is not None:
        return f"{function.__module__}.{function.__qualname__}:{_code_digest(function.__code__)}"
    if isinstance(value, (types.BuiltinFunctionType, type)):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if callable(getattr(value, "to_dict", None)) and not isinstance(value, nn.Module):  # e.g. a transformers config
        try:
            return json.dumps(value.to_dict(), sort_keys=True, default=str)
        except (TypeError, ValueError):
            return None
    return None


def _module_structure(model: nn.Module) -> tuple[str, list[str]]:
    """(a text describing ``model``'s module tree, the attributes it cannot see), for :func:`module_digest`.

    Per submodule: its name, its class (module and qualified name; for a class not from torch itself, the
    compiled code of every method of it and of its bases outside torch), ``extra_repr()``, its plain attributes
    (:func:`_describe`; the ones torch keeps on every module, such as the training flag, left out: the mode is
    not the model) and its forward hooks."""
    lines, unseen = [], []
    for name, module in model.named_modules():
        cls = type(module)
        lines.append(f"[{name}] {cls.__module__}.{cls.__qualname__} ({module.extra_repr()})")
        for base in cls.__mro__:
            if base is object or base.__module__.split(".")[0] == "torch":
                continue
            for attr, member in sorted(vars(base).items()):
                function = _function(member)
                if function is not None:
                    lines.append(f"  {base.__qualname__}.{attr}: {_code_digest(function.__code__)}")
        for attr, value in sorted(vars(module).items()):
            if attr in _MODULE_INTERNALS:
                continue
            described = _describe(value)
            if described is None:
                if not attr.startswith("_"):  # a private one is the library's business: not worth a warning
                    unseen.append(f"{name + '.' if name else ''}{attr} ({type(value).__name__})")
                described = f"<{type(value).__module__}.{type(value).__qualname__}>"
            lines.append(f"  {attr} = {described}")
        for kind in ("_forward_pre_hooks", "_forward_hooks"):
            for hook in getattr(module, kind, {}).values():
                described = _describe(hook)
                if described is None:
                    unseen.append(f"{name or 'model'} {kind[1:-1].replace('_', ' ')} ({type(hook).__name__})")
                lines.append(f"  {kind[1:]}: {described or type(hook).__qualname__}")
    return "\n".join(lines), unseen


def module_digest(model: Any) -> str:
    """A 16-hex-digit digest of a torch module: its weights and buffers (names, dtypes, shapes, values) and its
    architecture (every submodule's class and the code of its methods, ``extra_repr()``, plain attributes
    such as a temperature, forward hooks; see :func:`_module_structure`).

    Two models with different weights, or the same weights in another architecture (ReLU and Tanh, another
    stride, an edited ``forward``), get different digests; the same model on another device or in the other
    mode (train / eval) the same one. What it cannot see: a global or a plain attribute of an arbitrary type
    that the forward reads (:func:`model_behaviour_digest` warns of the latter). This keys artefacts computed
    from a model handed in.
    """
    state = model.state_dict()
    names = sorted(state)
    structure, _ = _module_structure(model)
    return bytes_digest(structure.encode(), repr(names).encode(), array_digest(*(state[n] for n in names)).encode())


def probe_batch(input_shape: tuple[int, ...], *, size: int = 4, seed: int = 0, dtype: torch.dtype = torch.float32,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """A fixed batch (``size``, *input_shape) of uniform values in [0, 1) drawn from ``seed`` (on the CPU, then
    moved: the same values on every device), for :func:`model_behaviour_digest`. Leaves the global RNGs alone."""
    generator = seeded_generator(seed)
    return torch.rand(size, *input_shape, generator=generator).to(device=device, dtype=dtype)


def _round(array: np.ndarray) -> np.ndarray:
    """Floats rounded to 20 significant bits (about 6 digits): the same model on the same machine always gives the
    same digest; a last-bit difference elsewhere (another device, library) mostly too (and else a recompute)."""
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.complexfloating):
        return array
    values = np.asarray(array, dtype=np.complex128 if np.iscomplexobj(array) else np.float64)
    if np.iscomplexobj(values):
        return _round(values.real) + 1j * _round(values.imag)
    mantissa, exponent = np.frexp(values)
    return np.ldexp(np.round(mantissa * 2.0**20) / 2.0**20, exponent)


def _output_arrays(output: Any) -> list[np.ndarray]:
    """Every tensor in a model's output (a tensor, or tuples / lists / dicts of them, e.g. a ModelOutput), in order."""
    if isinstance(output, torch.Tensor):
        value = output.detach().cpu()
        return [(value.float() if value.dtype == torch.bfloat16 else value).numpy()]
    if isinstance(output, dict):
        return [a for key in output for a in _output_arrays(output[key])]
    if isinstance(output, (tuple, list)):
        return [a for item in output for a in _output_arrays(item)]
    return []


def model_behaviour_digest(model: nn.Module, probe: torch.Tensor) -> str:
    """A 16-hex-digit digest of what determines ``model``'s outputs, for keying results computed from a model handed
    in: :func:`module_digest` (weights, buffers, architecture) and the model's outputs on ``probe`` (a fixed batch
    of its input shape on its device, e.g. :func:`probe_batch`), rounded to about 6 significant digits.

    The probe runs in eval mode without gradients, with the global RNGs forked and seeded and every
    ``torch.Generator`` the modules hold set to its initial seed, so the model's modes (per submodule), its
    gradients, its generators and the caller's RNG states are as they were after, and a model that draws noise
    from them (e.g. MemGuard) gets the same digest however often it was queried before. Two models that differ
    in weights, structure or outputs on the probe get different digests; the same model on the same machine
    always the same one (on another device it may differ: a recompute, never a stale result).

    Plain attributes (numbers, strings, arrays, ...) are part of the digest, so a model that counts its calls in
    one gets a new digest (a recompute) after every call. Where it cannot be sure: a forward that reads a
    global, or a plain attribute of a type the digest cannot describe (an arbitrary object, a module outside
    the module tree), changes the outputs without changing the digest, unless it changes them on the probe too.
    For the latter it warns (:class:`UncertainKeyWarning`, naming the attributes); for a global nothing can
    tell. Give such a model its own store, or none.

    Raises ``ValueError`` (its error chained) when the model rejects the probe.
    """
    structure, unseen = _module_structure(model)
    if unseen:
        warnings.warn(f"the cache key of this model cannot see {', '.join(unseen)}: cached results come back if "
                      "those change while the weights, the architecture and the outputs on a probe batch stay the "
                      "same; pass store=None (or give each variant its own store) if they matter",
                      UncertainKeyWarning, stacklevel=2)
    modes = {module: module.training for module in model.modules()}
    generators = {id(g): g for module in model.modules() for g in vars(module).values()
                  if isinstance(g, torch.Generator)}
    states = {key: g.get_state() for key, g in generators.items()}
    devices = [probe.device] if probe.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            seed_torch(0)
            for generator in generators.values():
                rewind_generator(generator)
            model.eval()
            try:
                outputs = _output_arrays(model(probe))
            except Exception as err:  # noqa: BLE001 (whatever the model raises, chained)
                raise ValueError(f"the model rejected a probe batch of shape {tuple(probe.shape)} "
                                 f"({probe.dtype}): {type(err).__name__}: {err}") from err
    finally:
        for module, training in modes.items():
            module.training = training
        for key, generator in generators.items():
            generator.set_state(states[key])
    return bytes_digest(module_digest(model).encode(), structure.encode(), array_digest(probe).encode(),
                        array_digest(*(_round(a) for a in outputs)).encode())
