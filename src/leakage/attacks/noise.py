"""Random-noise robustness attack (Choquette-Choo, Tramer, Carlini & Papernot, "Label-only membership
inference attacks", ICML 2021, Sec. 4.2, the 'Gaussian noise' attack): query the target's label of
``n_queries`` copies of each candidate with Gaussian noise of standard deviation ``sigma`` added (clipped to
[0, 1]); a member, farther from the decision boundary, keeps its label under more of them. Registered as
``"noise"``.

Score = the fraction of the noisy copies the target labels with the true label, in [0, 1], higher = member (a
cheap proxy for the distance to the boundary that :mod:`leakage.attacks.boundary` searches for). The candidate
itself is not queried (only noisy copies: with ``sigma = 0`` every copy is the candidate, the baseline attack
repeated). No shadow model: ``sigma`` is a setting (there is no default in the paper to copy: it is chosen per
data set, e.g. on a model the attacker trains itself); the ROC sweeps the threshold on the fraction.

All candidates x all copies go through the label-only oracle in chunks of ``chunk_size`` queries, each query
charged to its candidate, the budget checked before the first
(:func:`leakage.attacks.augmentation.query_agreement`, candidate-major). The noise of copy j of a candidate is
row ``j % NOISE_BLOCK`` of its block ``j // NOISE_BLOCK``, drawn from that block's own generator, seeded from the
context's seed, ``Config.seed``, the candidate's content and label (:mod:`leakage.attacks.randomness`) and the
block number (:func:`block_noise`). So a candidate's score depends on it, the target, the seeds, ``sigma`` and
the device (CPU and CUDA generators differ), not on the other candidates, their order or ``chunk_size``; and
the first q copies of a run with ``n_queries >= q`` are the noisy images a run with ``n_queries = q`` queries:
``extras["checkpoint_score"]`` at q is that run's score.

``sigma = 0`` does not apply the method (every copy is the candidate itself: the baseline attack repeated); the
attack warns (:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from leakage.attacks import AttackContext, AttackOutput, register
from leakage.attacks.augmentation import check_integer, agreement_output, query_agreement
from leakage.attacks.boundary import DEFAULT_CHECKPOINTS
from leakage.attacks.coverage import warn_not_applied
from leakage.attacks.randomness import candidate_seeds
from leakage.config import doc_field
from leakage.seed import torch_generator

#: Copies of one candidate whose noise one generator draws (a block never depends on the chunk size, the number of
#: copies or the other candidates).
NOISE_BLOCK: int = 64
#: Version of the attack's computation, part of every artefact key (a field of the config): 2 = per-candidate noise
#: streams (issue #27). Artefacts of an older version are never reused.
VERSION: int = 2


def block_noise(candidate_seed: int, block: int, shape: tuple[int, ...], device: torch.device | str,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise (NOISE_BLOCK, *shape) of one candidate's copies ``block * NOISE_BLOCK`` up to the next
    block, drawn from ``torch_generator(candidate_seed, "noise-block", block)`` on ``device``; ``candidate_seed``:
    :func:`leakage.attacks.randomness.candidate_seeds` of the candidate."""
    generator = torch_generator(candidate_seed, "noise-block", block, device=device)
    return torch.randn((NOISE_BLOCK, *shape), generator=generator, device=device, dtype=dtype)


@register("noise")
class NoiseAttack:
    """Score = fraction of ``n_queries`` Gaussian-noised copies of the candidate the target labels correctly, in
    [0, 1]; higher = member (Choquette-Choo et al., ICML 2021, Sec. 4.2)."""

    needs_attacker_data = False  # a count score: no shadow model, no attacker data

    @dataclass(frozen=True)
    class Config:
        """Random-noise attack settings."""

        n_queries: int = doc_field(100, "noisy copies queried per candidate = its label-query budget (>= 1; the "
                                        "boundary attack spends 15,000)")
        sigma: float = doc_field(0.05, "standard deviation of the Gaussian pixel noise, images in [0, 1] (no paper "
                                       "default: chosen per data set)")
        seed: int = doc_field(0, "seed of the noise (with the target's seed)")
        chunk_size: int = doc_field(4096, "queries per oracle call (memory only: scores do not depend on it)")
        version: int = doc_field(VERSION, "version of the attack's computation (part of every artefact key, so a "
                                          "new version never reuses older scores)")
        checkpoints: tuple[int, ...] = doc_field(DEFAULT_CHECKPOINTS, "query counts q at which the score of the "
                                                                      "first q copies is recorded (AUC against "
                                                                      "queries; the boundary attack's grid); those "
                                                                      "above n_queries become n_queries")

        def __post_init__(self) -> None:
            """``ValueError`` for n_queries < 1, a negative or non-finite sigma, chunk_size < 1, a negative
            checkpoint or a version other than this code's; then the checkpoints are sorted, deduplicated and cut at
            n_queries (kept as the last one when any were dropped), so the config (and its hash) says what is
            recorded."""
            if self.version != VERSION:
                raise ValueError(f"version {self.version} asked for, but this code computes version {VERSION} of the "
                                 "noise attack (leave version at its default)")
            check_integer("n_queries", self.n_queries, 1)
            check_integer("chunk_size", self.chunk_size, 1)
            if isinstance(self.sigma, bool) or not isinstance(self.sigma, (int, float)) or not math.isfinite(
                    self.sigma) or self.sigma < 0:
                raise ValueError(f"sigma must be a finite number >= 0 (noise std on the [0, 1] pixel scale), "
                                 f"got {self.sigma!r}")
            for point in self.checkpoints:
                check_integer("every checkpoint", point, 0)
            points = sorted({int(q) for q in self.checkpoints})
            kept = tuple(q for q in points if q <= self.n_queries)
            if len(kept) < len(points) and self.n_queries not in kept:
                kept += (int(self.n_queries),)
            object.__setattr__(self, "checkpoints", kept)

        @property
        def budget(self) -> int:
            """Label queries per candidate, exactly: ``n_queries`` (the oracle's budget in
            :func:`leakage.api.vision.attack_candidates`)."""
            return self.n_queries

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()

    def run(self, ctx: AttackContext) -> AttackOutput:
        """Scores (n,): fraction of the ``n_queries`` noisy copies answered with the true label (higher = member).

        Extras per candidate: ``correct`` (count of such copies), ``queries`` (label queries charged, =
        n_queries), ``checkpoint_score`` (n, K): the score of the first q copies for q in ``checkpoints`` (K,).
        Cost: ``total_queries``, ``queries_per_candidate`` (mean), ``max_queries_per_candidate``, ``seconds``.
        Raises ``QueryBudgetExceeded`` (before any query) when the oracle's budget is below ``n_queries``. Warns
        (:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`) for ``sigma = 0``.
        """
        start = time.perf_counter()
        c = self.config
        x = ctx.candidates
        shape = tuple(x.shape[1:])
        if c.sigma == 0:
            warn_not_applied("noise", len(x), len(x), "were queried without noise (sigma=0: every copy is the "
                             "candidate itself)", "Their score is the baseline attack's: 1 if the target labels the "
                             "candidate correctly, else 0", "To apply the attack: set sigma > 0")
        seeds = candidate_seeds(ctx.seed, x, ctx.candidate_labels, "noise", c.seed)

        def make(flat: torch.Tensor, candidate: torch.Tensor, copy: torch.Tensor) -> torch.Tensor:
            noise = torch.empty((len(flat), *shape), device=x.device, dtype=x.dtype)
            block = copy // NOISE_BLOCK
            # candidate-major chunks: each (candidate, block) pair is one run of consecutive queries
            pairs, counts = torch.unique_consecutive(torch.stack([candidate, block], 1), dim=0, return_counts=True)
            begin = 0
            for (i, b), count in zip(pairs.tolist(), counts.tolist()):
                rows = copy[begin:begin + count] % NOISE_BLOCK
                noise[begin:begin + count] = block_noise(seeds[i], b, shape, x.device, x.dtype)[rows]
                begin += count
            return (x[candidate] + c.sigma * noise).clamp(0.0, 1.0)

        before = ctx.oracle.per_owner.clone()
        agree = query_agreement(ctx.oracle, ctx.candidate_labels, c.n_queries, make, c.chunk_size, "noise")
        queries = (ctx.oracle.per_owner - before).numpy()
        return agreement_output(agree, queries, c.checkpoints, time.perf_counter() - start)
