"""Empirical lower bounds on the epsilon of a DP training run, from membership scores of canaries.

Two audits, both reading ``scores`` (m,), higher = member, and ``included`` (m,) bool:

- :func:`epsilon_lower_bound` (Jagielski et al. 2020; Nasr et al. 2023): every threshold t turns the
  scores into a test "member iff score >= t"; its false-positive and false-negative rates get
  Clopper-Pearson upper bounds FPR_u, FNR_u, and (epsilon, delta)-DP implies
  ``FPR + e^eps FNR >= 1 - delta`` and ``FNR + e^eps FPR >= 1 - delta``, so
  ``eps_LB = max_t max(log((1 - delta - FPR_u) / FNR_u), log((1 - delta - FNR_u) / FPR_u))``.
  Each rate's bound is the upper end of its two-sided ``confidence`` Clopper-Pearson interval
  (statsmodels' ``proportion_confint(method="beta")``, as in the authors' code). The threshold is the
  best one on the same canaries, as in those papers. Scores may tie and be +/-inf (exact); NaN is an error.
- :func:`one_run_epsilon` (Steinke, Nasr & Jagielski, NeurIPS 2023): guess "in" for the k+ highest
  scores and "out" for the k- lowest, abstain on the rest; if the training is (eps, delta)-DP, the
  number of correct guesses v of r is at most Binomial(r, e^eps / (1 + e^eps)) plus a delta term
  (their Theorem 5.2), which gives a p-value for every eps; eps_LB is the largest eps rejected at level
  1 - confidence. Several (k+, k-) are tried, with the level divided among them (Bonferroni), so the
  maximum over them is still a valid bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from leakage.checks import check_finite
from leakage.metrics import threshold_counts


def clopper_pearson(successes: np.ndarray | int, trials: np.ndarray | int,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) ends of the two-sided Clopper-Pearson interval for ``successes`` of ``trials`` (arrays ok)."""
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    check_finite("successes", k)
    check_finite("trials", n)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("Clopper-Pearson needs 0 <= successes <= trials and trials >= 1")
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lower = np.where(k == 0, 0.0, stats.beta.ppf(tail, k, n - k + 1))
        upper = np.where(k == n, 1.0, stats.beta.ppf(1 - tail, k + 1, n - k))
    return lower, upper


def _check(scores: np.ndarray, included: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Validate: scores (m,) float64 (+/-inf allowed: exact, NaN: ``ValueError``), included (m,) bool, delta."""
    scores, included = np.asarray(scores, dtype=np.float64), np.asarray(included)
    if scores.ndim != 1 or scores.shape != included.shape:
        raise ValueError(f"scores and included must be 1-D of one length, got {scores.shape} and {included.shape}")
    if included.dtype != bool:
        if not np.isin(included, (0, 1)).all():
            raise ValueError("included must be boolean (canary in the training set or not)")
        included = included.astype(bool)
    if not 0 <= delta < 1:  # NaN fails too
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    check_finite("canary scores", scores, allow_inf=True)
    return scores, included


@dataclass(frozen=True)
class ThresholdBound:
    """The best threshold of :func:`epsilon_lower_bound` and what it gives."""

    epsilon: float  # eps_LB >= 0
    threshold: float  # member iff score >= threshold (+inf: nobody; NaN: nobody, when some score is +inf)
    fpr: float
    fnr: float
    fpr_upper: float
    fnr_upper: float
    members: int
    nonmembers: int
    confidence: float


def epsilon_lower_bound(scores: np.ndarray, included: np.ndarray, delta: float = 0.0,
                        confidence: float = 0.95) -> ThresholdBound:
    """Jagielski et al.'s eps_LB from scores (m,) of canaries, ``included`` (m,) their membership; every threshold.

    Exact for tied and +/-inf scores (one test per distinct split of the scores, as
    :func:`leakage.metrics.threshold_counts`). Raises ``ValueError`` on a NaN score, a bad ``delta`` or
    ``confidence``, or when all canaries are included (or none).
    """
    scores, included = _check(scores, included, delta)
    n_in, n_out = int(included.sum()), int((~included).sum())
    if n_in == 0 or n_out == 0:
        raise ValueError(f"an audit needs included and excluded canaries, got {n_in} and {n_out}")
    # every distinct split "member iff score >= t" (ties and +/-inf exact), from nobody flagged to everybody
    thresholds, true_pos, false_pos = threshold_counts(scores, included)
    false_neg = n_in - true_pos
    _, fpr_u = clopper_pearson(false_pos, n_out, confidence)
    _, fnr_u = clopper_pearson(false_neg, n_in, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log((1 - delta - fpr_u) / fnr_u)
        two = np.log((1 - delta - fnr_u) / fpr_u)
    eps = np.nan_to_num(np.maximum(one, two), nan=0.0, posinf=np.inf, neginf=0.0)
    best = int(np.argmax(eps))
    return ThresholdBound(
        epsilon=max(0.0, float(eps[best])), threshold=float(thresholds[best]),
        fpr=float(false_pos[best] / n_out), fnr=float(false_neg[best] / n_in), fpr_upper=float(fpr_u[best]),
        fnr_upper=float(fnr_u[best]), members=n_in, nonmembers=n_out, confidence=confidence)


def perfect_attack_epsilon(members: int, nonmembers: int, delta: float = 0.0, confidence: float = 0.95) -> float:
    """eps_LB of an attack that separates ``members`` from ``nonmembers`` without error: the most the audit can show."""
    if not 0 <= delta < 1:  # NaN fails too
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    _, fpr_u = clopper_pearson(0, nonmembers, confidence)
    _, fnr_u = clopper_pearson(0, members, confidence)
    return max(0.0, float(max(np.log((1 - delta - fpr_u) / fnr_u), np.log((1 - delta - fnr_u) / fpr_u))))


# --------------------------------------------------------------------------- one-run audit (Steinke et al.)


def one_run_p_value(canaries: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """P[>= ``correct`` of ``guesses`` right] for an (epsilon, delta)-DP run with ``canaries`` coin-flip canaries.

    Steinke et al. (2023), Theorem 5.2: P[Binomial(r, q) >= v] + 2 m delta max_i P[v - i <= Binomial(r, q) < v] / i,
    with q = e^eps / (1 + e^eps).
    """
    if not 0 <= correct <= guesses <= canaries:
        raise ValueError(f"need 0 <= correct <= guesses <= canaries, got {correct}, {guesses}, {canaries}")
    if not epsilon >= 0 or not 0 <= delta <= 1:  # NaN fails both
        raise ValueError(f"need epsilon >= 0 and delta in [0, 1], got {epsilon} and {delta}")
    q = 1.0 / (1.0 + math.exp(-epsilon))
    tail = float(stats.binom.sf(correct - 1, guesses, q))
    if delta == 0 or correct == 0:
        return min(1.0, tail)
    below = stats.binom.pmf(np.arange(correct - 1, -1, -1), guesses, q)  # P[B = v-1], P[B = v-2], ..., P[B = 0]
    alpha = float(np.max(np.cumsum(below) / np.arange(1, correct + 1)))
    return min(1.0, tail + 2 * canaries * delta * alpha)


def one_run_epsilon_for(canaries: int, guesses: int, correct: int, delta: float, level: float,
                        tolerance: float = 1e-4) -> float:
    """The largest epsilon whose p-value is below ``level`` in (0, 1] (bisection; 0 when none is)."""
    if not 0 < level <= 1 or not tolerance > 0:  # NaN fails too
        raise ValueError(f"level must be in (0, 1] and tolerance positive, got {level} and {tolerance}")
    if one_run_p_value(canaries, guesses, correct, 0.0, delta) >= level:
        return 0.0
    low, high = 0.0, 1.0
    while one_run_p_value(canaries, guesses, correct, high, delta) < level:
        low, high = high, 2 * high
        if high > 1e3:
            return math.inf
    while high - low > tolerance:
        middle = (low + high) / 2
        if one_run_p_value(canaries, guesses, correct, middle, delta) < level:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True)
class OneRunBound:
    """The result of :func:`one_run_epsilon`: the bound and the guesses that gave it."""

    epsilon: float
    guesses_in: int  # k+
    guesses_out: int  # k-
    correct: int
    canaries: int
    confidence: float
    tried: int  # (k+, k-) pairs tried; each was tested at level (1 - confidence) / tried


DEFAULT_GUESS_FRACTIONS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def one_run_epsilon(scores: np.ndarray, included: np.ndarray, delta: float = 0.0, confidence: float = 0.95,
                    guess_fractions: tuple[float, ...] = DEFAULT_GUESS_FRACTIONS) -> OneRunBound:
    """Steinke et al.'s one-run eps_LB: for each fraction f, guess "in" for the top f*m/2 scores and "out" for the
    bottom f*m/2 (f = 1: every canary); the best bound over the fractions, each tested at a Bonferroni level.

    Scores may be +/-inf. Tied scores at the edge of a guess set are split by canary index (a rule blind to
    the inclusion coins, so the bound stays valid). Raises ``ValueError`` on a NaN score.
    """
    scores, included = _check(scores, included, delta)
    m = len(scores)
    if m < 2:
        raise ValueError(f"a one-run audit needs at least two canaries, got {m}")
    order = np.argsort(-scores, kind="stable")
    sizes = sorted({min(m // 2, max(1, round(f * m / 2))) for f in guess_fractions})
    level = (1 - confidence) / len(sizes)
    best = OneRunBound(0.0, 0, 0, 0, m, confidence, len(sizes))
    for k in sizes:
        correct = int(included[order[:k]].sum() + (~included[order[m - k:]]).sum())
        eps = one_run_epsilon_for(m, 2 * k, correct, delta, level)
        if eps > best.epsilon or best.guesses_in == 0:
            best = OneRunBound(eps, k, k, correct, m, confidence, len(sizes))
    return best
