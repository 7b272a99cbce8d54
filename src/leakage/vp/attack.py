"""The shadow-model membership attack on VP outputs: a classifier trained on the shadow's released features.

The attacker trains a shadow model like the target on its own data (shadow members), queries it
on shadow members and non-members, and fits an attack classifier on those released features
(member = 1). The classifier's member probability on the target's released features is the score:
higher = member. The MLP (the paper's kind of attack classifier) sees the features through a
quantile transform to a normal distribution fitted on the shadow's features (losses and
confidences are heavy-tailed; the transform keeps their order); the gradient-boosting check needs
no transform.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from leakage.checks import check_finite
from leakage.config import doc_field

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
