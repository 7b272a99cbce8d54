"""HopSkipJump (Chen, Jordan & Wainwright, S&P 2020): untargeted, decision-based, batched over candidates.

The search talks to the target only through a :class:`~leakage.attacks.oracle.LabelOnlyOracle`
and moves ALL candidates in lockstep: every step (a label check, an initial random trial, a
binary-search halving, a batch of gradient-estimation probes, a step-size trial) is one oracle
call for the candidates taking part, and masks decide which candidates take part. The steps follow ART's
implementation (the one Li & Zhang used): a random uniform starting point that the target
labels differently, then per iteration a binary search towards the original, a Monte-Carlo
estimate of the boundary's normal from ``num_eval`` sign queries, and a geometric step-size
search along it. Unlike ART, every loop is bounded, each candidate keeps the best adversarial
point it has seen, and the per-candidate query budget is planned ahead so it is never exceeded.

Starting points, and why there are fallbacks. ART (and the paper) start from uniform noise only. A
target that labels ALL uniform noise as one class c (Fashion-MNIST targets do) gives a candidate of
class c no adversarial start. Candidates whose noise trials all fail therefore try, in this order,
(1) blends (1 - e) x + e u of the candidate with fresh uniform noise u, e rising from 1/(T+1) to T/(T+1)
(Foolbox's blended-noise start), and (2) attacker-side images (``pool``: D_shadow, what a label-only attacker
holds and may query), nearest first, images whose given label differs from the candidate's ahead of the rest.
Every trial is one oracle query charged to the candidate it is made for. The trials are planned within the
budget (:func:`start_plan`): ``init_size`` noise trials, ``blend_trials`` blends and ``pool_trials`` pool images
when they fit after the label check; when they do not, noise trials are cut first (down to one), then blends,
so that a small budget still reaches the fallbacks (without the plan, a budget of at most 1 + 100 + 10 = 111
queries never reached the pool). Candidates that noise flips never reach a fallback, so the plan changes no
number of theirs. ``SearchResult.start_source`` says which source each candidate's start came from.

Candidates the search cannot start. A candidate none of whose planned trials changed the label (a budget too
small, a target that labels noise, blends and every pool image like it, no pool given) has no distance: the
search never began. It is flagged ``unstarted`` and scores :data:`UNSTARTED_SCORE` in every norm, tied with
every other unstarted candidate, below every distance found and above the misclassified candidates' 0. That
score carries no membership information by construction (one constant, whatever the candidate): the attack knows
only what its label check told it (the target labels it correctly: the baseline attack's verdict, hence above
the misclassified). Its effect on the ranking: a failure never ranks a candidate as a member (it cannot enter the
low-FPR region); each pair of an unstarted candidate with a started one is decided against the unstarted one,
so when members and non-members fail equally often those pairs add 0.5 on average to the AUC, a coin's share.
Before this rule such candidates kept the largest distance searched and ranked as the most member-like, members
or not. ``SearchResult.reach`` keeps that distance for diagnostics.

Randomness per candidate. Each candidate draws its noise, blends and probe directions from its own generator,
seeded from the search's seed and the candidate's content and label
(:func:`leakage.attacks.randomness.candidate_generators`), and its gradient probes are drawn in pieces whose
sizes depend on its own query count only. So a candidate's result depends on the candidate, the target, the
settings and the seed, not on the other candidates searched with it or on their order (up to the target's
float arithmetic on batches of other sizes, which the search cannot control).

Conventions: inputs (n, C, H, W) float in [0, 1] (``ValueError`` naming the argument otherwise,
NaN and infinity included); "adversarial" means the oracle's label differs from the candidate's
label (its true label for membership inference). A candidate that is adversarial already has
perturbation 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from leakage.attacks.oracle import LabelOnlyOracle
from leakage.attacks.randomness import candidate_generators
from leakage.checks import check_finite, check_images
from leakage.progress import progress

NORMS: tuple[str, ...] = ("l2", "linf")
PERTURBATION_NORMS: tuple[str, ...] = ("l0", "l1", "l2", "linf")

# Probes of one gradient-estimation oracle call, in input elements (rows = CHUNK_ELEMENTS // d); a candidate's
# probes are drawn in pieces of at most that many rows. A constant of the code, not of the device, so the random
# stream (and every number) is the same wherever the batch runs.
CHUNK_ELEMENTS = 1 << 23
INIT_BISECT_THRESHOLD = 0.001  # ART's threshold for the binary search towards the random start
MAX_BISECT_ROUNDS = 64  # halvings of [0, 1] beyond this are below float precision
STEP_RESERVE = 4  # queries kept back from gradient estimation for the step-size search
MIN_EVAL = 2  # fewer sign queries than this give no gradient estimate: the candidate stops

#: The score (in every norm) of a candidate the search could not start, and the checkpoint record of one that had
#: no start yet: the smallest positive normal float64, below every distance a float32 search can measure
#: (>= 1.4e-45) and above the misclassified candidates' 0 (see the module docstring).
UNSTARTED_SCORE: float = float(np.finfo(np.float64).tiny)

# Where a candidate's starting point came from (``SearchResult.start_source``).
START_NONE, START_MISCLASSIFIED, START_NOISE, START_BLEND, START_POOL = -1, 0, 1, 2, 3
START_SOURCES: dict[int, str] = {START_NONE: "unflipped", START_MISCLASSIFIED: "misclassified",
                                 START_NOISE: "noise", START_BLEND: "blend", START_POOL: "pool"}

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
    blend_trials: int = 10  # blended-noise starts tried after init_size noise trials all failed (0 = none)
    pool_trials: int = 20  # attacker-side images tried after that (0 = none; needs a pool)

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.budget < 1:
            raise ValueError(f"the query budget must be at least 1 (the label check), got {self.budget}")
        for name in ("max_eval", "init_eval", "init_size", "max_halvings"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_iter", "blend_trials", "pool_trials"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        check_finite("l0_tolerance", np.asarray(self.l0_tolerance, dtype=np.float64))
        if self.l0_tolerance < 0:
            raise ValueError(f"l0_tolerance must be non-negative, got {self.l0_tolerance}")
        if self.init_eval > self.max_eval:
            raise ValueError(f"init_eval ({self.init_eval}) must not exceed max_eval ({self.max_eval})")
        if any(c < 0 for c in self.checkpoints) or list(self.checkpoints) != sorted(self.checkpoints):
            raise ValueError(f"checkpoints must be non-negative and increasing, got {self.checkpoints}")


@dataclass
class SearchResult:
    """What a boundary search found, per candidate (n of them).

    - ``adversarial`` (n, C, H, W): the best (closest, in the search norm) point the oracle labelled
      differently; the input itself where already misclassified or never flipped;
    - ``norms``: "l0", "l1", "l2", "linf" (n,) float64 of ``adversarial - x``; 0 for misclassified candidates,
      :data:`UNSTARTED_SCORE` for unstarted ones;
    - ``flipped`` (n,): an adversarial point is known (misclassified candidates included);
    - ``misclassified`` (n,): the first query already disagreed with the label;
    - ``unstarted`` (n,): no start was found (neither misclassified nor flipped): the search never began;
    - ``reach``: "l0", ..., "linf" (n,): for unstarted candidates the largest of each norm over the starts tried
      (0 if none was tried; Algorithm 3 uses it for random inputs), 0 for the others;
    - ``queries`` (n,): oracle queries spent on each candidate (never above the budget);
    - ``checkpoint_dist`` (n, K): the best search-norm distance found within ``checkpoints[k]``
      queries, :data:`UNSTARTED_SCORE` where nothing adversarial was known yet (ranked below every distance
      found, above the misclassified candidates' 0: at 1 query this is the baseline attack's ranking);
    - ``labels`` (n,): the labels the search moved away from; ``model_calls``: oracle calls made;
    - ``start_source`` (n,) int8: where the start came from, a key of ``START_SOURCES`` (-1 unflipped,
      0 misclassified, 1 uniform noise, 2 blended noise, 3 pool image);
    - ``start_trials``: the start trials planned per candidate, ``{"noise", "blend", "pool"}`` (:func:`start_plan`);
      ``start_budget``: the queries the label check and every start trial wanted would take (the plan cut trials
      when it exceeds the budget).
    """

    adversarial: torch.Tensor
    norms: dict[str, np.ndarray]
    flipped: np.ndarray
    misclassified: np.ndarray
    queries: np.ndarray
    checkpoint_dist: np.ndarray
    labels: np.ndarray
    model_calls: int
    start_source: np.ndarray
    unstarted: np.ndarray
    reach: dict[str, np.ndarray]
    start_trials: dict[str, int]
    start_budget: int


def start_plan(settings: SearchSettings, pool_size: int) -> dict[str, int]:
    """Start trials per candidate, in trial order: ``{"noise": ..., "blend": ..., "pool": ...}``.

    Wanted: ``init_size`` uniform-noise trials, ``blend_trials`` blends and min(``pool_trials``, ``pool_size``) pool
    images (``pool_size`` = attacker images given, 0 = none). When they do not fit in the budget after the label
    check (``budget - 1`` queries), noise trials are cut first (down to one), then blends, then pool images, so
    that every source is reached within the budget; a budget of 1 leaves none.
    """
    wanted = {"noise": settings.init_size, "blend": settings.blend_trials,
              "pool": min(settings.pool_trials, max(0, pool_size))}
    over = sum(wanted.values()) - (settings.budget - 1)
    for name, floor in (("noise", 1), ("blend", 0), ("pool", 0), ("noise", 0)):
        cut = min(max(over, 0), wanted[name] - floor)
        wanted[name] -= cut
        over -= cut
    return wanted


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
                 generators: list[torch.Generator]):
        self.oracle, self.s, self.gens = oracle, settings, generators
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
        self.source = torch.full((self.n,), START_NONE, dtype=torch.int8, device=self.device)
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
        self.source[wrong] = START_MISCLASSIFIED
        self.snapshot()
        return wrong

    def initialise(self, searching: torch.Tensor, plan: dict[str, int], pool: torch.Tensor | None = None,
                   pool_labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Find an adversarial start for every candidate in ``searching`` (n,): uniform noise (``plan["noise"]``
        rounds), then blended noise (``plan["blend"]``), then ``pool`` images (m, d) (``plan["pool"]``).

        One oracle call per round for all candidates still searching, each query charged to its candidate, each
        random draw from the candidate's own generator. Returns (start (n, d): the first adversarial trial, x
        where none; found (n,) bool).
        """
        start = self.x.clone()
        found = torch.zeros(self.n, dtype=torch.bool, device=self.device)
        searching = searching.clone()

        def noise(rows: torch.Tensor, _: int) -> torch.Tensor:
            return torch.cat([torch.rand(1, self.d, generator=self.gens[i], device=self.device)
                              for i in rows.tolist()])

        def blend(rows: torch.Tensor, k: int) -> torch.Tensor:
            e = (k + 1) / (self.s.blend_trials + 1)
            return (1 - e) * self.x[rows] + e * noise(rows, k)

        self._trials(searching, start, found, noise, plan["noise"], START_NOISE)
        self._trials(searching, start, found, blend, plan["blend"], START_BLEND)
        if pool is not None and len(pool) and plan["pool"]:
            order, valid = self._pool_order(searching & (self.remaining() >= 1), pool, pool_labels, plan["pool"])
            self._trials(searching, start, found, lambda rows, k: pool[order[rows, k]], order.shape[1],
                         START_POOL, valid)
        return start, found

    def _trials(self, searching: torch.Tensor, start: torch.Tensor, found: torch.Tensor,
                propose: Callable[[torch.Tensor, int], torch.Tensor], rounds: int, source: int,
                valid: torch.Tensor | None = None) -> None:
        """Up to ``rounds`` rounds of one start source, in place: round k asks ``propose(rows, k)`` (r, d) for the
        candidates ``rows`` still searching with budget left (and ``valid[:, k]``, if given); the first
        adversarial trial becomes the start, the others widen ``reach``. No rows: no query, no random draw."""
        for k in range(rounds):
            eligible = searching & (self.remaining() >= 1)
            if valid is not None:
                eligible &= valid[:, k]
            rows = torch.nonzero(eligible).flatten()
            if len(rows) == 0:  # valid[:, k] only turns False with k, so no later round has rows either
                break
            probe = propose(rows, k)
            adversarial = self.ask(probe, rows)
            hit, miss = rows[adversarial], rows[~adversarial]
            start[hit] = probe[adversarial]
            found[hit] = True
            searching[hit] = False
            self.source[hit] = source
            reached = perturbation_norms(probe[~adversarial] - self.x[miss], self.s.l0_tolerance)
            self.reach[miss] = torch.maximum(self.reach[miss], reached)
            self.offer(hit, probe[adversarial])
            self.snapshot()

    def _pool_order(self, rows_mask: torch.Tensor, pool: torch.Tensor, pool_labels: torch.Tensor | None,
                    trials: int) -> tuple[torch.Tensor, torch.Tensor]:
        """For each candidate in ``rows_mask``: the indices (n, T) of the T = min(trials, m) pool images to
        try, nearest first (search norm), those whose given label differs from the candidate's label ahead of
        the rest; images identical to the candidate are skipped (the oracle would label them alike).
        Returns (order (n, T) int64, valid (n, T) bool); rows outside ``rows_mask`` are all invalid."""
        m = len(pool)
        trials = min(trials, m)
        order = torch.zeros(self.n, trials, dtype=torch.long, device=self.device)
        valid = torch.zeros(self.n, trials, dtype=torch.bool, device=self.device)
        rows = torch.nonzero(rows_mask).flatten()
        p = math.inf if self.s.norm == "linf" else 2.0
        far = 2.0 * math.sqrt(self.d) + 2.0  # above any distance between two points of [0, 1]^d (L2 or L-inf)
        chunk = max(1, CHUNK_ELEMENTS // max(1, m))
        for begin in range(0, len(rows), chunk):
            part = rows[begin:begin + chunk]
            dist = torch.cdist(self.x[part], pool, p=p, compute_mode="donot_use_mm_for_euclid_dist")
            key = dist.double()
            if pool_labels is not None:
                key = key + far * (pool_labels[None, :] == self.y[part, None]).double()
            key = torch.where(dist > 0, key, torch.full_like(key, math.inf))
            best, index = torch.topk(key, trials, dim=1, largest=False, sorted=True)
            order[part] = index
            valid[part] = torch.isfinite(best)
        return order, valid

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
        sign queries each (0 = none); returns the unnormalised estimate (n, d), zero where none was made.

        Each candidate's probes are drawn from its own generator in pieces of at most CHUNK_ELEMENTS // d rows
        (sizes fixed by its own ``num_eval``) and summed piece by piece, so its estimate does not depend on the
        other candidates; pieces are packed, whole, into oracle calls of at most that many rows."""
        sum_phi_u = torch.zeros(self.n, self.d, device=self.device)
        sum_u = torch.zeros(self.n, self.d, device=self.device)
        sum_phi = torch.zeros(self.n, device=self.device)
        chunk = max(1, CHUNK_ELEMENTS // self.d)
        pieces = [(i, min(chunk, count - begin)) for i, count in enumerate(num_eval.tolist())
                  for begin in range(0, count, chunk)]
        batch: list[tuple[int, int]] = []
        size = 0  # rows in batch
        for piece in [*pieces, None]:
            if batch and (piece is None or size + piece[1] > chunk):
                units, probes = [], []
                for i, rows in batch:
                    u = sampler(rows, self.gens[i])
                    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
                    probe = (current[i] + delta[i] * u).clamp(0.0, 1.0)
                    units.append((probe - current[i]) / delta[i])
                    probes.append(probe)
                owners = torch.cat([torch.full((rows,), i, dtype=torch.long, device=self.device) for i, rows in batch])
                phi = self.ask(torch.cat(probes), owners).float() * 2 - 1
                for (i, rows), u, sign in zip(batch, units, phi.split([rows for _, rows in batch])):
                    sum_phi_u[i] += sign @ u
                    sum_u[i] += u.sum(0)
                    sum_phi[i] += sign.sum()
                batch, size = [], 0
            if piece is not None:
                batch.append(piece)
                size += piece[1]
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


def boundary_search(oracle: LabelOnlyOracle, x: torch.Tensor, settings: SearchSettings,
                    seed: int | torch.Generator, *, labels: torch.Tensor | None = None,
                    owners: torch.Tensor | None = None, sampler: DirectionSampler | None = None,
                    pool: torch.Tensor | None = None, pool_labels: torch.Tensor | None = None,
                    desc: str = "boundary search") -> SearchResult:
    """Run HopSkipJump (or, with a subspace ``sampler``, QEBA) on all candidates x (n, C, H, W) at once.

    ``seed``: the search's seed; each candidate's random numbers come from its own generator, seeded from it and
    the candidate's content and label (a torch generator handed in instead gives the seed by one draw).
    ``labels`` (n,): the labels to move away from (true labels); None = the oracle's own first answer
    (for inputs without a label, e.g. Algorithm 3's random samples). ``owners`` (n,): the oracle
    owner id of each candidate (default 0..n-1). ``sampler``: probe directions (default: full space).
    ``pool`` (m, C, H, W) in [0, 1]: attacker-side images tried as starts when noise and blends fail
    (see the module docstring); ``pool_labels`` (m,): their given labels, used only to order them. A candidate's
    result depends only on it, the oracle's model, the settings, the seed and the pool: keep the other
    candidates out of ``pool`` for that.

    Raises ``ValueError`` (naming the argument) for an empty batch, x or pool not float (n, C, H, W)
    finite in [0, 1], or labels / pool_labels of the wrong shape.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) == 0:
        raise ValueError(f"boundary_search needs a non-empty batch x (n, C, H, W), got shape "
                         f"{tuple(getattr(x, 'shape', ()))}")
    check_images("x", x)
    if labels is not None and labels.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},), got {tuple(labels.shape)}")
    if pool is not None:
        check_images("pool", pool)
        if pool.shape[1:] != x.shape[1:]:
            raise ValueError(f"pool images must have x's shape {tuple(x.shape[1:])}, got {tuple(pool.shape[1:])}")
        if pool_labels is not None and pool_labels.shape != (len(pool),):
            raise ValueError(f"pool_labels must have shape ({len(pool)},), got {tuple(pool_labels.shape)}")
    owners = torch.arange(len(x)) if owners is None else owners
    if isinstance(seed, torch.Generator):
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=seed, device=seed.device))
    search = _Search(oracle, x, owners, settings, candidate_generators(seed, x, labels, "boundary-search",
                                                                       device=x.device))
    sampler = sampler or full_space_sampler(search.d, settings.norm, search.device)
    s = settings

    wrong = search.check_labels(labels)
    pool_flat = None if pool is None else pool.reshape(len(pool), search.d).to(search.device, torch.float32)
    pool_y = None if pool is None or pool_labels is None else pool_labels.to(search.device)
    pool_size = 0 if pool_flat is None else len(pool_flat)
    plan = start_plan(s, pool_size)
    start, found = search.initialise(~wrong, plan, pool_flat, pool_y)
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

    unstarted = ~flipped
    norms = perturbation_norms(search.best - search.x, s.l0_tolerance).double()
    norms[wrong] = 0.0
    norms[unstarted] = UNSTARTED_SCORE
    reach = torch.where(unstarted[:, None], search.reach, torch.zeros_like(search.reach)).double().cpu().numpy()
    record = search.record.double().cpu().numpy()
    record[np.isinf(record)] = UNSTARTED_SCORE  # nothing adversarial known yet
    adversarial = torch.where(unstarted[:, None], search.x, search.best).reshape(x.shape)
    return SearchResult(
        adversarial=adversarial,
        norms={name: norms[:, k].cpu().numpy() for k, name in enumerate(PERTURBATION_NORMS)},
        flipped=flipped.cpu().numpy(), misclassified=wrong.cpu().numpy(),
        queries=search.used.cpu().numpy(), checkpoint_dist=record,
        labels=search.y.cpu().numpy(), model_calls=search.calls, start_source=search.source.cpu().numpy(),
        unstarted=unstarted.cpu().numpy(), reach={name: reach[:, k] for k, name in enumerate(PERTURBATION_NORMS)},
        start_trials=plan, start_budget=1 + s.init_size + s.blend_trials + min(s.pool_trials, pool_size))
