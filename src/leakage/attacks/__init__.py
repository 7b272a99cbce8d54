"""Membership inference attacks, one module each, behind one registry and one score signature.

Every attack is a class with a frozen config dataclass and a ``run(context) -> AttackOutput``
method; ``AttackOutput.scores`` holds one score per candidate, HIGHER = MEMBER, none dropped.

Every attack's input arrives in one :class:`AttackContext`, which checks it when built (images float,
(N, C, H, W), finite, in [0, 1]; labels int64 of matching length), so no attack can score a NaN
candidate; the oracles refuse NaN/inf queries as well (:mod:`leakage.attacks.oracle`).

Names: ``get_attack(name)`` / ``make_attack(name, config)`` accept the registered names and their aliases
(``"hopskipjump"`` and ``"hsj"`` for ``"boundary"``; ``"qeba"`` for ``"boundary"`` with ``method='qeba'``,
which only :func:`make_attack` builds, since the class alone defaults to HopSkipJump). An attack that trains
on the attacker's own data (D_shadow) says so with the class attribute ``needs_attacker_data = True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    target_key: Any  # identifies the target (the book's Target.key; a weights digest for a model handed in)
    data_key: Any  # identifies D_shadow by content (the split config, or a digest) and K: for shadows trained on it
    label_key: Any = None  # identifies the label oracle's answers: the weights digest of the model that labels
    # (a MemGuard target's undefended ``label_model``), so relabelled shadows are shared by the two; target_key if None
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
#: Other names of registered attacks: alias -> (registered name, config fields the alias fixes). An alias
#: with fields names one setting of its attack ("qeba" is the boundary attack with ``method='qeba'``).
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {}


def register(name: str, aliases: Iterable[str] | Mapping[str, Mapping[str, Any]] = ()) -> Callable[[type], type]:
    """Class decorator adding an attack to ``ATTACKS`` under ``name``, and its ``aliases`` to ``ALIASES``.

    ``aliases``: other names, or a mapping alias -> the config fields it fixes (``{"qeba": {"method": "qeba"}}``).
    Raises ``ValueError`` for a name or alias registered twice.
    """
    presets = ({alias: dict(fields) for alias, fields in aliases.items()} if isinstance(aliases, Mapping)
               else {alias: {} for alias in aliases})

    def add(cls: type) -> type:
        for taken in (name, *presets):
            if taken in ATTACKS or taken in ALIASES:
                raise ValueError(f"attack {taken!r} registered twice")
        cls.name = name
        ATTACKS[name] = cls
        ALIASES.update({alias: (name, fields) for alias, fields in presets.items()})
        return cls

    return add


def _known() -> str:
    """'baseline, boundary (aliases: hopskipjump, hsj, qeba), ...': every name and its aliases."""
    def aliases(name: str) -> str:
        found = sorted(a for a, (target, _) in ALIASES.items() if target == name)
        return f" (aliases: {', '.join(found)})" if found else ""

    return ", ".join(f"{name}{aliases(name)}" for name in sorted(ATTACKS))


def _resolve(name: str) -> tuple[type, dict[str, Any]]:
    """(attack class, config fields fixed by the alias) of a registered name or alias; ``ValueError`` otherwise."""
    _load_all()
    if name in ATTACKS:
        return ATTACKS[name], {}
    if name in ALIASES:
        target, fields = ALIASES[name]
        return ATTACKS[target], fields
    raise ValueError(f"unknown attack {name!r}; known: {_known()}")


def get_attack(name: str) -> type:
    """The attack class registered as ``name`` or under the alias ``name`` (``"hopskipjump"`` -> the boundary
    attack).

    Raises ``ValueError`` for an unknown name (listing every name and alias), and for an alias that fixes a
    setting its class's default config does not have (``"qeba"``: the class alone would run HopSkipJump):
    build those with :func:`make_attack`.
    """
    cls, fields = _resolve(name)
    default = cls.Config()
    if any(getattr(default, k) != v for k, v in fields.items()):
        settings = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        raise ValueError(f"{name!r} is the {cls.name!r} attack with {settings}, which its default config does not "
                         f"have: use make_attack({name!r}, config) or get_attack({cls.name!r})"
                         f"({cls.__name__}.Config({settings}))")
    return cls


def make_attack(name: str, config: Any = None) -> Any:
    """An attack instance: registered ``name`` or alias, with ``config`` (its class's ``Config``; None = default).

    An alias that fixes settings (``"qeba"``: ``method='qeba'``) fills them into the default config; a
    ``config`` that contradicts them is a ``ValueError``, as are an unknown name and a config of another attack.
    """
    cls, fields = _resolve(name)
    if config is not None and not isinstance(config, cls.Config):
        raise ValueError(f"attack {name!r} takes a {cls.__name__}.Config (or None), got {type(config).__name__}")
    if config is None:
        config = cls.Config(**fields)
    clash = {k: getattr(config, k) for k, v in fields.items() if getattr(config, k) != v}
    if clash:
        raise ValueError(f"attack {name!r} means {fields}, but the config has {clash}: use {cls.name!r} with "
                         "that config, or drop the alias")
    return cls(config)


def _load_all() -> None:
    from leakage.attacks import (augmentation, baseline, boundary, lira, noise, rmia,  # noqa: F401  (registration
                                 score_based, transfer)  # side effect)


__all__ = ["ALIASES", "ATTACKS", "AttackContext", "AttackOutput", "LabelOnlyOracle", "PosteriorOracle",
           "QueryBudgetExceeded", "get_attack", "make_attack", "register"]
