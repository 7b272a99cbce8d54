"""Min-K%++ (Zhang et al. 2024): Min-k% over standardised token log-probs.

Each token's log-prob is standardised by the mean and standard deviation of the log-prob of a
token drawn from the model's own next-token distribution at that position::

    z_t = (log p(x_t | x_<t) - mu_t) / sigma_t,
    mu_t = E_{z ~ p(.|x_<t)}[log p(z | x_<t)],  sigma_t^2 = Var_{z ~ p(.|x_<t)}[log p(z | x_<t)],

and the score is the mean of the k% lowest z_t (``max(1, floor(k * T))`` tokens). A member's tokens
tend to be local maxima of the model's distribution, hence high z. Higher = member. Where
sigma_t = 0 (a one-hot distribution), sigma_t is floored at ``SIGMA_FLOOR``.
"""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.lm.attacks.min_k import lowest_k_mean

SIGMA_FLOOR = 1e-6


def standardised_logprobs(logprobs: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(log p - mu) / max(sigma, SIGMA_FLOOR), elementwise."""
    return (logprobs - mu) / np.maximum(sigma, SIGMA_FLOOR)


class MinKPlusPlusAttack(Attack):
    """score(x) = mean of the k% lowest (log p(x_t) - mu_t) / sigma_t  (higher = member)."""

    name = "min-k++"

    def __init__(self, k: float = 0.2):
        if not 0 < k <= 1:
            raise ValueError(f"Min-k%++ needs k in (0, 1] (a fraction: 0.2 = 20%), got {k}")
        self.k = k

    @property
    def label(self) -> str:
        return f"min-k++ ({self.k:.0%})"

    def score(self, inputs: AttackInputs) -> np.ndarray:
        t = inputs.target
        return lowest_k_mean(standardised_logprobs(t.logprobs, t.mu, t.sigma), t.mask, self.k)
