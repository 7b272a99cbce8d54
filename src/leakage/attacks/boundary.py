"""Boundary attack (Li & Zhang, section 4): perturb each candidate until the target changes its
label, through label queries only; the size of the perturbation is the score (higher = member).

Decision change by HopSkipJump or QEBA (``Config.method``), batched over all candidates
(:mod:`leakage.attacks.hopskipjump`, :mod:`leakage.attacks.qeba`), registered as ``"boundary"`` with the
aliases ``"hopskipjump"`` / ``"hsj"`` and ``"qeba"`` (``method='qeba'``, built by
:func:`leakage.attacks.make_attack`; ``get_attack("qeba")`` says so). A candidate the target already
misclassifies scores 0; none is dropped.

Starting points: uniform noise as in the paper, then, for candidates no noise trial flips (all of
one class when the target labels all noise as that class), blended noise and the attacker's own
images (D_shadow, ``attacker_data`` of :func:`leakage.api.attack_classifier`) that the target labels
differently, each trial a label query charged to the candidate, all planned within the budget
(:func:`leakage.attacks.hopskipjump.start_plan`). The other candidates are not used as starts, so a
candidate's score does not depend on which candidates are attacked with it.

Candidates the search cannot start (no trial changed the label within the budget) are flagged in
``extras["unstarted"]``, score :data:`~leakage.attacks.hopskipjump.UNSTARTED_SCORE` (tied, below every
distance found, above the misclassified: no membership information, see
:mod:`leakage.attacks.hopskipjump`), and :meth:`BoundaryAttack.run` warns
(:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`) with how many, why and what to change.
:func:`unflipped_by_class` tabulates, per class, how the candidates' starts were found and how many
stayed unflipped (unstarted).

Randomness: per candidate (:mod:`leakage.attacks.randomness`): a candidate's score depends on it, the
target, the config, the seed and D_shadow, not on the other candidates or their order.

Also here: Algorithm 3's threshold choosing without data (:func:`random_reference`): uniform random
inputs, taken as non-members, attacked the same way; a threshold is a top-t percentile of their
perturbations (:func:`percentile_threshold`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakage.attacks import AttackContext, AttackOutput, LabelOnlyOracle, register
from leakage.attacks.coverage import warn_not_applied
from leakage.attacks.hopskipjump import (NORMS, START_BLEND, START_MISCLASSIFIED, START_NOISE, START_NONE,
                                         START_POOL, UNSTARTED_SCORE, SearchResult, SearchSettings, boundary_search)
from leakage.attacks.qeba import SUBSPACES, subspace_sampler
from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.inputs import module_digest
from leakage.seed import derive_seed, torch_generator
from leakage.store import Store

METHODS: tuple[str, ...] = ("hopskipjump", "qeba")
#: Version of the attack's computation, part of every artefact key (a field of the config): 2 = per-candidate
#: random streams, starts planned within the budget, D_shadow only as fallback starts, unstarted candidates
#: scored UNSTARTED_SCORE (issue #27). Artefacts of an older version are never reused.
VERSION: int = 2
DEFAULT_CHECKPOINTS: tuple[int, ...] = (0, 1, 10, 50, 131, 250, 500, 1000, 2500, 5000, 7500, 10000, 15000)


@register("boundary", aliases={"hopskipjump": {"method": "hopskipjump"}, "hsj": {"method": "hopskipjump"},
                              "qeba": {"method": "qeba"}})
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
        blend_trials: int = doc_field(10, "fallback when no uniform start is adversarial: blends (1-e)x + e*noise, "
                                          "e rising to 10/11, tried per candidate (0 = none; not in ART)")
        pool_trials: int = doc_field(20, "fallback after that: the nearest other candidates / D_shadow images tried "
                                         "as starts per candidate, other labels first (0 = none; not in ART)")
        max_halvings: int = doc_field(25, "step-size halvings per iteration at most (ART: unbounded)")
        subspace: str = doc_field("resize", "QEBA's subspace: 'resize' (QEBA-S) or 'dct' (QEBA-F)")
        subspace_ratio: int = doc_field(4, "QEBA: the subspace grid is (C, H/ratio, W/ratio)")
        checkpoints: tuple[int, ...] = doc_field(DEFAULT_CHECKPOINTS, "query counts at which each candidate's "
                                                                      "best distance is recorded (Fig. 9); those "
                                                                      "above the budget become the budget")
        l0_tolerance: float = doc_field(1e-6, "a pixel counts towards L0 when it moved by more than this")
        seed: int = doc_field(0, "seed of the random starts and probe directions")
        version: int = doc_field(VERSION, "version of the attack's computation (part of every artefact key, so "
                                          "a new version never reuses older scores)")

        def __post_init__(self) -> None:
            """Drop checkpoints beyond the budget (no candidate gets there), keeping the budget itself as the
            last one when any were dropped, so the config (and its hash) says what is recorded. ``ValueError`` for
            a version other than this code's."""
            if self.version != VERSION:
                raise ValueError(f"version {self.version} asked for, but this code computes version {VERSION} of the "
                                 "boundary attack (leave version at its default)")
            kept = tuple(int(c) for c in self.checkpoints if c <= self.budget)
            if len(kept) < len(self.checkpoints) and self.budget not in kept:
                kept += (int(self.budget),)
            object.__setattr__(self, "checkpoints", kept)

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
               owners: torch.Tensor | None = None, pool: torch.Tensor | None = None,
               pool_labels: torch.Tensor | None = None) -> SearchResult:
        """Attack inputs x (n, C, H, W) through ``oracle``; ``labels`` None = move away from the oracle's own label.

        ``pool`` (m, C, H, W), ``pool_labels`` (m,): attacker-side fallback starts (see the module docstring).
        Each candidate's random numbers come from its own generator (seed, method, ``Config.seed``, its content
        and label). Unstarted candidates are flagged in the result (``unstarted``), not warned about (``run``
        warns). Raises ``ValueError`` for inputs that are not finite images in [0, 1] (:func:`boundary_search`).
        """
        c = self.config
        sampler = (subspace_sampler(tuple(x.shape[1:]), c.subspace, c.subspace_ratio, c.norm, x.device)
                   if c.method == "qeba" else None)
        return boundary_search(oracle, x, self.settings, derive_seed(seed, "boundary", c.method, c.seed),
                               labels=labels, owners=owners, sampler=sampler, pool=pool, pool_labels=pool_labels,
                               desc=f"{c.method} ({c.norm})")

    def run(self, ctx: AttackContext) -> AttackOutput:
        """Scores (n,): the ``norm`` of each candidate's smallest label-changing perturbation (higher = member;
        0 = misclassified; :data:`~leakage.attacks.hopskipjump.UNSTARTED_SCORE` = no start found, flagged in
        ``extras["unstarted"]`` and warned about with :class:`~leakage.attacks.coverage.MethodNotAppliedWarning`).
        Fallback starts come from D_shadow (``ctx.shadow_x``; none when it is empty), never from the other
        candidates, so each score depends on its candidate alone."""
        start = time.perf_counter()
        has_pool = len(ctx.shadow_x) > 0
        pool = ctx.shadow_x.to(ctx.candidates.device) if has_pool else None
        pool_labels = ctx.shadow_y.to(ctx.candidate_labels.device) if has_pool else None
        result = self.search(ctx.oracle, ctx.candidates, ctx.candidate_labels, ctx.seed,
                             owners=torch.arange(len(ctx.candidates)), pool=pool, pool_labels=pool_labels)
        warn_unstarted(result, self.config, has_pool)
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
                          l0_tolerance=config.l0_tolerance, blend_trials=config.blend_trials,
                          pool_trials=config.pool_trials)


def warn_unstarted(result: SearchResult, config: BoundaryAttack.Config, has_pool: bool | None,
                   subject: str = "candidates",
                   instead: str = f"They are flagged in extras['unstarted'] and all score UNSTARTED_SCORE "
                                  f"({UNSTARTED_SCORE:.3g}): tied, below every distance found and above the "
                                  "misclassified candidates' 0, so the failure never ranks them as members") -> None:
    """Warn (:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`) when ``result`` has unstarted candidates:
    how many, the start trials each was given within the budget, and what would let the search start them.
    ``has_pool``: whether attacker images were given as starts (None: no pool applies, e.g. Algorithm 3)."""
    unstarted = np.asarray(result.unstarted, dtype=bool)
    if not unstarted.any():
        return
    plan = result.start_trials
    tried = ", ".join(f"{plan[k]} {name}" for k, name in (("noise", "uniform noise"), ("blend", "blended noise"),
                                                           ("pool", "attacker images")))
    remedies = []
    if has_pool is False:
        remedies.append("give attacker images to start from (attacker_data= of attack_classifier; D_shadow)")
    if result.start_budget > config.budget:
        remedies.append(f"raise the budget (budget=; every start trial fits from {result.start_budget} queries)")
    remedies.append("or raise init_size / blend_trials / pool_trials" if remedies else
                    "raise init_size, blend_trials or pool_trials (and the budget), or give other attacker images")
    no_pool = "; no attacker images were given" if has_pool is False else ""
    warn_not_applied(config.method, int(unstarted.sum()), len(unstarted),
                     f"could not be started: none of their start trials changed the target's label within the budget "
                     f"of {config.budget} queries (start trials: {tried}{no_pool}), so the search never began and "
                     "their distance to the boundary is unknown", instead, "To start them: " + "; ".join(remedies),
                     subject=subject)


def extras_of(result: SearchResult, config: BoundaryAttack.Config) -> dict[str, np.ndarray]:
    """Per-candidate by-products stored with the scores: the four norms, flips, unstarted candidates, queries,
    Fig. 9's record, the labels moved away from and where each start came from (``start_source``, see
    :func:`unflipped_by_class`)."""
    return {**result.norms, "flipped": result.flipped, "misclassified": result.misclassified,
            "unstarted": result.unstarted,
            "queries": result.queries, "checkpoint_dist": result.checkpoint_dist,
            "checkpoints": np.asarray(config.checkpoints, dtype=np.int64),
            "labels": np.asarray(result.labels, dtype=np.int64), "start_source": result.start_source}


def unflipped_by_class(labels: np.ndarray, flipped: np.ndarray, start_source: np.ndarray | None = None,
                       ) -> pd.DataFrame:
    """One row per class of ``labels`` (n,): how many candidates it has, and how many of them ended unflipped.

    ``flipped`` (n,) bool: the search found a label-changing point (misclassified candidates count as
    flipped). With ``start_source`` (n,) (``extras["start_source"]``), the flipped ones are split by where
    their start came from. Columns: ``class``, ``candidates``, ``misclassified``, ``noise_start``,
    ``blend_start``, ``pool_start`` (0 without ``start_source``), ``unflipped`` and ``unflipped_share``
    (of the class's candidates). An unflipped (unstarted) candidate scores UNSTARTED_SCORE, below every flipped
    one, so a class with many unflipped candidates loses the attack's information on them: this table shows
    where it happened.
    Raises ``ValueError`` for arrays of different lengths.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    flipped = np.asarray(flipped, dtype=bool).ravel()
    if flipped.shape != labels.shape or (start_source is not None and np.shape(start_source) != labels.shape):
        sources = np.shape(start_source) if start_source is not None else "-"
        raise ValueError(f"labels, flipped and start_source must have one entry per candidate, got "
                         f"{labels.shape}, {flipped.shape}, {sources}")
    classes = np.unique(labels)
    index = np.searchsorted(classes, labels)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(index[mask], minlength=len(classes))

    source = (np.asarray(start_source).ravel() if start_source is not None
              else np.full(labels.shape, START_NONE - 1))  # matches no source below
    total = count(np.ones_like(flipped))
    unflipped = count(~flipped)
    return pd.DataFrame({"class": classes, "candidates": total, "misclassified": count(source == START_MISCLASSIFIED),
                         "noise_start": count(source == START_NOISE), "blend_start": count(source == START_BLEND),
                         "pool_start": count(source == START_POOL), "unflipped": unflipped,
                         "unflipped_share": unflipped / np.maximum(total, 1)})


@dataclass(frozen=True)
class RandomReferenceRun:
    """Algorithm 3: uniform random inputs attacked through one target's oracle."""

    target: Any = doc_field(None, "the target's config (whose oracle answers)")
    attack: BoundaryAttack.Config = doc_field(BoundaryAttack.Config(), "the boundary attack used on them")
    num_samples: int = doc_field(100, "random inputs (paper: 100)")
    seed: int = doc_field(0, "seed of the random inputs and of the attack")
    model: str = doc_field("", "digest of the attacked model's weights (leakage.inputs.module_digest); "
                               "random_reference fills it in")


def random_reference(model: torch.nn.Module, input_shape: tuple[int, ...], run: RandomReferenceRun,
                     store: Store | None = None) -> dict[str, np.ndarray]:
    """Attack ``run.num_samples`` uniform random inputs of ``input_shape`` through a label-only oracle of
    ``model``, moving each away from the label the target gives it (they have no true label).

    Returns (cached in the store) the same per-sample arrays as the attack's extras ("l2", ...,
    "flipped", "unstarted", "queries") plus "labels", the target's labels of the random inputs. A random input
    the search could not start keeps, in "l2" etc., the largest distance searched (not UNSTARTED_SCORE: these
    are no candidates to rank, and Algorithm 3 uses all of them with that distance when none flipped); the
    search warns how many. The artefact is keyed by ``run`` with ``model`` set to the digest of ``model``'s
    weights, so another model is never served these.
    """
    if run.num_samples < 1:
        raise ValueError(f"Algorithm 3 needs at least one random sample, got {run.num_samples}")
    run = dataclasses.replace(run, model=module_digest(model))
    store = store or Store()
    device = next(model.parameters()).device
    attack = BoundaryAttack(run.attack)

    def compute() -> dict[str, Any]:
        generator = torch_generator(run.seed, "random-reference")
        x = torch.rand(run.num_samples, *input_shape, generator=generator).to(device)
        oracle = LabelOnlyOracle(model, num_owners=run.num_samples, budget=run.attack.budget)
        result = attack.search(oracle, x, None, run.seed)
        warn_unstarted(result, run.attack, None, subject="random inputs (Algorithm 3)",
                       instead="They keep the largest distance searched (Algorithm 3's threshold uses them only "
                               "when no random input changed label)")
        extras = extras_of(result, run.attack)
        for name, reach in result.reach.items():
            extras[name] = np.where(result.unstarted, reach, extras[name])
        return {**extras, "labels": result.labels,
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
    Raises ``ValueError`` for t outside [0, 100] (NaN included), no reference, or a NaN or infinite reference.
    """
    if not 0 <= top_percent <= 100:
        raise ValueError(f"the top-t percentile must be in [0, 100], got {top_percent}")
    reference = np.asarray(reference, dtype=np.float64)
    check_finite("reference", reference)  # np.percentile interpolates an infinity into NaN
    if reference.size == 0:
        raise ValueError("no reference perturbations to take a percentile of")
    return float(np.percentile(reference, 100 - top_percent))
