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
