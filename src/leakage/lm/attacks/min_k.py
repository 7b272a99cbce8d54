"""Min-k% Prob (Shi et al. 2023): score = mean of the k% lowest token log-probs of x.

Members have fewer very unlikely tokens. With T tokens, the lowest ``max(1, floor(k * T))`` are
averaged. The score is already higher = member (it is minus the mean NLL of those tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.registry import register


def check_fraction(what: str, k: float) -> float:
    """``k`` as a float when it is a fraction in (0, 1]; else ``ValueError`` naming ``what`` (NaN included)."""
    try:
        value = float(k)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value <= 1:  # False for NaN too
        raise ValueError(f"{what}: k must be a fraction, k in (0, 1] (0.2 = 20%), got {k!r}")
    return value


def lowest_k_mean(values: np.ndarray, mask: np.ndarray, k: float) -> np.ndarray:
    """Per row of ``values`` (N, T), the mean of its ``max(1, floor(k * T_i))`` lowest entries where ``mask``.

    ``mask`` (N, T) bool marks the real tokens (T_i of row i). Returns (N,) float64. Raises ``ValueError``
    for k outside (0, 1] or NaN, shapes that differ, or a NaN at a real token (it would be sorted last and
    silently dropped); -inf is kept (the mean is then -inf).
    """
    k = check_fraction("lowest_k_mean", k)
    values, mask = np.asarray(values), np.asarray(mask, dtype=bool)
    if values.ndim != 2 or values.shape != mask.shape:
        raise ValueError(f"values and mask must both be (N, T), got shapes {values.shape} and {mask.shape}")
    check_finite("per-token values of Min-k%", values[mask], allow_inf=True)
    n_tokens = mask.sum(1)
    count = np.maximum(1, np.floor(k * n_tokens + 1e-9).astype(int))
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    keep = np.arange(values.shape[1])[None, :] < count[:, None]
    return np.where(keep, ordered, 0.0).sum(1) / count


@register("min-k", modality="text")
class MinKAttack(Attack):
    """score(x) = mean of the k% lowest log p(x_t | x_<t)  (higher = member)."""

    @dataclass(frozen=True)
    class Config:
        """The fraction of tokens averaged; ``ValueError`` unless k is in (0, 1]."""

        k: float = doc_field(0.2, "fraction of the lowest token log-probs averaged, in (0, 1] (0.2 = 20%)")

        def __post_init__(self) -> None:
            object.__setattr__(self, "k", check_fraction("Min-k%", self.k))

    @property
    def label(self) -> str:
        return f"min-k ({self.config.k:.0%})"

    def score(self, inputs: AttackInputs) -> np.ndarray:
        return lowest_k_mean(inputs.target.logprobs, inputs.target.mask, self.config.k)
