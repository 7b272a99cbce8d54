"""Data-augmentation attack (Choquette-Choo, Tramer, Carlini & Papernot, "Label-only membership inference
attacks", ICML 2021, section 4.1): query the target's label of each candidate and of a fixed set of augmented
copies of it (horizontal flip, translations); a member's label survives more of them. Registered as
``"augmentation"``.

Score = the fraction of the candidate's queries the target answers with the true label, in [0, 1], higher =
member. This is the count score of the paper's attack without its last step: the paper feeds the vector of
per-augmentation agreements (``extras["agree"]``) to a threshold or a small attack model fitted on a shadow
model; here no shadow is trained (``needs_attacker_data = False``) and the ROC sweeps the threshold on the
count. The agreement vectors are kept, so an attack model can be fitted on them later.

The augmentation set is fixed and enumerated (:func:`augmentation_set`), in this query order: the candidate
itself, its horizontal flip, then every translation, then every translation of the flip. ``translations='ring'``
(default) takes the paper's and its code's shifts, all (dy, dx) with |dy| + |dx| = ``shift`` (4 * shift of them,
Sec. 4.1); ``'square'`` every offset with max(|dy|, |dx|) <= shift except (0, 0) ((2 shift + 1)^2 - 1 of them:
all the offsets a random crop with padding ``shift`` can produce). ``max_queries`` keeps the first
``max_queries`` of that order. Budget = label queries per candidate = 1 + augmentations used, exactly.

Padding (``padding``): what fills the border a translation uncovers. Default ``'reflect'``, because the book's
augmentation defence (:func:`leakage.defenses.augment.random_crop`) pads with reflection, so the attack probes the
very images such a target was trained on; ``'zeros'`` is torchvision's ``RandomCrop`` default (fill 0) and
``'edge'`` replicates the border, as the authors' code does (``scipy.ndimage.shift(mode='nearest')``).

A configuration that queries no augmented copy (``max_queries=1``, or ``shift=0`` with ``flip=False``) does not apply
the method: its score is the baseline attack's (1 or 0: the candidate's own label right or wrong); :meth:`run` warns
(:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`). No randomness: a candidate's score depends on it, the
target and the config only, not on the other candidates (up to the target's float arithmetic on batches).

Also here, shared with :mod:`leakage.attacks.noise`: :func:`query_agreement` (every candidate x every copy,
in chunks through the label-only oracle, each query charged to its candidate, the budget checked up front) and
:func:`checkpoint_scores` (the score after the first q queries, for AUC against queries).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from leakage.attacks import AttackContext, AttackOutput, LabelOnlyOracle, QueryBudgetExceeded, register
from leakage.attacks.coverage import warn_not_applied
from leakage.config import doc_field

TRANSLATIONS: tuple[str, ...] = ("ring", "square")
PADDINGS: tuple[str, ...] = ("reflect", "zeros", "edge")

#: Builds the queries of one chunk: (flat query indices (B,), their candidates (B,), their copy numbers (B,))
#: -> images (B, C, H, W). Query ``flat`` is copy ``flat % q`` of candidate ``flat // q`` (q copies each).
QueryMaker = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def check_integer(name: str, value: Any, low: int) -> None:
    """Raise ``ValueError`` (naming ``name``) unless ``value`` is an integer (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


# --------------------------------------------------------------------------- the augmentation set


def augmentation_set(shift: int, flip: bool, translations: str = "ring") -> np.ndarray:
    """The augmentations queried, in query order: int64 (A, 3), one row (flip, dy, dx) each.

    Row 0 is the candidate itself (0, 0, 0); with ``flip``, row 1 is its horizontal flip (1, 0, 0); then every
    translation (0, dy, dx), then (with ``flip``) every translation of the flip (1, dy, dx). A translation moves
    the content ``dy`` pixels down and ``dx`` right (:func:`augment`). ``translations``: ``'ring'`` = all
    |dy| + |dx| = shift (4 * shift; the paper's set, Sec. 4.1), ``'square'`` = all max(|dy|, |dx|) <= shift but
    (0, 0) ((2 shift + 1)^2 - 1); ordered by radius, then by angle counter-clockwise from "right" (0, +r).
    So A = (2 if flip else 1) * (1 + number of translations); shift 0 = no translation.

    Raises ``ValueError`` for a negative or non-integer ``shift``, a non-bool ``flip``, or an unknown
    ``translations``.
    """
    check_integer("shift", shift, 0)
    if not isinstance(flip, (bool, np.bool_)):
        raise ValueError(f"flip must be a bool, got {flip!r}")
    if translations not in TRANSLATIONS:
        raise ValueError(f"translations must be one of {TRANSLATIONS}, got {translations!r}")
    r = np.arange(-shift, shift + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(r, r, indexing="ij"))
    radius = np.abs(dy) + np.abs(dx) if translations == "ring" else np.maximum(np.abs(dy), np.abs(dx))
    keep = (radius == shift) if translations == "ring" else (radius > 0)
    keep &= radius > 0
    dy, dx, radius = dy[keep], dx[keep], radius[keep]
    angle = np.mod(np.arctan2(-dy, dx), 2 * np.pi)  # image rows grow downwards: -dy is "up"
    order = np.lexsort((angle, radius))
    offsets = np.stack([dy[order], dx[order]], axis=1)
    plain = np.concatenate([np.zeros((1, 2), dtype=np.int64), offsets])
    rows = [np.column_stack([np.zeros(len(plain), dtype=np.int64), plain])]
    if flip:
        rows.append(np.column_stack([np.ones(len(plain), dtype=np.int64), plain]))
    table = np.concatenate(rows).astype(np.int64)
    # query order: identity, flip, translations, flipped translations
    first = [0, len(plain)] if flip else [0]
    rest = [i for i in range(len(table)) if i not in first]
    return table[first + rest]


def _source_index(index: torch.Tensor, size: int, padding: str) -> torch.Tensor:
    """Where each (possibly out-of-range) index in [-size + 1, 2 size - 2] reads from, by ``padding``."""
    if padding == "reflect":  # mirror without repeating the edge pixel (torch's 'reflect'): -1 -> 1
        index = torch.where(index < 0, -index, index)
        return torch.where(index > size - 1, 2 * (size - 1) - index, index)
    return index.clamp(0, size - 1)  # 'edge'; 'zeros' masks these afterwards


def augment(x: torch.Tensor, flip: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor,
            padding: str = "reflect") -> torch.Tensor:
    """Each image of x (B, C, H, W) flipped left-right where ``flip`` (B,) is true, then translated by its own
    (``dy``, ``dx``) (B,) int pixels: out[b, :, h, w] = flip_b(x)[b, :, h - dy_b, w - dx_b], the uncovered border
    filled by ``padding`` (``'reflect'``, ``'zeros'`` or ``'edge'``; see the module docstring). Batched, no loop.

    Returns a new tensor (B, C, H, W) of x's dtype and device; values stay in x's range. Raises ``ValueError``
    for an x that is not 4-D, arguments of another length, an unknown ``padding``, or a translation of
    H (rows) / W (columns) pixels or more.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor of images (B, C, H, W), got shape {tuple(getattr(x, 'shape', ()))}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    b, c, h, w = x.shape
    flip, dy, dx = (torch.as_tensor(t, device=x.device) for t in (flip, dy, dx))
    if not flip.shape == dy.shape == dx.shape == (b,):
        raise ValueError(f"flip, dy and dx must have one entry per image ({b},), got "
                         f"{tuple(flip.shape)}, {tuple(dy.shape)}, {tuple(dx.shape)}")
    dy, dx, flip = dy.long(), dx.long(), flip.bool()
    if b and (int(dy.abs().max()) >= h or int(dx.abs().max()) >= w):
        raise ValueError(f"translations must be smaller than the image ({h} x {w} pixels), got |dy| up to "
                         f"{int(dy.abs().max())} and |dx| up to {int(dx.abs().max())}")
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]  # (B, H) row of flip(x) read
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]  # (B, W) column of flip(x) read
    source_rows, source_cols = _source_index(rows, h, padding), _source_index(cols, w, padding)
    source_cols = torch.where(flip[:, None], w - 1 - source_cols, source_cols)  # column of x read
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    out = x[batch, channel, source_rows[:, None, :, None], source_cols[:, None, None, :]]
    if padding == "zeros":
        inside = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
        out = out * inside[:, None].to(x.dtype)
    return out


# --------------------------------------------------------------------------- queries shared by both attacks


def reserve_queries(oracle: LabelOnlyOracle, n: int, per_candidate: int, attack: str) -> None:
    """Refuse up front, before any query is answered or charged, a run that the oracle's per-candidate budget
    cannot pay: ``per_candidate`` label queries for each of the n candidates (owners 0..n-1).

    Raises ``ValueError`` if the oracle does not charge exactly n owners (build it as
    ``LabelOnlyOracle(model, num_owners=n, ...)``), and the oracle's :class:`QueryBudgetExceeded` (naming the
    candidate, what it needs and what it has left) when ``budget`` is set and too small.
    """
    if len(oracle.per_owner) != n:
        raise ValueError(f"the {attack} attack charges each query to its candidate: the oracle must count "
                         f"{n} owners (LabelOnlyOracle(model, num_owners={n})), it counts {len(oracle.per_owner)}")
    if oracle.budget is not None and n:
        left = oracle.budget - oracle.per_owner
        worst = int(left.argmin())
        if int(left[worst]) < per_candidate:
            raise QueryBudgetExceeded(f"the {attack} attack needs {per_candidate} label queries per candidate, but "
                                      f"candidate {worst} has {int(left[worst])} left of the budget {oracle.budget}; "
                                      "nothing was queried")


def query_agreement(oracle: LabelOnlyOracle, labels: torch.Tensor, per_candidate: int, make: QueryMaker,
                    chunk_size: int, attack: str) -> np.ndarray:
    """Whether the target labels each copy of each candidate with its true label: bool (n, per_candidate).

    ``labels`` (n,) int64: the candidates' true labels. All n * per_candidate queries run candidate-major (query
    ``i * per_candidate + j`` is copy j of candidate i, built by ``make``: every copy of candidate 0, then of
    candidate 1, ...), in chunks of ``chunk_size`` queries, one oracle call each, every query charged to its
    candidate (``owner``). Which candidates share a chunk changes no query (``make`` builds each from its
    candidate and copy number), so a candidate's answers do not depend on the others. Exactly
    ``per_candidate`` queries per candidate; the budget is checked before the first (:func:`reserve_queries`:
    ``ValueError`` / ``QueryBudgetExceeded``). Raises ``ValueError`` for ``chunk_size`` < 1 or
    ``per_candidate`` < 1.
    """
    check_integer("chunk_size", chunk_size, 1)
    check_integer("per_candidate", per_candidate, 1)
    n = len(labels)
    reserve_queries(oracle, n, per_candidate, attack)
    total = n * per_candidate
    agree = np.zeros(total, dtype=bool)
    for start in range(0, total, chunk_size):
        flat = torch.arange(start, min(start + chunk_size, total), device=labels.device)
        candidate, copy = flat // per_candidate, flat % per_candidate
        answers = oracle.labels(make(flat, candidate, copy), owner=candidate)
        agree[start:start + len(flat)] = (answers.to(labels.device) == labels[candidate]).cpu().numpy()
    return agree.reshape(n, per_candidate)


def checkpoint_scores(agree: np.ndarray, checkpoints: Sequence[int]) -> np.ndarray:
    """The score after the first q queries, for each q of ``checkpoints``: float64 (n, K), the fraction of a
    candidate's first q copies (columns of ``agree`` (n, Q) bool) labelled correctly; 0 for q = 0 (no query, no
    information: every candidate ties). Raises ``ValueError`` for a checkpoint outside [0, Q]."""
    agree = np.asarray(agree, dtype=bool)
    n, q_max = agree.shape
    points = [int(q) for q in checkpoints]
    if any(q < 0 or q > q_max for q in points):
        raise ValueError(f"checkpoints must lie in [0, {q_max}] (the queries made per candidate), got {points}")
    out = np.zeros((n, len(points)))
    for k, q in enumerate(points):  # a loop over the few checkpoints, not over candidates
        if q:
            out[:, k] = agree[:, :q].sum(1) / q
    return out


def agreement_output(agree: np.ndarray, queries: np.ndarray, checkpoints: Sequence[int],
                     seconds: float) -> AttackOutput:
    """The :class:`AttackOutput` of an agreement attack: scores (n,) = fraction of agreeing queries; cost and the
    per-candidate extras (``correct``, ``queries``, ``checkpoint_score``, ``checkpoints``), see the attacks."""
    n, per_candidate = agree.shape
    correct = agree.sum(1).astype(np.int64)
    total = float(queries.sum())
    cost = {"shadow_queries": 0.0, "shadow_epochs": 0.0, "total_queries": total,
            "queries_per_candidate": float(queries.mean()) if n else 0.0,
            "max_queries_per_candidate": float(queries.max()) if n else 0.0,
            "seconds": seconds, "queries_per_second": total / max(seconds, 1e-9)}
    extras = {"correct": correct, "queries": queries.astype(np.int64),
              "checkpoint_score": checkpoint_scores(agree, checkpoints),
              "checkpoints": np.asarray(checkpoints, dtype=np.int64)}
    return AttackOutput(scores=correct / per_candidate, cost=cost, extras=extras)


# --------------------------------------------------------------------------- the attack


@register("augmentation")
class AugmentationAttack:
    """Score = fraction of the candidate's augmented copies (itself included) the target labels correctly, in
    [0, 1]; higher = member (Choquette-Choo et al., ICML 2021, Sec. 4.1)."""

    needs_attacker_data = False  # a count score: no shadow model, no attacker data

    @dataclass(frozen=True)
    class Config:
        """Data-augmentation attack settings; the set queried is :func:`augmentation_set` of these."""

        shift: int = doc_field(1, "translation in pixels (0 = none); see translations")
        flip: bool = doc_field(True, "also query the horizontal flip, and the flip of every translation")
        translations: str = doc_field("ring", "'ring': all |dy|+|dx| = shift (paper, 4*shift); 'square': all "
                                              "max(|dy|,|dx|) <= shift ((2 shift+1)^2 - 1, a crop's offsets)")
        padding: str = doc_field("reflect", "border a translation uncovers: 'reflect' (the book's augmentation "
                                            "defence), 'zeros' (torchvision RandomCrop) or 'edge' (authors' code)")
        max_queries: int = doc_field(0, "label queries per candidate at most: the first max_queries of the fixed "
                                        "order (identity, flip, translations, flipped ones); 0 = all")
        chunk_size: int = doc_field(4096, "queries per oracle call (memory only: scores do not depend on it)")

        def __post_init__(self) -> None:
            """``ValueError`` for a negative shift, a non-bool flip, an unknown translations / padding, a
            negative max_queries or a chunk_size < 1."""
            augmentation_set(self.shift, self.flip, self.translations)  # validates those three
            if self.padding not in PADDINGS:
                raise ValueError(f"padding must be one of {PADDINGS}, got {self.padding!r}")
            check_integer("max_queries", self.max_queries, 0)
            check_integer("chunk_size", self.chunk_size, 1)

        @property
        def augmentations(self) -> np.ndarray:
            """The (flip, dy, dx) rows queried, in order (A, 3): :func:`augmentation_set`, cut to max_queries."""
            table = augmentation_set(self.shift, self.flip, self.translations)
            return table[:self.max_queries] if self.max_queries else table

        @property
        def budget(self) -> int:
            """Label queries per candidate, exactly: 1 + the augmentations used (the oracle's budget in
            :func:`leakage.api.vision.attack_candidates`)."""
            return len(self.augmentations)

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()

    def run(self, ctx: AttackContext) -> AttackOutput:
        """Scores (n,): fraction of the ``budget`` queries answered with the true label (higher = member).

        Extras per candidate: ``correct`` (count of such queries), ``queries`` (label queries charged, = budget),
        ``agree`` (n, A) bool (which augmentation kept the label, in :attr:`Config.augmentations` order),
        ``checkpoint_score`` (n, A): the score after the first q queries, q = ``checkpoints`` = 1..A.
        Cost: ``total_queries``, ``queries_per_candidate`` (mean), ``max_queries_per_candidate``, ``seconds``.
        Raises ``ValueError`` for a shift not smaller than the images, ``QueryBudgetExceeded`` (before any query)
        when the oracle's budget is below :attr:`Config.budget`. Warns
        (:class:`~leakage.attacks.coverage.MethodNotAppliedWarning`) when the config queries no augmented copy.
        """
        start = time.perf_counter()
        c = self.config
        x = ctx.candidates
        h, w = x.shape[-2:]
        if c.shift and c.shift >= min(h, w):
            raise ValueError(f"shift must be smaller than the images ({h} x {w} pixels), got {c.shift}")
        table = torch.as_tensor(c.augmentations, device=x.device)
        if len(table) == 1:
            why = "max_queries=1 keeps only the candidate itself" if c.max_queries == 1 else "shift=0 and flip=False"
            warn_not_applied("augmentation", len(x), len(x), f"were queried without any augmented copy ({why})",
                             "Their score is the baseline attack's: 1 if the target labels the candidate itself "
                             "correctly, else 0", "To apply the attack: allow max_queries >= 2 (or 0 = all) with "
                             "shift >= 1 or flip=True")

        def make(flat: torch.Tensor, candidate: torch.Tensor, copy: torch.Tensor) -> torch.Tensor:
            rows = table[copy]
            return augment(x[candidate], rows[:, 0].bool(), rows[:, 1], rows[:, 2], c.padding)

        before = ctx.oracle.per_owner.clone()
        agree = query_agreement(ctx.oracle, ctx.candidate_labels, len(table), make, c.chunk_size, "augmentation")
        queries = (ctx.oracle.per_owner - before).numpy()
        output = agreement_output(agree, queries, range(1, len(table) + 1), time.perf_counter() - start)
        output.extras["agree"] = agree
        return output
