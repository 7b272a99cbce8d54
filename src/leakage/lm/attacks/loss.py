"""LOSS (Yeom et al. 2018): score = -L(x; M), the negative mean token NLL; members have lower loss."""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.registry import register


@register("loss", modality="text")
class LossAttack(Attack):
    """score(x) = -L(x; M) = mean_t log p(x_t | x_<t)  (higher = member)."""

    def score(self, inputs: AttackInputs) -> np.ndarray:
        return -inputs.target.loss()
