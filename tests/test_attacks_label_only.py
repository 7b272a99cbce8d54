"""Oracle and the baseline, transfer and score-based attacks on a deliberately overfit toy target."""

import math

import numpy as np
import pytest
import torch

from conftest import TOY_ARCH
from leakage.attacks import ATTACKS, AttackContext, LabelOnlyOracle, PosteriorOracle, QueryBudgetExceeded, get_attack
from leakage.attacks.score_based import ScoreBasedAttack, top_k_features
from leakage.attacks.shadow import ShadowConfig, posterior_statistics
from leakage.attacks.transfer import TransferAttack
from leakage.experiments.label_only import CandidateConfig, attack_context, candidates_of, run_attack
from leakage.models.cnn import TargetCNN
from leakage.train import TrainConfig

SHADOW = ShadowConfig(arch=TOY_ARCH, train=TrainConfig(epochs=20, min_steps=300))


def test_oracle_answers_labels_only_and_counts_every_query():
    model = TargetCNN((1, 8, 8), 5)
    oracle = LabelOnlyOracle(model, num_owners=3, budget=4, batch_size=2)
    x = torch.rand(7, 1, 8, 8)
    labels = oracle.labels(x)
    assert labels.dtype == torch.int64 and labels.shape == (7,) and oracle.queries == 7
    assert torch.equal(labels, model(x).argmax(1))
    oracle.labels(x[:3], owner=torch.tensor([0, 1, 1]))
    assert oracle.queries == 10 and oracle.per_owner.tolist() == [1, 2, 0]
    assert not any(isinstance(v, torch.Tensor) and v.is_floating_point() for v in vars(oracle).values())


def test_oracle_enforces_the_budget_per_candidate_before_answering():
    oracle = LabelOnlyOracle(TargetCNN((1, 8, 8), 5), num_owners=2, budget=3)
    oracle.labels(torch.rand(3, 1, 8, 8), owner=torch.tensor([0, 0, 0]))
    with pytest.raises(QueryBudgetExceeded, match="candidate 0 would need 4 queries; the budget is 3"):
        oracle.labels(torch.rand(2, 1, 8, 8), owner=torch.tensor([0, 1]))
    assert oracle.queries == 3 and oracle.per_owner.tolist() == [3, 0]  # refused queries are not answered
    with pytest.raises(ValueError, match="owners"):
        oracle.labels(torch.rand(2, 1, 8, 8), owner=torch.tensor([1]))


def test_posterior_oracle_gives_probabilities():
    probs = PosteriorOracle(TargetCNN((1, 8, 8), 5)).posteriors(torch.rand(4, 1, 8, 8))
    assert probs.shape == (4, 5) and torch.allclose(probs.sum(1), torch.ones(4))


def test_registry_is_complete_and_unknown_names_are_clear():
    assert {"baseline", "transfer", "score_based"} <= set(ATTACKS) | {get_attack("baseline").name}
    for name in ("baseline", "transfer", "score_based"):
        attack = get_attack(name)()
        assert attack.name == name and hasattr(attack, "run")
    with pytest.raises(ValueError, match="unknown attack 'nope'"):
        get_attack("nope")
    with pytest.raises(ValueError, match="statistic"):
        TransferAttack(TransferAttack.Config(statistic="median"))


def test_statistics_have_member_high_sign():
    confident = torch.tensor([[8.0, 0.0, 0.0]])
    unsure = torch.tensor([[0.1, 0.0, 0.0]])
    y = torch.tensor([0])
    a, b = posterior_statistics(confident, y), posterior_statistics(unsure, y)
    for name in ("loss", "max_confidence", "entropy"):
        assert a[name][0] > b[name][0], name
    assert posterior_statistics(torch.zeros(1, 4), torch.tensor([2]))["entropy"][0] == pytest.approx(-1.0)


def test_candidates_are_balanced_and_the_context_hides_membership(overfit_target, toy_store):
    indices, is_member = candidates_of(overfit_target, CandidateConfig())
    assert is_member.sum() == (~is_member).sum() == 50
    context = attack_context(overfit_target, indices, toy_store)
    assert not any(isinstance(v, np.ndarray) and v.dtype == bool for v in vars(context).values())
    assert context.candidates.shape == (100, 1, 8, 8) and context.posterior_oracle is None


@pytest.mark.parametrize("name,config,low", [
    ("baseline", None, 0.75),
    ("transfer", TransferAttack.Config(shadow=SHADOW), 0.7),
    ("transfer", TransferAttack.Config(shadow=SHADOW, misclassified="keep"), 0.55),
    ("transfer", TransferAttack.Config(shadow=SHADOW, statistic="max_confidence", misclassified="keep"), 0.52),
    ("score_based", ScoreBasedAttack.Config(shadow=ShadowConfig(arch=TOY_ARCH, train=TrainConfig(
        epochs=20, min_steps=300), size=100)), 0.65),
])
def test_attacks_score_members_higher_on_an_overfit_target(overfit_target, toy_store, name, config, low):
    assert overfit_target.metrics["train_accuracy"] > 0.95 > 0.5 > overfit_target.metrics["test_accuracy"]
    result = run_attack(overfit_target, name, config, CandidateConfig(), toy_store, n_boot=200)
    assert len(result.scores) == 100 and not np.isnan(result.scores).any()
    assert low < result.metrics["auc"] <= 1.0
    assert result.cost["queries_per_candidate"] <= 1.0


def test_attack_costs_are_measured(overfit_target, toy_store):
    transfer = run_attack(overfit_target, "transfer", TransferAttack.Config(shadow=SHADOW), CandidateConfig(),
                          toy_store, n_boot=10)
    assert transfer.cost["shadow_queries"] == len(overfit_target.splits.shadow)
    assert transfer.cost["queries_per_candidate"] == 1.0
    keep = run_attack(overfit_target, "transfer", TransferAttack.Config(shadow=SHADOW, misclassified="keep"),
                      CandidateConfig(), toy_store, n_boot=10)
    assert keep.cost["queries_per_candidate"] == 0.0


def test_attack_results_are_deterministic(overfit_target, tmp_path):
    from leakage.store import Store

    config = TransferAttack.Config(shadow=SHADOW)
    a = run_attack(overfit_target, "transfer", config, CandidateConfig(), Store(tmp_path / "a"), n_boot=10)
    b = run_attack(overfit_target, "transfer", config, CandidateConfig(), Store(tmp_path / "b"), n_boot=10)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.indices, b.indices)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_oracles_refuse_non_finite_queries_before_answering_or_charging(value):
    model = TargetCNN((1, 8, 8), 5)
    x = torch.rand(3, 1, 8, 8)
    x[1, 0, 2, 3] = value
    labels = LabelOnlyOracle(model, num_owners=3, budget=10)
    posteriors = PosteriorOracle(model, num_owners=3)
    with pytest.raises(ValueError, match=r"x: 1 value\(s\) are NaN or infinite \(the first at flat index 83\)"):
        labels.labels(x, owner=torch.arange(3))
    with pytest.raises(ValueError, match="x: 1 value"):
        posteriors.posteriors(x, owner=torch.arange(3))
    for oracle in (labels, posteriors):
        assert oracle.queries == 0 and oracle.per_owner.tolist() == [0, 0, 0]


def test_every_attack_gets_its_input_through_a_checked_context(overfit_target, toy_store):
    """A NaN candidate (or D_shadow image) cannot reach any attack: the context refuses it, naming the field."""
    indices, _ = candidates_of(overfit_target, CandidateConfig(max_per_side=5))
    good = attack_context(overfit_target, indices, toy_store)
    fields = {k: getattr(good, k) for k in ("oracle", "candidates", "candidate_labels", "shadow_x", "shadow_y",
                                            "num_classes", "seed", "store", "target_key", "data_key")}
    for name in ("candidates", "shadow_x"):
        for value, match in ((math.nan, "NaN or infinite"), (math.inf, "NaN or infinite"), (1.5, r"in \[0, 1\]")):
            bad = fields[name].clone()
            bad[0, 0, 0, 0] = value
            with pytest.raises(ValueError, match=f"{name}.*{match}"):
                AttackContext(**{**fields, name: bad})
    with pytest.raises(ValueError, match="candidate_labels must be an int64"):
        AttackContext(**{**fields, "candidate_labels": fields["candidate_labels"].float()})
    with pytest.raises(ValueError, match=r"shadow_y must lie in \[0, 10\)"):
        AttackContext(**{**fields, "shadow_y": fields["shadow_y"] + 10})
    # a context changed after it was checked still cannot score a NaN: the oracles (and the shadow statistics)
    # refuse it inside every attack
    bad = good.candidates.clone()
    bad[0, 0, 0, 0] = math.nan
    small = ShadowConfig(arch=TOY_ARCH, train=TrainConfig(epochs=20, min_steps=300), size=100)
    for name, config in (("baseline", None), ("transfer", TransferAttack.Config(shadow=SHADOW)),
                         ("score_based", ScoreBasedAttack.Config(shadow=small))):
        context = attack_context(overfit_target, indices, toy_store, with_posteriors=name == "score_based")
        context.candidates = bad
        with pytest.raises(ValueError, match="NaN"):
            get_attack(name)(config).run(context)
    with pytest.raises(ValueError, match="logits"):
        posterior_statistics(torch.tensor([[0.0, math.nan]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="posteriors"):
        top_k_features(torch.tensor([[0.5, math.nan]]), 1)
