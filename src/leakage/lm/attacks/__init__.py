"""Membership-inference attacks on causal LMs: one module each, one registry, higher score = member.

``make_attack(name, **params)`` builds one; ``run_attacks(inputs, specs)`` scores N texts with several.
Every attack reads only :class:`~leakage.lm.attacks.base.AttackInputs` (statistics computed once per
text and model by :class:`~leakage.lm.scoring.Scorer`); none runs a model itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from leakage.lm.attacks.base import FAILED_SCORE, Attack, AttackInputs, finite_scores
from leakage.lm.attacks.loss import LossAttack
from leakage.lm.attacks.min_k import MinKAttack, check_fraction, lowest_k_mean
from leakage.lm.attacks.min_k_plus_plus import MinKPlusPlusAttack, standardised_logprobs
from leakage.lm.attacks.neighbourhood import NeighbourhoodAttack
from leakage.lm.attacks.reference import ReferenceAttack
from leakage.lm.attacks.zlib_ratio import ZlibAttack, zlib_length

ATTACKS: dict[str, type[Attack]] = {cls.name: cls for cls in (
    LossAttack, ReferenceAttack, ZlibAttack, NeighbourhoodAttack, MinKAttack, MinKPlusPlusAttack)}

__all__ = ["ATTACKS", "FAILED_SCORE", "Attack", "AttackInputs", "check_fraction", "finite_scores", "lowest_k_mean",
           "make_attack", "run_attacks", "standardised_logprobs", "zlib_length"]


def make_attack(name: str, **params: Any) -> Attack:
    """The attack registered as ``name`` (one of ATTACKS), built with ``params``."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {', '.join(ATTACKS)}")
    try:
        return ATTACKS[name](**params)
    except TypeError as err:
        raise ValueError(f"attack {name!r} does not take parameters {sorted(params)}: {err}") from None


def run_attacks(inputs: AttackInputs, specs: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, np.ndarray]:
    """Label -> (N,) scores (higher = member) of each ``(name, params)`` in ``specs``, in order."""
    scores: dict[str, np.ndarray] = {}
    for name, params in specs:
        attack = make_attack(name, **params)
        scores[attack.label] = attack(inputs)
    return scores
