"""L1 and L2 weight penalties (generalisation defences), added to the training loss."""

from __future__ import annotations

import math

import torch
from torch import nn

from leakage.train import TrainHook


class WeightPenalty(TrainHook):
    """Adds l1 * sum|w| + l2 * sum w^2 over every weight matrix and kernel (biases are not penalised).

    A term of the weights alone (``weight_loss``), so it composes with DP-SGD: its gradient is added
    after per-sample clipping and noise (see :mod:`leakage.train`). Several penalties add up.
    Raises ``ValueError`` for a negative, NaN or infinite weight.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"penalty {name} must be finite and >= 0, got {value}")
        self.l1, self.l2 = l1, l2

    def weight_loss(self, model: nn.Module) -> torch.Tensor | None:
        weights = [p for name, p in model.named_parameters() if p.requires_grad and p.dim() > 1]
        if not weights or not (self.l1 or self.l2):
            return None
        penalty = weights[0].new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * sum(w.abs().sum() for w in weights)
        if self.l2:
            penalty = penalty + self.l2 * sum(w.pow(2).sum() for w in weights)
        return penalty
