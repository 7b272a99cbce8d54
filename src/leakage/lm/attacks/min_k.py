"""Min-k% Prob (Shi et al. 2023): score = mean of the k% lowest token log-probs of x.

Members have fewer very unlikely tokens. With T tokens, the lowest ``max(1, floor(k * T))`` are
averaged. The score is already higher = member (it is minus the mean NLL of those tokens).
"""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs


def lowest_k_mean(values: np.ndarray, mask: np.ndarray, k: float) -> np.ndarray:
    """Per row of ``values`` (N, T), the mean of its ``max(1, floor(k * T_i))`` lowest entries where ``mask``."""
    if not 0 < k <= 1:
        raise ValueError(f"k is a fraction in (0, 1], got {k}")
    n_tokens = mask.sum(1)
    count = np.maximum(1, np.floor(k * n_tokens + 1e-9).astype(int))
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    keep = np.arange(values.shape[1])[None, :] < count[:, None]
    return np.where(keep, ordered, 0.0).sum(1) / count


class MinKAttack(Attack):
    """score(x) = mean of the k% lowest log p(x_t | x_<t)  (higher = member)."""

    name = "min-k"

    def __init__(self, k: float = 0.2):
        if not 0 < k <= 1:
            raise ValueError(f"Min-k% needs k in (0, 1] (a fraction: 0.2 = 20%), got {k}")
        self.k = k

    @property
    def label(self) -> str:
        return f"min-k ({self.k:.0%})"

    def score(self, inputs: AttackInputs) -> np.ndarray:
        return lowest_k_mean(inputs.target.logprobs, inputs.target.mask, self.k)
