"""The four VP sets: target members / non-members and shadow members / non-members, group-disjoint and balanced.

Whole test cases (groups) are dealt to the four sets, so near-copies of a function (its other flow
variants) never straddle members and non-members, nor target and shadow. Each set then draws
``per_set / 2`` vulnerable and ``per_set / 2`` non-vulnerable functions from its groups, so every set
is balanced on the vulnerable class and members and non-members come in equal numbers. Functions
drawn into no set form the ``public`` pool (the tokenizer is trained there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.config import doc_field
from leakage.seed import numpy_rng

SET_NAMES: tuple[str, ...] = ("target_in", "target_out", "shadow_in", "shadow_out")


@dataclass(frozen=True)
class VPSplitConfig:
    """Sizes and seed of the four sets."""

    per_set: int = doc_field(1000, "functions in each of the four sets (half of them vulnerable)")
    seed: int = doc_field(0, "seed of the dealing of groups to sets and of the draw within each set")


@dataclass(frozen=True, eq=False)
class VPSplits:
    """Index arrays (sorted) into the corpus: the four sets, and ``public`` (everything else)."""

    target_in: np.ndarray
    target_out: np.ndarray
    shadow_in: np.ndarray
    shadow_out: np.ndarray
    public: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in (*SET_NAMES, "public"):
            raise KeyError(f"no set {name!r}; sets are {', '.join(SET_NAMES)}, public")
        return getattr(self, name)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """``{"split_target_in": ..., ...}`` for saving with a run."""
        return {f"split_{name}": self[name] for name in (*SET_NAMES, "public")}


def make_vp_splits(labels: np.ndarray, groups: np.ndarray, config: VPSplitConfig) -> VPSplits:
    """Deal groups to the four sets (greedily by size, in a seeded random order), then draw balanced sets.

    ``labels`` (N,) 0/1 and ``groups`` (N,) hashable group names. Raises ValueError when a set's groups
    hold fewer than ``per_set / 2`` functions of a class.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if labels.shape != groups.shape or labels.ndim != 1:
        raise ValueError(f"labels and groups must be 1-D of equal length, got {labels.shape} and {groups.shape}")
    if config.per_set < 2 or config.per_set % 2:
        raise ValueError(f"per_set must be an even number of at least 2 (half vulnerable), got {config.per_set}")
    names, group_index = np.unique(groups.astype(str), return_inverse=True)
    if len(names) < len(SET_NAMES):
        raise ValueError(f"need at least {len(SET_NAMES)} groups (test cases) to make group-disjoint sets, "
                         f"got {len(names)}")
    rng = numpy_rng(config.seed, "vp-splits")
    counts = np.zeros((len(names), 2), dtype=np.int64)
    np.add.at(counts, (group_index, labels.astype(np.int64)), 1)
    need = config.per_set // 2
    filled = np.zeros((len(SET_NAMES), 2), dtype=np.int64)
    set_of_group = np.empty(len(names), dtype=np.int64)
    for g in rng.permutation(len(names)):  # each group to the set that is furthest from full
        deficit = np.maximum(need - filled, 0).sum(1)
        chosen = int(np.argmax(deficit)) if deficit.any() else int(np.argmin(filled.sum(1)))
        set_of_group[g] = chosen
        filled[chosen] += counts[g]
    set_of_sample = set_of_group[group_index]
    sets = {}
    for s, name in enumerate(SET_NAMES):
        draw = []
        for label in (0, 1):
            pool = np.flatnonzero((set_of_sample == s) & (labels == label))
            if len(pool) < need:
                raise ValueError(f"set {name} has only {len(pool)} functions of class {label} in its groups, "
                                 f"needs {need}; lower per_set (now {config.per_set}) or use more of the corpus")
            draw.append(rng.choice(pool, need, replace=False))
        sets[name] = np.sort(np.concatenate(draw))
    used = np.zeros(len(labels), dtype=bool)
    for index in sets.values():
        used[index] = True
    return VPSplits(**sets, public=np.flatnonzero(~used))
