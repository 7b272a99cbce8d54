"""The one training loop (Adam, cross-entropy, minibatches), with hooks that defences plug into."""

from __future__ import annotations

import math

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

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
        """A term added to the batch's mean cross-entropy (e.g. an L1/L2 penalty), or None."""
        return None

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

    x and y must already be on the model's device. Batch order comes from ``seed``.
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"fit needs as many labels as inputs, and at least one: got {len(x)} inputs, {len(y)} labels")
    device = next(model.parameters()).device
    generator = torch_generator(seed, "batches")
    optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    forward = model
    for hook in hooks:
        forward, optimizer = hook.prepare(forward, optimizer, len(x), config.batch_size)
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
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
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
