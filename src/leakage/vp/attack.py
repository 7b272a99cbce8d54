"""The shadow-model membership attack on VP outputs: a classifier trained on the shadow's released features.

The attacker trains a shadow model like the target on its own data (shadow members), queries it
on shadow members and non-members, and fits an attack classifier on those released features
(member = 1). The classifier's member probability on the target's released features is the score:
higher = member (Shokri et al., S&P 2017; applied to VP models by Liao et al.). The MLP (the
paper's kind of attack classifier) sees the features through a quantile transform to a normal
distribution fitted on the shadow's features (losses and confidences are heavy-tailed; the
transform keeps their order); the gradient-boosting check needs no transform.

:func:`shadow_attack` is the one computation behind both the book's chapter
(:func:`leakage.experiments.vp.run_vp_attack`) and the library entry point
(:func:`leakage.api.attack_code_model`): raw outputs of target and shadow -> NMID -> feature matrices ->
attack classifier -> scores. :class:`ShadowAttack` registers it in the one registry of every attack
(:mod:`leakage.registry`, modality ``"code"``; aliases ``"shadow-mlp"`` and ``"shadow-gbdt"`` fix the classifier).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.registry import register
from leakage.vp.features import WITHOUT_EMBEDDING, RawOutputs, Released, check_feature_sets, feature_matrix
from leakage.vp.nmid import NMIDConfig, apply_nmid

CLASSIFIERS: tuple[str, ...] = ("mlp", "gbdt")


@dataclass(frozen=True)
class AttackConfig:
    """The attack classifier."""

    classifier: str = doc_field("mlp", "'mlp' (scikit-learn MLPClassifier) or 'gbdt' (HistGradientBoostingClassifier)")
    hidden: tuple[int, ...] = doc_field((64,), "MLP hidden layer sizes")
    max_iter: int = doc_field(200, "MLP epochs (Adam) or boosting iterations")
    seed: int = doc_field(0, "seed of the classifier's initialisation")

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown attack classifier {self.classifier!r}; choose one of {', '.join(CLASSIFIERS)}")


def _clean(name: str, x: np.ndarray) -> np.ndarray:
    """Features (N, d) as float64, NaN rejected, +/-inf clipped to +/-1e6 (a loss of +inf, probability 0 on the
    true label, stays the largest loss: its order is kept)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be (N, d), got shape {x.shape}")
    check_finite(name, x, allow_inf=True)
    return np.clip(x, -1e6, 1e6)


def attack_scores(shadow_x: np.ndarray, shadow_member: np.ndarray, target_x: np.ndarray,
                  config: AttackConfig) -> np.ndarray:
    """Member probability (M,) for target features (M, d), from a classifier fit on shadow features (N, d).

    Higher = member. Every target row gets a score (infinite features are clipped to +/-1e6, never dropped).
    Raises ``ValueError`` when a feature is NaN (it has no order, so it cannot be clipped to anything
    meaningful), when shapes do not fit, or when the shadow has no members or no non-members.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer

    shadow_x, target_x = _clean("shadow attack features", shadow_x), _clean("target attack features", target_x)
    member = np.asarray(shadow_member).astype(bool)
    if shadow_x.shape[1] != target_x.shape[1] or len(member) != len(shadow_x):
        raise ValueError(f"shadow features {shadow_x.shape} with {len(member)} labels do not fit target "
                         f"features {target_x.shape}")
    if member.all() or not member.any():
        raise ValueError("the attack needs shadow members and non-members to learn from")
    if config.classifier == "mlp":
        model = make_pipeline(
            QuantileTransformer(n_quantiles=min(1000, len(shadow_x)), output_distribution="normal",
                                random_state=config.seed),
            MLPClassifier(hidden_layer_sizes=config.hidden, max_iter=config.max_iter, random_state=config.seed))
    else:
        model = HistGradientBoostingClassifier(max_iter=config.max_iter, early_stopping=False,
                                               random_state=config.seed)
    with warnings.catch_warnings(), threadpool_limits(1):  # small data: threads only add contention
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(shadow_x, member)
        return model.predict_proba(target_x)[:, 1].astype(np.float64)


@dataclass(frozen=True, eq=False)
class ShadowAttackOutcome:
    """What :func:`shadow_attack` computed: the target's release under NMID and the scores per feature set."""

    target_release: Released
    """What the (defended) target released for each candidate, in the order of the target's outputs."""
    scores: dict[str, np.ndarray]
    """Feature set -> member probability (N,) of each target candidate, higher = member."""


def attack_label(feature_set: str, attack: AttackConfig, nmid: NMIDConfig) -> str:
    """The attack's name in a result, e.g. ``"shadow-mlp (loss)"`` or ``"shadow-mlp (all) vs NMID top1-10"``."""
    undefended = nmid.level == "none" and nmid.sigma == 0
    return f"shadow-{attack.classifier} ({feature_set})" + ("" if undefended else f" vs NMID {nmid.name}")


def shadow_attack(target: RawOutputs, shadow: RawOutputs, nmid: NMIDConfig, attack: AttackConfig,
                  feature_sets: Sequence[str]) -> ShadowAttackOutcome:
    """The shadow-model attack (Shokri et al. 2017) on what an NMID-defended model releases (Liao et al.).

    ``target``: the target's raw outputs on its candidates (``is_member`` is the ground truth, never seen by
    the attack); ``shadow``: the attacker's shadow model's raw outputs on its own members and non-members.
    Both go through the same NMID setting, the target's with the noise stream "target", the shadow's with
    "shadow" (the adaptive attacker runs its own copy of the defence, with its own noise draws); for each
    feature set the attack classifier is fit on the shadow's released features and scores the target's.

    Returns the target's release and, per feature set (in order, repeats dropped), the scores (N,): member
    probability, higher = member. Raises ``ValueError`` on an unknown feature set, one that needs an
    embedding when the models give none, target and shadow outputs of different widths (D or K), or a
    shadow without members or without non-members.
    """
    if not isinstance(nmid, NMIDConfig) or not isinstance(attack, AttackConfig):
        raise ValueError(f"nmid must be an NMIDConfig and attack an AttackConfig, got {type(nmid).__name__} and "
                         f"{type(attack).__name__}")
    missing = " and ".join(f"the {o.name} model" for o in (target, shadow) if not o.has_embedding)
    chosen = check_feature_sets(feature_sets, no_embedding=missing)
    uses_embedding = any(f not in WITHOUT_EMBEDDING for f in chosen)
    if target.logits.shape[1] != shadow.logits.shape[1] or (
            uses_embedding and target.embedding.shape[1] != shadow.embedding.shape[1]):
        raise ValueError(f"the shadow's outputs must have the target's widths: target embedding D = "
                         f"{target.embedding.shape[1]}, logits K = {target.logits.shape[1]}; shadow D = "
                         f"{shadow.embedding.shape[1]}, K = {shadow.logits.shape[1]}")
    if shadow.is_member.all() or not shadow.is_member.any():
        raise ValueError("the attack needs shadow members and non-members to learn from")
    target_release = apply_nmid(target.embedding, target.logits, target.labels, nmid, "target")
    shadow_release = apply_nmid(shadow.embedding, shadow.logits, shadow.labels, nmid, "shadow")
    scores = {feature_set: attack_scores(feature_matrix(shadow_release, feature_set), shadow.is_member,
                                         feature_matrix(target_release, feature_set), attack)
              for feature_set in chosen}
    return ShadowAttackOutcome(target_release=target_release, scores=scores)


@register("shadow", modality="code", aliases={f"shadow-{c}": {"classifier": c} for c in CLASSIFIERS})
class ShadowAttack:
    """The shadow-model attack on VP outputs as a registered attack: ``ShadowAttack(config)(target, shadow, nmid,
    feature_sets)`` is :func:`shadow_attack` with the attack classifier ``config`` (scores: higher = member)."""

    Config = AttackConfig

    def __init__(self, config: AttackConfig | None = None):
        self.config = config if config is not None else AttackConfig()

    def __call__(self, target: RawOutputs, shadow: RawOutputs, nmid: NMIDConfig,
                 feature_sets: Sequence[str]) -> ShadowAttackOutcome:
        return shadow_attack(target, shadow, nmid, self.config, feature_sets)
