"""Membership-inference metrics, one convention: a higher score means "member", and a threshold t flags a
sample as a member when ``score >= t``.

Every function takes ``scores`` (N,) float and ``is_member`` (N,) bool. Scores may be any float, +inf and
-inf included (the boundary attack scores a candidate it never flipped +inf), and may tie: every metric
here is exact for them, because all of them are computed from the counts of members and non-members at
each *distinct* score (+inf equals +inf, so all +inf scores form one tie group). No sample is ever
dropped: a NaN score is an error, to be fixed where it came from (an attack that fails on a sample must
still give it a score). scikit-learn rejects infinite scores, so it is the tests' oracle (on scores
mapped to their dense ranks, which keeps their order and ties) rather than the implementation.

**What a sample can resolve.** On n0 non-members the smallest FPR above 0 that any threshold can have is
1/n0, so "TPR at an FPR f" with 0 < f < 1/n0 is, whatever f, the TPR at zero false positives (e.g. TPR at
0.1% FPR on 120 non-members). :func:`fpr_resolution` says which a sample gives; the reported metrics
(:func:`summarize`, :func:`resolve_low_fprs`) leave a TPR at an unresolvable FPR out (NaN) and report
``tpr_at_0fp``, the TPR at zero false positives, beside it, always. :func:`tpr_at_fpr` and
:func:`bootstrap_tprs` stay the plain functions (below 1/n0 they give the TPR at zero false positives).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import rankdata

from leakage.checks import check_finite, check_membership
from leakage.seed import seeded_rng

#: The low FPRs every attack reports a TPR at: metric name -> FPR (a fraction).
LOW_FPRS: dict[str, float] = {"tpr_at_1pct_fpr": 0.01, "tpr_at_0.1pct_fpr": 0.001}
#: The metric reported beside them: the TPR at zero false positives (the share of members scoring above every
#: non-member), which is what a TPR at an FPR below 1/n0 measures on n0 non-members.
ZERO_FP = "tpr_at_0fp"
#: Display names of :data:`LOW_FPRS` and :data:`ZERO_FP`.
LOW_FPR_NAMES: dict[str, str] = {"tpr_at_1pct_fpr": "TPR at 1% FPR", "tpr_at_0.1pct_fpr": "TPR at 0.1% FPR",
                                 ZERO_FP: "TPR at 0 FP"}


def _fpr_text(fpr: float) -> str:
    """0.001 -> '0.1%', 0.01 -> '1%', 1/120 -> '0.83%'."""
    return f"{100 * fpr:.2g}%"


def allowed_false_positives(n_non_members: int, max_fpr: float) -> int:
    """The most false positives k with ``k / n_non_members <= max_fpr`` (the float arithmetic of
    :func:`tpr_at_fpr`'s ``fpr <= max_fpr``). Raises ``ValueError`` for no non-member or ``max_fpr`` outside
    [0, 1]."""
    if int(n_non_members) < 1:
        raise ValueError(f"a false-positive rate needs at least one non-member, got n_non_members={n_non_members}")
    if not 0 <= max_fpr <= 1:  # NaN fails too
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    n = int(n_non_members)
    k = min(n, math.floor(max_fpr * n))
    while k < n and (k + 1) / n <= max_fpr:
        k += 1
    while k > 0 and k / n > max_fpr:
        k -= 1
    return k


@dataclass(frozen=True)
class FprResolution:
    """What "TPR at ``max_fpr`` FPR" measures on ``n_non_members`` non-members (:func:`fpr_resolution`).

    ``false_positives``: the most false positives a threshold may have (``floor(max_fpr * n_non_members)``);
    ``resolvable``: the sample measures the FPR asked for (``max_fpr >= 1 / n_non_members``, or ``max_fpr`` is
    0); otherwise the metric is the TPR at zero false positives; ``needed``: the fewest non-members that
    resolve ``max_fpr`` (0 for ``max_fpr`` 0).
    """

    max_fpr: float
    n_non_members: int
    false_positives: int
    resolvable: bool
    needed: int

    @property
    def label(self) -> str:
        """'TPR at 0.1% FPR' when resolvable, else 'TPR at 0 FP (0.1% FPR < 1/120)'."""
        if self.max_fpr == 0:
            return LOW_FPR_NAMES[ZERO_FP]
        if self.resolvable:
            return f"TPR at {_fpr_text(self.max_fpr)} FPR"
        return f"{LOW_FPR_NAMES[ZERO_FP]} ({_fpr_text(self.max_fpr)} FPR < 1/{self.n_non_members})"

    @property
    def reason(self) -> str:
        """Why the FPR is not resolvable ('' when it is), naming the sample size that would resolve it."""
        if self.resolvable:
            return ""
        return (f"{_fpr_text(self.max_fpr)} FPR is below 1/{self.n_non_members:,} = "
                f"{_fpr_text(1 / self.n_non_members)}, the smallest non-zero FPR {self.n_non_members:,} non-members "
                f"allow: TPR at {_fpr_text(self.max_fpr)} FPR would be the TPR at zero false positives; "
                f"{self.needed:,} non-members resolve {_fpr_text(self.max_fpr)} FPR")


def fpr_resolution(n_non_members: int, max_fpr: float) -> FprResolution:
    """Whether ``n_non_members`` non-members resolve an FPR of ``max_fpr`` (a fraction in [0, 1]).

    A threshold's FPR on n0 non-members is a multiple of 1/n0, so for 0 < ``max_fpr`` < 1/n0 the best
    threshold within the budget has no false positive at all: "TPR at ``max_fpr`` FPR" is then the TPR at
    zero false positives (``resolvable`` False; ``label`` and ``reason`` say so). Also true of each bootstrap
    resample, which has n0 non-members too. Raises ``ValueError`` for ``n_non_members`` < 1 or ``max_fpr``
    outside [0, 1].
    """
    k = allowed_false_positives(n_non_members, max_fpr)
    needed = 0
    if max_fpr > 0:
        needed = math.ceil(1 / max_fpr)
        while 1 / needed > max_fpr:
            needed += 1
        while needed > 1 and 1 / (needed - 1) <= max_fpr:
            needed -= 1
    return FprResolution(float(max_fpr), int(n_non_members), k, k >= 1 or max_fpr == 0, needed)


def shown_tpr(name: str, n_non_members: int) -> tuple[str, str]:
    """(column, label) a table or figure shows for the :data:`LOW_FPRS` metric ``name`` on ``n_non_members``
    non-members: (``name``, 'TPR at 0.1% FPR') when they resolve its FPR, else (:data:`ZERO_FP`,
    'TPR at 0 FP (0.1% FPR < 1/120)'): the number the sample gives, under its own name. Raises ``ValueError``
    for an unknown ``name`` or no non-member."""
    if name not in LOW_FPRS:
        raise ValueError(f"name must be one of {', '.join(LOW_FPRS)}, got {name!r}")
    resolution = fpr_resolution(n_non_members, LOW_FPRS[name])
    return (name if resolution.resolvable else ZERO_FP), resolution.label


def resolve_low_fprs(metrics: Mapping[str, float]) -> dict[str, float]:
    """``metrics`` (holding ``n_non_members``) with every :data:`LOW_FPRS` entry the sample cannot resolve
    (:func:`fpr_resolution`), and its ``_lo``/``_hi`` CI bounds when present, set to NaN; the rest unchanged.
    For metrics stored before this rule (and any dict of :func:`summarize`'s keys). Raises ``ValueError``
    without ``n_non_members``."""
    if "n_non_members" not in metrics:
        raise ValueError("resolve_low_fprs needs the metrics' n_non_members")
    out = dict(metrics)
    for name, fpr in LOW_FPRS.items():
        if name in out and not fpr_resolution(int(out["n_non_members"]), fpr).resolvable:
            for key in (name, f"{name}_lo", f"{name}_hi"):
                if key in out:
                    out[key] = math.nan
    return out


def _check(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert: scores (N,) float64 (+/-inf allowed, NaN not), is_member (N,) bool, both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    is_member = check_membership("is_member", is_member)
    if scores.ndim != 1 or scores.shape != is_member.shape:
        raise ValueError(f"scores and is_member must be 1-D of equal length, got {scores.shape} and {is_member.shape}")
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
    """The highest TPR of any threshold whose FPR is at most ``max_fpr`` in [0, 1] (0 if none flags anything).

    ``scores`` (N,) (higher = member), ``is_member`` (N,) bool. With n0 non-members and 0 < ``max_fpr`` <
    1/n0 this is the TPR at zero false positives (:func:`fpr_resolution`); a table should then report
    :func:`tpr_at_zero_fp` under that name, as :func:`summarize` does. Raises ``ValueError`` on a NaN score or a
    ``max_fpr`` outside [0, 1]."""
    if not 0 <= max_fpr <= 1:  # NaN fails too
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    fpr, tpr, _ = roc_curve(scores, is_member)
    return float(tpr[fpr <= max_fpr].max())


def tpr_at_zero_fp(scores: np.ndarray, is_member: np.ndarray) -> float:
    """TPR at zero false positives: the share of members scoring strictly above every non-member's score
    (``scores`` (N,), higher = member, +/-inf allowed; ``is_member`` (N,) bool). Raises ``ValueError`` on a NaN
    score or a missing class."""
    return tpr_at_fpr(scores, is_member, 0.0)


def clopper_pearson(successes: np.ndarray | int, trials: np.ndarray | int,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) ends of the two-sided Clopper-Pearson interval for ``successes`` of ``trials`` (arrays ok).

    Exact: it covers a binomial proportion with probability at least ``confidence`` whatever the proportion (as
    statsmodels' ``proportion_confint(method="beta")``). Raises ``ValueError`` for counts outside
    0 <= successes <= trials, trials < 1, or ``confidence`` outside (0, 1)."""
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    check_finite("successes", k)
    check_finite("trials", n)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("Clopper-Pearson needs 0 <= successes <= trials and trials >= 1")
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore", divide="ignore"):  # the other branch of each where is not used
        lower = np.where(k == 0, 0.0, special.betaincinv(k, n - k + 1, tail))
        upper = np.where(k == n, 1.0, special.betaincinv(k + 1, n - k, 1 - tail))
    return lower, upper


def tpr_at_zero_fp_interval(scores: np.ndarray, is_member: np.ndarray,
                            confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval (exact, at least ``confidence``) of the member population's TPR at the
    zero-false-positive threshold: the largest non-member score t*, every member scoring strictly above it counted
    as flagged (``scores`` (N,), higher = member; ``is_member`` (N,) bool).

    Given the non-members, the members are independent draws, so the number above t* is binomial with the TPR of
    t* as its proportion and the interval covers it with probability at least ``confidence``
    (``tests/test_low_fpr_resolution.py`` checks it by simulation). It is not an interval for a TPR at a fixed
    FPR: t*'s own FPR is random (below 3/n0 with 95% probability on n0 non-members). Raises ``ValueError`` on a
    NaN score or a missing class.
    """
    scores, is_member = _validated_pair(scores, is_member)
    members = scores[is_member]
    flagged = int(np.sum(members > scores[~is_member].max()))
    low, high = clopper_pearson(flagged, len(members), confidence)
    return float(low), float(high)


def resolved_tpr_at_fpr(scores: np.ndarray, is_member: np.ndarray, max_fpr: float) -> float:
    """:func:`tpr_at_fpr` where the sample's non-members resolve ``max_fpr`` (:func:`fpr_resolution`), else NaN
    (the number would be the TPR at zero false positives: report :func:`tpr_at_zero_fp` for it)."""
    value = tpr_at_fpr(scores, is_member, max_fpr)
    n_non = int(np.sum(~np.asarray(is_member, dtype=bool)))
    return value if fpr_resolution(n_non, max_fpr).resolvable else math.nan


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
    rng = seeded_rng(seed)
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


def summarize(scores: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
              tpr_intervals: bool = False) -> dict[str, float]:
    """The numbers every attack reports, of ``scores`` (N,) (higher = member) and ``is_member`` (N,) bool.

    ``auc`` with its 95% bootstrap CI (``auc_lo``, ``auc_hi``; ``n_boot`` resamples from ``seed``); the TPR at
    each FPR of :data:`LOW_FPRS` (``tpr_at_1pct_fpr``, ``tpr_at_0.1pct_fpr``), NaN where the non-members do not
    resolve that FPR (:func:`fpr_resolution`: fewer than 100 or 1,000 non-members); ``tpr_at_0fp``, the TPR at
    zero false positives (what those would have measured); ``best_f1`` and ``best_f1_threshold``;
    ``n_members``, ``n_non_members``. ``tpr_intervals``: also a 95% bootstrap CI (``_lo``, ``_hi``) of each TPR,
    members and non-members resampled apart (:func:`bootstrap_tprs`, one set of resamples; NaN where the TPR is),
    and for ``tpr_at_0fp`` the exact Clopper-Pearson interval of :func:`tpr_at_zero_fp_interval` (a bootstrap
    under-covers it: the extreme non-member score is what a resample cannot reproduce). Raises ``ValueError`` on
    a NaN score or a missing class.
    """
    lo, hi = bootstrap_auc(scores, is_member, n_boot=n_boot, seed=seed)
    f1, threshold = best_f1(scores, is_member)
    n_members = int(np.sum(is_member))
    out = {"auc": roc_auc(scores, is_member), "auc_lo": lo, "auc_hi": hi,
           **{name: tpr_at_fpr(scores, is_member, fpr) for name, fpr in LOW_FPRS.items()},
           ZERO_FP: tpr_at_zero_fp(scores, is_member),
           "best_f1": f1, "best_f1_threshold": threshold,
           "n_members": n_members, "n_non_members": int(len(is_member) - n_members)}
    if tpr_intervals:
        bounds = bootstrap_tprs(scores, is_member, tuple(LOW_FPRS.values()), n_boot=n_boot, seed=seed)
        for name, (low, high) in zip(LOW_FPRS, bounds):
            out[f"{name}_lo"], out[f"{name}_hi"] = low, high
        out[f"{ZERO_FP}_lo"], out[f"{ZERO_FP}_hi"] = tpr_at_zero_fp_interval(scores, is_member)
    return resolve_low_fprs(out)


def _validated_pair(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    check_finite("attack scores", np.asarray(scores, dtype=np.float64), allow_inf=True)
    scores, is_member = np.asarray(scores, dtype=np.float64), check_membership("is_member", is_member)
    if scores.shape != is_member.shape or scores.ndim != 1:
        raise ValueError(f"scores and is_member must be (N,) of equal length, got {scores.shape} and "
                         f"{is_member.shape}")
    if is_member.all() or not is_member.any():
        raise ValueError("membership metrics need both members and non-members")
    return scores, is_member


def bootstrap_tpr(scores: np.ndarray, is_member: np.ndarray, max_fpr: float = 0.01, *, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI (lo, hi) of the TPR at ``max_fpr`` FPR (:func:`tpr_at_fpr` on each resample),
    members and non-members resampled apart.

    ``scores`` (N,) (higher = member, +/-inf allowed: they keep their order) and ``is_member`` (N,) bool. Below
    1/n0 (:func:`fpr_resolution`) every resample's value is the TPR at zero false positives, so the interval
    is that statistic's: a reported table should drop it (:func:`resolve_low_fprs`). Raises ``ValueError`` on a
    NaN score, mismatched lengths or a missing class."""
    return bootstrap_tprs(scores, is_member, (max_fpr,), n_boot=n_boot, seed=seed, level=level)[0]


def resampled_tprs(values: np.ndarray, labels: np.ndarray, max_fpr: float) -> np.ndarray:
    """TPR at ``max_fpr`` (B,) of each row of resampled scores ``values`` (B, N) with membership ``labels`` (N,),
    batched: the share of members scoring above the (k+1)-th largest non-member score, k =
    :func:`allowed_false_positives` (exactly :func:`tpr_at_fpr` of each row, ties and +/-inf included)."""
    negatives = values[:, ~labels]
    k = allowed_false_positives(negatives.shape[1], max_fpr)
    if k >= negatives.shape[1]:
        return np.ones(len(values))
    cut = -np.partition(-negatives, k, axis=1)[:, k]  # the (k+1)-th largest
    return (values[:, labels] > cut[:, None]).mean(1)


def bootstrap_tprs(scores: np.ndarray, is_member: np.ndarray, max_fprs: tuple[float, ...], *, n_boot: int = 1000,
                   seed: int = 0, level: float = 0.95, chunk: int = 200) -> list[tuple[float, float]]:
    """:func:`bootstrap_tpr` at several FPRs from the same resamples (each drawn once): one (lo, hi) per FPR.
    Inputs are checked by :func:`bootstrap_tpr`'s rules; ``chunk`` resamples are evaluated at once."""
    scores, is_member = _validated_pair(scores, is_member)
    if n_boot < 1 or chunk < 1:
        raise ValueError(f"n_boot and chunk must be positive, got {n_boot} and {chunk}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    for fpr in max_fprs:
        if not 0 <= fpr <= 1:
            raise ValueError(f"max_fpr must be in [0, 1], got {fpr}")
    rng = seeded_rng(seed)
    pos, neg = np.flatnonzero(is_member), np.flatnonzero(~is_member)
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    values = np.empty((n_boot, len(max_fprs)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        # drawn one resample at a time, members then non-members: the same resamples as ever for a seed
        sample = np.stack([np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))] for _ in range(b)])
        resampled = scores[sample]
        for j, fpr in enumerate(max_fprs):
            values[start:start + b, j] = resampled_tprs(resampled, labels, fpr)
    bounds = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return [(float(lo), float(hi)) for lo, hi in bounds.T]
