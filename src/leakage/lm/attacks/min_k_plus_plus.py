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

from dataclasses import dataclass

import numpy as np

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.lm.attacks.min_k import check_fraction, lowest_k_mean
from leakage.registry import register

SIGMA_FLOOR = 1e-6


def standardised_logprobs(logprobs: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(log p - mu) / max(sigma, SIGMA_FLOOR), elementwise over arrays of one shape (e.g. (N, T)).

    Raises ``ValueError`` when an input holds a NaN or sigma is negative (sigma is a standard deviation).
    """
    for name, values in (("logprobs", logprobs), ("mu", mu), ("sigma", sigma)):
        check_finite(f"{name} of Min-k%++", np.asarray(values), allow_inf=True)
    if np.any(np.asarray(sigma) < 0):
        raise ValueError("sigma of Min-k%++ is a standard deviation and must be >= 0")
    return (logprobs - mu) / np.maximum(sigma, SIGMA_FLOOR)


@register("min-k++", modality="text")
class MinKPlusPlusAttack(Attack):
    """score(x) = mean of the k% lowest (log p(x_t) - mu_t) / sigma_t  (higher = member)."""

    @dataclass(frozen=True)
    class Config:
        """The fraction of tokens averaged; ``ValueError`` unless k is in (0, 1]."""

        k: float = doc_field(0.2, "fraction of the lowest standardised token log-probs averaged, in (0, 1]")

        def __post_init__(self) -> None:
            object.__setattr__(self, "k", check_fraction("Min-k%++", self.k))

    @property
    def label(self) -> str:
        return f"min-k++ ({self.config.k:.0%})"

    def score(self, inputs: AttackInputs) -> np.ndarray:
        t = inputs.target
        return lowest_k_mean(standardised_logprobs(t.logprobs, t.mu, t.sigma), t.mask, self.config.k)
