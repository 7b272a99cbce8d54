"""Effect sizes with 95% CIs from the right resampling unit, for the scorecard's claims.

- candidates: :func:`auc_ci`, :func:`paired_auc_difference` (two attacks or norms scoring the same
  candidates: one resample serves both), :func:`mean_difference` (members vs non-members);
- targets: :func:`auc_trend` (a two-stage bootstrap: targets M-0..M-5 resampled, and candidates within
  each), :func:`value_trend` (one number per target, targets resampled);
- proportions: :func:`proportion_ci` (exact Clopper-Pearson).

Every bootstrap resamples members and non-members separately (each side keeps its size), is seeded,
and is batched (no Python loop over resamples' samples). Percentile intervals, two-sided.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, rankdata

from leakage.checks import check_finite
from leakage.claims.core import LEVEL
from leakage.metrics import _auc_from_ranks, _check, roc_auc
from leakage.seed import seeded_rng


def percentile_ci(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """(low, high) percentile interval of bootstrap ``values`` (B,), non-finite ones ignored; NaNs if none."""
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def stratified_resamples(is_member: np.ndarray, n_boot: int, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n_boot, N) resampling members and non-members separately, their membership (N,))."""
    pos, neg = np.flatnonzero(is_member), np.flatnonzero(~is_member)
    sample = np.concatenate([rng.choice(pos, (n_boot, len(pos))), rng.choice(neg, (n_boot, len(neg)))], axis=1)
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    return sample, labels


def resampled_aucs(scores: np.ndarray, sample: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC (B,) of ``scores`` on each resample: ``sample`` (B, N) indices, ``labels`` (N,) their membership
    (from :func:`stratified_resamples`); one batched rank computation."""
    ranks = rankdata(scores[sample], axis=1)
    return _auc_from_ranks(ranks, np.broadcast_to(labels, ranks.shape))


def auc_ci(scores: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, seed: int = 0
           ) -> tuple[float, float, float]:
    """(AUC, 95% CI low, high): candidates resampled, members and non-members separately.

    ``scores`` (N,) higher = member (finite or +/-inf, no NaN); ``is_member`` (N,) bool.
    """
    scores, is_member = _check(scores, is_member)
    sample, labels = stratified_resamples(is_member, n_boot, seeded_rng(seed))
    return (roc_auc(scores, is_member), *percentile_ci(resampled_aucs(scores, sample, labels)))


def paired_auc_difference(scores_a: np.ndarray, scores_b: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000,
                          seed: int = 0) -> tuple[float, float, float]:
    """(AUC(a) - AUC(b), 95% CI low, high) of two attacks scoring the same candidates: each bootstrap
    resample of candidates is used for both, so the CI reflects their correlation.

    ``scores_a``, ``scores_b`` (N,) higher = member; ``is_member`` (N,) bool.
    """
    scores_a, is_member = _check(scores_a, is_member)
    scores_b, _ = _check(scores_b, is_member)
    sample, labels = stratified_resamples(is_member, n_boot, seeded_rng(seed))
    diff = resampled_aucs(scores_a, sample, labels) - resampled_aucs(scores_b, sample, labels)
    return (roc_auc(scores_a, is_member) - roc_auc(scores_b, is_member), *percentile_ci(diff))


def mean_difference(members: np.ndarray, non_members: np.ndarray, *, n_boot: int = 1000, seed: int = 0
                    ) -> tuple[float, float, float]:
    """(mean(members) - mean(non_members), 95% CI low, high), each side resampled on its own.

    E.g. a perturbation size, an ACE or a certified radius per candidate. Raises ``ValueError`` on an
    empty side or a non-finite value.
    """
    members, non_members = np.asarray(members, float), np.asarray(non_members, float)
    if not len(members) or not len(non_members):
        raise ValueError("mean_difference needs at least one member and one non-member value")
    check_finite("members' values", members)
    check_finite("non-members' values", non_members)
    rng = seeded_rng(seed)
    boot = (members[rng.integers(0, len(members), (n_boot, len(members)))].mean(1)
            - non_members[rng.integers(0, len(non_members), (n_boot, len(non_members)))].mean(1))
    return (float(members.mean() - non_members.mean()), *percentile_ci(boot))


def ols_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS slope of y on x per row (B, T); NaN where every x of a row is the same."""
    xc = x - x.mean(1, keepdims=True)
    denominator = (xc ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (xc * (y - y.mean(1, keepdims=True))).sum(1) / denominator, np.nan)


def auc_trend(groups: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray | None = None, *, n_boot: int = 1000,
              seed: int = 0) -> tuple[float, float, float]:
    """(slope of AUC on ``x``, 95% CI low, high) across targets (default x: 0, 1, ... for M-0, M-1, ...).

    ``groups``: per target, (scores (N_t,), is_member (N_t,)). Two-stage bootstrap: each resample draws
    the targets with replacement and, within each, its candidates (members and non-members separately),
    so the CI covers both which targets were trained and which candidates were attacked. Needs at least
    3 targets.
    """
    if len(groups) < 3:
        raise ValueError(f"a trend across targets needs at least 3 targets, got {len(groups)}")
    x = np.arange(len(groups), dtype=float) if x is None else np.asarray(x, float)
    rng = seeded_rng(seed)
    point, boot = [], []
    for scores, is_member in groups:
        scores, is_member = _check(scores, is_member)
        point.append(roc_auc(scores, is_member))
        sample, labels = stratified_resamples(is_member, n_boot, rng)
        boot.append(resampled_aucs(scores, sample, labels))
    aucs = np.stack(boot, 1)  # (B, T)
    pick = rng.integers(0, len(groups), (n_boot, len(groups)))
    slopes = ols_slopes(x[pick], np.take_along_axis(aucs, pick, 1))
    return (float(ols_slopes(x[None], np.asarray(point)[None])[0]), *percentile_ci(slopes))


def value_trend(values: np.ndarray, x: np.ndarray | None = None, *, n_boot: int = 1000, seed: int = 0
                ) -> tuple[float, float, float]:
    """(slope of ``values`` on ``x``, 95% CI low, high): one number per target, targets resampled."""
    values = np.asarray(values, float)
    check_finite("values", values)
    if len(values) < 3:
        raise ValueError(f"a trend needs at least 3 points, got {len(values)}")
    x = np.arange(len(values), dtype=float) if x is None else np.asarray(x, float)
    pick = seeded_rng(seed).integers(0, len(values), (n_boot, len(values)))
    return (float(ols_slopes(x[None], values[None])[0]), *percentile_ci(ols_slopes(x[pick], values[pick])))


def proportion_ci(successes: int, trials: int, level: float = LEVEL) -> tuple[float, float, float]:
    """(successes / trials, exact Clopper-Pearson CI low, high)."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes} of {trials}")
    interval = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="exact")
    return successes / trials, float(interval.low), float(interval.high)
