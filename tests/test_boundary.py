"""Boundary attack: HopSkipJump and QEBA, batched, through the label-only oracle."""

import math

import numpy as np
import pytest
import torch
from conftest import Brightness, RoughIsClassZero, brightness_images

from leakage.attacks import ATTACKS, AttackContext, LabelOnlyOracle, get_attack
from leakage.attacks.boundary import (BoundaryAttack, RandomReferenceRun, percentile_threshold, random_reference,
                                      settings_of, unflipped_by_class)
from leakage.attacks.hopskipjump import (START_SOURCES, UNSTARTED_SCORE, SearchSettings, boundary_search,
                                         perturbation_norms)
from leakage.attacks.qeba import dct_matrix, subspace_sampler
from leakage.config import field_docs
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.metrics import roc_auc


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Batched search on tiny models: one thread is faster than two on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Linear(torch.nn.Module):
    """Two classes split by the hyperplane w.x + b = 0 (|w| = 1): the L2 distance to the boundary is |w.x + b|."""

    def __init__(self, w: torch.Tensor, b: float):
        super().__init__()
        self.w = torch.nn.Parameter(w.flatten().clone(), requires_grad=False)
        self.b = b

    def margin(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w + self.b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.margin(x)
        return torch.stack([z, -z], 1)


class Constant(torch.nn.Module):
    """Labels everything class 0."""

    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor([1.0, 0.0, 0.0]), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), 3)


class Scrambled(torch.nn.Module):
    """Labels that change erratically with every input (no boundary to follow)."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(997.0), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bit = ((x.flatten(1).sum(1) * self.scale).floor() % 2).long()
        return torch.nn.functional.one_hot(bit, 2).float()


def points_at(model: Linear, distances: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Inputs (n, 1, 8, 8) inside [0.3, 0.7]-ish at the given signed distances from the model's boundary."""
    base = 0.4 + 0.2 * torch.rand(len(distances), 64, generator=generator)
    base = base - model.margin(base.view(-1, 1, 8, 8))[:, None] * model.w  # project onto the boundary
    return (base + distances[:, None] * model.w).view(-1, 1, 8, 8)


def linear_setup(w: torch.Tensor, n: int = 40, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    w = w.flatten() / w.norm()
    model = Linear(w, 0.0)
    model.b = float(-(0.5 * torch.ones(64)) @ w)
    distances = (0.05 + 0.2 * torch.rand(n, generator=gen)) * torch.where(torch.rand(n, generator=gen) < 0.5, -1, 1)
    x = points_at(model, distances, gen)
    assert float(x.min()) > 0 and float(x.max()) < 1
    return model, x, distances.abs()


def test_configs_document_every_field():
    for config in (BoundaryAttack.Config, RandomReferenceRun):
        assert field_docs(config)
    assert "boundary" in ATTACKS or get_attack("boundary").name == "boundary"
    for bad in ({"method": "nope"}, {"norm": "l1"}, {"subspace": "wavelet"}, {"budget": 0}, {"init_eval": 20000},
                {"checkpoints": (10, 5)}, {"blend_trials": -1}, {"pool_trials": -1}, {"l0_tolerance": math.nan}):
        with pytest.raises(ValueError):
            BoundaryAttack(BoundaryAttack.Config(**bad))


def test_hopskipjump_l2_finds_the_known_distance_to_a_linear_boundary():
    model, x, truth = linear_setup(torch.randn(64, generator=torch.Generator().manual_seed(1)))
    labels = model(x).argmax(1)
    budget = 3000
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=budget)
    result = boundary_search(oracle, x, SearchSettings(budget=budget), torch.Generator().manual_seed(2), labels=labels)
    found = torch.as_tensor(result.norms["l2"]).float()
    assert result.flipped.all() and not result.misclassified.any()
    assert bool((found >= truth * (1 - 1e-3)).all())  # nothing adversarial lies closer than the boundary
    assert bool((found <= truth * 1.10).all()), (found / truth).max()
    assert (oracle.per_owner <= budget).all() and np.array_equal(oracle.per_owner.numpy(), result.queries)


@pytest.mark.parametrize("subspace", ["resize", "dct"])
def test_qeba_finds_a_boundary_whose_normal_lies_in_its_subspace(subspace):
    low = torch.randn(1, 1, 2, 2, generator=torch.Generator().manual_seed(3))
    if subspace == "resize":
        w = torch.nn.functional.interpolate(low, size=(8, 8), mode="bilinear", align_corners=False)
    else:
        w = torch.einsum("hH,hw,wW->HW", dct_matrix(8)[:2], low[0, 0], dct_matrix(8)[:2])
    model, x, truth = linear_setup(w)
    attack = BoundaryAttack(BoundaryAttack.Config(method="qeba", subspace=subspace, subspace_ratio=4, budget=1500,
                                                  checkpoints=()))
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=1500)
    result = attack.search(oracle, x, model(x).argmax(1), seed=0)
    found = torch.as_tensor(result.norms["l2"]).float()
    assert bool((found >= truth * (1 - 1e-3)).all()) and bool((found <= truth * 1.10).all()), (found / truth).max()


def test_subspace_directions_are_smooth_and_dct_is_orthonormal():
    basis = dct_matrix(8)
    assert torch.allclose(basis @ basis.T, torch.eye(8), atol=1e-5)
    sample = subspace_sampler((1, 8, 8), "dct", 4, "l2", torch.device("cpu"))(5, torch.Generator().manual_seed(0))
    coefficients = torch.einsum("hH,rHW,wW->rhw", basis, sample.view(5, 8, 8), basis)
    assert sample.shape == (5, 64) and coefficients[:, 2:, :].abs().max() < 1e-5
    resized = subspace_sampler((3, 8, 8), "resize", 2, "linf", torch.device("cpu"))(4, torch.Generator())
    assert resized.shape == (4, 192) and resized.abs().max() <= 1


@pytest.mark.parametrize("norm,method", [("l2", "hopskipjump"), ("linf", "hopskipjump"), ("l2", "qeba")])
def test_returned_points_are_adversarial_in_bounds_and_the_budget_holds(overfit_target, norm, method):
    model = overfit_target.model
    index = torch.as_tensor(np.r_[overfit_target.members[:20], overfit_target.splits.test[:20]])
    x, y = overfit_target.data.images(index), overfit_target.data.y[index]
    for budget in (1, 7, 37, 400):
        oracle = LabelOnlyOracle(model, num_owners=len(x), budget=budget)
        attack = BoundaryAttack(BoundaryAttack.Config(method=method, norm=norm, budget=budget, subspace_ratio=2,
                                                      checkpoints=(0, 1, 5, 100, 400)))
        result = attack.search(oracle, x, y, seed=0)
        assert int(oracle.per_owner.max()) <= budget and np.array_equal(oracle.per_owner.numpy(), result.queries)
        adv = result.adversarial
        assert adv.shape == x.shape and float(adv.min()) >= 0 and float(adv.max()) <= 1
        flipped = torch.as_tensor(result.flipped)
        assert bool((model(adv).argmax(1) != y)[flipped].all())
        assert np.array_equal(result.misclassified, (model(x).argmax(1) != y).numpy())
        for name, values in result.norms.items():
            assert values.shape == (40,) and np.isfinite(values).all() and (values >= 0).all(), name
            assert (values[result.misclassified] == 0).all()
        record = result.checkpoint_dist
        # checkpoints past the budget are dropped from the config, the budget kept as the last one
        assert attack.config.checkpoints == {1: (0, 1), 7: (0, 1, 5, 7), 37: (0, 1, 5, 37),
                                             400: (0, 1, 5, 100, 400)}[budget]
        assert record.shape == (40, len(attack.config.checkpoints))
        assert (record[:, 0] == UNSTARTED_SCORE).all()  # nothing known before any query
        assert (record[result.misclassified, 1:] == 0).all()
        assert (record[~result.misclassified, 1] == UNSTARTED_SCORE).all()
        known = record > UNSTARTED_SCORE
        # more queries never make the best distance worse, once one is known
        assert (known[:, :-1] <= known[:, 1:]).all()
        assert ((record[:, 1:] <= record[:, :-1]) | ~known[:, :-1]).all()
        if budget == 400:
            assert result.flipped.all()
            final = result.norms[norm]
            assert np.allclose(record[:, -1], final, rtol=1e-4)


def test_unflippable_candidates_keep_the_largest_distance_searched_and_loops_end():
    x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 0, 1, 2, 1])
    oracle = LabelOnlyOracle(Constant(), num_owners=6, budget=50)
    result = boundary_search(oracle, x, SearchSettings(budget=50, init_size=10, checkpoints=(50,)),
                             torch.Generator().manual_seed(0), labels=y)
    assert result.misclassified.tolist() == [False] * 3 + [True] * 3
    assert result.flipped.tolist() == [False] * 3 + [True] * 3
    # label check + init_size random starts + blend_trials blended starts (no pool given), then stop
    assert result.queries.tolist() == [1 + 10 + 10] * 3 + [1] * 3
    assert result.start_source.tolist() == [-1] * 3 + [0] * 3
    # unstarted: tied at UNSTARTED_SCORE, the largest distance searched kept apart (reach)
    assert result.unstarted.tolist() == [True] * 3 + [False] * 3
    assert (result.norms["l2"][:3] == UNSTARTED_SCORE).all() and (result.norms["l2"][3:] == 0).all()
    assert (result.reach["l2"][:3] > 0.5).all() and (result.reach["l2"][3:] == 0).all()
    assert (result.checkpoint_dist[:3, 0] == UNSTARTED_SCORE).all()
    # erratic labels: every loop is bounded, the budget holds, nothing is dropped
    x = torch.rand(8, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    model = Scrambled()
    oracle = LabelOnlyOracle(model, num_owners=8, budget=600)
    result = boundary_search(oracle, x, SearchSettings(budget=600, max_iter=30), torch.Generator().manual_seed(0),
                             labels=model(x).argmax(1))
    assert (result.queries <= 600).all() and np.isfinite(result.norms["l2"]).all()


def test_perturbation_norms():
    delta = torch.tensor([[0.0, 3.0, -4.0, 1e-9]])
    assert perturbation_norms(delta, 1e-6).tolist() == [[2.0, 7.0, pytest.approx(5.0), 4.0]]


def test_boundary_attack_on_an_overfit_target(overfit_target, toy_store):
    config = BoundaryAttack.Config(budget=300, checkpoints=(0, 1, 50, 300))
    result = run_attack(overfit_target, "boundary", config, CandidateConfig(max_per_side=25), toy_store, n_boot=50)
    assert len(result.scores) == 50 and np.array_equal(result.scores, result.extras["l2"])
    assert result.metrics["auc"] > 0.75
    assert result.cost["max_queries_per_candidate"] <= 300
    assert result.extras["checkpoint_dist"].shape == (50, 4)
    assert np.array_equal(result.extras["queries"], result.extras["queries"].astype(int))
    baseline = run_attack(overfit_target, "baseline", None, CandidateConfig(max_per_side=25), toy_store, n_boot=10)
    at_one_query = roc_auc(result.extras["checkpoint_dist"][:, 1], result.is_member)
    assert at_one_query == pytest.approx(baseline.metrics["auc"])
    assert roc_auc(result.extras["checkpoint_dist"][:, 0], result.is_member) == 0.5


def test_same_config_same_numbers(overfit_target, tmp_path):
    from leakage.store import Store

    config = BoundaryAttack.Config(method="qeba", budget=120, subspace_ratio=2)
    runs = [run_attack(overfit_target, "boundary", config, CandidateConfig(max_per_side=10), Store(tmp_path / s),
                       n_boot=10) for s in "ab"]
    np.testing.assert_array_equal(runs[0].scores, runs[1].scores)
    np.testing.assert_array_equal(runs[0].extras["checkpoint_dist"], runs[1].extras["checkpoint_dist"])


def test_random_reference_and_percentile_threshold(overfit_target, toy_store):
    run = RandomReferenceRun(target=overfit_target.config, attack=BoundaryAttack.Config(budget=60, checkpoints=()),
                       num_samples=12, seed=0)
    ref = random_reference(overfit_target.model, overfit_target.data.input_shape, run, toy_store)
    assert ref["l2"].shape == (12,) and ref["max_queries_per_sample"] <= 60
    assert not ref["misclassified"].any()  # a random input has no true label: it moves away from its own
    assert percentile_threshold(ref["l2"], 0) == ref["l2"].max()
    assert percentile_threshold(ref["l2"], 100) == ref["l2"].min()
    with pytest.raises(ValueError, match="percentile"):
        percentile_threshold(ref["l2"], 120)
    assert math.isclose(percentile_threshold(np.array([1.0, 2.0, 3.0]), 50), 2.0)
    assert settings_of(run.attack).budget == 60


# ---------------------------------------------------------------- non-finite input (issue #13)


def noise_class_setup():
    """12 candidates, 4 per class, 0.04 to 0.10 from the nearest other class in mean (L2 0.32 to 0.8)."""
    margins = torch.tensor([0.04, 0.06, 0.08, 0.10])
    levels = torch.cat([0.35 - margins, 0.65 - margins, 0.65 + margins])  # classes 0, 1, 2
    x, y = brightness_images(levels, 0), torch.repeat_interleave(torch.arange(3), 4)
    truth = 8 * margins.repeat(3)
    pool = brightness_images(torch.tensor([0.1, 0.25, 0.45, 0.55, 0.75, 0.9]), 1)
    return RoughIsClassZero(0.2), x, y, truth, pool, torch.tensor([0, 0, 1, 1, 2, 2])


def test_a_nan_pixel_is_rejected_by_every_entry_point_not_scored_as_misclassified(tmp_path):
    from leakage.store import Store

    model = Brightness()
    x = brightness_images(torch.tensor([0.2, 0.5, 0.8]), 0)[:, :, :4, :4].contiguous()  # three 1x4x4 candidates
    y = torch.arange(3)
    assert torch.equal(model(x).argmax(1), y)
    settings = SearchSettings(budget=50, init_size=5)
    for value, match in ((math.nan, "x: 1 value"), (math.inf, "x: 1 value"), (1.5, r"x must lie in \[0, 1\]")):
        bad = x.clone()
        bad[0, 0, 0, 0] = value
        oracle = LabelOnlyOracle(model, num_owners=3, budget=50)
        with pytest.raises(ValueError, match=match):
            boundary_search(oracle, bad, settings, torch.Generator(), labels=y)
        with pytest.raises(ValueError, match=match):
            BoundaryAttack().search(oracle, bad, y, seed=0)
        with pytest.raises(ValueError, match=match.replace("x", "pool")):
            boundary_search(oracle, x, settings, torch.Generator(), labels=y, pool=bad)
        assert oracle.queries == 0  # refused before a single query
        with pytest.raises(ValueError, match=match.replace("x", "candidates")):
            AttackContext(oracle=oracle, candidates=bad, candidate_labels=y, shadow_x=x, shadow_y=y, num_classes=3,
                          seed=0, store=Store(tmp_path), target_key="t", data_key="d")
    with pytest.raises(ValueError, match="reference"):
        percentile_threshold(np.array([1.0, np.nan]), 50)
    with pytest.raises(ValueError, match="reference"):
        percentile_threshold(np.array([1.0, np.inf]), 50)


# ---------------------------------------------------------------- class-dependent failure (issue #13)


@pytest.mark.parametrize("method", ["hopskipjump", "qeba"])
def test_candidates_of_the_noise_class_are_flipped_by_fallback_starts_not_ranked_top(tmp_path, method):
    from leakage.store import Store

    model, x, y, truth, pool, pool_y = noise_class_setup()
    assert torch.equal(model(x).argmax(1), y) and (model(torch.rand(500, 1, 8, 8)).argmax(1) == 0).all()
    budget = 1500
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=budget)
    context = AttackContext(oracle=oracle, candidates=x, candidate_labels=y, shadow_x=pool, shadow_y=pool_y,
                            num_classes=3, seed=0, store=Store(tmp_path), target_key="t", data_key="d")
    config = BoundaryAttack.Config(method=method, budget=budget, init_size=20, subspace_ratio=4, checkpoints=())
    out = BoundaryAttack(config).run(context)
    e = out.extras
    assert e["flipped"].all() and not e["misclassified"].any()
    sources = [START_SOURCES[s] for s in e["start_source"]]
    assert sources[4:] == ["noise"] * 8  # noise is class 0: adversarial for classes 1 and 2 at once
    assert set(sources[:4]) <= {"blend", "pool"}  # class 0 needed a fallback start
    assert np.array_equal(oracle.per_owner.numpy(), e["queries"]) and (e["queries"] <= budget).all()
    assert (e["queries"][:4] > 1 + 20).all()  # the failed noise trials and the fallback were paid for
    found = torch.as_tensor(out.scores).float()
    assert bool((found >= truth * (1 - 1e-3)).all())  # nothing adversarial lies closer than the brightness boundary
    # class 0 scores its real distance (within 25%), not the largest distance searched: before the fallbacks it
    # ranked above every other candidate (see the next tests); now it sits where its margins put it
    assert bool((found[:4] <= truth[:4] * 1.25).all()), found / truth
    assert np.array_equal(np.argsort(out.scores[:4]), np.arange(4))
    assert out.scores[:4].max() < out.scores[4:].max()


def test_pool_starts_alone_flip_the_noise_class_with_every_query_counted():
    model, x, y, truth, pool, pool_y = noise_class_setup()
    budget = 800
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=budget)
    settings = SearchSettings(budget=budget, init_size=10, blend_trials=0, pool_trials=3, checkpoints=(11, 12))
    result = boundary_search(oracle, x, settings, torch.Generator().manual_seed(0), labels=y,
                             pool=torch.cat([x, pool]), pool_labels=torch.cat([y, pool_y]))
    assert result.flipped.all()
    assert [START_SOURCES[s] for s in result.start_source] == ["pool"] * 4 + ["noise"] * 8
    assert np.array_equal(oracle.per_owner.numpy(), result.queries)
    # nearest image of another label first (a class-1 candidate), adversarial at once: after the label check and
    # 10 noise trials (11 queries) nothing is known, after the first pool trial (12) a start is
    assert (result.checkpoint_dist[:4, 0] == UNSTARTED_SCORE).all() and (result.checkpoint_dist[:4, 1] > 0.1).all()
    table = unflipped_by_class(result.labels, result.flipped, result.start_source)
    assert table["class"].tolist() == [0, 1, 2] and table.candidates.tolist() == [4, 4, 4]
    assert table.pool_start.tolist() == [4, 0, 0] and table.noise_start.tolist() == [0, 4, 4]
    assert table.unflipped.tolist() == [0, 0, 0]
    found = torch.as_tensor(result.norms["l2"]).float()
    assert bool((found >= truth * (1 - 1e-3)).all()) and bool((found[:4] <= truth[:4] * 1.25).all()), found / truth


def test_without_fallbacks_the_noise_class_stays_unflipped_and_the_table_says_so():
    """The fault the fallbacks fix: noise-only starts leave exactly the noise class unflipped. Issue #27: they no
    longer score the largest distance searched (ranked above every flipped candidate for their class alone) but
    UNSTARTED_SCORE, tied below every flipped one."""
    model, x, y, _, _, _ = noise_class_setup()
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=300)
    settings = SearchSettings(budget=300, init_size=10, blend_trials=0, pool_trials=0)
    result = boundary_search(oracle, x, settings, torch.Generator().manual_seed(0), labels=y)
    table = unflipped_by_class(result.labels, result.flipped, result.start_source)
    assert table.unflipped.tolist() == [4, 0, 0] and table.unflipped_share.tolist() == [1.0, 0.0, 0.0]
    assert (result.norms["l2"][:4] == UNSTARTED_SCORE).all() and result.unstarted.tolist() == [True] * 4 + [False] * 8
    assert result.reach["l2"][:4].min() > result.norms["l2"][4:].max()  # what they used to score
    plain = unflipped_by_class(result.labels, result.flipped)  # without sources: only the flip counts
    assert plain.unflipped.tolist() == [4, 0, 0] and plain.noise_start.sum() == 0
    with pytest.raises(ValueError, match="one entry per candidate"):
        unflipped_by_class(result.labels, result.flipped[:3])
