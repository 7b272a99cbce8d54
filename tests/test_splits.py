"""Table 7 splits: sizes, disjointness, nesting, determinism, clear errors."""

import numpy as np
import pytest

from scipy import stats

from leakage.data import vision as vision_data
from leakage.data.splits import TABLE7, SplitConfig, make_splits, membership_candidates, random_subset, table7_sizes
from leakage.experiments.targets import TargetConfig, defender_reference


def test_paper_sizes_at_scale_one():
    train, test, shadow = table7_sizes("cifar10", 1.0)
    assert train == (3000, 2000, 1500, 1000, 500, 100) and test == 1000 and shadow == 46000
    assert table7_sizes("lfw", 1.0)[0] == TABLE7["lfw"]["train"]


def test_scaled_sizes_keep_the_ratios():
    train, test, _ = table7_sizes("fashion-mnist", 0.1)
    assert train == (300, 200, 150, 100, 50, 10) and test == 100


@pytest.mark.parametrize("dataset,n", [("digits", 1797), ("cifar100", 60000), ("lfw", 1867)])
def test_parts_are_disjoint_nested_and_sized(dataset, n):
    scale = 0.1 if dataset == "digits" else 1.0
    splits = make_splits(SplitConfig(dataset, scale, seed=3), n)
    train_sizes, test_size, shadow_size = table7_sizes(dataset, scale)
    assert tuple(map(len, splits.train)) == train_sizes and len(splits.test) == test_size
    assert len(splits.shadow) == min(shadow_size, n - max(train_sizes) - test_size)
    pool = splits.train[0]
    assert not set(pool) & set(splits.test) and not set(pool) & set(splits.shadow)
    assert not set(splits.test) & set(splits.shadow)
    for larger, smaller in zip(splits.train, splits.train[1:]):
        assert set(smaller) <= set(larger)
    assert all(0 <= i < n for part in splits.as_arrays().values() for i in part)


def test_same_seed_same_split_other_seed_other_split():
    a, b = make_splits(SplitConfig("digits", 0.1, 0), 1797), make_splits(SplitConfig("digits", 0.1, 0), 1797)
    c = make_splits(SplitConfig("digits", 0.1, 1), 1797)
    for k, v in a.as_arrays().items():
        np.testing.assert_array_equal(v, b.as_arrays()[k])
    assert not np.array_equal(a.test, c.test)


def test_too_small_data_set_and_bad_names_are_clear_errors():
    with pytest.raises(ValueError, match="lower the profile's scale"):
        make_splits(SplitConfig("digits", 1.0, 0), 1797)
    with pytest.raises(ValueError, match="no Table 7 column"):
        table7_sizes("imagenet", 1.0)
    with pytest.raises(ValueError, match="positive"):
        table7_sizes("digits", 0.0)


def test_candidates_are_balanced_and_never_drop_anyone_silently():
    members, non_members = np.arange(0, 50), np.arange(100, 130)
    idx, is_member = membership_candidates(members, non_members, seed=0)
    assert len(idx) == 60 and is_member.sum() == 30
    assert set(idx[is_member]) <= set(members) and set(idx[~is_member]) <= set(non_members)
    assert len(set(idx)) == len(idx)
    idx2, _ = membership_candidates(members, non_members, seed=0)
    np.testing.assert_array_equal(idx, idx2)
    assert len(membership_candidates(members, non_members, seed=0, max_per_side=10)[0]) == 20
    with pytest.raises(ValueError):
        membership_candidates(members, np.array([], dtype=int), seed=0)


# ------------------------------------------------------------------ random subsets are random, whatever the order


def _grouped_lfw_labels() -> np.ndarray:
    """1,867 labels of 19 classes stored grouped by class, one class far larger than the rest (LFW's shape)."""
    sizes = np.array([530, 236, 144, 121, 109, 77, 71, 60, 55, 53, 52, 48, 44, 42, 41, 41, 39, 36, 0])
    sizes[-1] = 1867 - sizes.sum()
    return np.repeat(np.arange(19), sizes)


def _class_mix_matches(subset: np.ndarray, source: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(chi-square p-value of the subset's class counts against the source's proportions, max |difference|)."""
    classes = np.unique(labels[source])
    expected = np.array([(labels[source] == c).mean() for c in classes])
    observed = np.array([(labels[subset] == c).sum() for c in classes])
    p_value = stats.chisquare(observed, expected * len(subset)).pvalue
    return float(p_value), float(np.abs(observed / len(subset) - expected).max())


def test_random_subset_is_seeded_distinct_and_drawn_from_the_pool():
    pool = np.arange(100, 300)
    a, b = random_subset(pool, 50, 0, "x"), random_subset(pool, 50, 0, "x")
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) == 50 and set(a) <= set(pool) and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, random_subset(pool, 50, 0, "y")) and not np.array_equal(a, random_subset(pool, 50, 1, "x"))
    assert len(random_subset(pool, 200, 0)) == 200 and len(random_subset(pool, 0, 0)) == 0
    with pytest.raises(ValueError, match="pool of at least"):
        random_subset(pool, 201, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_defenders_reference_set_has_the_class_mix_of_d_shadow(seed):
    """LFW is stored grouped by person; the reference set used to be the top-index tail of the sorted D_shadow
    (at seed 0, M-2's held 5 of the 19 people). It must be a random sample of D_shadow's class mix."""
    labels = _grouped_lfw_labels()
    split = SplitConfig("lfw", 1.0, seed)
    splits = make_splits(split, len(labels))
    for index in range(6):
        config = TargetConfig(split=split, model_index=index, seed=seed)
        reference = defender_reference(config, splits)
        n = len(splits.train[index])
        assert len(reference) == n and set(reference) <= set(splits.shadow)
        np.testing.assert_array_equal(reference, defender_reference(config, splits))  # reproducible
        p_value, worst = _class_mix_matches(reference, splits.shadow, labels)
        assert p_value > 1e-3 and worst < 5 * np.sqrt(0.25 / n)
        assert 0 in labels[reference]  # the largest class (the tail never held it)
    tail = splits.shadow[-len(splits.train[2]):]  # what it was: a handful of people
    assert _class_mix_matches(tail, splits.shadow, labels)[0] < 1e-10


def test_every_random_part_of_a_split_has_the_class_mix_of_the_data_set():
    labels = _grouped_lfw_labels()
    everything = np.arange(len(labels))
    splits = make_splits(SplitConfig("lfw", 1.0, 0), len(labels))
    for part in (*splits.train, splits.test, splits.shadow):
        p_value, _ = _class_mix_matches(part, everything, labels)
        assert p_value > 1e-3
    indices, is_member = membership_candidates(splits.train[0], splits.test, seed=0)
    for side in (indices[is_member], indices[~is_member]):
        assert _class_mix_matches(side, everything, labels)[0] > 1e-3


def test_every_artefact_of_a_split_is_keyed_by_the_content_of_its_data(monkeypatch):
    import torch

    from leakage.config import config_hash
    from leakage.data.vision import VisionData
    from leakage.experiments import targets

    x = torch.zeros(20, 1, 8, 8, dtype=torch.uint8)
    y = torch.arange(20) % 10
    monkeypatch.setattr(vision_data, "cached_data", lambda name: VisionData("digits", x, y, tuple("0123456789"), "a"))
    config = targets.TargetConfig(split=SplitConfig("digits", 0.1, 0))
    before = config_hash("target", config)
    assert config_hash("target", config) == before
    monkeypatch.setattr(vision_data, "cached_data", lambda name: VisionData("digits", x, y.flip(0), tuple("0123456789"), "b"))
    assert config_hash("target", config) != before  # same name, same path: other labels
