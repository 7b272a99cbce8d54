"""Neighbourhood comparison (Mattern et al. 2023): score = -(L(x; M) - mean_i L(x~_i; M)).

A member sits in a sharp minimum of the loss: small perturbations x~_i of it (n neighbours made by
:mod:`leakage.lm.neighbours` for Brown passages, :mod:`leakage.lm.perturb` for plain strings, or handed
in) raise the loss more than they do for a non-member. Higher = member. A neighbour with no token
(empty) is left out of the mean; a text whose neighbours all failed is a failed text.
"""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.registry import register


@register("neighbourhood", modality="text")
class NeighbourhoodAttack(Attack):
    """score(x) = mean_i L(x~_i; M) - L(x; M)  (higher = member)."""

    @staticmethod
    def _neighbours(inputs: AttackInputs) -> tuple[np.ndarray, np.ndarray]:
        """(N, n) neighbour losses and (N, n) bool: the neighbours that were scored (not failed)."""
        if inputs.neighbours is None or inputs.n_neighbours < 1:
            raise ValueError("the neighbourhood attack needs neighbour statistics (n_neighbours >= 1)")
        shape = (len(inputs), inputs.n_neighbours)
        return inputs.neighbours.loss().reshape(shape), ~inputs.neighbours.failed.reshape(shape)

    def failed(self, inputs: AttackInputs) -> np.ndarray:
        """The target scored no token of the text, or none of its neighbours was scored."""
        return inputs.target.failed | ~self._neighbours(inputs)[1].any(1)

    def score(self, inputs: AttackInputs) -> np.ndarray:
        losses, ok = self._neighbours(inputs)
        if ok.all():
            neighbour_loss = losses.mean(1)
        else:
            neighbour_loss = np.where(ok, losses, 0.0).sum(1) / np.maximum(ok.sum(1), 1)
        return -(inputs.target.loss() - neighbour_loss)
