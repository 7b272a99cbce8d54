"""L1 and L2 weight penalties (generalisation defences), added to the training loss."""

from __future__ import annotations

import torch
from torch import nn

from leakage.train import TrainHook


class WeightPenalty(TrainHook):
    """Adds l1 * sum|w| + l2 * sum w^2 over every weight matrix and kernel (biases are not penalised)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = l1, l2

    def extra_loss(self, model: nn.Module, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weights = [p for name, p in model.named_parameters() if p.requires_grad and p.dim() > 1]
        penalty = logits.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * sum(w.abs().sum() for w in weights)
        if self.l2:
            penalty = penalty + self.l2 * sum(w.pow(2).sum() for w in weights)
        return penalty
