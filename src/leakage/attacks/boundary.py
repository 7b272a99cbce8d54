"""Boundary attack (Li & Zhang, section 4): perturb each candidate until the target changes its
label, through label queries only; the size of the perturbation is the score (higher = member).

Decision change by HopSkipJump or QEBA (``Config.method``), batched over all candidates
(:mod:`leakage.attacks.hopskipjump`, :mod:`leakage.attacks.qeba`). A candidate the target already
misclassifies scores 0; one that cannot be flipped within the budget keeps the largest distance
searched and is flagged in ``extras["flipped"]``; none is dropped.

Also here: Algorithm 3's threshold choosing without data (:func:`random_reference`): uniform random
inputs, taken as non-members, attacked the same way; a threshold is a top-t percentile of their
perturbations (:func:`percentile_threshold`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from leakage.attacks import AttackContext, AttackOutput, LabelOnlyOracle, register
from leakage.attacks.hopskipjump import NORMS, SearchResult, SearchSettings, boundary_search
from leakage.attacks.qeba import SUBSPACES, subspace_sampler
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.seed import torch_generator
from leakage.store import Store

METHODS: tuple[str, ...] = ("hopskipjump", "qeba")
DEFAULT_CHECKPOINTS: tuple[int, ...] = (0, 1, 10, 50, 131, 250, 500, 1000, 2500, 5000, 7500, 10000, 15000)


@register("boundary")
class BoundaryAttack:
    """Score = size of the smallest label-changing perturbation found (in ``norm``); higher = member."""

    @dataclass(frozen=True)
    class Config:
        """Boundary attack settings (defaults: the authors' ART settings and the paper's HSJ budget)."""

        method: str = doc_field("hopskipjump", "decision-change scheme: 'hopskipjump' or 'qeba'")
        norm: str = doc_field("l2", "norm the search minimises and the score is measured in: 'l2' or 'linf'")
        budget: int = doc_field(15000, "label queries per candidate, the first label check included "
                                       "(paper: 15,000 HopSkipJump, 7,000 QEBA)")
        max_iter: int = doc_field(50, "boundary-walk iterations at most (authors' ART setting: 50)")
        max_eval: int = doc_field(10000, "most sign queries for one gradient estimate (authors: 10,000)")
        init_eval: int = doc_field(100, "sign queries of the first gradient estimate; iteration i uses "
                                        "init_eval*sqrt(i+1) (authors: 100)")
        init_size: int = doc_field(100, "random uniform starting points tried per candidate (ART: 100)")
        max_halvings: int = doc_field(25, "step-size halvings per iteration at most (ART: unbounded)")
        subspace: str = doc_field("resize", "QEBA's subspace: 'resize' (QEBA-S) or 'dct' (QEBA-F)")
        subspace_ratio: int = doc_field(4, "QEBA: the subspace grid is (C, H/ratio, W/ratio)")
        checkpoints: tuple[int, ...] = doc_field(DEFAULT_CHECKPOINTS, "query counts at which each candidate's "
                                                                      "best distance is recorded (Fig. 9)")
        l0_tolerance: float = doc_field(1e-6, "a pixel counts towards L0 when it moved by more than this")
        seed: int = doc_field(0, "seed of the random starts and probe directions")

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()
        c = self.config
        if c.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {c.method!r}")
        if c.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {c.norm!r}")
        if c.subspace not in SUBSPACES:
            raise ValueError(f"subspace must be one of {SUBSPACES}, got {c.subspace!r}")
        self.settings = settings_of(c)  # validates the numbers

    def search(self, oracle: LabelOnlyOracle, x: torch.Tensor, labels: torch.Tensor | None, seed: int,
               owners: torch.Tensor | None = None) -> SearchResult:
        """Attack inputs x (n, C, H, W) through ``oracle``; ``labels`` None = move away from the oracle's own label."""
        c = self.config
        generator = torch_generator(seed, "boundary", c.method, c.seed, device=x.device)
        sampler = (subspace_sampler(tuple(x.shape[1:]), c.subspace, c.subspace_ratio, c.norm, x.device)
                   if c.method == "qeba" else None)
        return boundary_search(oracle, x, self.settings, generator, labels=labels, owners=owners, sampler=sampler,
                               desc=f"{c.method} ({c.norm})")

    def run(self, ctx: AttackContext) -> AttackOutput:
        start = time.perf_counter()
        result = self.search(ctx.oracle, ctx.candidates, ctx.candidate_labels, ctx.seed,
                             owners=torch.arange(len(ctx.candidates)))
        seconds = time.perf_counter() - start
        queries = float(result.queries.sum())
        return AttackOutput(
            scores=result.norms[self.config.norm],
            cost={"shadow_queries": 0.0, "shadow_epochs": 0.0, "seconds": seconds, "model_calls": result.model_calls,
                  "queries_per_second": queries / max(seconds, 1e-9)},
            extras=extras_of(result, self.config))


def settings_of(config: BoundaryAttack.Config) -> SearchSettings:
    """The search knobs of a boundary-attack config."""
    return SearchSettings(norm=config.norm, budget=config.budget, max_iter=config.max_iter,
                          max_eval=config.max_eval, init_eval=config.init_eval, init_size=config.init_size,
                          max_halvings=config.max_halvings, checkpoints=tuple(config.checkpoints),
                          l0_tolerance=config.l0_tolerance)


def extras_of(result: SearchResult, config: BoundaryAttack.Config) -> dict[str, np.ndarray]:
    """Per-candidate by-products stored with the scores: the four norms, flips, queries and Fig. 9's record."""
    return {**result.norms, "flipped": result.flipped, "misclassified": result.misclassified,
            "queries": result.queries, "checkpoint_dist": result.checkpoint_dist,
            "checkpoints": np.asarray(config.checkpoints, dtype=np.int64)}


@dataclass(frozen=True)
class ReferenceRun:
    """Algorithm 3: uniform random inputs attacked through one target's oracle."""

    target: Any = doc_field(None, "the target's config (whose oracle answers)")
    attack: BoundaryAttack.Config = doc_field(BoundaryAttack.Config(), "the boundary attack used on them")
    num_samples: int = doc_field(100, "random inputs (paper: 100)")
    seed: int = doc_field(0, "seed of the random inputs and of the attack")


def random_reference(model: torch.nn.Module, input_shape: tuple[int, ...], run: ReferenceRun,
                     store: Store | None = None) -> dict[str, np.ndarray]:
    """Attack ``run.num_samples`` uniform random inputs of ``input_shape`` through a label-only oracle of
    ``model``, moving each away from the label the target gives it (they have no true label).

    Returns (cached in the store) the same per-sample arrays as the attack's extras ("l2", ...,
    "flipped", "queries") plus "labels", the target's labels of the random inputs.
    """
    if run.num_samples < 1:
        raise ValueError(f"Algorithm 3 needs at least one random sample, got {run.num_samples}")
    store = store or Store()
    device = next(model.parameters()).device
    attack = BoundaryAttack(run.attack)

    def compute() -> dict[str, Any]:
        generator = torch_generator(run.seed, "random-reference")
        x = torch.rand(run.num_samples, *input_shape, generator=generator).to(device)
        oracle = LabelOnlyOracle(model, num_owners=run.num_samples, budget=run.attack.budget)
        result = attack.search(oracle, x, None, run.seed)
        return {**extras_of(result, run.attack), "labels": result.labels,
                "max_queries_per_sample": int(oracle.per_owner.max())}

    return store.cached("boundary_reference", run, compute, seed=run.seed, device=describe_device(device))


def query_checkpoints(budget: int, points: int = 16, include: tuple[int, ...] = (131,)) -> tuple[int, ...]:
    """Checkpoints for Fig. 9: 0, 1, about ``points`` log-spaced counts up to ``budget``, and ``include``
    (the paper quotes AUC at 131 queries) where within the budget."""
    if budget < 1:
        raise ValueError(f"the budget must be at least 1, got {budget}")
    grid = np.geomspace(1, budget, points).round().astype(int).tolist()
    return tuple(sorted({0, 1, budget, *grid, *(c for c in include if c <= budget)}))


def percentile_threshold(reference: np.ndarray, top_percent: float) -> float:
    """Algorithm 3's threshold: the top-t percentile of the random samples' perturbations (t in [0, 100]).

    t = 0 gives the largest perturbation (flag almost nothing), t = 100 the smallest (flag almost all).
    """
    if not 0 <= top_percent <= 100:
        raise ValueError(f"the top-t percentile must be in [0, 100], got {top_percent}")
    reference = np.asarray(reference, dtype=np.float64)
    if reference.size == 0:
        raise ValueError("no reference perturbations to take a percentile of")
    return float(np.percentile(reference, 100 - top_percent))
