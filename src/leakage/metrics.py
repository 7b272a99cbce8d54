"""Membership-inference metrics, one convention: a higher score means "member", and a threshold t flags a
sample as a member when ``score >= t``.

Every function takes ``scores`` (N,) float and ``is_member`` (N,) bool. Scores may be any float, +inf and
-inf included (the boundary attack scores a candidate it never flipped +inf), and may tie: every metric
here is exact for them, because all of them are computed from the counts of members and non-members at
each *distinct* score (+inf equals +inf, so all +inf scores form one tie group). No sample is ever
dropped: a NaN score is an error, to be fixed where it came from (an attack that fails on a sample must
still give it a score). scikit-learn rejects infinite scores, so it is the tests' oracle (on scores
mapped to their dense ranks, which keeps their order and ties) rather than the implementation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

from leakage.checks import check_finite


def _check(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert: scores (N,) float64 (+/-inf allowed, NaN not), is_member (N,) bool, both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member)
    if scores.ndim != 1 or scores.shape != is_member.shape:
        raise ValueError(f"scores and is_member must be 1-D of equal length, got {scores.shape} and {is_member.shape}")
    if is_member.dtype != bool:
        if not np.isin(is_member, (0, 1)).all():
            raise ValueError("is_member must be boolean (or 0/1)")
        is_member = is_member.astype(bool)
    check_finite("scores", scores, allow_inf=True)
    if is_member.all() or not is_member.any():
        raise ValueError("membership metrics need both members and non-members")
    return scores, is_member


def threshold_counts(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct way a threshold can split ``scores`` (N,): (thresholds (T+1,), tp (T+1,), fp (T+1,)).

    T is the number of distinct scores. Entry 0 flags nothing; entry i >= 1 flags ``scores >= thresholds[i]``,
    the i-th largest distinct score, so the last entry flags everything. ``tp``/``fp`` (int64) count the
    flagged samples with ``positive`` True/False. The threshold of entry 0 is +inf, unless some score is
    +inf: then no float flags nothing under ``>=``, and it is NaN (``score >= nan`` is False for every
    score, so it still flags nothing). Inputs are assumed validated (no NaN score).
    """
    distinct, group = np.unique(scores, return_inverse=True)  # ascending; -inf < finite < +inf, inf == inf
    group = group.reshape(-1)
    pos = np.bincount(group[positive], minlength=len(distinct))
    neg = np.bincount(group[~positive], minlength=len(distinct))
    tp = np.r_[0, np.cumsum(pos[::-1])].astype(np.int64)
    fp = np.r_[0, np.cumsum(neg[::-1])].astype(np.int64)
    nothing = math.inf if distinct[-1] < math.inf else math.nan
    return np.r_[nothing, distinct[::-1]], tp, fp


def roc_auc(scores: np.ndarray, is_member: np.ndarray) -> float:
    """Area under the ROC curve: P(member's score > non-member's score) + P(tie) / 2 (Mann-Whitney U / (P N)).

    Exact with ties and +/-inf (SciPy's ``rankdata`` gives tied scores, infinite ones included, their
    average rank). Raises ``ValueError`` on NaN scores or when one class is missing.
    """
    scores, is_member = _check(scores, is_member)
    return float(_auc_from_ranks(rankdata(scores)[None, :], is_member[None, :])[0])


def _auc_from_ranks(ranks: np.ndarray, is_member: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row of average ranks (B, N) with membership (B, N)."""
    n_pos = is_member.sum(1)
    n_neg = is_member.shape[1] - n_pos
    rank_sum = (ranks * is_member).sum(1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_curve(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), each (T+1,) for T distinct scores: from flagging nothing to flagging all.

    Point i flags exactly the samples with ``score >= thresholds[i]`` (one point per tie group, as
    scikit-learn's ``roc_curve(drop_intermediate=False)``). ``thresholds[0]`` flags nothing: it is +inf,
    or NaN when some score is +inf (see :func:`threshold_counts`). Raises ``ValueError`` on NaN scores.
    """
    scores, is_member = _check(scores, is_member)
    thresholds, tp, fp = threshold_counts(scores, is_member)
    return fp / (~is_member).sum(), tp / is_member.sum(), thresholds


def tpr_at_fpr(scores: np.ndarray, is_member: np.ndarray, max_fpr: float) -> float:
    """The highest TPR of any threshold whose FPR is at most ``max_fpr`` in [0, 1] (0 if none flags anything)."""
    if not 0 <= max_fpr <= 1:  # NaN fails too
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    fpr, tpr, _ = roc_curve(scores, is_member)
    return float(tpr[fpr <= max_fpr].max())


def f1_at_threshold(scores: np.ndarray, is_member: np.ndarray, threshold: float) -> float:
    """F1 of flagging members where ``score >= threshold`` (0 when nothing is flagged).

    ``threshold`` may be +/-inf (+inf flags exactly the +inf scores); NaN raises ``ValueError``.
    """
    scores, is_member = _check(scores, is_member)
    if math.isnan(threshold):
        raise ValueError("threshold is NaN; flag members with a float threshold (+/-inf allowed)")
    flagged = scores >= threshold
    tp = np.sum(flagged & is_member)
    denominator = flagged.sum() + is_member.sum()
    return float(2 * tp / denominator)


def best_f1(scores: np.ndarray, is_member: np.ndarray) -> tuple[float, float]:
    """(best F1 over all thresholds, the threshold that gives it: the largest one if several do).

    Exact over every distinct split of the scores (ties, +/-inf); the threshold is one of the scores, so
    ``f1_at_threshold(scores, is_member, threshold)`` gives the same F1.
    """
    scores, is_member = _check(scores, is_member)
    thresholds, tp, fp = threshold_counts(scores, is_member)
    f1 = 2 * tp / (tp + fp + int(is_member.sum()))  # entry 0 (nothing flagged) is 0; flagging all is > 0
    best = int(np.argmax(f1))
    return float(f1[best]), float(thresholds[best])


def bootstrap_auc(scores: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, level: float = 0.95,
                  seed: int = 0, chunk: int = 200) -> tuple[float, float]:
    """Percentile bootstrap CI (lo, hi) of the AUC, resampling members and non-members separately.

    Computed in batches of ``chunk`` resamples at once (no Python loop over resamples' samples); exact
    per resample with ties and +/-inf, as :func:`roc_auc`.
    """
    scores, is_member = _check(scores, is_member)
    if n_boot < 1 or chunk < 1:
        raise ValueError(f"n_boot and chunk must be positive, got {n_boot} and {chunk}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(is_member), np.flatnonzero(~is_member)
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    aucs = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        sample = np.concatenate([rng.choice(pos, (b, len(pos))), rng.choice(neg, (b, len(neg)))], axis=1)
        ranks = rankdata(scores[sample], axis=1)
        aucs.append(_auc_from_ranks(ranks, np.broadcast_to(labels, ranks.shape)))
    lo, hi = np.quantile(np.concatenate(aucs), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def summarize(scores: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """The numbers every attack reports: AUC with a 95% bootstrap CI, TPR at 1% and 0.1% FPR, best F1."""
    lo, hi = bootstrap_auc(scores, is_member, n_boot=n_boot, seed=seed)
    f1, threshold = best_f1(scores, is_member)
    return {
        "auc": roc_auc(scores, is_member), "auc_lo": lo, "auc_hi": hi,
        "tpr_at_1pct_fpr": tpr_at_fpr(scores, is_member, 0.01),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(scores, is_member, 0.001),
        "best_f1": f1, "best_f1_threshold": threshold,
        "n_members": int(np.sum(is_member)), "n_non_members": int(len(is_member) - np.sum(is_member)),
    }


def bootstrap_tpr(scores: np.ndarray, is_member: np.ndarray, max_fpr: float = 0.01, *, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI (lo, hi) of the TPR at ``max_fpr`` FPR, members and non-members resampled apart.

    ``scores`` (N,) (higher = member, +/-inf allowed: they keep their order) and ``is_member`` (N,) bool.
    Raises ``ValueError`` on a NaN score or mismatched lengths."""
    check_finite("attack scores", np.asarray(scores, dtype=np.float64), allow_inf=True)
    scores, is_member = np.asarray(scores), np.asarray(is_member, dtype=bool)
    if scores.shape != is_member.shape or scores.ndim != 1:
        raise ValueError(f"scores and is_member must be (N,) of equal length, got {scores.shape} and "
                         f"{is_member.shape}")
    return bootstrap_tprs(scores, is_member, (max_fpr,), n_boot=n_boot, seed=seed, level=level)[0]


def bootstrap_tprs(scores: np.ndarray, is_member: np.ndarray, max_fprs: tuple[float, ...], *, n_boot: int = 1000,
                   seed: int = 0, level: float = 0.95) -> list[tuple[float, float]]:
    """:func:`bootstrap_tpr` at several FPRs from the same resamples (each drawn once): one (lo, hi) per FPR.
    Inputs are checked by :func:`bootstrap_tpr`'s rules."""
    check_finite("attack scores", np.asarray(scores, dtype=np.float64), allow_inf=True)
    scores, is_member = np.asarray(scores), np.asarray(is_member, dtype=bool)
    if scores.shape != is_member.shape or scores.ndim != 1:
        raise ValueError(f"scores and is_member must be (N,) of equal length, got {scores.shape} and "
                         f"{is_member.shape}")
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(is_member), np.flatnonzero(~is_member)
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    values = np.empty((n_boot, len(max_fprs)))
    for b in range(n_boot):
        sample = scores[np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]]
        values[b] = [tpr_at_fpr(sample, labels, fpr) for fpr in max_fprs]
    bounds = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return [(float(lo), float(hi)) for lo, hi in bounds.T]
