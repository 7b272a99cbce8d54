"""Membership-inference attacks on causal LMs: one module each, registered in the one registry of every attack
(:mod:`leakage.registry`, modality ``"text"``), higher score = member.

``make_attack(name, **params)`` builds one (``params``: the fields of its frozen ``Config``);
``run_attacks(inputs, specs)`` scores N texts with several; ``attack_results(inputs, is_member, specs)`` turns
them into :class:`~leakage.membership.MembershipResult`
objects (the one path of the book's ``run_llm`` and of :func:`leakage.api.attack_language_model`).
Every attack reads only :class:`~leakage.lm.attacks.base.AttackInputs` (statistics computed once per
text and model by :class:`~leakage.lm.scoring.Scorer`); none runs a model itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from leakage import registry
from leakage.lm.attacks.base import FAILED_SCORE, Attack, AttackInputs, finite_scores
from leakage.lm.attacks.loss import LossAttack
from leakage.lm.attacks.min_k import MinKAttack, check_fraction, lowest_k_mean
from leakage.lm.attacks.min_k_plus_plus import MinKPlusPlusAttack, standardised_logprobs
from leakage.lm.attacks.neighbourhood import NeighbourhoodAttack
from leakage.lm.attacks.reference import ReferenceAttack
from leakage.lm.attacks.zlib_ratio import ZlibAttack, zlib_length
from leakage.membership import MembershipResult

#: Registered name -> class of every LM attack: a live view of :data:`leakage.registry.REGISTRY`.
ATTACKS: Mapping[str, type[Attack]] = registry.REGISTRY.classes("text")

__all__ = ["ATTACKS", "FAILED_SCORE", "Attack", "AttackInputs", "LossAttack", "MinKAttack", "MinKPlusPlusAttack",
           "NeighbourhoodAttack", "ReferenceAttack", "ZlibAttack", "attack_results", "check_fraction", "finite_scores",
           "lowest_k_mean", "make_attack", "results_from_scores", "run_attacks", "standard_specs",
           "standardised_logprobs", "zlib_length"]


def make_attack(name: str, **params: Any) -> Attack:
    """The LM attack registered as ``name`` (one of ATTACKS), built with the config ``Config(**params)``.

    Raises ``ValueError`` for an unknown name (listing the LM attacks), a parameter its config does not have, or
    a value its config refuses (Min-k%'s k outside (0, 1]).
    """
    spec = registry.get_attack(name, "text")
    try:
        config = spec.config(**params)
    except TypeError as err:
        raise ValueError(f"attack {name!r} does not take parameters {sorted(params)}: {err}") from None
    return registry.make_attack(name, config, "text")


def run_attacks(inputs: AttackInputs, specs: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, np.ndarray]:
    """Label -> (N,) scores (higher = member) of each ``(name, params)`` in ``specs``, in order."""
    scores: dict[str, np.ndarray] = {}
    for name, params in specs:
        attack = make_attack(name, **params)
        scores[attack.label] = attack(inputs)
    return scores


def standard_specs(references: Sequence[str] = (), neighbours: bool = True, min_k: float = 0.2
                   ) -> list[tuple[str, dict]]:
    """(registry name, parameters) of the six attacks in table order: LOSS, one reference attack per name in
    ``references``, zlib, neighbourhood (when ``neighbours``), Min-k% and Min-k%++ at ``min_k``."""
    return [("loss", {}), *[("reference", {"reference": r}) for r in references], ("zlib", {}),
            *([("neighbourhood", {})] if neighbours else []), ("min-k", {"k": min_k}), ("min-k++", {"k": min_k})]


def results_from_scores(scores: Mapping[str, np.ndarray], is_member: np.ndarray, *, n_tokens: np.ndarray,
                        truncated: np.ndarray, indices: np.ndarray | None = None, config: Any = None, seed: int = 0,
                        n_boot: int = 1000, cost: Mapping[str, float] | None = None) -> dict[str, MembershipResult]:
    """Attack label -> :class:`MembershipResult` of (N,) ``scores`` (higher = member) against ``is_member`` (N,).

    Extras of every result: ``n_tokens`` (N,) int and ``truncated`` (N,) bool of the target's statistics,
    and ``failed`` (N,) bool: the attack gave the text ``FAILED_SCORE`` (nothing to score, see
    :mod:`leakage.lm.attacks.base`). ``seed`` and ``n_boot`` set the bootstrap of the confidence intervals.
    """
    extras = {"n_tokens": np.asarray(n_tokens, dtype=np.int64), "truncated": np.asarray(truncated, dtype=bool)}
    return {label: MembershipResult(label, s, is_member, indices, dict(cost or {}),
                                    {**extras, "failed": np.asarray(s) == FAILED_SCORE}, config, seed, n_boot)
            for label, s in scores.items()}


def attack_results(inputs: AttackInputs, is_member: np.ndarray, specs: Iterable[tuple[str, Mapping[str, Any]]], *,
                   indices: np.ndarray | None = None, config: Any = None, seed: int = 0, n_boot: int = 1000,
                   cost: Mapping[str, float] | None = None) -> dict[str, MembershipResult]:
    """Run ``specs`` on ``inputs`` (N texts) and evaluate each against ``is_member`` (N,) bool:
    :func:`run_attacks` then :func:`results_from_scores`. Raises ``ValueError`` when ``is_member`` does not
    hold one entry per text."""
    if len(np.asarray(is_member)) != len(inputs):
        raise ValueError(f"is_member holds {len(np.asarray(is_member))} entries for {len(inputs)} texts")
    return results_from_scores(run_attacks(inputs, specs), is_member, n_tokens=inputs.target.n_tokens,
                               truncated=inputs.target.truncated, indices=indices, config=config, seed=seed,
                               n_boot=n_boot, cost=cost)
