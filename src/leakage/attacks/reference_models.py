"""Reference models for the likelihood-ratio attacks (LiRA, RMIA): the attacker's own models, trained with and
without each candidate, whose outputs on the candidates say how a member's and a non-member's output look.

Reference model j (0 <= j < N) is trained, with the candidates' and D_shadow's true labels, on

- a random subset of D_shadow (``shadow.size`` samples, 0 = half of the pool it is drawn from; drawn per model), and
- the candidates of row j of the in-mask (N, n) (:func:`reference_in_mask`): models come in complementary
  pairs, so each candidate is in any one model with probability 1/2, in exactly half of the models (N odd: one
  more or one less), and every candidate has in- and out-models once N >= 2 (Carlini et al., S&P 2022, Sec. IV:
  shadow models on random halves; their code balances the mask too). Offline: no candidate in any model.

Every draw (subset, in-mask, initialisation, batch order) derives from ``shadow.seed`` and j, and model j does
not depend on N: the first N models of a larger set are the same artefacts. Each reference model is one store
artefact, keyed by :class:`ReferenceRun` (a :class:`~leakage.attacks.shadow.ShadowRun`
extended by the model index, the pool it was drawn from and the content digest of the candidates it saw), so
a plan can train them in parallel and two attacks that need the same model share it; existing shadow keys
are unchanged (a ReferenceRun has more fields, so it never hashes like a ShadowRun).

The statistic LiRA fits is the logit-scaled true-class confidence phi = log p_y - log sum_{k != y} p_k
(Carlini et al., Sec. IV, eq. 4), from logits (reference models) or from the target oracle's softmax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from leakage.attacks import AttackContext
from leakage.attacks.shadow import ShadowConfig, ShadowRun, train_shadow
from leakage.checks import check_finite, check_labels
from leakage.config import doc_field
from leakage.inputs import array_digest
from leakage.seed import derive_seed, numpy_rng
from leakage.train import predict_logits

#: |phi| is clipped here: the largest phi a float32 softmax can express (-log of the smallest positive float32,
#: about 103.3). The target answers float32 probabilities, so its phi saturates there; reference models' phi from
#: logits is clipped to the same range so both are on one scale.
PHI_LIMIT = float(-np.log(np.finfo(np.float32).smallest_subnormal))
#: Floor of a probability before a logarithm or a ratio (the smallest positive float32).
PROB_FLOOR = float(np.finfo(np.float32).smallest_subnormal)


# --------------------------------------------------------------------------- statistics of one model's outputs


def _check_outputs(name: str, values: torch.Tensor, labels: torch.Tensor) -> None:
    if not isinstance(values, torch.Tensor) or values.ndim != 2:
        raise ValueError(f"{name} must be a tensor (n, K), got {type(values).__name__} of shape "
                         f"{tuple(getattr(values, 'shape', ()))}")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise ValueError(f"labels must be an int64 tensor ({len(values)},), got {getattr(labels, 'dtype', None)} of "
                         f"shape {tuple(getattr(labels, 'shape', ()))}")
    check_labels("labels", labels, n=len(values), num_classes=values.shape[1])
    check_finite(name, values)


def logit_confidence(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """phi = log p_y - log sum_{k != y} p_k = z_y - logsumexp_{k != y} z_k for logits z (n, K), labels y (n,).

    Carlini et al. (S&P 2022), Sec. IV, eq. 4: the logit-scaled confidence, near-Gaussian over training runs.
    Computed in float64 from the logits (no softmax that saturates), clipped to [-PHI_LIMIT, PHI_LIMIT] to match
    :func:`posterior_confidence`. Returns (n,) float64, higher = more confident in the true label.
    Raises ``ValueError`` for NaN/inf logits, a wrong shape, or labels outside [0, K).
    """
    _check_outputs("logits", logits, labels)
    z = logits.detach().double()
    y = labels.to(z.device)
    true = z.gather(1, y[:, None])[:, 0]
    others = torch.logsumexp(z.scatter(1, y[:, None], float("-inf")), dim=1)
    return (true - others).clamp(-PHI_LIMIT, PHI_LIMIT).cpu().numpy()


def posterior_confidence(posteriors: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """phi = log p_y - log sum_{k != y} p_k for softmax outputs p (n, K) (what a posterior oracle answers).

    Both terms are floored at PROB_FLOOR (the smallest positive float32, as Carlini et al.'s code adds 1e-45), so
    a saturated softmax gives phi = +-PHI_LIMIT, not inf. The sum over k != y is taken directly (not 1 - p_y),
    so it keeps its relative precision when p_y rounds to 1. Returns (n,) float64, higher = more confident.
    Raises ``ValueError`` for NaN/inf or negative values, a wrong shape, or labels outside [0, K).
    """
    _check_outputs("posteriors", posteriors, labels)
    p = posteriors.detach().double()
    if len(p) and float(p.min()) < 0:
        raise ValueError(f"posteriors must be probabilities (>= 0), got a minimum of {float(p.min()):.4g}")
    y = labels.to(p.device)
    true = p.gather(1, y[:, None])[:, 0]
    others = p.scatter(1, y[:, None], 0.0).sum(1)
    phi = torch.log(true.clamp_min(PROB_FLOOR)) - torch.log(others.clamp_min(PROB_FLOOR))
    return phi.clamp(-PHI_LIMIT, PHI_LIMIT).cpu().numpy()


def true_class_probability(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Pr(x | theta) = softmax(z)_y for logits z (n, K) and labels y (n,): (n,) float64 in [0, 1], computed in
    float64 (RMIA's signal, Zarifzadeh et al., ICML 2024). Raises ``ValueError`` like
    :func:`logit_confidence`."""
    _check_outputs("logits", logits, labels)
    log_p = F.log_softmax(logits.detach().double(), dim=1)
    return log_p.gather(1, labels.to(log_p.device)[:, None])[:, 0].exp().cpu().numpy()


def query_views(x: torch.Tensor, augment: bool) -> list[torch.Tensor]:
    """The inputs queried for x (n, ...): [x], or, for images x (n, C, H, W) with ``augment``, [x, x flipped
    horizontally] (test-time augmentation, Carlini et al., Sec. VI: one phi per view).
    Raises ``ValueError`` for ``augment`` on inputs that are not 4-D images (a flip of a feature vector means
    nothing)."""
    if augment and x.ndim != 4:
        raise ValueError(f"augment=True queries horizontal flips of images (n, C, H, W), but the candidates have shape "
                         f"{tuple(x.shape)}: set augment=False for inputs that are not images")
    return [x, torch.flip(x, dims=[-1])] if augment else [x]


# --------------------------------------------------------------------------- which model sees which candidate


def reference_in_mask(n_models: int, n_candidates: int, seed: int, *, online: bool) -> np.ndarray:
    """in_mask (n_models, n_candidates) bool: True where reference model j is trained on candidate i.

    Online: models come in complementary pairs (2k, 2k + 1): row 2k holds each candidate with probability 1/2
    (a fair coin per candidate, drawn from ``seed`` and k), row 2k + 1 holds the others. So P(in) = 1/2 for each
    model, each candidate is in exactly N / 2 models (N odd: (N - 1) / 2 or (N + 1) / 2), every candidate has in-
    and out-models once N >= 2, and the mask of N models is the first N rows of any larger one: a sweep over N
    reuses the same reference models. Offline: all False (out-models only).
    Raises ``ValueError`` for n_models < 1, n_candidates < 0, or online with n_models < 2.
    """
    if n_models < 1:
        raise ValueError(f"n_models must be at least 1, got {n_models}")
    if n_candidates < 0:
        raise ValueError(f"n_candidates must be >= 0, got {n_candidates}")
    if not online:
        return np.zeros((n_models, n_candidates), dtype=bool)
    if n_models < 2:
        raise ValueError(f"an online in-mask needs n_models >= 2 (a model with and one without each candidate), "
                         f"got {n_models}")
    mask = np.empty((n_models, n_candidates), dtype=bool)
    for pair in range(0, n_models, 2):  # a loop over model pairs, not samples
        row = numpy_rng(seed, "reference-in-mask", pair // 2).random(n_candidates) < 0.5
        mask[pair] = row
        if pair + 1 < n_models:
            mask[pair + 1] = ~row
    return mask


def held_out_split(num_shadow: int, n_held_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out indices (n_held_out,), the rest of D_shadow (the reference models' pool)), both sorted, drawn from
    ``seed``: RMIA's population z (Zarifzadeh et al., ICML 2024), which no reference model may see. LiRA draws its
    reference models from the same pool when given the same number (``LiraAttack.Config.held_out``), so the two
    attacks share their reference models, as RMIA's paper does.
    Raises ``ValueError`` when D_shadow has fewer than n_held_out + 2 samples, or for n_held_out < 1.
    """
    if n_held_out < 1:
        raise ValueError(f"n_held_out must be at least 1 (0: no split, the pool is all of D_shadow), got {n_held_out}")
    if num_shadow < n_held_out + 2:
        raise ValueError(f"{n_held_out} samples of D_shadow are held out of the reference models, but D_shadow has "
                         f"{num_shadow}: it needs at least {n_held_out + 2} (the rest trains the reference models)")
    order = numpy_rng(seed, "rmia-population").permutation(num_shadow)
    return np.sort(order[:n_held_out]), np.sort(order[n_held_out:])


def reference_pool(num_shadow: int, n_held_out: int, seed: int) -> np.ndarray | None:
    """The D_shadow indices reference models draw from: all of D_shadow (None) when ``n_held_out`` is 0, else
    the rest after :func:`held_out_split`. Raises ``ValueError`` as :func:`held_out_split` does."""
    return held_out_split(num_shadow, n_held_out, seed)[1] if n_held_out else None


# --------------------------------------------------------------------------- one reference model, one artefact


@dataclass(frozen=True)
class ReferenceRun(ShadowRun):
    """Identity of one reference model: a ShadowRun (D_shadow's key, the model's own ShadowConfig, purpose
    'reference', true labels) plus its index, the pool its D_shadow subset came from and the candidates it saw."""

    purpose: str = doc_field("reference", "what the shadow is for: 'reference' (LiRA / RMIA reference model)")
    index: int = doc_field(0, "j, the reference model's index (its shadow.seed is derived from the base seed and j)")
    pool: str = doc_field("", "digest of the D_shadow indices its subset is drawn from ('' = all of D_shadow)")
    included: str = doc_field("", "content digest of the candidates (images, labels) it was trained on "
                                  "('' = none: an out-model)")


def model_shadow(shadow: ShadowConfig, index: int) -> ShadowConfig:
    """Reference model ``index``'s own ShadowConfig: ``shadow`` with a seed derived from its seed and the index
    (so each model has its own subset, initialisation and batch order)."""
    return dataclasses.replace(shadow, seed=derive_seed(shadow.seed, "reference-model", index))


def reference_training_set(ctx: AttackContext, shadow: ShadowConfig, index: int, in_row: np.ndarray,
                           pool: np.ndarray | None = None) -> tuple[ReferenceRun, torch.Tensor, torch.Tensor]:
    """(key, inputs (s + k, ...), true labels (s + k,)) of reference model ``index``: s samples of D_shadow drawn
    from ``pool`` (indices into D_shadow, None = all of it; s = ``shadow.size``, 0 = half the pool) and the k
    candidates where ``in_row`` (n,) bool is True.

    Raises ``ValueError`` for an in_row of the wrong shape, a subset larger than the pool, or an empty subset.
    """
    in_row = np.asarray(in_row)
    if in_row.dtype != bool or in_row.shape != (len(ctx.candidates),):
        raise ValueError(f"in_row must be a bool array ({len(ctx.candidates)},), got {in_row.dtype} {in_row.shape}")
    own = model_shadow(shadow, index)
    pool_idx = np.arange(len(ctx.shadow_x)) if pool is None else np.asarray(pool, dtype=np.int64)
    size = shadow.size or len(pool_idx) // 2
    if size > len(pool_idx):
        raise ValueError(f"reference models train on shadow.size={size} samples of D_shadow, but the pool they are "
                         f"drawn from has {len(pool_idx)}: lower shadow.size")
    if size < 1:
        raise ValueError(f"reference models need D_shadow samples, but the pool has {len(pool_idx)}: give the "
                         "attacker data (D_shadow)")
    subset = np.sort(pool_idx[numpy_rng(own.seed, "reference-subset").permutation(len(pool_idx))[:size]])
    chosen = torch.as_tensor(np.flatnonzero(in_row), device=ctx.candidates.device)
    subset_t = torch.as_tensor(subset, device=ctx.shadow_x.device)
    x = torch.cat([ctx.shadow_x[subset_t], ctx.candidates[chosen].to(ctx.shadow_x.device)])
    y = torch.cat([ctx.shadow_y[subset_t], ctx.candidate_labels[chosen].to(ctx.shadow_y.device)])
    included = array_digest(ctx.candidates[chosen], ctx.candidate_labels[chosen]) if len(chosen) else ""
    run = ReferenceRun(data=ctx.data_key, shadow=own, index=index,
                       pool="" if pool is None else array_digest(pool_idx), included=included)
    return run, x, y


def train_reference_model(ctx: AttackContext, shadow: ShadowConfig, index: int, in_row: np.ndarray,
                          pool: np.ndarray | None = None) -> tuple[torch.nn.Module, dict]:
    """Train (or load from ``ctx.store``) reference model ``index`` (see :func:`reference_training_set`); returns
    it in eval mode and its stored values (``epochs``, ``size``, ``train_accuracy``). One artefact per model, built
    by ``ctx.shadow_model`` (None = the book's CNN for images, an MLP for feature vectors)."""
    run, x, y = reference_training_set(ctx, shadow, index, in_row, pool)
    return train_shadow(run, x, lambda: y, ctx.num_classes, ctx.store, factory=ctx.shadow_model)


@dataclass
class ReferenceOutputs:
    """What the reference models said: ``logits[q]`` (N, len(queries[q]), K) float64 on the CPU per query batch,
    ``in_mask`` (N, n) bool (candidate i in model j's training set), ``epochs`` (N,) training epochs per model."""

    logits: list[torch.Tensor]
    in_mask: np.ndarray
    epochs: np.ndarray


def reference_outputs(ctx: AttackContext, n_models: int, shadow: ShadowConfig, *, online: bool,
                      queries: Sequence[torch.Tensor], pool: np.ndarray | None = None) -> ReferenceOutputs:
    """Train (or load) ``n_models`` reference models and query each on every batch of ``queries`` (inputs
    (q, ...) of the candidates' shape). Online: candidates in by :func:`reference_in_mask` (seeded by
    ``shadow.seed``); offline: none. One model is held in memory at a time. Raises ``ValueError`` as
    :func:`reference_in_mask` and :func:`reference_training_set` do."""
    in_mask = reference_in_mask(n_models, len(ctx.candidates), shadow.seed, online=online)
    logits: list[list[torch.Tensor]] = [[] for _ in queries]
    epochs = np.zeros(n_models, dtype=np.int64)
    for j in range(n_models):
        model, values = train_reference_model(ctx, shadow, j, in_mask[j], pool)
        epochs[j] = values["epochs"]
        with torch.no_grad():
            for q, x in enumerate(queries):
                logits[q].append(predict_logits(model, x).double().cpu())
    return ReferenceOutputs(logits=[torch.stack(found) for found in logits], in_mask=in_mask, epochs=epochs)


@dataclass
class ReferenceConfidences:
    """phi (N, n, a) float64 of each reference model on each candidate and view (a = 2 with flips, else 1), the
    in_mask (N, n) bool and the training ``epochs`` (N,) of each model."""

    phi: np.ndarray
    in_mask: np.ndarray
    epochs: np.ndarray


def reference_confidences(ctx: AttackContext, n_models: int, shadow: ShadowConfig, *, online: bool,
                          augment: bool, pool: np.ndarray | None = None) -> ReferenceConfidences:
    """Per reference model, the logit-scaled true-class confidence phi (:func:`logit_confidence`) of every
    candidate (with ``augment``: of it and its horizontal flip), and the in-mask. Reference models are drawn from
    ``pool`` (indices into D_shadow; None = all of it). Raises ``ValueError`` as :func:`reference_outputs` does."""
    views = query_views(ctx.candidates, augment)
    out = reference_outputs(ctx, n_models, shadow, online=online, queries=views, pool=pool)
    labels = ctx.candidate_labels.cpu()
    phi = np.stack([np.stack([logit_confidence(view[j], labels) for view in out.logits], axis=-1)
                    for j in range(n_models)])
    return ReferenceConfidences(phi=phi, in_mask=out.in_mask, epochs=out.epochs)


def target_confidences(ctx: AttackContext, augment: bool) -> np.ndarray:
    """phi (n, a) of the target on every candidate (and its flip with ``augment``), from the posterior oracle's
    softmax (:func:`posterior_confidence`); each query is charged to its candidate.
    Raises ``ValueError`` when the context has no posterior oracle."""
    if ctx.posterior_oracle is None:
        raise ValueError("this attack needs the target's confidence scores: give the context a posterior_oracle "
                         "(the score-based threat model)")
    owners = torch.arange(len(ctx.candidates))
    labels = ctx.candidate_labels
    return np.stack([posterior_confidence(ctx.posterior_oracle.posteriors(view, owner=owners), labels.to(view.device))
                     for view in query_views(ctx.candidates, augment)], axis=-1)
