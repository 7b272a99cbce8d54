"""The label-only data-augmentation and random-noise attacks (Choquette-Choo et al., ICML 2021, Sec. 4) on
nearest-neighbour toy targets that label correctly only near the points they memorised: exact query counts
through the oracle, the budget, the member-high sign, seeds, the augmentation set, config errors."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from leakage.api import EXTRAS, attack_classifier
from leakage.attacks import AttackContext, LabelOnlyOracle, QueryBudgetExceeded, make_attack
from leakage.attacks.augmentation import AugmentationAttack, augment, augmentation_set, checkpoint_scores
from leakage.attacks.noise import NOISE_BLOCK, NoiseAttack
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.store import Store

K = 10


class NearestNeighbour(nn.Module):
    """1-NN over memorised points: logit of class k = minus the distance to the nearest point of class k."""

    def __init__(self, points: torch.Tensor, labels: torch.Tensor):
        super().__init__()
        self.points = nn.Parameter(points.flatten(1).clone(), requires_grad=False)
        self.register_buffer("labels", labels.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(x.flatten(1), self.points, compute_mode="donot_use_mm_for_euclid_dist")
        same = self.labels[None, None, :] == torch.arange(K)[None, :, None]
        return -torch.where(same, d[:, None, :], torch.inf).amin(2)


class Constant(nn.Module):
    """Labels every input with class ``label``."""

    def __init__(self, label: int):
        super().__init__()
        self.logits = nn.Parameter(torch.nn.functional.one_hot(torch.tensor(label), K).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), K)


def toy(n: int = 160, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n images 1 x 8 x 8 in [0, 1] of K overlapping classes (smooth class means + pixel noise), balanced."""
    gen = torch.Generator().manual_seed(seed)
    means = nn.functional.interpolate(torch.rand(K, 1, 3, 3, generator=gen), size=(8, 8), mode="bilinear",
                                      align_corners=True)
    y = torch.arange(n) % K
    return (means[y] + 0.3 * torch.randn(n, 1, 8, 8, generator=gen)).clamp(0, 1), y


X, Y = toy()
MEMBERS = slice(0, 80)  # the first half is memorised, the second is not
IS_MEMBER = np.r_[np.ones(80, bool), np.zeros(80, bool)]


def context(model: nn.Module, x: torch.Tensor = X, y: torch.Tensor = Y, budget: int | None = None,
            owners: int | None = None) -> AttackContext:
    oracle = LabelOnlyOracle(model, num_owners=len(x) if owners is None else owners, budget=budget)
    return AttackContext(oracle=oracle, candidates=x, candidate_labels=y, shadow_x=x[:0], shadow_y=y[:0],
                         num_classes=K, seed=3, store=Store("/nonexistent-never-written"), target_key="toy",
                         data_key=None)


def memorised_with_augmentations(config: AugmentationAttack.Config) -> NearestNeighbour:
    """A target 'trained with augmentation': 1-NN over every augmentation of the member images."""
    table = torch.as_tensor(config.augmentations)
    n, a = len(X[MEMBERS]), len(table)
    rows = table.repeat(n, 1)
    points = augment(X[MEMBERS].repeat_interleave(a, 0), rows[:, 0].bool(), rows[:, 1], rows[:, 2], config.padding)
    return NearestNeighbour(points, Y[MEMBERS].repeat_interleave(a))


PLAIN = NearestNeighbour(X[MEMBERS], Y[MEMBERS])


# ------------------------------------------------------------------ the augmentation set


@pytest.mark.parametrize("shift,flip,translations,count", [
    (0, False, "ring", 1), (0, True, "ring", 2), (1, False, "ring", 5), (1, True, "ring", 10),
    (2, True, "ring", 18), (3, False, "ring", 13), (1, True, "square", 18), (2, False, "square", 25)])
def test_the_augmentation_set_is_as_documented(shift, flip, translations, count):
    table = augmentation_set(shift, flip, translations)
    assert table.shape == (count, 3) and table.dtype == np.int64
    assert table[0].tolist() == [0, 0, 0]  # the candidate itself is the first query
    if flip:
        assert table[1].tolist() == [1, 0, 0]
        assert (table[:, 0] == 1).sum() == count // 2  # every translation also of the flip
    assert len({tuple(r) for r in table}) == count  # no augmentation twice
    moved = table[(table[:, 1] != 0) | (table[:, 2] != 0)]
    if translations == "ring":
        assert (np.abs(moved[:, 1]) + np.abs(moved[:, 2]) == shift).all()
    else:
        assert (np.maximum(np.abs(moved[:, 1]), np.abs(moved[:, 2])) <= shift).all()
    assert (table[:, 0][len(table) // 2 + 1:] == flip).all() if flip else True  # flipped translations last
    config = AugmentationAttack.Config(shift=shift, flip=flip, translations=translations)
    assert config.budget == count and np.array_equal(config.augmentations, table)
    capped = AugmentationAttack.Config(shift=shift, flip=flip, translations=translations, max_queries=3)
    assert capped.budget == min(3, count) and np.array_equal(capped.augmentations, table[:min(3, count)])


def test_flip_is_an_involution_and_translations_move_pixels_as_documented():
    x = torch.rand(4, 3, 6, 7)
    yes, zero = torch.ones(4, dtype=torch.bool), torch.zeros(4, dtype=torch.long)
    for padding in ("reflect", "zeros", "edge"):
        flipped = augment(x, yes, zero, zero, padding)
        assert torch.equal(flipped, x.flip(-1)) and torch.equal(augment(flipped, yes, zero, zero, padding), x)
        assert torch.equal(augment(x, ~yes, zero, zero, padding), x)  # (0, 0, 0) is the identity
    dot = torch.zeros(1, 1, 6, 7)
    dot[0, 0, 2, 3] = 1.0
    one = torch.ones(1, dtype=torch.long)
    moved = augment(dot, torch.tensor([False]), one, -one, "zeros")  # one down, one left
    assert moved[0, 0].nonzero().tolist() == [[3, 2]]
    moved = augment(dot, torch.tensor([True]), one, -one, "zeros")  # flip first: column 3 -> 7 - 1 - 3 = 3
    assert moved[0, 0].nonzero().tolist() == [[3, 2]]
    dot[0, 0, 2, 3], dot[0, 0, 2, 1] = 0.0, 1.0
    assert augment(dot, torch.tensor([True]), 0 * one, 0 * one, "zeros")[0, 0].nonzero().tolist() == [[2, 5]]
    two = 2 * torch.ones(4, dtype=torch.long)
    there = augment(x, ~yes, two, -two, "zeros")
    back = augment(there, ~yes, -two, two, "zeros")
    assert torch.equal(back[..., :4, 2:], x[..., :4, 2:]) and (back[..., 4:, :] == 0).all()
    assert torch.equal(there[..., 2:, :5], x[..., :4, 2:]) and (there[..., :2, :] == 0).all()
    edge = augment(x, ~yes, two, -two, "edge")
    assert torch.equal(edge[..., :2, :], x[..., :1, :].expand(4, 3, 2, 7)[..., :, [2, 3, 4, 5, 6, 6, 6]])
    reflected = augment(x, ~yes, one.expand(4), zero, "reflect")
    assert torch.equal(reflected[..., 0, :], x[..., 1, :]) and torch.equal(reflected[..., 1:, :], x[..., :5, :])
    flat = torch.full((2, 3, 6, 7), 0.4)  # nothing to move: every augmentation keeps it (but zero padding)
    for padding in ("reflect", "edge"):
        for flip, dy, dx in augmentation_set(2, True, "square"):
            out = augment(flat, torch.tensor([bool(flip)] * 2), torch.tensor([dy] * 2), torch.tensor([dx] * 2), padding)
            assert torch.equal(out, flat)
    with pytest.raises(ValueError, match="smaller than the image"):
        augment(x, ~yes, 6 * one.expand(4), zero, "zeros")
    with pytest.raises(ValueError, match="padding must be one of"):
        augment(x, ~yes, zero, zero, "wrap")
    with pytest.raises(ValueError, match="one entry per image"):
        augment(x, ~yes[:2], zero, zero, "zeros")


# ------------------------------------------------------------------ queries, budget


@pytest.mark.parametrize("attack", [
    AugmentationAttack(AugmentationAttack.Config(shift=2, chunk_size=7)),
    AugmentationAttack(AugmentationAttack.Config(shift=1, flip=False, translations="square", max_queries=6)),
    NoiseAttack(NoiseAttack.Config(n_queries=13, sigma=0.1, chunk_size=50)),
    NoiseAttack(NoiseAttack.Config(n_queries=1, sigma=0.1))])
def test_query_counts_are_exact_through_the_oracle(attack):
    ctx = context(PLAIN, budget=attack.config.budget)  # the exact budget is enough
    calls = []
    answer = ctx.oracle.labels
    ctx.oracle.labels = lambda x, owner=None: calls.append(len(x)) or answer(x, owner=owner)
    out = attack.run(ctx)
    per = attack.config.budget
    if isinstance(attack, AugmentationAttack):
        assert per == len(attack.config.augmentations)  # 1 + the augmentations used
    else:
        assert per == attack.config.n_queries
    n = len(X)
    assert ctx.oracle.queries == n * per and ctx.oracle.per_owner.tolist() == [per] * n
    assert calls == [min(attack.config.chunk_size, n * per - s) for s in range(0, n * per, attack.config.chunk_size)]
    assert out.cost["total_queries"] == n * per
    assert out.cost["queries_per_candidate"] == out.cost["max_queries_per_candidate"] == per
    assert out.extras["queries"].tolist() == [per] * n
    assert out.scores.shape == (n,) and ((0 <= out.scores) & (out.scores <= 1)).all()
    np.testing.assert_allclose(out.scores * per, out.extras["correct"])
    assert out.extras["checkpoint_score"].shape == (n, len(out.extras["checkpoints"]))
    np.testing.assert_allclose(out.extras["checkpoint_score"][:, -1], out.scores)  # the last checkpoint: all
    if "agree" in out.extras:
        assert out.extras["agree"].shape == (n, per)
        assert out.extras["checkpoints"].tolist() == list(range(1, per + 1))


@pytest.mark.parametrize("attack", [AugmentationAttack(), NoiseAttack(NoiseAttack.Config(n_queries=20))])
def test_a_budget_smaller_than_needed_is_refused_before_any_query(attack):
    ctx = context(PLAIN, budget=attack.config.budget - 1)
    with pytest.raises(QueryBudgetExceeded, match=f"needs {attack.config.budget} label queries per candidate.*"
                                                  "nothing was queried"):
        attack.run(ctx)
    assert ctx.oracle.queries == 0 and int(ctx.oracle.per_owner.sum()) == 0
    spent = context(PLAIN, budget=attack.config.budget)  # enough, but a candidate already spent one
    spent.oracle.labels(X[:1], owner=torch.tensor([5]))
    with pytest.raises(QueryBudgetExceeded, match="candidate 5 has"):
        attack.run(spent)
    with pytest.raises(ValueError, match="num_owners=160"):
        attack.run(context(PLAIN, owners=0))


# ------------------------------------------------------------------ the signal


def test_members_score_higher_on_targets_that_memorised_them():
    config = AugmentationAttack.Config(shift=1, flip=True)
    augmented = AugmentationAttack(config).run(context(memorised_with_augmentations(config)))
    assert (augmented.scores[IS_MEMBER] == 1).all()  # every augmentation of a member was memorised
    assert roc_auc_score(IS_MEMBER, augmented.scores) > 0.8
    assert roc_auc_score(IS_MEMBER, AugmentationAttack(config).run(context(PLAIN)).scores) > 0.55
    noisy = NoiseAttack(NoiseAttack.Config(n_queries=50, sigma=0.2)).run(context(PLAIN))
    assert roc_auc_score(IS_MEMBER, noisy.scores) > 0.8
    checkpoints = noisy.extras["checkpoints"].tolist()
    auc = [roc_auc_score(IS_MEMBER, s) for s in noisy.extras["checkpoint_score"].T]
    assert checkpoints == [0, 1, 10, 50] and auc[0] == 0.5 and auc[-1] > auc[1]  # more queries, more signal


def test_a_candidate_whose_copies_all_keep_the_label_gets_the_top_score():
    for attack in (AugmentationAttack(AugmentationAttack.Config(shift=2, translations="square")),
                   NoiseAttack(NoiseAttack.Config(n_queries=30, sigma=0.5))):
        out = attack.run(context(Constant(3)))
        np.testing.assert_array_equal(out.scores, (Y == 3).double().numpy())  # 1 = the top score, 0 the bottom
        assert out.scores.max() == 1.0 and (out.extras["correct"][Y.numpy() == 3] == attack.config.budget).all()


# ------------------------------------------------------------------ seeds


def test_the_noise_attack_is_reproducible_from_its_seeds_whatever_the_chunk_size():
    config = NoiseAttack.Config(n_queries=150, sigma=0.3, seed=1, chunk_size=4096)
    run = NoiseAttack(config).run(context(PLAIN))
    again = NoiseAttack(NoiseAttack.Config(n_queries=150, sigma=0.3, seed=1, chunk_size=33)).run(context(PLAIN))
    np.testing.assert_array_equal(run.scores, again.scores)
    np.testing.assert_array_equal(run.extras["checkpoint_score"], again.extras["checkpoint_score"])
    other = NoiseAttack(NoiseAttack.Config(n_queries=150, sigma=0.3, seed=2)).run(context(PLAIN))
    assert not np.array_equal(run.scores, other.scores)
    for q in (10, 131):  # the first q copies are the same images, within a noise block and across three
        shorter = NoiseAttack(NoiseAttack.Config(n_queries=q, sigma=0.3, seed=1)).run(context(PLAIN))
        k = run.extras["checkpoints"].tolist().index(q)
        np.testing.assert_array_equal(shorter.scores, run.extras["checkpoint_score"][:, k])
    assert 131 > 2 * NOISE_BLOCK  # each candidate's copies span three noise blocks


def test_checkpoint_scores_are_prefix_fractions():
    agree = np.array([[1, 0, 1, 1], [0, 0, 0, 1]], dtype=bool)
    np.testing.assert_allclose(checkpoint_scores(agree, [0, 1, 3, 4]), [[0, 1, 2 / 3, 3 / 4], [0, 0, 0, 1 / 4]])
    with pytest.raises(ValueError, match="checkpoints must lie in"):
        checkpoint_scores(agree, [5])


# ------------------------------------------------------------------ configs, registry, the API


@pytest.mark.parametrize("build,match", [
    (lambda: AugmentationAttack.Config(shift=-1), "shift must be an integer >= 0"),
    (lambda: AugmentationAttack.Config(shift=1.5), "shift must be an integer"),
    (lambda: AugmentationAttack.Config(flip="yes"), "flip must be a bool"),
    (lambda: AugmentationAttack.Config(translations="circle"), "translations must be one of"),
    (lambda: AugmentationAttack.Config(padding="wrap"), "padding must be one of"),
    (lambda: AugmentationAttack.Config(max_queries=-1), "max_queries must be an integer >= 0"),
    (lambda: AugmentationAttack.Config(chunk_size=0), "chunk_size must be an integer >= 1"),
    (lambda: NoiseAttack.Config(n_queries=0), "n_queries must be an integer >= 1"),
    (lambda: NoiseAttack.Config(sigma=-0.1), "sigma must be a finite number >= 0"),
    (lambda: NoiseAttack.Config(sigma=math.nan), "sigma must be a finite number >= 0"),
    (lambda: NoiseAttack.Config(chunk_size=0), "chunk_size must be an integer >= 1"),
    (lambda: NoiseAttack.Config(checkpoints=(-1, 5)), "every checkpoint must be an integer >= 0")])
def test_bad_configs_are_refused_clearly(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_configs_say_what_they_record_and_shifts_must_fit_the_image():
    assert NoiseAttack.Config(n_queries=100).checkpoints == (0, 1, 10, 50, 100)
    assert NoiseAttack.Config(n_queries=7, checkpoints=(5, 1, 5, 20)).checkpoints == (1, 5, 7)
    with pytest.raises(ValueError, match="shift must be smaller than the images"):
        AugmentationAttack(AugmentationAttack.Config(shift=8)).run(context(PLAIN))


@pytest.mark.parametrize("name,config", [
    ("augmentation", AugmentationAttack.Config(shift=1, max_queries=7)),
    ("noise", NoiseAttack.Config(n_queries=25, sigma=0.2))])
def test_registered_and_usable_through_the_api_with_the_budget_enforced(name, config):
    attack = make_attack(name, config)
    assert attack.name == name and not attack.needs_attacker_data and not getattr(attack, "needs_posteriors", False)
    result = attack_classifier(PLAIN, (X[:8], Y[:8]), (X[80:88], Y[80:88]), name, config, n_boot=10)
    assert result.cost["max_queries_per_candidate"] == result.cost["queries_per_candidate"] == config.budget
    assert result.cost["total_queries"] == 16 * config.budget
    for key, value in result.extras.items():
        assert len(value) == (len(result.extras["checkpoints"]) if key == "checkpoints" else 16), key
    assert set(result.extras) - set(EXTRAS) <= {"correct", "agree", "checkpoint_score"}  # to document in EXTRAS


@pytest.mark.parametrize("name,config", [("augmentation", AugmentationAttack.Config()),
                                         ("noise", NoiseAttack.Config(n_queries=20, sigma=0.1))])
def test_run_attack_on_the_books_overfit_target(overfit_target, toy_store, one_thread, name, config):
    result = run_attack(overfit_target, name, config, CandidateConfig(max_per_side=20), toy_store, n_boot=10)
    assert result.scores.shape == (40,) and result.cost["max_queries_per_candidate"] == config.budget
    assert result.run.config == config and result.run.attack == name
    again = run_attack(overfit_target, name, config, CandidateConfig(max_per_side=20), toy_store, n_boot=10)
    np.testing.assert_array_equal(again.scores, result.scores)  # from the store
    if name == "noise":  # the overfit CNN keeps its members' labels under small noise
        assert result.metrics["auc"] > 0.6
