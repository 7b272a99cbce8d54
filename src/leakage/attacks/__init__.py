"""Membership inference attacks, one module each, behind one registry and one score signature.

Every attack is a class with a frozen config dataclass and a ``run(context) -> AttackOutput``
method; ``AttackOutput.scores`` holds one score per candidate, HIGHER = MEMBER, none dropped.

Every attack's input arrives in one :class:`AttackContext`, which checks it when built (images float,
(N, C, H, W), finite, in [0, 1]; labels int64 of matching length), so no attack can score a NaN
candidate; the oracles refuse NaN/inf queries as well (:mod:`leakage.attacks.oracle`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from leakage.attacks.oracle import LabelOnlyOracle, PosteriorOracle, QueryBudgetExceeded
from leakage.checks import check_images
from leakage.store import Store


@dataclass
class AttackContext:
    """What an attacker is given. The target itself is reachable only through the oracles."""

    oracle: LabelOnlyOracle
    candidates: torch.Tensor  # (n, C, H, W) float in [0, 1]: the samples whose membership is inferred
    candidate_labels: torch.Tensor  # (n,) int64 true labels
    shadow_x: torch.Tensor  # (m, C, H, W) auxiliary data from the target's distribution (D_shadow)
    shadow_y: torch.Tensor  # (m,) its true labels (label-only attacks relabel through the oracle instead)
    num_classes: int
    seed: int
    store: Store
    target_key: Any  # the target's config: lets an attack cache what it builds for this target (a shadow model)
    data_key: Any  # identifies the data alone (the split config): for shadows that never query the target
    label_key: Any = None  # identifies the label oracle's answers (for shadows trained on them); target_key if None
    posterior_oracle: PosteriorOracle | None = None  # the score-based threat model only

    def __post_init__(self) -> None:
        """Reject what no attack can score: ``ValueError`` naming the field (NaN/inf or out-of-range pixels,
        wrong shapes, non-integer or mismatched labels, a label outside [0, num_classes))."""
        for images, labels in (("candidates", "candidate_labels"), ("shadow_x", "shadow_y")):
            x, y = getattr(self, images), getattr(self, labels)
            check_images(images, x)
            if not isinstance(y, torch.Tensor) or y.dtype != torch.long or y.shape != (len(x),):
                raise ValueError(f"{labels} must be an int64 tensor of shape ({len(x)},), got "
                                 f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"{labels} must lie in [0, {self.num_classes}), got [{int(y.min())}, {int(y.max())}]")


@dataclass
class AttackOutput:
    """Per-candidate scores (n,), higher = member, and the measured cost."""

    scores: np.ndarray
    cost: dict[str, float] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per-candidate by-products (e.g. perturbations)


ATTACKS: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator adding an attack to ``ATTACKS`` under ``name``."""

    def add(cls: type) -> type:
        if name in ATTACKS:
            raise ValueError(f"attack {name!r} registered twice")
        cls.name = name
        ATTACKS[name] = cls
        return cls

    return add


def get_attack(name: str) -> type:
    """The attack class registered as ``name``, or a clear error listing the known ones."""
    _load_all()
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known: {', '.join(sorted(ATTACKS))}")
    return ATTACKS[name]


def _load_all() -> None:
    from leakage.attacks import baseline, boundary, score_based, transfer  # noqa: F401  (registration side effect)


__all__ = ["ATTACKS", "AttackContext", "AttackOutput", "LabelOnlyOracle", "PosteriorOracle",
           "QueryBudgetExceeded", "get_attack", "register"]
