"""VP splits: whole test cases per set, balanced classes, equal member / non-member sizes, seeded."""

import numpy as np
import pytest

from leakage.vp.splits import SET_NAMES, VPSplitConfig, make_vp_splits


def toy_corpus(groups: int = 60, per_group: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = np.repeat([f"CWE1_case{i}" for i in range(groups)], per_group).astype(object)
    label = (rng.random(len(group)) < 0.4).astype(np.int64)
    return label, group


def test_sets_are_group_disjoint_balanced_and_equal_sized():
    label, group = toy_corpus()
    splits = make_vp_splits(label, group, VPSplitConfig(per_set=40, seed=3))
    seen_groups = []
    for name in SET_NAMES:
        index = splits[name]
        assert len(index) == 40 and label[index].sum() == 20  # half vulnerable
        seen_groups.append(set(group[index]))
    for i in range(4):
        for j in range(i + 1, 4):
            assert not seen_groups[i] & seen_groups[j], (SET_NAMES[i], SET_NAMES[j])
    everything = np.concatenate([splits[n] for n in (*SET_NAMES, "public")])
    assert np.array_equal(np.sort(everything), np.arange(len(label)))  # a partition


def test_splits_follow_the_seed():
    label, group = toy_corpus()
    a = make_vp_splits(label, group, VPSplitConfig(per_set=40, seed=1))
    b = make_vp_splits(label, group, VPSplitConfig(per_set=40, seed=1))
    c = make_vp_splits(label, group, VPSplitConfig(per_set=40, seed=2))
    assert all(np.array_equal(a[n], b[n]) for n in SET_NAMES)
    assert not all(np.array_equal(a[n], c[n]) for n in SET_NAMES)


def test_impossible_sizes_are_clear_errors():
    label, group = toy_corpus(groups=8, per_group=4)
    with pytest.raises(ValueError, match="lower per_set"):
        make_vp_splits(label, group, VPSplitConfig(per_set=40))
    with pytest.raises(ValueError, match="even"):
        make_vp_splits(label, group, VPSplitConfig(per_set=7))
    with pytest.raises(ValueError, match="at least 4 groups"):
        make_vp_splits(label[:6], np.array(["a", "a", "b", "b", "c", "c"]), VPSplitConfig(per_set=2))
