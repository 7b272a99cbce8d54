"""The secret sharer's exposure of a canary (Carlini, Liu, Erlingsson, Kos & Song, USENIX Security 2019,
"The secret sharer: evaluating and testing unintended memorization in neural networks", Sec. 4.1, Def. 4).

A canary is a template with a secret fill s[r]; the model ranks every candidate fill r in a set R by its
log-perplexity (the total negative log-likelihood of the filled template, in nats). The exposure is

    exposure = log2 |R| - log2 rank(s[r]),

where rank 1 is the most likely candidate. Here R is the true fill plus alternatives drawn uniformly from
the fill space (:func:`leakage.audit.canaries.secret_alternatives`), so exposure lies in [0, log2 |R|]:
0 when the true fill is the least likely, log2 |R| when it is the most likely. Ties count against the
canary (the true fill ranks after every alternative it ties with), so exposure is never overstated.
"""

from __future__ import annotations

import numpy as np


def exposure(true_nll: np.ndarray, alternative_nll: np.ndarray) -> np.ndarray:
    """Exposure in bits, (m,), of m canaries.

    ``true_nll`` (m,): log-perplexity of each canary with its true fill; ``alternative_nll`` (m, r): of the
    same template with r alternative fills (both in nats, lower = more likely). Raises ``ValueError`` for
    mismatched shapes, no alternative, or a NaN.
    """
    true_nll = np.asarray(true_nll, dtype=np.float64)
    alternative_nll = np.asarray(alternative_nll, dtype=np.float64)
    if true_nll.ndim != 1 or alternative_nll.ndim != 2 or len(true_nll) != len(alternative_nll):
        raise ValueError(f"exposure needs true_nll (m,) and alternative_nll (m, r); got {true_nll.shape} and "
                         f"{alternative_nll.shape}")
    if alternative_nll.shape[1] < 1:
        raise ValueError("exposure needs at least one alternative fill per canary")
    if np.isnan(true_nll).any() or np.isnan(alternative_nll).any():
        raise ValueError("exposure got a NaN log-perplexity")
    rank = 1 + (alternative_nll <= true_nll[:, None]).sum(1)
    return np.log2(alternative_nll.shape[1] + 1) - np.log2(rank)


def max_exposure(alternatives: int) -> float:
    """The largest exposure with ``alternatives`` alternatives per canary: log2(alternatives + 1) bits."""
    return float(np.log2(alternatives + 1))
