"""Leave a caller's objects as they were found: the one guard of every public entry point.

An attack queries a model in eval mode, may move it to a device, and seeds the global random generators
(:func:`leakage.seed.seed_everything`). A researcher who checks leakage every epoch and then trains on must
get the model back exactly as handed in: still in train mode (dropout on), on its device and dtype, with its
``requires_grad`` flags and gradients, and with the global generators where they were (the next batch order
and dropout mask must not depend on whether an attack ran in between).

:func:`caller_state` records all of that on entry and restores it on exit, also when the attack raises.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

__all__ = ["caller_state", "leaves_caller_state", "modules_of"]

T = TypeVar("T")


@dataclass
class _TensorState:
    """One parameter or buffer: where it lived, its dtype, its flag and its gradient."""

    owner: nn.Module
    name: str
    is_parameter: bool
    device: torch.device
    dtype: torch.dtype
    requires_grad: bool
    grad: torch.Tensor | None
    grad_place: tuple[torch.device, torch.dtype] | None = None


@dataclass
class _GlobalState:
    """The global generators and determinism switches :func:`leakage.seed.seed_everything` sets."""

    python: Any
    numpy: Any
    torch: torch.Tensor
    cuda: list[torch.Tensor] | None
    deterministic: bool
    deterministic_warn_only: bool
    cudnn_benchmark: bool

    @classmethod
    def capture(cls) -> "_GlobalState":
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        return cls(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state(), cuda=cuda,
                   deterministic=torch.are_deterministic_algorithms_enabled(),
                   deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
                   cudnn_benchmark=torch.backends.cudnn.benchmark)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.deterministic_warn_only)
        torch.backends.cudnn.benchmark = self.cudnn_benchmark


def modules_of(*objects: Any) -> list[nn.Module]:
    """The torch modules among ``objects``: modules themselves, the modules of (model, tokenizer) pairs and
    mappings of them, and the module a bound method belongs to (``model.predict``); anything else is skipped."""
    found: list[nn.Module] = []

    def visit(value: Any) -> None:
        if isinstance(value, nn.Module):
            if all(value is not m for m in found):
                found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
        elif isinstance(getattr(value, "__self__", None), nn.Module):  # a bound method of a module
            visit(value.__self__)

    for obj in objects:
        visit(obj)
    return found


def _tensor_states(modules: Iterable[nn.Module]) -> tuple[list[tuple[nn.Module, bool]], list[_TensorState]]:
    modes: list[tuple[nn.Module, bool]] = []
    tensors: list[_TensorState] = []
    seen: set[int] = set()
    for root in modules:
        for module in root.modules():
            if id(module) in seen:
                continue
            seen.add(id(module))
            modes.append((module, module.training))
            for name, p in module._parameters.items():
                if p is not None:
                    place = None if p.grad is None else (p.grad.device, p.grad.dtype)
                    tensors.append(_TensorState(module, name, True, p.device, p.dtype, p.requires_grad, p.grad, place))
            for name, b in module._buffers.items():
                if b is not None:
                    tensors.append(_TensorState(module, name, False, b.device, b.dtype, False, None))
    return modes, tensors


def _restore_tensors(tensors: list[_TensorState]) -> None:
    for state in tensors:
        if state.is_parameter:
            p = state.owner._parameters[state.name]
            if p is None:
                continue
            if p.device != state.device or p.dtype != state.dtype:
                with torch.no_grad():
                    p.data = p.data.to(device=state.device, dtype=state.dtype)
            if p.requires_grad != state.requires_grad:
                p.requires_grad_(state.requires_grad)
            grad = state.grad
            if grad is not None and (grad.device, grad.dtype) != state.grad_place:  # moved with its parameter
                grad.data = grad.data.to(device=state.grad_place[0], dtype=state.grad_place[1])
            if p.grad is not grad:
                p.grad = grad
        else:
            b = state.owner._buffers.get(state.name)
            if b is not None and (b.device != state.device or b.dtype != state.dtype):
                state.owner._buffers[state.name] = b.to(device=state.device, dtype=state.dtype)


@contextmanager
def caller_state(*objects: Any) -> Iterator[None]:
    """Within the block, anything may be done to ``objects`` and the global generators; on exit (also on an
    error) they are as they were on entry.

    Restored: every submodule's ``training`` flag; every parameter's and buffer's device and dtype (moved back
    in place, so the caller's references stay valid), ``requires_grad`` and ``.grad``; Python's, NumPy's and
    torch's (CPU and initialised CUDA) global generators; torch's deterministic-algorithms switch and cuDNN's
    benchmark flag. ``objects`` may hold modules, (model, tokenizer) pairs, mappings of them, bound methods of
    modules, or anything else (ignored). Weights' values are not restored: an entry point only queries them.
    """
    modes, tensors = _tensor_states(modules_of(*objects))
    generators = _GlobalState.capture()
    try:
        yield
    finally:
        _restore_tensors(tensors)
        for module, training in modes:
            module.training = training
        generators.restore()


def leaves_caller_state(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate a public entry point so that every module it is handed (directly, in a pair, a mapping or as a
    bound method) and the global generators are restored on return (:func:`caller_state`)."""

    @functools.wraps(function)
    def entry_point(*args: Any, **kwargs: Any) -> T:
        with caller_state(*args, *kwargs.values()):
            return function(*args, **kwargs)

    return entry_point
