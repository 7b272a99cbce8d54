"""The audit's statistics: Clopper-Pearson, the threshold eps_LB and the one-run eps_LB, against closed forms, and
both bounds' calibration: on randomized response with a known epsilon, and on scores that carry no information,
at most 5% of simulated audits (plus Monte-Carlo error) may give a bound above the true epsilon."""

import math

import numpy as np
import pytest
from scipy import stats

from leakage.audit import bounds
from leakage.audit.bounds import (clopper_pearson, epsilon_lower_bound, epsilon_lower_bound_batch, family_confidence,
                                  one_run_epsilon, one_run_epsilon_batch, one_run_epsilon_for, one_run_p_value,
                                  perfect_attack_epsilon, split_ceiling, split_sizes, threshold_search,
                                  threshold_search_batch)
from leakage.audit.canaries import canary_inclusion, noise_images, random_word_texts, wrong_labels


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 1), (57, 400), (0, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy(k, n, confidence):
    low, high = clopper_pearson(k, n, confidence)
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    assert low == pytest.approx(expected.low, abs=1e-12) and high == pytest.approx(expected.high, abs=1e-12)


def test_clopper_pearson_works_on_arrays_and_rejects_bad_counts():
    low, high = clopper_pearson(np.array([0, 5, 10]), 10)
    assert low.shape == high.shape == (3,) and low[0] == 0 and high[2] == 1
    with pytest.raises(ValueError, match="successes <= trials"):
        clopper_pearson(11, 10)


def _split(members: int, nonmembers: int) -> np.ndarray:
    return np.r_[np.ones(members, bool), np.zeros(nonmembers, bool)]


@pytest.mark.parametrize("members,nonmembers,delta", [(500, 500, 0.0), (500, 500, 1e-5), (120, 80, 1e-3)])
def test_a_perfect_attack_gives_the_closed_form_bound(members, nonmembers, delta):
    included = _split(members, nonmembers)

    def closed_form(n_in, n_out, inequalities=(1, 2)):
        u_in, u_out = 1 - 0.025 ** (1 / n_in), 1 - 0.025 ** (1 / n_out)  # CP upper bounds of 0 errors
        return max([math.log((1 - delta - u_out) / u_in), math.log((1 - delta - u_in) / u_out)][i - 1]
                   for i in inequalities)

    found = threshold_search(included * 3.0 - 1.0, included, delta, 0.95)  # in-sample: every canary
    assert found.epsilon == pytest.approx(closed_form(members, nonmembers), rel=1e-9)
    assert found.fpr == found.fnr == 0.0 and found.threshold == 2.0 and found.selection == members + nonmembers
    assert perfect_attack_epsilon(members, nonmembers, delta) == pytest.approx(closed_form(members, nonmembers))
    bound = epsilon_lower_bound(included * 3.0 - 1.0, included, delta, 0.95, seed=3)  # the split: half the canaries
    assert bound.members + bound.nonmembers == (members + nonmembers) - bound.selection == (members + nonmembers) // 2
    # the inequality was chosen on the other half: the bound is its closed form, at most the ceiling (both)
    assert bound.epsilon == pytest.approx(closed_form(bound.members, bound.nonmembers, [bound.inequality]), rel=1e-9)
    assert bound.ceiling == pytest.approx(closed_form(bound.members, bound.nonmembers))
    assert bound.epsilon <= bound.ceiling == split_ceiling(included, delta, seed=3)
    assert bound.fpr == bound.fnr == 0.0 and bound.threshold == 2.0 and bound.inequality in (1, 2)


def test_the_split_bound_is_the_fixed_test_chosen_on_the_other_half():
    rng = np.random.default_rng(4)
    included = rng.random(301) < 0.5
    scores = included * 0.8 + rng.normal(size=301)
    bound = epsilon_lower_bound(scores, included, 1e-5, 0.95, seed=7)
    select, evaluate = (half[0] for half in bounds._halves(1, 301, 7))
    assert len(select) == bound.selection == 150 and sorted({*select, *evaluate}) == list(range(301))
    chosen = threshold_search(scores[select], included[select], 1e-5, 0.95)
    assert (bound.threshold, bound.inequality) == (chosen.threshold, chosen.inequality)
    flagged, inside = scores[evaluate] >= chosen.threshold, included[evaluate]
    _, fpr_u = clopper_pearson((flagged & ~inside).sum(), (~inside).sum())
    _, fnr_u = clopper_pearson((~flagged & inside).sum(), inside.sum())
    num, den = ((1 - 1e-5 - fpr_u, fnr_u) if chosen.inequality == 1 else (1 - 1e-5 - fnr_u, fpr_u))
    assert bound.epsilon == pytest.approx(max(0.0, math.log(num / den)), rel=1e-12)
    assert (bound.members, bound.nonmembers) == split_sizes(included, 7)[2:]
    assert epsilon_lower_bound(scores, included, 1e-5, 0.95, seed=7) == bound  # seeded: repeats exactly
    # a batch of audits gives the same bound; row 0 has the single audit's split
    batch = epsilon_lower_bound_batch(np.stack([scores, scores[::-1]]), np.stack([included, included[::-1]]),
                                      1e-5, 0.95, seed=7)
    assert batch[0] == bound.epsilon


def test_family_confidence_divides_the_level():
    assert family_confidence(0.95, 8) == pytest.approx(1 - 0.05 / 8)
    assert family_confidence(0.95, 1) == 0.95
    with pytest.raises(ValueError):
        family_confidence(0.95, 0)


def test_an_attack_that_cannot_tell_gives_zero():
    included = _split(300, 300)
    assert epsilon_lower_bound(np.zeros(600), included).epsilon == 0.0  # constant scores: closed form 0
    rng = np.random.default_rng(0)
    assert max(epsilon_lower_bound(rng.random(600), included).epsilon for _ in range(20)) < 0.5  # random scores


def test_the_score_direction_matters_higher_means_member():
    included = _split(200, 200)
    # an attack whose scores are reversed is, as stated (member iff score >= t), no better than chance
    assert epsilon_lower_bound(-included.astype(float), included).epsilon == 0.0


def test_the_bound_grows_with_separation_and_shrinks_with_delta():
    rng = np.random.default_rng(1)
    included = _split(400, 400)
    weak, strong = (included * shift + rng.normal(size=800) for shift in (0.5, 2.0))
    assert epsilon_lower_bound(weak, included).epsilon < epsilon_lower_bound(strong, included).epsilon
    assert epsilon_lower_bound(strong, included, delta=0.05).epsilon < epsilon_lower_bound(strong, included).epsilon


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="NaN"):
        epsilon_lower_bound(np.array([0.1, np.nan]), np.array([True, False]))
    with pytest.raises(ValueError, match="included and excluded"):
        epsilon_lower_bound(np.array([0.1, 0.2, 0.3, 0.4]), np.array([True, True, True, True]))
    with pytest.raises(ValueError, match="at least 4"):
        epsilon_lower_bound(np.array([0.1, 0.2]), np.array([True, False]))
    with pytest.raises(ValueError, match="one length"):
        one_run_epsilon(np.zeros(3), np.zeros(4, bool))


def test_one_run_p_value_is_the_binomial_tail_without_delta():
    assert one_run_p_value(100, 20, 20, 0.0, 0.0) == pytest.approx(0.5 ** 20)
    q = 1 / (1 + math.exp(-1.5))
    assert one_run_p_value(100, 30, 25, 1.5, 0.0) == pytest.approx(stats.binom.sf(24, 30, q))
    assert one_run_p_value(100, 30, 25, 1.5, 1e-3) > one_run_p_value(100, 30, 25, 1.5, 0.0)


def test_one_run_bound_of_a_perfect_attack_has_a_closed_form():
    m = 400
    included = _split(m // 2, m // 2)
    bound = one_run_epsilon(included.astype(float), included, delta=0.0, confidence=0.95)
    # every guess right: p-value q^r; the largest r (every canary) gives the largest eps
    q = (0.05 / bound.tried) ** (1 / m)
    assert bound.correct == 2 * bound.guesses_in == m
    assert bound.epsilon == pytest.approx(math.log(q / (1 - q)), abs=1e-3)
    assert one_run_epsilon_for(m, 10, 3, 0.0, 0.05) == 0.0  # worse than chance: nothing rejected


def test_canary_inclusion_is_reproducible_from_the_seed():
    a, b, c = canary_inclusion(1000, 0), canary_inclusion(1000, 0), canary_inclusion(1000, 1)
    assert a.dtype == bool and np.array_equal(a, b) and not np.array_equal(a, c)
    assert 0.45 < a.mean() < 0.55
    with pytest.raises(ValueError, match="two canaries"):
        canary_inclusion(1, 0)


def test_canaries_are_wrong_labels_noise_images_or_random_words():
    labels = np.arange(100) % 10
    wrong = wrong_labels(labels, 10, seed=0)
    assert (wrong != labels).all() and wrong.min() >= 0 and wrong.max() <= 9
    images, noise_labels = noise_images(5, (1, 8, 8), 10, seed=0)
    assert images.shape == (5, 1, 8, 8) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert noise_labels.shape == (5,)
    texts = random_word_texts(4, 6, ["alpha", "beta", "gamma"], seed=0)
    assert texts == random_word_texts(4, 6, ["alpha", "beta", "gamma"], seed=0) and all(len(t.split()) == 6 for t in texts)


# ------------------------------------------------------------------ extreme scores: +/-inf and ties, exactly

_EXTREME = [
    np.array([np.inf, np.inf, 1.0, -np.inf, 1.0, np.inf, -np.inf, 0.0]),  # infinities and ties mixed
    np.full(8, np.inf),  # every canary +inf
    np.array([np.inf] * 4 + [-np.inf] * 4),  # a perfect attack written in infinities
    np.repeat([np.inf, 2.0, -np.inf, 0.0], 2),  # every included canary tied with an excluded one
]
_INCLUDED = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)


def _brute_force_epsilon(scores, included, delta, confidence):
    n_in, n_out = included.sum(), (~included).sum()
    best = 0.0
    for flagged in [np.zeros(len(scores), bool)] + [scores >= t for t in set(scores.tolist())]:
        _, fpr_u = clopper_pearson((flagged & ~included).sum(), n_out, confidence)
        _, fnr_u = clopper_pearson((~flagged & included).sum(), n_in, confidence)
        for num, den in ((1 - delta - fpr_u, fnr_u), (1 - delta - fnr_u, fpr_u)):
            if num > 0 and den > 0:
                best = max(best, math.log(num / den))
    return best


@pytest.mark.parametrize("case", range(len(_EXTREME)))
@pytest.mark.parametrize("delta", [0.0, 1e-3])
def test_threshold_bound_is_exact_with_ties_and_infinities(case, delta):
    scores = _EXTREME[case]
    bound = threshold_search(scores, _INCLUDED, delta)  # the search itself (the split bound's selection step)
    assert bound.epsilon == pytest.approx(_brute_force_epsilon(scores, _INCLUDED, delta, 0.95), abs=1e-12)
    flagged = scores >= bound.threshold  # the threshold reproduces its rates (NaN: nobody flagged)
    assert (flagged & ~_INCLUDED).sum() / 4 == bound.fpr and (~flagged & _INCLUDED).sum() / 4 == bound.fnr
    dense = np.unique(scores, return_inverse=True)[1].reshape(-1).astype(float)  # same order and ties, finite
    assert one_run_epsilon(scores, _INCLUDED, delta) == one_run_epsilon(dense, _INCLUDED, delta)


def test_a_perfect_attack_in_infinities_reaches_the_ceiling():
    scores = np.where(_INCLUDED, np.inf, -np.inf)
    assert threshold_search(scores, _INCLUDED).epsilon == pytest.approx(perfect_attack_epsilon(4, 4))
    assert threshold_search(scores, _INCLUDED).threshold == np.inf
    included = np.resize(_INCLUDED, 100)
    bound = epsilon_lower_bound(np.where(included, np.inf, -np.inf), included)
    assert bound.fpr == bound.fnr == 0 and bound.threshold == np.inf
    assert 0.9 * bound.ceiling < bound.epsilon <= bound.ceiling  # the ceiling takes the better inequality


def test_nan_anywhere_in_an_audit_is_a_clear_error():
    with pytest.raises(ValueError, match="canary scores: 1 value.*NaN"):
        epsilon_lower_bound(np.array([np.inf, np.nan, 0.0]), np.array([True, False, True]))
    with pytest.raises(ValueError, match="canary scores.*NaN"):
        one_run_epsilon(np.array([np.inf, np.nan, 0.0, 1.0]), np.array([True, False, True, False]))
    with pytest.raises(ValueError, match="delta"):
        epsilon_lower_bound(np.zeros(4), _INCLUDED[2:6], delta=float("nan"))
    with pytest.raises(ValueError, match="delta"):
        perfect_attack_epsilon(10, 10, delta=float("nan"))
    with pytest.raises(ValueError, match="successes.*NaN"):
        clopper_pearson(np.array([1.0, np.nan]), 10)
    with pytest.raises(ValueError, match="epsilon >= 0"):
        one_run_p_value(10, 4, 3, float("nan"), 0.0)
    with pytest.raises(ValueError, match="level"):
        one_run_epsilon_for(10, 4, 3, 0.0, float("nan"))


# ------------------------------------------------------------------ the vectorised one-run audit equals the reference


def _reference_epsilon_for(canaries, guesses, correct, delta, level, tolerance=1e-4):
    """The one-run bisection, written out on the reference p-value (Steinke et al., Theorem 5.2)."""
    if one_run_p_value(canaries, guesses, correct, 0.0, delta) >= level:
        return 0.0
    low, high = 0.0, 1.0
    while one_run_p_value(canaries, guesses, correct, high, delta) < level:
        low, high = high, 2 * high
    while high - low > tolerance:
        middle = (low + high) / 2
        rejected = one_run_p_value(canaries, guesses, correct, middle, delta) < level
        low, high = (middle, high) if rejected else (low, middle)
    return low


@pytest.mark.parametrize("canaries,guesses,correct,epsilon,delta", [
    (5000, 5000, 3600, 0.9, 1e-5), (100, 30, 25, 1.5, 1e-3), (100, 30, 0, 1.5, 1e-3), (100, 30, 30, 0.0, 1e-3),
    (1000, 100, 60, 0.3, 1e-5), (1000, 100, 97, 8.0, 1e-3), (5000, 5000, 4990, 10.0, 1e-3), (400, 200, 150, 2.0, 0.0)])
def test_vectorised_one_run_p_value_equals_the_reference(canaries, guesses, correct, epsilon, delta):
    vector = bounds._p_values(canaries, guesses, np.array([correct]), np.array([epsilon]), delta)[0]
    assert vector == pytest.approx(one_run_p_value(canaries, guesses, correct, epsilon, delta), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("canaries,guesses,correct,delta", [(5000, 5000, 3600, 1e-5), (1000, 100, 80, 1e-5),
                                                            (200, 20, 20, 0.0), (1000, 500, 300, 1e-3)])
def test_one_run_epsilon_for_equals_the_reference_bisection(canaries, guesses, correct, delta):
    assert one_run_epsilon_for(canaries, guesses, correct, delta, 0.05 / 6) == pytest.approx(
        _reference_epsilon_for(canaries, guesses, correct, delta, 0.05 / 6), abs=2e-4)


def test_one_run_batch_equals_single_audits():
    rng = np.random.default_rng(5)
    included = rng.random((3, 400)) < 0.5
    scores = included * 1.5 + rng.normal(size=(3, 400))
    batch = one_run_epsilon_batch(scores, included, 1e-5)
    assert batch.tolist() == [one_run_epsilon(s, i, 1e-5).epsilon for s, i in zip(scores, included)]
    assert (batch > 0).all()


# ------------------------------------------------------------------ calibration: P[eps_LB > true epsilon] <= 5%
#
# Randomized response: each canary is included by a fair coin; the released score is its inclusion bit, kept
# with probability e^eps / (1 + e^eps) and flipped otherwise: an eps-DP mechanism (each canary's bit is
# randomized response), with delta = 0, audited at delta = 1e-5. The continuous variant adds N(0, 1) noise
# to the released bit (post-processing: still eps-DP) and gives the threshold search many thresholds. The
# null test releases N(0, 1) scores independent of inclusion (0-DP), the case of issue #14, where the
# in-sample threshold search gave eps_LB > 0 in 3.7% (200 canaries) to 9% (4,000) of audits.

DELTA = 1e-5
AUDITS = {1000: 1000, 5000: 400}  # simulated audits per number of canaries (vectorised: a second or two each)


def _exceedance_limit(audits: int) -> float:
    return 0.05 + 3 * math.sqrt(0.05 * 0.95 / audits)  # 5% plus three Monte-Carlo standard errors


def _randomized_response(audits, m, epsilon, continuous, seed):
    rng = np.random.default_rng(seed)
    included = rng.random((audits, m)) < 0.5
    kept = rng.random((audits, m)) < 1 / (1 + math.exp(-epsilon))
    scores = np.where(kept, included, ~included).astype(float)
    return (scores + rng.normal(size=(audits, m)) if continuous else scores), included


@pytest.mark.parametrize("m", sorted(AUDITS))
@pytest.mark.parametrize("epsilon,continuous", [(0.0, False), (0.5, False), (1.0, False), (1.0, True)])
def test_both_audits_are_calibrated_on_randomized_response(m, epsilon, continuous):
    audits = AUDITS[m]
    scores, included = _randomized_response(audits, m, epsilon, continuous, seed=m + int(10 * epsilon) + continuous)
    threshold = epsilon_lower_bound_batch(scores, included, DELTA, 0.95, seed=1)
    one_run = one_run_epsilon_batch(scores, included, DELTA, 0.95)
    limit = _exceedance_limit(audits)
    assert (threshold > epsilon).mean() <= limit and (one_run > epsilon).mean() <= limit
    if epsilon > 0 and not continuous:  # and the audits are not vacuous: they see most of the true epsilon
        assert np.median(threshold) > 0.3 * epsilon and np.median(one_run) > 0.5 * epsilon


@pytest.mark.parametrize("m", [200, 1000, 5000])
def test_both_audits_hold_on_scores_that_carry_no_information(m):
    audits = AUDITS.get(m, 1000)
    rng = np.random.default_rng(m)
    scores, included = rng.normal(size=(audits, m)), rng.random((audits, m)) < 0.5
    limit = _exceedance_limit(audits)
    assert (epsilon_lower_bound_batch(scores, included, DELTA, 0.95, seed=2) > 0).mean() <= limit
    assert (one_run_epsilon_batch(scores, included, DELTA, 0.95) > 0).mean() <= limit


def test_the_in_sample_threshold_search_is_not_a_95_percent_bound():
    # why the threshold audit splits its canaries: the best threshold on the canaries bounded (issue #14)
    rng = np.random.default_rng(14)
    scores, included = rng.normal(size=(500, 4000)), rng.random((500, 4000)) < 0.5
    assert (threshold_search_batch(scores, included, DELTA, 0.95) > 0).mean() > 0.05  # about 8-9%
