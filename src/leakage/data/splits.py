"""Li & Zhang's Table 7 splits: per dataset, D_train of targets M-0..M-5, a shared D_test, and D_shadow.

All three are disjoint. The six D_train are nested (M-5's is the first 100 of M-0's 3,000, say),
so the targets differ only in how much data they saw. Sizes are the paper's times a profile's
``scale``; D_shadow is cut to what the data set has left. Everything is drawn from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.config import doc_field
from leakage.data import vision
from leakage.seed import numpy_rng

NUM_TARGETS = 6

# Paper, Table 7: D_train sizes of M-0..M-5, D_test size, D_shadow size.
TABLE7: dict[str, dict[str, tuple[int, ...] | int]] = {
    "cifar10": {"train": (3000, 2000, 1500, 1000, 500, 100), "test": 1000, "shadow": 46000},
    "cifar100": {"train": (7000, 6000, 5000, 4000, 3000, 2000), "test": 1000, "shadow": 42000},
    "gtsrb": {"train": (600, 500, 400, 300, 200, 100), "test": 500, "shadow": 38109},
    "lfw": {"train": (350, 300, 250, 200, 150, 100), "test": 100, "shadow": 1417},
}

# Which Table 7 column each data set follows (10-class sets follow CIFAR-10's).
TABLE7_COLUMN = {
    "digits": "cifar10", "mnist": "cifar10", "fashion-mnist": "cifar10",
    "cifar10": "cifar10", "cifar100": "cifar100", "gtsrb": "gtsrb", "lfw": "lfw",
}


@dataclass(frozen=True)
class SplitConfig:
    """How one data set is cut into target and shadow parts."""

    dataset: str = doc_field("digits", "data set name (see leakage.data.vision.VISION_DATASETS)")
    scale: float = doc_field(1.0, "multiplier on every Table 7 size (1.0 = the paper's sizes)")
    seed: int = doc_field(0, "seed of the random assignment of samples to parts")

    def input_digests(self) -> dict[str, str]:
        """The content digest of the data set as loaded (:attr:`VisionData.digest`): every artefact computed
        from this split (targets, shadows, attacks) is keyed by the data it read, not by its name."""
        return {"dataset": vision.cached_data(self.dataset).digest}  # the one loader (tests substitute it)


@dataclass(frozen=True)
class Splits:
    """Index arrays into the data set: ``train[i]`` is D_train of M-i (nested), then D_test and D_shadow."""

    train: tuple[np.ndarray, ...]
    test: np.ndarray
    shadow: np.ndarray

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for saving with a run: ``train_0``..``train_5``, ``test``, ``shadow``."""
        out = {f"train_{i}": t for i, t in enumerate(self.train)}
        return {**out, "test": self.test, "shadow": self.shadow}


def table7_sizes(dataset: str, scale: float) -> tuple[tuple[int, ...], int, int]:
    """(D_train sizes of M-0..M-5, D_test size, wanted D_shadow size) for ``dataset`` at ``scale``."""
    if dataset not in TABLE7_COLUMN:
        raise ValueError(f"no Table 7 column for data set {dataset!r}; known: {sorted(TABLE7_COLUMN)}")
    if not scale > 0:
        raise ValueError(f"split scale must be positive, got {scale}")
    column = TABLE7[TABLE7_COLUMN[dataset]]
    train = tuple(max(2, round(n * scale)) for n in column["train"])  # type: ignore[union-attr]
    return train, max(2, round(column["test"] * scale)), max(2, round(column["shadow"] * scale))  # type: ignore[operator]


def make_splits(config: SplitConfig, num_samples: int) -> Splits:
    """Disjoint D_train (nested over M-0..M-5), D_test and D_shadow for a data set of ``num_samples``."""
    train_sizes, test_size, shadow_size = table7_sizes(config.dataset, config.scale)
    needed = max(train_sizes) + test_size
    if num_samples < needed + 2:
        raise ValueError(
            f"{config.dataset} has {num_samples} samples, but scale {config.scale} needs {needed} for "
            f"D_train of M-0 and D_test plus a shadow set; lower the profile's scale")
    order = numpy_rng(config.seed, "splits", config.dataset).permutation(num_samples)
    pool, test = order[:max(train_sizes)], order[max(train_sizes):needed]
    shadow = order[needed:needed + shadow_size]
    return Splits(train=tuple(np.sort(pool[:n]) for n in train_sizes), test=np.sort(test), shadow=np.sort(shadow))


def random_subset(pool: np.ndarray, size: int, seed: int, *labels: object) -> np.ndarray:
    """``size`` distinct entries of ``pool`` (n,), drawn uniformly: the first ``size`` of a seeded permutation.

    The draw comes from ``numpy_rng(seed, "subset", *labels)``, so each named use gets its own stream.
    Returned sorted, like every index array of a split, so the result is a *set*: to take a smaller random
    part of it, call this function again (never slice ``[:n]`` or ``[-n:]`` a sorted pool: on a data set
    stored grouped by class, such as LFW, a slice holds a few classes only). Raises ``ValueError`` when
    ``size`` is negative or larger than the pool.
    """
    pool = np.asarray(pool)
    if pool.ndim != 1:
        raise ValueError(f"pool must be a 1-D index array, got shape {pool.shape}")
    if not 0 <= size <= len(pool):
        raise ValueError(f"a random subset of {size} needs a pool of at least that many, got {len(pool)}")
    chosen = numpy_rng(seed, "subset", *labels).permutation(len(pool))[:size]
    return np.sort(pool[chosen])


def membership_candidates(members: np.ndarray, non_members: np.ndarray, seed: int,
                          max_per_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Equal numbers of members and non-members, as (indices (2n,), is_member (2n,) bool).

    n = min(len(members), len(non_members), max_per_side); both sides are sampled from the seed.
    """
    n = min(len(members), len(non_members), max_per_side or len(members))
    if n == 0:
        raise ValueError("membership evaluation needs at least one member and one non-member")
    rng = numpy_rng(seed, "candidates", n)
    chosen = np.concatenate([rng.choice(members, n, replace=False), rng.choice(non_members, n, replace=False)])
    return chosen, np.repeat([True, False], n)
