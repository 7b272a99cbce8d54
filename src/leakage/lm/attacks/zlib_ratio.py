"""zlib (Carlini et al. 2021): score = -L(x; M) / zlib(x), zlib(x) the byte length of zlib.compress(x as UTF-8).

A text that compresses well (repetitive, low entropy) is expected to have a low loss anyway;
dividing by its compressed length calibrates for that. The text compressed is the text as scored
(the decoded prefix when the scorer truncated it). Higher = member.
"""

from __future__ import annotations

import zlib

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.registry import register


def zlib_length(text: str) -> int:
    """Bytes of ``zlib.compress(text.encode("utf-8"))`` (default level, as in mimir)."""
    return len(zlib.compress(text.encode("utf-8")))


@register("zlib", modality="text")
class ZlibAttack(Attack):
    """score(x) = -L(x; M) / zlib_length(x)  (higher = member)."""

    def score(self, inputs: AttackInputs) -> np.ndarray:
        lengths = np.array([zlib_length(t) for t in inputs.target.texts], dtype=np.float64)
        return -inputs.target.loss() / lengths
