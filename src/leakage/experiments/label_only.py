"""Stage: run a registered attack against a trained target, on balanced member/non-member candidates.

The attack sees the target only through the oracles; the member labels are used afterwards, to
evaluate. Scores, membership, candidate indices and the measured cost are one cached artefact, keyed
by the target's config, the digest of its model's weights and the attack's config. The computation is
:func:`leakage.api.attack_classifier`'s (one core, :func:`leakage.api.vision.attack_candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from leakage.membership import MembershipResult
from leakage.api.vision import AttackerView, attack_candidates, build_context
from leakage.attacks import AttackContext, make_attack
from leakage.config import doc_field
from leakage.data.splits import membership_candidates
from leakage.experiments.targets import Target
from leakage.inputs import module_digest
from leakage.store import Store


@dataclass(frozen=True)
class CandidateConfig:
    """Which members and non-members an attack is evaluated on."""

    max_per_side: int = doc_field(0, "members and non-members per target, each (0 = the smaller side's size)")
    seed: int = doc_field(0, "seed of the candidate draw")


@dataclass(frozen=True)
class AttackRun:
    """One attack against one target: everything that determines its scores."""

    target: Any = doc_field(None, "the target's key (TargetConfig, or DefendedKey behind an inference-time defence)")
    attack: str = doc_field("baseline", "registered attack name (leakage.attacks.ATTACKS; aliases resolved)")
    config: Any = doc_field(None, "the attack's own Config")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the evaluation candidates")
    model: str = doc_field("", "digest of the attacked model's weights and buffers (leakage.inputs.module_digest): "
                               "a target whose model was replaced or retrained never gets another's scores")


def candidates_of(target: Target, config: CandidateConfig) -> tuple[np.ndarray, np.ndarray]:
    """(dataset indices (2n,), is_member (2n,)): n members from D_train, then n non-members from D_test."""
    return membership_candidates(target.members, target.splits.test, config.seed, config.max_per_side or None)


def attacker_view(target: Target, indices: np.ndarray) -> AttackerView:
    """What the attacker holds for ``target`` and candidates ``indices`` (n,): their images and true labels, D_shadow,
    and the keys of what it builds: shadows by the split (D_shadow's content) and, relabelled ones, by the digest
    of the model answering label queries (a MemGuard target's undefended ``label_model``, whose labels it keeps)."""
    index = torch.as_tensor(indices)
    shadow = torch.as_tensor(target.splits.shadow)
    return AttackerView(candidates=target.data.images(index), candidate_labels=target.data.y[index],
                        shadow_x=target.data.images(shadow), shadow_y=target.data.y[shadow],
                        num_classes=target.data.num_classes, target_key=target.key, data_key=target.config.split,
                        label_key=module_digest(getattr(target.model, "label_model", target.model)))


def attack_context(target: Target, indices: np.ndarray, store: Store, *, budget: int | None = None,
                   with_posteriors: bool = False) -> AttackContext:
    """What the attacker gets for ``target`` and candidates ``indices``; the member labels are not in it.

    The same context :func:`run_attack` builds (so an attack's shadow built from it comes from the store).
    """
    return build_context(target.model, attacker_view(target, indices), store, seed=target.config.seed, budget=budget,
                         with_posteriors=with_posteriors)


def run_attack(target: Target, name: str, config: Any = None, candidates: CandidateConfig = CandidateConfig(),
               store: Store | None = None, *, n_boot: int = 1000) -> MembershipResult:
    """Run attack ``name`` (a registered name or alias, with its ``config``, default if None) on ``target``, or load
    its cached result from ``store`` (None = the default store).

    The scores come from :func:`leakage.api.vision.attack_candidates`, the core of
    :func:`leakage.api.attack_classifier`: members first, then non-members (:func:`candidates_of`), higher =
    member. The artefact is keyed by :class:`AttackRun`, which holds the digest of ``target.model``'s weights, so
    ``dataclasses.replace(target, model=other)`` is attacked afresh. Returns a :class:`MembershipResult` with
    ``indices`` the data-set indices, ``config`` (``result.run``) the AttackRun, ``seed`` the target's seed.
    Raises ``ValueError`` for an unknown attack or a config of another attack.
    """
    store = store or Store()
    attack = make_attack(name, config)
    run = AttackRun(target=target.key, attack=attack.name, config=attack.config, candidates=candidates,
                    model=module_digest(target.model))
    indices, is_member = candidates_of(target, candidates)
    return attack_candidates(attack, target.model, lambda: attacker_view(target, indices), is_member=is_member,
                             indices=indices, seed=target.config.seed, store=store, key=run, kind="attack",
                             label=name, n_boot=n_boot)
