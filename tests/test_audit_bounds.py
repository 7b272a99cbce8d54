"""The audit's statistics: Clopper-Pearson, the threshold eps_LB and the one-run eps_LB, against closed forms."""

import math

import numpy as np
import pytest
from scipy import stats

from leakage.audit.bounds import (clopper_pearson, epsilon_lower_bound, one_run_epsilon, one_run_epsilon_for,
                                  one_run_p_value, perfect_attack_epsilon)
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
    bound = epsilon_lower_bound(included * 3.0 - 1.0, included, delta, 0.95)
    u_in, u_out = 1 - 0.025 ** (1 / members), 1 - 0.025 ** (1 / nonmembers)  # CP upper bounds of 0 errors
    expected = max(math.log((1 - delta - u_out) / u_in), math.log((1 - delta - u_in) / u_out))
    assert bound.epsilon == pytest.approx(expected, rel=1e-9)
    assert bound.fpr == bound.fnr == 0.0 and bound.threshold == 2.0
    assert perfect_attack_epsilon(members, nonmembers, delta) == pytest.approx(expected, rel=1e-9)


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
        epsilon_lower_bound(np.array([0.1, 0.2]), np.array([True, True]))
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
    bound = epsilon_lower_bound(scores, _INCLUDED, delta)
    assert bound.epsilon == pytest.approx(_brute_force_epsilon(scores, _INCLUDED, delta, 0.95), abs=1e-12)
    flagged = scores >= bound.threshold  # the threshold reproduces its rates (NaN: nobody flagged)
    assert (flagged & ~_INCLUDED).sum() / 4 == bound.fpr and (~flagged & _INCLUDED).sum() / 4 == bound.fnr
    dense = np.unique(scores, return_inverse=True)[1].reshape(-1).astype(float)  # same order and ties, finite
    assert one_run_epsilon(scores, _INCLUDED, delta) == one_run_epsilon(dense, _INCLUDED, delta)


def test_a_perfect_attack_in_infinities_reaches_the_ceiling():
    scores = np.where(_INCLUDED, np.inf, -np.inf)
    assert epsilon_lower_bound(scores, _INCLUDED).epsilon == pytest.approx(perfect_attack_epsilon(4, 4))
    assert epsilon_lower_bound(scores, _INCLUDED).threshold == np.inf


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
