"""Membership-inference metrics, one convention: a higher score means "member".

Every function takes ``scores`` (N,) float and ``is_member`` (N,) bool. No sample is ever
dropped: a NaN score is an error, to be fixed where it came from (an attack that fails on a
sample must still give it a score).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _check(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member)
    if scores.ndim != 1 or scores.shape != is_member.shape:
        raise ValueError(f"scores and is_member must be 1-D of equal length, got {scores.shape} and {is_member.shape}")
    if is_member.dtype != bool:
        if not np.isin(is_member, (0, 1)).all():
            raise ValueError("is_member must be boolean (or 0/1)")
        is_member = is_member.astype(bool)
    if np.isnan(scores).any():
        raise ValueError(f"{int(np.isnan(scores).sum())} scores are NaN; every sample needs a score")
    if is_member.all() or not is_member.any():
        raise ValueError("membership metrics need both members and non-members")
    return scores, is_member


def roc_auc(scores: np.ndarray, is_member: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half): P(score of a member > score of a non-member)."""
    scores, is_member = _check(scores, is_member)
    return float(_auc_from_ranks(rankdata(scores)[None, :], is_member[None, :])[0])


def _auc_from_ranks(ranks: np.ndarray, is_member: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row of ranks (B, N) with membership (B, N)."""
    n_pos = is_member.sum(1)
    n_neg = is_member.shape[1] - n_pos
    rank_sum = (ranks * is_member).sum(1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_curve(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), from the strictest threshold (+inf, nothing flagged) to flagging all.

    A sample is flagged a member when its score >= threshold.
    """
    scores, is_member = _check(scores, is_member)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_member = scores[order], is_member[order]
    last_of_tie = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(scores) - 1]
    tp = np.cumsum(sorted_member)[last_of_tie]
    fp = np.cumsum(~sorted_member)[last_of_tie]
    tpr = np.r_[0.0, tp / is_member.sum()]
    fpr = np.r_[0.0, fp / (~is_member).sum()]
    return fpr, tpr, np.r_[np.inf, sorted_scores[last_of_tie]]


def tpr_at_fpr(scores: np.ndarray, is_member: np.ndarray, max_fpr: float) -> float:
    """The highest TPR of any threshold whose FPR is at most ``max_fpr`` (0 if none flags anything)."""
    fpr, tpr, _ = roc_curve(scores, is_member)
    return float(tpr[fpr <= max_fpr].max())


def f1_at_threshold(scores: np.ndarray, is_member: np.ndarray, threshold: float) -> float:
    """F1 of flagging members where score >= threshold (0 when nothing is flagged)."""
    scores, is_member = _check(scores, is_member)
    flagged = scores >= threshold
    tp = np.sum(flagged & is_member)
    denominator = flagged.sum() + is_member.sum()
    return float(2 * tp / denominator) if denominator else 0.0


def best_f1(scores: np.ndarray, is_member: np.ndarray) -> tuple[float, float]:
    """(best F1 over all thresholds, the threshold that gives it)."""
    fpr, tpr, thresholds = roc_curve(scores, is_member)
    n_pos, n_neg = int(np.sum(is_member)), len(is_member) - int(np.sum(is_member))
    tp, fp = tpr * n_pos, fpr * n_neg
    f1 = np.where(tp > 0, 2 * tp / np.maximum(tp + fp + n_pos, 1), 0.0)
    best = int(np.argmax(f1))
    return float(f1[best]), float(thresholds[best])


def bootstrap_auc(scores: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, level: float = 0.95,
                  seed: int = 0, chunk: int = 200) -> tuple[float, float]:
    """Percentile bootstrap CI (lo, hi) of the AUC, resampling members and non-members separately.

    Computed in batches of ``chunk`` resamples at once (no Python loop over resamples' samples).
    """
    scores, is_member = _check(scores, is_member)
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
