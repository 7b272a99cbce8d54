"""The one training loop (Adam, cross-entropy, minibatches), with hooks that defences plug into.

How hooks compose (checked by :func:`check_hooks` before training; a combination that cannot work is a
``ValueError`` naming both hooks, never a silent no-op):

- ``transform``: applied in list order (augmentations compose).
- ``extra_loss``: data terms added to the batch's mean cross-entropy; ``weight_loss``: terms of the
  weights alone (L1/L2 penalties), added to the loss as well.
- At most one hook may choose the batches (``batches``) and at most one may privatise the gradient
  (``privatises_gradients``: DP-SGD, whose optimiser replaces each step's gradient by the clipped,
  noised sum of per-sample gradients). Under it, ``weight_loss`` terms still count: their gradient
  is data-free, so the privatising hook adds it after clipping and noise (post-processing keeps the
  guarantee). An ``extra_loss`` term is only allowed if the hook declares it a mean of per-sample terms of
  the logits (``per_sample_extra_loss``), so per-sample clipping covers it; a hook with a ``dp_conflict``
  (adversarial regularisation) is refused.
"""

from __future__ import annotations

import math

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.progress import progress
from leakage.seed import torch_generator


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of a classifier (paper: Adam, lr 1e-3, batch 128, 200 epochs)."""

    epochs: int = doc_field(200, "passes over the training set")
    lr: float = doc_field(1e-3, "Adam learning rate")
    batch_size: int = doc_field(128, "minibatch size")
    min_steps: int = doc_field(0, "at least this many optimiser steps (more epochs on small sets; 0 = just `epochs`)")


def epochs_for(config: TrainConfig, num_samples: int) -> int:
    """Epochs ``fit`` runs on ``num_samples``: ``config.epochs``, or more to reach ``config.min_steps`` steps."""
    batches = math.ceil(num_samples / config.batch_size)
    return max(config.epochs, math.ceil(config.min_steps / batches))


class TrainHook:
    """Extension points of ``fit``; a defence overrides the ones it needs (all default to no-ops)."""

    #: True for a hook whose optimiser replaces each step's gradient by a privatised one (DP-SGD).
    privatises_gradients: bool = False
    #: True when this hook's ``extra_loss`` is a mean over the batch of per-sample terms computed from
    #: the logits alone, so that a gradient-privatising hook clips it per sample.
    per_sample_extra_loss: bool = False
    #: Why this hook cannot run under a gradient-privatising hook (None: it can).
    dp_conflict: str | None = None

    def prepare(self, model: nn.Module, optimizer: torch.optim.Optimizer, num_samples: int,
                batch_size: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        """Before training: may wrap the module used for forward passes and the optimiser (e.g. DP-SGD)."""
        return model, optimizer

    def batches(self, num_samples: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor] | None:
        """One epoch's batches of indices, or None for the default (a shuffled partition)."""
        return None

    def after_step(self) -> None:
        """After every optimiser step (e.g. privacy accounting)."""

    def finish(self, model: nn.Module) -> None:
        """After training (e.g. remove hooks a wrapper added)."""

    def transform(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Change a batch before the forward pass (e.g. data augmentation); x is (B, C, H, W)."""
        return x, y

    def extra_loss(self, model: nn.Module, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """A data term added to the batch's mean cross-entropy (e.g. adversarial regularisation's gain), or None."""
        return None

    def weight_loss(self, model: nn.Module) -> torch.Tensor | None:
        """A term of the weights alone, no data (e.g. an L1/L2 penalty), added to the loss; or None."""
        return None

    def add_public_loss(self, public_loss: Callable[[], torch.Tensor | None]) -> None:
        """For a gradient-privatising hook: add the gradient of ``public_loss()`` (the data-free
        ``weight_loss`` terms, at the current weights) after clipping and noise, on every step."""
        raise NotImplementedError(f"{type(self).__name__} privatises gradients but cannot add a public loss")

    def after_epoch(self, epoch: int, model: nn.Module) -> None:
        """Called after every epoch (e.g. to train an adversary, or to log)."""


@dataclass
class TrainLog:
    """Per-epoch mean training loss and accuracy."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig, *, seed: int,
        hooks: Sequence[TrainHook] = (), desc: str = "train") -> TrainLog:
    """Train ``model`` in place on images x (N, C, H, W) float in [0, 1] and labels y (N,) int64.

    x and y must already be on the model's device. Batch order comes from ``seed``. Raises ``ValueError``
    for mismatched or empty inputs, a NaN or infinite input, or hooks that cannot be combined
    (:func:`check_hooks`).
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"fit needs as many labels as inputs, and at least one: got {len(x)} inputs, {len(y)} labels")
    check_finite("x", x)
    check_hooks(hooks)
    device = next(model.parameters()).device
    generator = torch_generator(seed, "batches")
    optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    forward = model
    for hook in hooks:
        forward, optimizer = hook.prepare(forward, optimizer, len(x), config.batch_size)

    def weight_loss() -> torch.Tensor | None:
        terms = [term for hook in hooks if (term := hook.weight_loss(model)) is not None]
        return sum(terms[1:], terms[0]) if terms else None

    private = next((hook for hook in hooks if hook.privatises_gradients), None)
    if private is not None:
        private.add_public_loss(weight_loss)
    log = TrainLog()
    bar = progress(range(epochs_for(config, len(x))), desc=desc)
    for epoch in bar:
        forward.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for idx in _epoch_batches(len(x), config.batch_size, generator, hooks):
            if len(idx) == 0:
                continue
            idx = idx.to(device)
            xb, yb = x[idx], y[idx]
            for hook in hooks:
                xb, yb = hook.transform(xb, yb, generator)
            logits = forward(xb)
            loss = F.cross_entropy(logits, yb)
            for hook in hooks:
                extra = hook.extra_loss(model, logits, yb)
                if extra is not None:
                    loss = loss + extra
            public = weight_loss()
            optimizer.zero_grad(set_to_none=True)
            if public is None:
                loss.backward()
            elif private is None:
                loss = loss + public
                loss.backward()
            else:  # the privatising hook adds the public term's gradient after clipping and noise
                loss.backward()
                loss = loss.detach() + public.detach()
            optimizer.step()
            for hook in hooks:
                hook.after_step()
            total_loss += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
        log.loss.append(total_loss.item() / len(x))
        log.accuracy.append(correct.item() / len(x))
        bar.set_postfix(loss=f"{log.loss[-1]:.3f}", acc=f"{log.accuracy[-1]:.3f}")
        for hook in hooks:
            hook.after_epoch(epoch, model)
    for hook in hooks:
        hook.finish(model)
    model.eval()
    return log


def _overrides(hook: TrainHook, method: str) -> bool:
    return getattr(type(hook), method) is not getattr(TrainHook, method)


def check_hooks(hooks: Sequence[TrainHook]) -> None:
    """Raise ``ValueError`` for hooks that cannot be combined in one run of :func:`fit` (see the module doc).

    Refused: two hooks choosing the batches (only one would be used); two gradient-privatising hooks
    (DP-SGD twice); a privatising hook with a hook whose ``dp_conflict`` says why it breaks the guarantee
    (adversarial regularisation), or with an ``extra_loss`` not declared per-sample (its gradient would
    escape clipping, or be dropped).
    """
    def names(found: list[TrainHook]) -> str:
        return " and ".join(type(h).__name__ for h in found)

    private = [h for h in hooks if h.privatises_gradients]
    if len(private) > 1:
        raise ValueError(f"{names(private)} both privatise the gradient (DP-SGD twice); use one, with the "
                         "combined noise")
    choosers = [h for h in hooks if _overrides(h, "batches")]
    if len(choosers) > 1:
        raise ValueError(f"{names(choosers)} both choose the training batches; only one hook may")
    if not private:
        return
    for hook in hooks:
        if hook is private[0]:
            continue
        if hook.dp_conflict is not None:
            raise ValueError(f"{type(private[0]).__name__} (DP-SGD) cannot be combined with {type(hook).__name__}: "
                             f"{hook.dp_conflict}")
        if _overrides(hook, "extra_loss") and not hook.per_sample_extra_loss:
            raise ValueError(f"{type(private[0]).__name__} (DP-SGD) cannot be combined with {type(hook).__name__}: "
                             "its extra_loss is not declared a per-sample term (per_sample_extra_loss), so "
                             "per-sample clipping would not cover it; move a data-free term to weight_loss")


def _epoch_batches(num_samples: int, batch_size: int, generator: torch.Generator,
                   hooks: Sequence[TrainHook]) -> list[torch.Tensor]:
    for hook in hooks:
        custom = hook.batches(num_samples, batch_size, generator)
        if custom is not None:
            return custom
    order = torch.randperm(num_samples, generator=generator)
    return list(order.split(batch_size))


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits (N, K) of ``model`` in eval mode for inputs x (N, ...), computed in batches on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    if len(x) == 0:
        return model(x.to(device))
    return torch.cat([model(x[i:i + batch_size].to(device)) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of x (N, ...) that ``model`` labels as y (N,)."""
    if len(x) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return (predict_logits(model, x).argmax(1).cpu() == y.cpu()).float().mean().item()
