"""Table 7 splits: sizes, disjointness, nesting, determinism, clear errors."""

import numpy as np
import pytest

from leakage.data.splits import TABLE7, SplitConfig, make_splits, membership_candidates, table7_sizes


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
