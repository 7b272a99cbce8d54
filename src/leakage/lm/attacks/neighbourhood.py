"""Neighbourhood comparison (Mattern et al. 2023): score = -(L(x; M) - mean_i L(x~_i; M)).

A member sits in a sharp minimum of the loss: small perturbations x~_i of it (here: n neighbours
made offline by :mod:`leakage.lm.neighbours`) raise the loss more than they do for a non-member.
Higher = member.
"""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs


class NeighbourhoodAttack(Attack):
    """score(x) = mean_i L(x~_i; M) - L(x; M)  (higher = member)."""

    name = "neighbourhood"

    def score(self, inputs: AttackInputs) -> np.ndarray:
        if inputs.neighbours is None or inputs.n_neighbours < 1:
            raise ValueError("the neighbourhood attack needs neighbour statistics (n_neighbours >= 1)")
        neighbour_loss = inputs.neighbours.loss().reshape(len(inputs), inputs.n_neighbours).mean(1)
        return -(inputs.target.loss() - neighbour_loss)
