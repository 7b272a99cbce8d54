"""Vision membership inference attacks (score-based and label-only), one module each, registered in the one
registry of every attack (:mod:`leakage.registry`, modality ``"vision"``) with its one score convention.

Every attack is a class with a frozen config dataclass and a ``run(context) -> AttackOutput``
method; ``AttackOutput.scores`` holds one score per candidate, HIGHER = MEMBER, none dropped.

Every attack's input arrives in one :class:`AttackContext`, which checks it when built (images float,
(N, C, H, W), finite, in [0, 1], or with ``images=False`` other inputs (N, ...) float and finite in any range;
labels int64 of matching length in [0, K)), so no attack can score a NaN candidate; the oracles refuse NaN/inf
queries as well (:mod:`leakage.attacks.oracle`).

Inputs. Most attacks take inputs of any shape (N, ...). :func:`image_only` says why an attack needs images
(their geometry: flips, translations, QEBA's image subspace), :func:`searches_unit_box` whether it perturbs
inside the box [0, 1]^d (uniform starts, clipping), so that inputs that are not images must first be scaled
into it (``leakage.api.attack_classifier(input_range=...)`` does).

Names: ``get_attack(name)`` / ``make_attack(name, config)`` (views of the one registry) accept the registered
names and their aliases (``"hopskipjump"`` and ``"hsj"`` for ``"boundary"``; ``"qeba"`` for ``"boundary"`` with
``method='qeba'``, which only :func:`make_attack` builds, since the class alone defaults to HopSkipJump). An attack that trains
on the attacker's own data (D_shadow) says so with the class attribute ``needs_attacker_data = True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from leakage import registry
from leakage.attacks.oracle import LabelOnlyOracle, PosteriorOracle, QueryBudgetExceeded
from leakage.checks import check_images, check_inputs, check_labels
from leakage.store import Store


@dataclass
class AttackContext:
    """What an attacker is given. The target itself is reachable only through the oracles."""

    oracle: LabelOnlyOracle
    candidates: torch.Tensor  # the samples whose membership is inferred: images (n, C, H, W) in [0, 1], or (n, ...)
    candidate_labels: torch.Tensor  # (n,) int64 true labels
    shadow_x: torch.Tensor  # (m, *candidates.shape[1:]) auxiliary data from the target's distribution (D_shadow)
    shadow_y: torch.Tensor  # (m,) its true labels (label-only attacks relabel through the oracle instead)
    num_classes: int
    seed: int
    store: Store
    target_key: Any  # identifies the target (the book's Target.key; a weights digest for a model handed in)
    data_key: Any  # identifies D_shadow by content (the split config, or a digest) and K: for shadows trained on it
    label_key: Any = None  # identifies the label oracle's answers: the weights digest of the model that labels
    # (a MemGuard target's undefended ``label_model``), so relabelled shadows are shared by the two; target_key if None
    posterior_oracle: PosteriorOracle | None = None  # the score-based threat model only
    images: bool = True  # candidates are images (n, C, H, W) in [0, 1]; False: other inputs (n, ...), any range
    # builds shadow / reference models: factory(input_shape, num_classes) -> untrained module (None = the default,
    # leakage.attacks.shadow.default_shadow_model); data_key must identify a factory handed in
    shadow_model: Callable[[tuple[int, ...], int], torch.nn.Module] | None = None

    def __post_init__(self) -> None:
        """Reject what no attack can score: ``ValueError`` naming the field (NaN/inf or, for images, out-of-range
        pixels; wrong shapes; D_shadow of another input shape; non-integer or mismatched labels, a label outside
        [0, num_classes))."""
        for inputs, labels in (("candidates", "candidate_labels"), ("shadow_x", "shadow_y")):
            x, y = getattr(self, inputs), getattr(self, labels)
            if self.images:
                check_images(inputs, x)
            else:
                check_inputs(inputs, x)
            if not isinstance(y, torch.Tensor) or y.dtype != torch.long:
                raise ValueError(f"{labels} must be an int64 tensor of shape ({len(x)},), got "
                                 f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}")
            check_labels(labels, y, n=len(x), num_classes=self.num_classes)
        if len(self.shadow_x) and self.shadow_x.shape[1:] != self.candidates.shape[1:]:
            raise ValueError(f"shadow_x must have the candidates' input shape {tuple(self.candidates.shape[1:])}, got "
                             f"{tuple(self.shadow_x.shape[1:])}")


@dataclass
class AttackOutput:
    """Per-candidate scores (n,), higher = member, and the measured cost."""

    scores: np.ndarray
    cost: dict[str, float] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per-candidate by-products (e.g. perturbations)


#: Registered name -> class of every vision attack: a live view of :data:`leakage.registry.REGISTRY`.
ATTACKS: Mapping[str, type] = registry.REGISTRY.classes("vision")


def register(name: str, aliases: Iterable[str] | Mapping[str, Mapping[str, Any]] = ()) -> Callable[[type], type]:
    """Class decorator registering a vision attack as ``name`` in the one registry (:func:`leakage.registry.register`
    with ``modality="vision"``).

    ``aliases``: other names, or a mapping alias -> the config fields it fixes (``{"qeba": {"method": "qeba"}}``).
    Raises ``ValueError`` for a name or alias already taken by any attack, and for a ``Config`` that is not a
    frozen dataclass.
    """
    return registry.register(name, modality="vision", aliases=aliases)


def get_attack(name: str) -> type:
    """The vision attack class registered as ``name`` or under the alias ``name`` (``"hopskipjump"`` -> the
    boundary attack).

    Raises ``ValueError`` for an unknown name (listing every vision name and alias), and for an alias that fixes
    a setting its class's default config does not have (``"qeba"``: the class alone would run HopSkipJump):
    build those with :func:`make_attack`.
    """
    spec = registry.get_attack(name, "vision")
    fields = spec.settings(name)
    default = spec.config()
    if any(getattr(default, k) != v for k, v in fields.items()):
        settings = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        raise ValueError(f"{name!r} is the {spec.name!r} attack with {settings}, which its default config does not "
                         f"have: use make_attack({name!r}, config) or get_attack({spec.name!r})"
                         f"({spec.cls.__name__}.Config({settings}))")
    return spec.cls


def make_attack(name: str, config: Any = None) -> Any:
    """A vision attack instance: registered ``name`` or alias, with ``config`` (its class's ``Config``; None =
    default): :func:`leakage.registry.make_attack` with ``modality="vision"``.

    An alias that fixes settings (``"qeba"``: ``method='qeba'``) fills them into the default config; a
    ``config`` that contradicts them is a ``ValueError``, as are an unknown name and a config of another attack.
    """
    return registry.make_attack(name, config, "vision")


#: Why the book's attacks that need image geometry need it (an attack class may instead say so itself, with a
#: class attribute ``image_only = "<why>"``).
_IMAGE_ONLY: dict[str, str] = {
    "augmentation": "it queries flips and pixel translations of each candidate, which need images (n, C, H, W)",
}
#: The book's attacks that perturb candidates inside the box [0, 1]^d (an attack class may instead say so itself,
#: with a class attribute ``unit_box = True``).
_UNIT_BOX: frozenset[str] = frozenset({"boundary", "noise"})


def image_only(attack: Any) -> str | None:
    """Why ``attack`` (an instance, :func:`make_attack`) can only score images (n, C, H, W), or None when its method
    applies to inputs of any shape (n, ...), feature vectors included.

    Image-only: the augmentation attack (flips, translations), the boundary attack with ``method='qeba'`` (its
    probes come from a low-frequency subspace of the image plane), and any attack configured with
    ``augment=True`` (LiRA: each candidate's horizontal flip is queried too)."""
    declared = getattr(attack, "image_only", None)
    if isinstance(declared, str) and declared:
        return declared
    if attack.name in _IMAGE_ONLY:
        return _IMAGE_ONLY[attack.name]
    config = getattr(attack, "config", None)
    if getattr(config, "method", None) == "qeba":
        return ("QEBA draws its probe directions from a low-frequency subspace of the image plane (a resize or DCT "
                "over H and W); the boundary attack with method='hopskipjump' (attack 'hopskipjump') needs no "
                "image geometry")
    if getattr(config, "augment", False) is True:
        return "augment=True also queries each candidate's horizontal flip; set augment=False in its config"
    return None


def searches_unit_box(attack: Any) -> bool:
    """True when ``attack`` (an instance) perturbs candidates inside the box [0, 1]^d: uniform random starting
    points, clipping to [0, 1] (the boundary attack, HopSkipJump and QEBA; the noise attack). Images in [0, 1] are
    in that box; other inputs must be scaled into it first (``attack_classifier(input_range=...)``)."""
    declared = getattr(attack, "unit_box", None)
    return bool(declared) if declared is not None else attack.name in _UNIT_BOX


__all__ = ["ATTACKS", "AttackContext", "AttackOutput", "LabelOnlyOracle", "PosteriorOracle",
           "QueryBudgetExceeded", "get_attack", "image_only", "make_attack", "register", "searches_unit_box"]
