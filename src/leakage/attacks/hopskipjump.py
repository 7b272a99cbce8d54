"""HopSkipJump (Chen, Jordan & Wainwright, S&P 2020): untargeted, decision-based, batched over candidates.

The search talks to the target only through a :class:`~leakage.attacks.oracle.LabelOnlyOracle`
and moves ALL candidates in lockstep: every step (a label check, an initial random trial, a
binary-search halving, a chunk of gradient-estimation probes, a step-size trial) is one oracle
call for the whole batch, and masks decide which candidates take part. The steps follow ART's
implementation (the one Li & Zhang used): a random uniform starting point that the target
labels differently, then per iteration a binary search towards the original, a Monte-Carlo
estimate of the boundary's normal from ``num_eval`` sign queries, and a geometric step-size
search along it. Unlike ART, every loop is bounded, each candidate keeps the best adversarial
point it has seen, and the per-candidate query budget is planned ahead so it is never exceeded.

Conventions: inputs (n, C, H, W) float in [0, 1]; "adversarial" means the oracle's label differs
from the candidate's label (its true label for membership inference). A candidate that is
adversarial already has perturbation 0; one the search cannot flip keeps the largest distance
it searched (the farthest non-adversarial random start it tried), flagged ``flipped = False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from leakage.attacks.oracle import LabelOnlyOracle
from leakage.progress import progress

NORMS: tuple[str, ...] = ("l2", "linf")
PERTURBATION_NORMS: tuple[str, ...] = ("l0", "l1", "l2", "linf")

# Probes of one gradient-estimation oracle call, in input elements (rows = CHUNK_ELEMENTS // d). A
# constant of the code, not of the device, so the random stream (and every number) is the same
# wherever the batch runs.
CHUNK_ELEMENTS = 1 << 23
INIT_BISECT_THRESHOLD = 0.001  # ART's threshold for the binary search towards the random start
MAX_BISECT_ROUNDS = 64  # halvings of [0, 1] beyond this are below float precision
STEP_RESERVE = 4  # queries kept back from gradient estimation for the step-size search
MIN_EVAL = 2  # fewer sign queries than this give no gradient estimate: the candidate stops

# A direction sampler draws ``rows`` raw directions (rows, d) from a generator; they are normalised after.
DirectionSampler = Callable[[int, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of one boundary search (built from an attack's Config)."""

    norm: str = "l2"
    budget: int = 15000
    max_iter: int = 50
    max_eval: int = 10000
    init_eval: int = 100
    init_size: int = 100
    max_halvings: int = 25
    checkpoints: tuple[int, ...] = ()
    l0_tolerance: float = 1e-6

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.budget < 1:
            raise ValueError(f"the query budget must be at least 1 (the label check), got {self.budget}")
        for name in ("max_eval", "init_eval", "init_size", "max_halvings"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_iter < 0:
            raise ValueError(f"max_iter must be non-negative, got {self.max_iter}")
        if self.init_eval > self.max_eval:
            raise ValueError(f"init_eval ({self.init_eval}) must not exceed max_eval ({self.max_eval})")
        if any(c < 0 for c in self.checkpoints) or list(self.checkpoints) != sorted(self.checkpoints):
            raise ValueError(f"checkpoints must be non-negative and increasing, got {self.checkpoints}")


@dataclass
class SearchResult:
    """What a boundary search found, per candidate (n of them).

    - ``adversarial`` (n, C, H, W): the best (closest, in the search norm) point the oracle labelled
      differently; the input itself where already misclassified or never flipped;
    - ``norms``: "l0", "l1", "l2", "linf" (n,) of ``adversarial - x``; for unflipped candidates the
      largest of each norm over the non-adversarial random starts tried (0 if none was tried);
    - ``flipped`` (n,): an adversarial point is known (misclassified candidates included);
    - ``misclassified`` (n,): the first query already disagreed with the label;
    - ``queries`` (n,): oracle queries spent on each candidate (never above the budget);
    - ``checkpoint_dist`` (n, K): the best search-norm distance found within ``checkpoints[k]``
      queries, +inf where nothing adversarial was known yet (ranked as the largest: at 1 query
      this is the baseline attack);
    - ``labels`` (n,): the labels the search moved away from; ``model_calls``: oracle calls made.
    """

    adversarial: torch.Tensor
    norms: dict[str, np.ndarray]
    flipped: np.ndarray
    misclassified: np.ndarray
    queries: np.ndarray
    checkpoint_dist: np.ndarray
    labels: np.ndarray
    model_calls: int


def full_space_sampler(dim: int, norm: str, device: torch.device) -> DirectionSampler:
    """HopSkipJump's probe directions: Gaussian (L2) or uniform in [-1, 1] (L-inf) over all ``dim`` inputs."""

    def sample(rows: int, generator: torch.Generator) -> torch.Tensor:
        if norm == "l2":
            return torch.randn(rows, dim, generator=generator, device=device)
        return torch.rand(rows, dim, generator=generator, device=device) * 2 - 1

    return sample


def perturbation_norms(delta: torch.Tensor, l0_tolerance: float) -> torch.Tensor:
    """L0, L1, L2, L-inf norms of perturbations delta (r, d) as (r, 4); L0 counts |delta| > l0_tolerance."""
    a = delta.abs()
    return torch.stack([(a > l0_tolerance).sum(1).to(a.dtype), a.sum(1), delta.norm(dim=1), a.amax(1)], dim=1)


def _distance(delta: torch.Tensor, norm: str) -> torch.Tensor:
    return delta.norm(dim=1) if norm == "l2" else delta.abs().amax(1)


def _interpolate(x: torch.Tensor, current: torch.Tensor, alpha: torch.Tensor, norm: str) -> torch.Tensor:
    """ART's projection: alpha of the way from x to current (L2), or current clipped to x's L-inf ball alpha."""
    if norm == "l2":
        return (1 - alpha[:, None]) * x + alpha[:, None] * current
    return torch.minimum(torch.maximum(current, x - alpha[:, None]), x + alpha[:, None])


class _Search:
    """State of one batched search; see :func:`boundary_search`."""

    def __init__(self, oracle: LabelOnlyOracle, x: torch.Tensor, owners: torch.Tensor, settings: SearchSettings,
                 generator: torch.Generator):
        self.oracle, self.s, self.gen = oracle, settings, generator
        self.shape = tuple(x.shape[1:])
        self.n, self.d = len(x), math.prod(self.shape)
        self.device = x.device
        self.x = x.reshape(self.n, self.d).float()
        self.owners = owners.to(self.device)
        self.used = torch.zeros(self.n, dtype=torch.long, device=self.device)
        self.calls = 0
        self.checkpoints = torch.tensor(settings.checkpoints, dtype=torch.long, device=self.device)
        self.record = torch.full((self.n, len(settings.checkpoints)), math.inf, device=self.device)
        self.best = self.x.clone()
        self.best_dist = torch.full((self.n,), math.inf, device=self.device)
        self.reach = torch.zeros(self.n, 4, device=self.device)
        self.y = torch.empty(0)
        # ART's binary-search tolerance (theta) for this input size
        self.theta = 0.01 / math.sqrt(self.d) if settings.norm == "l2" else 0.01 / self.d

    # -- queries ---------------------------------------------------------------------------------
    def remaining(self) -> torch.Tensor:
        return self.s.budget - self.used

    def ask(self, points: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """One oracle call for points (r, d) made for candidates ``rows`` (r,); True where adversarial."""
        self.used += torch.bincount(rows, minlength=self.n)
        if bool((self.used > self.s.budget).any()):  # planning bug: the oracle would refuse anyway
            raise RuntimeError("internal error: the boundary search planned more queries than the budget")
        labels = self.oracle.labels(points.reshape(len(points), *self.shape), owner=self.owners[rows])
        self.calls += 1
        return labels != self.y[rows]

    # -- bookkeeping -------------------------------------------------------------------------------
    def offer(self, rows: torch.Tensor, points: torch.Tensor) -> None:
        """Keep adversarial ``points`` (r, d) of candidates ``rows`` that beat their best so far."""
        if len(rows) == 0:
            return
        dist = _distance(points - self.x[rows], self.s.norm)
        better = dist < self.best_dist[rows]
        self.best[rows[better]] = points[better]
        self.best_dist[rows[better]] = dist[better]

    def snapshot(self) -> None:
        """Write each candidate's best distance into every checkpoint it has not passed yet."""
        if len(self.checkpoints):
            later = self.checkpoints[None, :] >= self.used[:, None]
            self.record = torch.where(later, self.best_dist[:, None], self.record)

    # -- phases ------------------------------------------------------------------------------------
    def check_labels(self, labels: torch.Tensor | None) -> torch.Tensor:
        """First query of every candidate; returns the misclassified mask and fixes the labels to move away from."""
        self.used += 1
        predicted = self.oracle.labels(self.x.reshape(self.n, *self.shape), owner=self.owners)
        self.calls += 1
        self.y = predicted if labels is None else labels.to(self.device)
        wrong = predicted != self.y
        self.best_dist[wrong] = 0.0
        self.snapshot()
        return wrong

    def initialise(self, searching: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Random uniform starts, one trial per round for every candidate still searching (<= init_size rounds)."""
        start = self.x.clone()
        found = torch.zeros(self.n, dtype=torch.bool, device=self.device)
        searching = searching.clone()
        for _ in range(self.s.init_size):
            rows = torch.nonzero(searching & (self.remaining() >= 1)).flatten()
            if len(rows) == 0:
                break
            probe = torch.rand(len(rows), self.d, generator=self.gen, device=self.device)
            adversarial = self.ask(probe, rows)
            hit, miss = rows[adversarial], rows[~adversarial]
            start[hit] = probe[adversarial]
            found[hit] = True
            searching[hit] = False
            reached = perturbation_norms(probe[~adversarial] - self.x[miss], self.s.l0_tolerance)
            self.reach[miss] = torch.maximum(self.reach[miss], reached)
            self.offer(hit, probe[adversarial])
            self.snapshot()
        return start, found

    def bisect(self, current: torch.Tensor, active: torch.Tensor, norm: str, threshold: float | None) -> torch.Tensor:
        """Binary search from adversarial ``current`` (n, d) towards x for ``active`` candidates (ART's rule).

        Returns the new points: the closest verified-adversarial interpolation, ``current`` elsewhere.
        """
        if norm == "l2":
            high = torch.ones(self.n, device=self.device)
            tolerance = torch.full((self.n,), threshold or self.theta, device=self.device)
        else:
            high = (current - self.x).abs().amax(1)
            tolerance = torch.clamp(high * self.theta, max=self.theta) if threshold is None else torch.full_like(
                high, threshold)
        low = torch.zeros(self.n, device=self.device)
        for _ in range(MAX_BISECT_ROUNDS):
            rows = torch.nonzero(active & (high - low > tolerance) & (self.remaining() >= 1)).flatten()
            if len(rows) == 0:
                break
            middle = (high[rows] + low[rows]) / 2
            points = _interpolate(self.x[rows], current[rows], middle, norm)
            adversarial = self.ask(points, rows)
            high[rows[adversarial]] = middle[adversarial]
            low[rows[~adversarial]] = middle[~adversarial]
            self.offer(rows[adversarial], points[adversarial])
            self.snapshot()
        out = current.clone()
        rows = torch.nonzero(active).flatten()
        out[rows] = _interpolate(self.x[rows], current[rows], high[rows], norm)
        return out

    def estimate_gradient(self, current: torch.Tensor, delta: torch.Tensor, num_eval: torch.Tensor,
                          sampler: DirectionSampler) -> torch.Tensor:
        """HopSkipJump's Monte-Carlo estimate of the boundary normal at ``current`` (n, d) from ``num_eval`` (n,)
        sign queries each (0 = none); returns the unnormalised estimate (n, d), zero where none was made."""
        rows_all = torch.repeat_interleave(torch.arange(self.n, device=self.device), num_eval)
        sum_phi_u = torch.zeros(self.n, self.d, device=self.device)
        sum_u = torch.zeros(self.n, self.d, device=self.device)
        sum_phi = torch.zeros(self.n, device=self.device)
        chunk = max(1, CHUNK_ELEMENTS // self.d)
        for begin in range(0, len(rows_all), chunk):
            rows = rows_all[begin:begin + chunk]
            u = sampler(len(rows), self.gen)
            u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
            step = delta[rows, None]
            probes = (current[rows] + step * u).clamp(0.0, 1.0)
            u = (probes - current[rows]) / step
            phi = self.ask(probes, rows).float() * 2 - 1
            sum_phi_u.index_add_(0, rows, phi[:, None] * u)
            sum_u.index_add_(0, rows, u)
            sum_phi.index_add_(0, rows, phi)
        count = num_eval.clamp_min(1).float()
        mean_phi = sum_phi / count
        centred = (sum_phi_u - mean_phi[:, None] * sum_u) / count[:, None]
        mean_u = sum_u / count[:, None]
        return torch.where((mean_phi == 1)[:, None], mean_u, torch.where((mean_phi == -1)[:, None], -mean_u, centred))

    def step(self, current: torch.Tensor, update: torch.Tensor, active: torch.Tensor, iteration: int) -> torch.Tensor:
        """Geometric step-size search along ``update`` (n, d): halve until the oracle says adversarial (bounded)."""
        epsilon = 2 * _distance(current - self.x, self.s.norm) / math.sqrt(iteration + 1)
        stepping = active.clone()
        current = current.clone()
        for _ in range(self.s.max_halvings):
            rows = torch.nonzero(stepping & (self.remaining() >= 1)).flatten()
            if len(rows) == 0:
                break
            epsilon[rows] /= 2
            points = (current[rows] + epsilon[rows, None] * update[rows]).clamp(0.0, 1.0)
            adversarial = self.ask(points, rows)
            moved = rows[adversarial]
            current[moved] = points[adversarial]
            stepping[moved] = False
            self.offer(moved, points[adversarial])
            self.snapshot()
        return current


def boundary_search(oracle: LabelOnlyOracle, x: torch.Tensor, settings: SearchSettings, generator: torch.Generator,
                    *, labels: torch.Tensor | None = None, owners: torch.Tensor | None = None,
                    sampler: DirectionSampler | None = None, desc: str = "boundary search") -> SearchResult:
    """Run HopSkipJump (or, with a subspace ``sampler``, QEBA) on all candidates x (n, C, H, W) at once.

    ``labels`` (n,): the labels to move away from (true labels); None = the oracle's own first answer
    (for inputs without a label, e.g. Algorithm 3's random samples). ``owners`` (n,): the oracle
    owner id of each candidate (default 0..n-1). ``sampler``: probe directions (default: full space).
    """
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"boundary_search needs a non-empty batch (n, ...), got shape {tuple(x.shape)}")
    if labels is not None and labels.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},), got {tuple(labels.shape)}")
    if float(x.min()) < 0 or float(x.max()) > 1:
        raise ValueError("boundary_search expects inputs in [0, 1]")
    owners = torch.arange(len(x)) if owners is None else owners
    search = _Search(oracle, x, owners, settings, generator)
    sampler = sampler or full_space_sampler(search.d, settings.norm, search.device)
    s = settings

    wrong = search.check_labels(labels)
    start, found = search.initialise(~wrong)
    current = search.bisect(start, found, "l2", INIT_BISECT_THRESHOLD)
    flipped = wrong | found
    # queries one iteration's binary search can take, kept back from gradient estimation
    bisect_cost = math.ceil(math.log2(1.0 / search.theta)) + 1
    alive = found.clone()
    for iteration in progress(range(s.max_iter), desc=desc):
        alive &= search.remaining() >= 1
        if not bool(alive.any()):
            break
        if iteration == 0:
            delta = torch.full((search.n,), 0.1, device=search.device)
        else:
            scale = math.sqrt(search.d) if s.norm == "l2" else search.d
            delta = scale * search.theta * _distance(current - search.x, s.norm)
        current = search.bisect(current, alive, s.norm, None)
        nominal = min(int(s.init_eval * math.sqrt(iteration + 1)), s.max_eval)
        spare = search.remaining() - STEP_RESERVE - bisect_cost
        num_eval = torch.where(alive, spare.clamp(min=0, max=nominal), torch.zeros_like(spare))
        alive &= num_eval >= MIN_EVAL
        num_eval = torch.where(alive, num_eval, torch.zeros_like(num_eval))
        usable = alive & (delta > 0)
        gradient = search.estimate_gradient(current, torch.where(usable, delta, torch.ones_like(delta)),
                                            torch.where(usable, num_eval, torch.zeros_like(num_eval)), sampler)
        if s.norm == "l2":
            length = gradient.norm(dim=1, keepdim=True)
            update = gradient / length.clamp_min(1e-12)
            usable &= length.squeeze(1) > 0
        else:
            update = gradient.sign()
            usable &= update.abs().sum(1) > 0
        current = search.step(current, update, usable & torch.isfinite(update).all(1), iteration)
    search.snapshot()

    not_flipped = ~flipped
    norms = perturbation_norms(search.best - search.x, s.l0_tolerance)
    norms[not_flipped] = search.reach[not_flipped]
    norms[wrong] = 0.0
    adversarial = torch.where(not_flipped[:, None], search.x, search.best).reshape(x.shape)
    return SearchResult(
        adversarial=adversarial,
        norms={name: norms[:, k].double().cpu().numpy() for k, name in enumerate(PERTURBATION_NORMS)},
        flipped=flipped.cpu().numpy(), misclassified=wrong.cpu().numpy(),
        queries=search.used.cpu().numpy(), checkpoint_dist=search.record.double().cpu().numpy(),
        labels=search.y.cpu().numpy(), model_calls=search.calls)
