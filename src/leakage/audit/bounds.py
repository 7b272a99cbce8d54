"""Empirical lower bounds on the epsilon of a DP training run, from membership scores of canaries.

Both audits read ``scores`` (m,), higher = member, and ``included`` (m,) bool, where each canary was put in
the training set by an independent fair coin. Each returns eps_LB such that, if the training is
(epsilon, delta)-DP, P[eps_LB > epsilon] <= 1 - ``confidence``. What each assumes:

- :func:`epsilon_lower_bound`, the **threshold audit** (Jagielski et al. 2020; Nasr et al. 2021, 2023), treats
  the canaries as *independent trials*: given its membership, a canary's score is an independent draw, so a
  fixed test "member iff score >= t" has a false-positive rate FPR and a false-negative rate FNR, and
  (epsilon, delta)-DP implies ``FPR + e^eps FNR >= 1 - delta`` (inequality 1) and
  ``FNR + e^eps FPR >= 1 - delta`` (inequality 2). Clopper-Pearson upper bounds FPR_u and FNR_u (each the
  upper end of a two-sided ``confidence`` interval, so both hold together with probability >= confidence)
  give ``eps_LB = log((1 - delta - FPR_u) / FNR_u)`` (1) or ``log((1 - delta - FNR_u) / FPR_u)`` (2).
  **The threshold and the inequality are chosen on other canaries than those bounded**: a seeded random half
  of the canaries (blind to scores and inclusion coins) is searched for the threshold and inequality whose
  error rates would give the largest bound; the bound is then computed once, for that fixed test, on the
  other half. Picking the best of all
  thresholds on the canaries that are then bounded (the papers' recipe, :func:`threshold_search`) is not a
  95% bound: on scores that carry no information (0-DP) it gives eps_LB > 0 in 4% of audits with 200
  canaries and about 9% with 4,000. The split is chosen over a Bonferroni correction for a fixed threshold
  grid because it is tighter where it matters: a grid must be fixed before the scores are seen (no scale
  is known for an arbitrary attack), and Bonferroni over all m + 1 thresholds and both inequalities costs
  more (the bound of a perfect attack with m = 5,000 canaries: 5.8 with the split, 5.3 with Bonferroni) than
  the halved sample does.
- :func:`one_run_epsilon`, the **one-run audit** (Steinke, Nasr & Jagielski, NeurIPS 2023), needs no
  independence between canaries, only the fair inclusion coins: guess "in" for the k+ highest scores and
  "out" for the k- lowest, abstain on the rest; if the training is (eps, delta)-DP, the number of correct
  guesses v of r is at most Binomial(r, e^eps / (1 + e^eps)) plus a delta term (their Theorem 5.2), which
  gives a p-value for every eps; eps_LB is the largest eps rejected at level 1 - confidence (bisection,
  rounded down). Several k = k+ = k- are fixed in advance (:data:`DEFAULT_GUESS_FRACTIONS`) and each is tested
  at level (1 - confidence) / (number of k) (Bonferroni), so the maximum over them is still a valid bound.

Both are checked by simulation (``tests/test_audit_bounds.py``): on randomized response with a known epsilon
the fraction of audits whose bound exceeds it stays within 5% (plus Monte-Carlo error). A *maximum over
several bounds* (attacks, audits) is a 95% bound only when each is computed at
:func:`family_confidence` (Bonferroni over the family).

Both audits run on one audit or on a batch of B audits at once (``*_batch``: scores and inclusion (B, m)), so
a calibration study of a thousand audits takes seconds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from leakage.checks import check_finite, check_membership
from leakage.metrics import clopper_pearson  # noqa: F401 (re-exported: the audits' bounds use it)
from leakage.seed import numpy_rng


def family_confidence(confidence: float, tests: int) -> float:
    """The confidence at which each of ``tests`` bounds must be computed for their maximum to hold at
    ``confidence`` (Bonferroni: the levels 1 - confidence add up)."""
    if not 0 < confidence < 1 or tests < 1:
        raise ValueError(f"need confidence in (0, 1) and tests >= 1, got {confidence} and {tests}")
    return 1 - (1 - confidence) / tests


@functools.lru_cache(maxsize=4096)
def _cp_upper_table(trials: int, confidence: float) -> np.ndarray:
    """Clopper-Pearson upper ends for 0, 1, ..., ``trials`` successes (read-only, cached)."""
    k = np.arange(trials + 1, dtype=np.float64)
    table = np.ones(trials + 1)
    table[:-1] = special.betaincinv(k[:-1] + 1, trials - k[:-1], 1 - (1 - confidence) / 2)  # as clopper_pearson
    table.setflags(write=False)
    return table


def _cp_upper(counts: np.ndarray, trials: np.ndarray, confidence: float) -> np.ndarray:
    """Clopper-Pearson upper ends for ``counts`` (B, K) of ``trials`` (B,) (one cached table per distinct size)."""
    out = np.empty(counts.shape)
    for n in np.unique(trials):
        rows = trials == n
        out[rows] = _cp_upper_table(int(n), confidence)[counts[rows]]
    return out


def _check(scores: np.ndarray, included: np.ndarray, delta: float, ndim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate: scores (m,) or (B, m) float64 (+/-inf allowed: exact, NaN: ``ValueError``), included of the same
    shape bool, delta."""
    scores, included = np.asarray(scores, dtype=np.float64), check_membership("included", included)
    if scores.ndim != ndim or scores.shape != included.shape:
        shape = "1-D of one length" if ndim == 1 else "(audits, canaries) of one shape"
        raise ValueError(f"scores and included must be {shape}, got {scores.shape} and {included.shape}")
    if not 0 <= delta < 1:  # NaN fails too
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    check_finite("canary scores", scores, allow_inf=True)
    return scores, included


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """log(numerator / denominator), -inf where the numerator is not positive (that inequality shows nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(numerator > 0, np.log(np.maximum(numerator, 1e-300) / denominator), -np.inf)


# --------------------------------------------------------------------------- threshold audit


@dataclass(frozen=True)
class ThresholdBound:
    """A threshold test "member iff score >= threshold" and the eps_LB it gives.

    From :func:`epsilon_lower_bound`, the rates, sizes and bound are those of the evaluation half (the
    canaries bounded); ``selection`` canaries (the other half) chose ``threshold`` and ``inequality``. From
    :func:`threshold_search`, every number is in-sample (``selection`` = the canaries bounded).
    """

    epsilon: float  # eps_LB >= 0
    threshold: float  # member iff score >= threshold (+inf: nobody; NaN: nobody, when some score is +inf)
    inequality: int  # 1: FPR + e^eps FNR >= 1 - delta; 2: FNR + e^eps FPR >= 1 - delta
    fpr: float
    fnr: float
    fpr_upper: float
    fnr_upper: float
    members: int
    nonmembers: int
    confidence: float
    selection: int  # canaries the threshold and inequality were chosen on
    ceiling: float  # eps_LB of a perfect attack on the canaries bounded (``perfect_attack_epsilon``)


def _search(scores: np.ndarray, included: np.ndarray, delta: float, confidence: float,
            target: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every distinct threshold of each row of scores (B, n) (ties and +/-inf exact) and both inequalities; the
    best per row: keys epsilon, threshold, inequality, fp, fn, members, nonmembers (each (B,)).

    In-sample (``target`` None): each test's bound on these canaries. With ``target`` = (members, non-members)
    (B,) of the canaries to be bounded: each test's bound predicted for them (its error rates here, as counts
    of that many canaries), so the inequality suits the sizes it will be applied to."""
    audits, n = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")  # descending; +inf first
    ranked = np.take_along_axis(scores, order, 1)
    flagged_members = np.concatenate([np.zeros((audits, 1), np.int64),
                                      np.cumsum(np.take_along_axis(included, order, 1), 1)], 1)  # (B, n+1)
    members = flagged_members[:, -1]
    nonmembers = n - members
    if (members == 0).any() or (nonmembers == 0).any():
        raise ValueError("an audit needs included and excluded canaries among those it searches and bounds "
                         "(too few canaries?)")
    top = np.arange(n + 1)  # flag the top k scores, k = 0..n; only where the k-th and (k+1)-th differ
    valid = np.ones((audits, n + 1), bool)
    valid[:, 1:n] = ranked[:, :-1] > ranked[:, 1:]
    fp, fn = top - flagged_members, members[:, None] - flagged_members
    if target is None:
        fpr_u, fnr_u = _cp_upper(fp, nonmembers, confidence), _cp_upper(fn, members, confidence)
    else:
        to_in, to_out = (np.asarray(t, np.int64) for t in target)
        fpr_u = _cp_upper(np.rint(fp * (to_out / nonmembers)[:, None]).astype(np.int64), to_out, confidence)
        fnr_u = _cp_upper(np.rint(fn * (to_in / members)[:, None]).astype(np.int64), to_in, confidence)
    one, two = _log_ratio(1 - delta - fpr_u, fnr_u), _log_ratio(1 - delta - fnr_u, fpr_u)
    eps = np.where(valid, np.maximum(one, two), -np.inf)
    best = np.argmax(eps, 1)  # the highest threshold among equal bounds
    rows = np.arange(audits)
    nobody = np.where(ranked[:, 0] == np.inf, np.nan, np.inf)
    threshold = np.where(best == 0, nobody, ranked[rows, np.maximum(best - 1, 0)])
    return {"epsilon": np.maximum(eps[rows, best], 0.0), "threshold": threshold,
            "inequality": np.where(two[rows, best] > one[rows, best], 2, 1), "fp": fp[rows, best],
            "fn": fn[rows, best], "members": members, "nonmembers": nonmembers}


def _fixed_test(scores: np.ndarray, included: np.ndarray, threshold: np.ndarray, inequality: np.ndarray,
                delta: float, confidence: float) -> dict[str, np.ndarray]:
    """The bound of one fixed test per row of scores (B, n): threshold (B,), inequality (B,) in {1, 2}."""
    flagged = scores >= threshold[:, None]  # NaN threshold: nobody
    members = included.sum(1)
    nonmembers = included.shape[1] - members
    if (members == 0).any() or (nonmembers == 0).any():
        raise ValueError("an audit needs included and excluded canaries among those it searches and bounds "
                         "(too few canaries?)")
    fp, fn = (flagged & ~included).sum(1), (~flagged & included).sum(1)
    _, fpr_u = clopper_pearson(fp, nonmembers, confidence)
    _, fnr_u = clopper_pearson(fn, members, confidence)
    eps = np.where(inequality == 1, _log_ratio(1 - delta - fpr_u, fnr_u), _log_ratio(1 - delta - fnr_u, fpr_u))
    return {"epsilon": np.maximum(eps, 0.0), "fp": fp, "fn": fn, "fpr_upper": fpr_u, "fnr_upper": fnr_u,
            "members": members, "nonmembers": nonmembers}


def _halves(audits: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(selection (B, m // 2), evaluation (B, m - m // 2)) canary indices: a seeded random half per audit,
    drawn without looking at scores or inclusion."""
    order = numpy_rng(seed, "audit-threshold-split").permuted(np.broadcast_to(np.arange(m), (audits, m)), axis=1)
    return order[:, :m // 2], order[:, m // 2:]


def _split_bound(scores: np.ndarray, included: np.ndarray, delta: float, confidence: float, seed: int
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if scores.shape[1] < 4:
        raise ValueError(f"the threshold audit splits the canaries in two: it needs at least 4, got {scores.shape[1]}")
    select, evaluate = _halves(*scores.shape, seed)
    members = np.take_along_axis(included, evaluate, 1).sum(1)
    chosen = _search(np.take_along_axis(scores, select, 1), np.take_along_axis(included, select, 1), delta,
                     confidence, target=(members, evaluate.shape[1] - members))
    bound = _fixed_test(np.take_along_axis(scores, evaluate, 1), np.take_along_axis(included, evaluate, 1),
                        chosen["threshold"], chosen["inequality"], delta, confidence)
    return chosen, bound


def epsilon_lower_bound(scores: np.ndarray, included: np.ndarray, delta: float = 0.0, confidence: float = 0.95,
                        seed: int = 0) -> ThresholdBound:
    """The threshold audit's eps_LB from scores (m,) of canaries, ``included`` (m,) their membership.

    A seeded random half of the canaries (``seed``; blind to scores and inclusion) chooses the threshold and the
    inequality whose error rates there would give the largest bound on the other half (the search of
    :func:`threshold_search`, with the other half's numbers of included and excluded canaries); the bound is
    that fixed test's, computed on the other half. The choice sees only the selection half's scores and
    inclusion and the other half's two counts, on which the Clopper-Pearson bounds condition anyway, so the
    bound holds at ``confidence`` when canaries are independent trials. The search is exact for tied and
    +/-inf scores. Raises ``ValueError`` on a NaN score, a bad ``delta`` or
    ``confidence``, fewer than 4 canaries, or a half without included (or excluded) canaries.
    """
    scores, included = _check(scores, included, delta)
    chosen, bound = _split_bound(scores[None], included[None], delta, confidence, seed)
    members, nonmembers = int(bound["members"][0]), int(bound["nonmembers"][0])
    return ThresholdBound(
        epsilon=float(bound["epsilon"][0]), threshold=float(chosen["threshold"][0]),
        inequality=int(chosen["inequality"][0]), fpr=float(bound["fp"][0] / nonmembers),
        fnr=float(bound["fn"][0] / members), fpr_upper=float(bound["fpr_upper"][0]),
        fnr_upper=float(bound["fnr_upper"][0]), members=members, nonmembers=nonmembers, confidence=confidence,
        selection=len(scores) // 2, ceiling=perfect_attack_epsilon(members, nonmembers, delta, confidence))


def epsilon_lower_bound_batch(scores: np.ndarray, included: np.ndarray, delta: float = 0.0,
                              confidence: float = 0.95, seed: int = 0) -> np.ndarray:
    """:func:`epsilon_lower_bound` of B audits at once: scores and included (B, m); eps_LB (B,). Row b's split
    is row b of the seeded draw (row 0 is the split of a single audit with this seed)."""
    scores, included = _check(scores, included, delta, ndim=2)
    return _split_bound(scores, included, delta, confidence, seed)[1]["epsilon"]


def threshold_search(scores: np.ndarray, included: np.ndarray, delta: float = 0.0,
                     confidence: float = 0.95) -> ThresholdBound:
    """The best threshold and inequality on the canaries given, with the bound computed on those same canaries.

    **Not a valid lower bound** (the choice is not corrected for): this is the selection step of
    :func:`epsilon_lower_bound`, and what Jagielski et al. and Nasr et al. report. Exact for tied and +/-inf
    scores (one test per distinct split of the scores, as :func:`leakage.metrics.threshold_counts`).
    """
    scores, included = _check(scores, included, delta)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    found = {k: v[0] for k, v in _search(scores[None], included[None], delta, confidence).items()}
    members, nonmembers = int(found["members"]), int(found["nonmembers"])
    _, fpr_u = clopper_pearson(found["fp"], nonmembers, confidence)
    _, fnr_u = clopper_pearson(found["fn"], members, confidence)
    return ThresholdBound(
        epsilon=float(found["epsilon"]), threshold=float(found["threshold"]), inequality=int(found["inequality"]),
        fpr=float(found["fp"] / nonmembers), fnr=float(found["fn"] / members), fpr_upper=float(fpr_u),
        fnr_upper=float(fnr_u), members=members, nonmembers=nonmembers, confidence=confidence,
        selection=len(scores), ceiling=perfect_attack_epsilon(members, nonmembers, delta, confidence))


def threshold_search_batch(scores: np.ndarray, included: np.ndarray, delta: float = 0.0,
                           confidence: float = 0.95) -> np.ndarray:
    """:func:`threshold_search`'s in-sample bound of B audits (B, m) at once (not a valid bound; for studies)."""
    scores, included = _check(scores, included, delta, ndim=2)
    return _search(scores, included, delta, confidence)["epsilon"]


def perfect_attack_epsilon(members: int, nonmembers: int, delta: float = 0.0, confidence: float = 0.95) -> float:
    """eps_LB of a fixed test that separates ``members`` from ``nonmembers`` without error: the most the threshold
    audit can show with them (with the split: pass the evaluation half's sizes, as ``ThresholdBound.ceiling``)."""
    if not 0 <= delta < 1:  # NaN fails too
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    _, fpr_u = clopper_pearson(0, nonmembers, confidence)
    _, fnr_u = clopper_pearson(0, members, confidence)
    return max(0.0, float(max(np.log((1 - delta - fpr_u) / fnr_u), np.log((1 - delta - fnr_u) / fpr_u))))


def split_sizes(included: np.ndarray, seed: int = 0) -> tuple[int, int, int, int]:
    """(members, non-members) of the selection half, then of the evaluation half, that
    :func:`epsilon_lower_bound` with ``seed`` uses for canaries with inclusion ``included`` (m,)."""
    included = np.asarray(included, bool)
    select, evaluate = (half[0] for half in _halves(1, len(included), seed))
    return (int(included[select].sum()), int((~included[select]).sum()), int(included[evaluate].sum()),
            int((~included[evaluate]).sum()))


def split_ceiling(included: np.ndarray, delta: float = 0.0, confidence: float = 0.95, seed: int = 0) -> float:
    """The threshold audit's ceiling for canaries with inclusion ``included`` (m,): a perfect attack's eps_LB on
    the evaluation half that :func:`epsilon_lower_bound` with ``seed`` bounds."""
    *_, members, nonmembers = split_sizes(included, seed)
    return perfect_attack_epsilon(members, nonmembers, delta, confidence)


# --------------------------------------------------------------------------- one-run audit (Steinke et al.)


def one_run_p_value(canaries: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """P[>= ``correct`` of ``guesses`` right] for an (epsilon, delta)-DP run with ``canaries`` coin-flip canaries.

    Steinke et al. (2023), Theorem 5.2: P[Binomial(r, q) >= v] + 2 m delta max_i P[v - i <= Binomial(r, q) < v] / i,
    with q = e^eps / (1 + e^eps). (The reference formula; :func:`one_run_epsilon` uses a vectorised equal.)
    """
    if not 0 <= correct <= guesses <= canaries:
        raise ValueError(f"need 0 <= correct <= guesses <= canaries, got {correct}, {guesses}, {canaries}")
    if not epsilon >= 0 or not 0 <= delta <= 1:  # NaN fails both
        raise ValueError(f"need epsilon >= 0 and delta in [0, 1], got {epsilon} and {delta}")
    from scipy import stats

    q = 1.0 / (1.0 + math.exp(-epsilon))
    tail = float(stats.binom.sf(correct - 1, guesses, q))
    if delta == 0 or correct == 0:
        return min(1.0, tail)
    below = stats.binom.pmf(np.arange(correct - 1, -1, -1), guesses, q)  # P[B = v-1], P[B = v-2], ..., P[B = 0]
    alpha = float(np.max(np.cumsum(below) / np.arange(1, correct + 1)))
    return min(1.0, tail + 2 * canaries * delta * alpha)


@functools.lru_cache(maxsize=64)
def _log_binom_coefficients(guesses: int) -> np.ndarray:
    j = np.arange(guesses + 1)
    return special.gammaln(guesses + 1) - special.gammaln(j + 1) - special.gammaln(guesses - j + 1)


def _p_values(canaries: int, guesses: int, correct: np.ndarray, epsilon: np.ndarray, delta: float) -> np.ndarray:
    """:func:`one_run_p_value` for arrays ``correct`` (V,) and ``epsilon`` (V,) of one (canaries, guesses)."""
    q = np.exp(-np.logaddexp(0.0, -epsilon))
    tail = np.where(correct == 0, 1.0, special.bdtrc(correct - 1.0, guesses, q))
    if delta == 0:
        return np.minimum(1.0, tail)
    # alpha = max_i mean(P[B = v-1], ..., P[B = v-i]). P[B = j] is unimodal in j, so once the window has passed
    # below the mode, adding smaller terms only lowers the mean: terms more than 20 sd + 20 below the mean
    # (each under 1e-80 of the mode's) cannot raise it and are left out of the window.
    spread = guesses * q
    lowest = np.maximum(np.floor(spread - 20 * np.sqrt(spread * (1 - q)) - 20), 0).astype(np.int64)
    width = int(np.clip((correct - lowest).max(initial=1), 1, guesses))
    steps = np.arange(width)
    j = correct[:, None] - 1 - steps[None, :]  # v-1, v-2, ..., v-width
    inside = j >= 0
    jj = np.where(inside, j, 0)
    log_pmf = (_log_binom_coefficients(guesses)[jj] - jj * np.logaddexp(0.0, -epsilon)[:, None]
               - (guesses - jj) * np.logaddexp(0.0, epsilon)[:, None])
    window = np.cumsum(np.where(inside, np.exp(log_pmf), 0.0), 1) / (steps + 1)
    alpha = np.where(inside, window, -np.inf).max(1)
    return np.minimum(1.0, tail + 2 * canaries * delta * np.where(correct == 0, 0.0, alpha))


def _one_run_epsilons(canaries: int, guesses: int, correct: np.ndarray, delta: float, level: float,
                      tolerance: float = 1e-4) -> np.ndarray:
    """:func:`one_run_epsilon_for` of every count in ``correct`` (V,) at once (the same doubling and bisection)."""
    correct = np.asarray(correct, np.int64)
    out = np.zeros(len(correct))
    active = _p_values(canaries, guesses, correct, np.zeros(len(correct)), delta) < level
    low, high = np.zeros(len(correct)), np.ones(len(correct))
    growing = active.copy()
    while growing.any():
        idx = np.flatnonzero(growing)
        rejected = _p_values(canaries, guesses, correct[idx], high[idx], delta) < level
        grow = idx[rejected]
        low[grow], high[grow] = high[grow], 2 * high[grow]
        growing[idx[~rejected]] = False
        unbounded = grow[high[grow] > 1e3]
        out[unbounded], active[unbounded], growing[unbounded] = math.inf, False, False
    while True:
        idx = np.flatnonzero(active & (high - low > tolerance))
        if not len(idx):
            break
        middle = (low[idx] + high[idx]) / 2
        rejected = _p_values(canaries, guesses, correct[idx], middle, delta) < level
        low[idx[rejected]], high[idx[~rejected]] = middle[rejected], middle[~rejected]
    out[active] = low[active]
    return out


def one_run_epsilon_for(canaries: int, guesses: int, correct: int, delta: float, level: float,
                        tolerance: float = 1e-4) -> float:
    """The largest epsilon whose p-value is below ``level`` in (0, 1] (bisection to ``tolerance``, rounded down;
    0 when none is, inf beyond 1000)."""
    if not 0 < level <= 1 or not tolerance > 0:  # NaN fails too
        raise ValueError(f"level must be in (0, 1] and tolerance positive, got {level} and {tolerance}")
    if not 0 <= correct <= guesses <= canaries:
        raise ValueError(f"need 0 <= correct <= guesses <= canaries, got {correct}, {guesses}, {canaries}")
    if not 0 <= delta <= 1:
        raise ValueError(f"need delta in [0, 1], got {delta}")
    return float(_one_run_epsilons(canaries, guesses, np.array([correct]), delta, level, tolerance)[0])


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


def _one_run(scores: np.ndarray, included: np.ndarray, delta: float, confidence: float,
             guess_fractions: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(eps_LB (B,), k (B,), correct (B,), sizes tried) of B audits (B, m)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    audits, m = scores.shape
    if m < 2:
        raise ValueError(f"a one-run audit needs at least two canaries, got {m}")
    sizes = sorted({min(m // 2, max(1, round(f * m / 2))) for f in guess_fractions})
    level = (1 - confidence) / len(sizes)
    order = np.argsort(-scores, axis=1, kind="stable")  # ties split by canary index: blind to the coins
    in_top = np.concatenate([np.zeros((audits, 1), np.int64),
                             np.cumsum(np.take_along_axis(included, order, 1), 1)], 1)  # (B, m+1)
    eps, correct = np.zeros((audits, len(sizes))), np.zeros((audits, len(sizes)), np.int64)
    for j, k in enumerate(sizes):
        correct[:, j] = in_top[:, k] + k - (in_top[:, m] - in_top[:, m - k])
        distinct, inverse = np.unique(correct[:, j], return_inverse=True)
        eps[:, j] = _one_run_epsilons(m, 2 * k, distinct, delta, level)[inverse.reshape(-1)]
    best = np.argmax(eps, 1)  # the smallest k among equal bounds
    rows = np.arange(audits)
    return eps[rows, best], np.asarray(sizes)[best], correct[rows, best], len(sizes)


def one_run_epsilon(scores: np.ndarray, included: np.ndarray, delta: float = 0.0, confidence: float = 0.95,
                    guess_fractions: tuple[float, ...] = DEFAULT_GUESS_FRACTIONS) -> OneRunBound:
    """Steinke et al.'s one-run eps_LB: for each fraction f, guess "in" for the top f*m/2 scores and "out" for the
    bottom f*m/2 (f = 1: every canary); the best bound over the fractions, each tested at a Bonferroni level.

    Scores may be +/-inf. Tied scores at the edge of a guess set are split by canary index (a rule blind to
    the inclusion coins, so the bound stays valid). Raises ``ValueError`` on a NaN score.
    """
    scores, included = _check(scores, included, delta)
    eps, k, correct, tried = _one_run(scores[None], included[None], delta, confidence, guess_fractions)
    return OneRunBound(float(eps[0]), int(k[0]), int(k[0]), int(correct[0]), len(scores), confidence, tried)


def one_run_epsilon_batch(scores: np.ndarray, included: np.ndarray, delta: float = 0.0, confidence: float = 0.95,
                          guess_fractions: tuple[float, ...] = DEFAULT_GUESS_FRACTIONS) -> np.ndarray:
    """:func:`one_run_epsilon` of B audits at once: scores and included (B, m); eps_LB (B,)."""
    scores, included = _check(scores, included, delta, ndim=2)
    return _one_run(scores, included, delta, confidence, guess_fractions)[0]
