"""Issue #27, item 11: a label-only attack that cannot apply its method within its budget or data says so (a
warning with the count and the reason, a per-candidate flag) and never ranks those candidates by the failure.

The target of the issue labels all uniform noise as one class (class 0 here): before the fix, HopSkipJump with a
budget of at most 111 queries spent it all on noise and blends, never reached the attacker images, and left the
class-0 candidates unflipped with the largest distance searched: ranked as the most member-like, with no warning.
"""

import warnings

import numpy as np
import pytest
import torch
from conftest import RoughIsClassZero, brightness_images

from leakage.api import EXTRAS, attack_classifier
from leakage.attacks import AttackContext, LabelOnlyOracle
from leakage.attacks.augmentation import AugmentationAttack
from leakage.attacks.boundary import BoundaryAttack, RandomReferenceRun, random_reference
from leakage.attacks.coverage import MethodNotAppliedWarning
from leakage.attacks.hopskipjump import (START_SOURCES, UNSTARTED_SCORE, SearchSettings, boundary_search,
                                         start_plan)
from leakage.attacks.noise import NoiseAttack
from leakage.metrics import roc_auc
from leakage.store import Store


pytestmark = pytest.mark.usefixtures("one_thread")


MARGINS = torch.tensor([0.04, 0.06, 0.08, 0.10])
X = brightness_images(torch.cat([0.35 - MARGINS, 0.65 - MARGINS, 0.65 + MARGINS]), 0)  # 4 candidates per class
Y = torch.repeat_interleave(torch.arange(3), 4)
POOL = brightness_images(torch.tensor([0.1, 0.25, 0.45, 0.55, 0.75, 0.9]), 1)  # the attacker's own images
POOL_Y = torch.tensor([0, 0, 1, 1, 2, 2])
#: Every rough input (pixel std above 0.05) is class 0: all uniform noise (std 0.29) and every blend of a smooth
#: candidate with more than a tenth of noise, like a Fashion-MNIST target that labels all noise as one class. No
#: noise or blend trial can start a class-0 candidate; an attacker image can.
MODEL = RoughIsClassZero(0.05)


def context(budget: int, with_pool: bool, x: torch.Tensor = X, y: torch.Tensor = Y) -> AttackContext:
    shadow_x, shadow_y = (POOL, POOL_Y) if with_pool else (POOL[:0], POOL_Y[:0])
    return AttackContext(oracle=LabelOnlyOracle(MODEL, num_owners=len(x), budget=budget), candidates=x,
                         candidate_labels=y, shadow_x=shadow_x, shadow_y=shadow_y, num_classes=3, seed=0,
                         store=Store("/nonexistent-never-written"), target_key="rough", data_key="pool")


def run(config: BoundaryAttack.Config, ctx: AttackContext) -> tuple[np.ndarray, dict, list]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = BoundaryAttack(config).run(ctx)
    return out.scores, out.extras, [w for w in caught if issubclass(w.category, MethodNotAppliedWarning)]


def test_the_target_is_the_issues():
    assert torch.equal(MODEL(X).argmax(1), Y) and torch.equal(MODEL(POOL).argmax(1), POOL_Y)
    assert (MODEL(torch.rand(1000, 1, 8, 8, generator=torch.Generator().manual_seed(0))).argmax(1) == 0).all()


@pytest.mark.parametrize("budget,pool,plan", [
    (15000, 50, {"noise": 100, "blend": 10, "pool": 20}),  # the paper's budget: every trial ART and the fallbacks want
    (131, 50, {"noise": 100, "blend": 10, "pool": 20}),  # the smallest budget that fits them all
    (100, 50, {"noise": 69, "blend": 10, "pool": 20}),  # the issue's budget: noise trials are cut, the pool reached
    (100, 6, {"noise": 83, "blend": 10, "pool": 6}),  # fewer attacker images than pool_trials
    (100, 0, {"noise": 89, "blend": 10, "pool": 0}),  # no attacker images
    (20, 50, {"noise": 1, "blend": 0, "pool": 18}),  # then blends, then pool images
    (2, 50, {"noise": 1, "blend": 0, "pool": 0}),
    (1, 50, {"noise": 0, "blend": 0, "pool": 0}),  # the label check only
])
def test_the_start_trials_are_planned_within_the_budget(budget, pool, plan):
    assert start_plan(SearchSettings(budget=budget), pool) == plan
    assert sum(plan.values()) <= budget - 1


@pytest.mark.parametrize("method", ["hopskipjump", "qeba"])
def test_the_issues_budget_now_reaches_the_attacker_images_and_starts_every_candidate(method):
    config = BoundaryAttack.Config(method=method, budget=100, subspace_ratio=4, checkpoints=())
    scores, extras, caught = run(config, context(100, with_pool=True))
    assert not caught and not extras["unstarted"].any() and extras["flipped"].all()
    assert [START_SOURCES[s] for s in extras["start_source"]][:4] == ["pool"] * 4
    assert (extras["queries"] <= 100).all() and (extras["queries"][:4] > 1 + 83 + 10).all()  # the plan was followed
    truth = 8 * MARGINS.double().numpy()
    # class 0 scores its own brightness margin (the boundary the attacker image lies across), not the failure's
    assert (scores[:4] >= truth * (1 - 1e-3)).all() and (scores[:4] <= truth * 1.25).all(), scores[:4] / truth


@pytest.mark.parametrize("method", ["hopskipjump", "qeba"])
@pytest.mark.parametrize("budget", [100, 131])
def test_unstarted_candidates_are_warned_about_flagged_and_tied_below_every_distance(method, budget):
    """Without attacker images no trial can start class 0 at any budget: a warning with the count and the reason,
    the flag on exactly those four, and the documented score, tied below every distance found (before the fix:
    the largest distance searched, above every other candidate)."""
    config = BoundaryAttack.Config(method=method, budget=budget, subspace_ratio=4, checkpoints=(0, 1, 50, budget))
    scores, extras, caught = run(config, context(budget, with_pool=False))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"{method}: 4 of 12 candidates could not be started")
    assert "no attacker images were given" in message and "attacker_data=" in message
    assert f"within the budget of {budget} queries (" in message and "extras['unstarted']" in message
    assert extras["unstarted"].tolist() == [True] * 4 + [False] * 8
    assert extras["flipped"].tolist() == [False] * 4 + [True] * 8
    assert (scores[:4] == UNSTARTED_SCORE).all() and (scores[4:] > 1e-3).all()
    for norm in ("l0", "l1", "l2", "linf"):
        assert (extras[norm][:4] == UNSTARTED_SCORE).all(), norm
    assert (extras["checkpoint_dist"][:4] == UNSTARTED_SCORE).all()  # no checkpoint ranks them by the failure
    # the ranking: the four tie at the bottom whatever their membership. With two members and two non-members
    # among them, their pairs with the other eight add exactly a coin's share to the AUC
    is_member = np.array([1, 0, 1, 0] + [1, 0] * 4, dtype=bool)
    started = roc_auc(scores[4:], is_member[4:])
    n_m, n_n = is_member.sum(), (~is_member).sum()
    expected = (started * 4 * 4 + 0 * 2 * 4 + 1 * 4 * 2 + 0.5 * 2 * 2) / (n_m * n_n)
    assert roc_auc(scores, is_member) == pytest.approx(expected)


def test_the_flag_and_the_warning_reach_the_public_entry_point():
    members, non_members = (X[0::2], Y[0::2]), (X[1::2], Y[1::2])
    with pytest.warns(MethodNotAppliedWarning, match=r"hopskipjump: 4 of 12 candidates could not be started"):
        result = attack_classifier(MODEL, members, non_members, "hopskipjump",
                                   BoundaryAttack.Config(budget=100, checkpoints=()), n_boot=10)
    assert result.extras["unstarted"].tolist() == [True, True] + [False] * 4 + [True, True] + [False] * 4
    assert (result.scores[result.extras["unstarted"]] == UNSTARTED_SCORE).all()
    assert "unstarted" in EXTRAS and "unstarted" in result.to_frame().columns
    with warnings.catch_warnings():
        warnings.simplefilter("error", MethodNotAppliedWarning)  # with attacker images: every candidate starts
        result = attack_classifier(MODEL, members, non_members, "hopskipjump",
                                   BoundaryAttack.Config(budget=100, checkpoints=()), attacker_data=(POOL, POOL_Y),
                                   n_boot=10)
    assert not result.extras["unstarted"].any()


def test_unstarted_rank_above_the_misclassified_and_a_one_query_budget_is_the_baseline_attack():
    x = torch.cat([X, X[:2]])
    y = torch.cat([Y, torch.tensor([2, 1])])  # two class-0 images given wrong labels: misclassified
    scores, extras, caught = run(BoundaryAttack.Config(budget=100, checkpoints=()), context(100, False, x, y))
    assert extras["misclassified"].tolist() == [False] * 12 + [True] * 2
    assert (scores[12:] == 0).all() and (scores[:4] == UNSTARTED_SCORE).all() and (scores[4:12] > scores[0]).all()
    assert "4 of 14 candidates" in str(caught[0].message)
    scores, extras, caught = run(BoundaryAttack.Config(budget=1, checkpoints=()), context(1, True, x, y))
    assert np.array_equal(scores, np.where(extras["misclassified"], 0.0, UNSTARTED_SCORE))
    assert "12 of 14 candidates" in str(caught[0].message) and "every start trial fits from 117 queries" in str(
        caught[0].message)
    is_member = np.array([1, 0] * 7, dtype=bool)
    baseline = (~extras["misclassified"]).astype(float)  # the baseline attack: correct label = member
    assert roc_auc(scores, is_member) == roc_auc(baseline, is_member)


def test_fallback_starts_change_no_number_of_a_candidate_noise_started():
    """The plan and the fallbacks touch only the candidates that need them: the eight candidates uniform noise
    starts score the same with or without attacker images (each candidate draws from its own random stream)."""
    with_pool, _, _ = run(BoundaryAttack.Config(budget=100, checkpoints=()), context(100, with_pool=True))
    without, _, _ = run(BoundaryAttack.Config(budget=100, checkpoints=()), context(100, with_pool=False))
    np.testing.assert_array_equal(with_pool[4:], without[4:])
    assert (with_pool[:4] > 0.3).all() and (without[:4] == UNSTARTED_SCORE).all()


def test_algorithm_3_random_inputs_keep_the_distance_searched_and_are_warned_about(tmp_path):
    run_config = RandomReferenceRun(target="rough", attack=BoundaryAttack.Config(budget=40, checkpoints=()), num_samples=5)
    with pytest.warns(MethodNotAppliedWarning, match=r"5 of 5 random inputs \(Algorithm 3\) could not be started"):
        reference = random_reference(MODEL, (1, 8, 8), run_config, Store(tmp_path))
    assert reference["unstarted"].all() and (reference["l2"] > 1.0).all()  # uniform noise is all class 0


def test_boundary_search_flags_unstarted_without_warning_and_keeps_what_it_searched():
    oracle = LabelOnlyOracle(MODEL, num_owners=12, budget=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = boundary_search(oracle, X, SearchSettings(budget=60, checkpoints=()), 0, labels=Y)
    assert result.unstarted.tolist() == [True] * 4 + [False] * 8
    assert result.start_trials == {"noise": 49, "blend": 10, "pool": 0} and result.start_budget == 111
    assert (result.reach["l2"][:4] > 1.0).all() and (result.reach["l2"][4:] == 0).all()


def test_augmentation_and_noise_warn_when_their_config_applies_no_method():
    for attack, match in ((AugmentationAttack(AugmentationAttack.Config(max_queries=1)), "max_queries=1"),
                          (AugmentationAttack(AugmentationAttack.Config(shift=0, flip=False)), "shift=0 and flip"),
                          (NoiseAttack(NoiseAttack.Config(n_queries=3, sigma=0.0)), "sigma=0")):
        with pytest.warns(MethodNotAppliedWarning, match=f"12 of 12 candidates .*{match}.*baseline attack"):
            out = attack.run(context(10, with_pool=False))
        assert (out.scores == 1.0).all()  # every candidate is labelled correctly: the baseline's score
    with warnings.catch_warnings():
        warnings.simplefilter("error", MethodNotAppliedWarning)
        AugmentationAttack(AugmentationAttack.Config(max_queries=2)).run(context(10, with_pool=False))
        NoiseAttack(NoiseAttack.Config(n_queries=3, sigma=0.1)).run(context(10, with_pool=False))
