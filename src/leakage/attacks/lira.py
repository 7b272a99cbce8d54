"""LiRA, the likelihood-ratio attack (Carlini, Chien, Nasr, Song, Terzis & Tramer, "Membership Inference
Attacks From First Principles", S&P 2022): per candidate, Gaussians fitted to the reference models' logit-scaled
confidence phi with (in) and without (out) the candidate; the target's phi is scored by their likelihood ratio
(online) or by a one-sided test against the out-Gaussian (offline).

The scoring functions are pure, on arrays; :class:`LiraAttack` ("lira") trains the reference models
(:mod:`leakage.attacks.reference_models`) and queries the target's confidences (``needs_posteriors``).

A candidate's score depends on the other candidates of the call in two of the paper's variants, the defaults:
online LiRA trains its reference models on random halves of the candidates (Sec. IV-C), and the pooled variance
(``global_variance=True``, Sec. VI-A) is one variance over all candidates. Offline LiRA with per-candidate
variances (``online=False, global_variance=False``) scores each candidate from its own reference values alone
(``tests/test_attacks_candidate_independence.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from leakage.attacks import AttackContext, AttackOutput, register
from leakage.attacks.reference_models import reference_confidences, reference_pool, target_confidences
from leakage.attacks.shadow import ShadowConfig
from leakage.checks import check_finite
from leakage.config import doc_field

#: Variances are floored here, so reference values that coincide give a huge but finite score, never inf/NaN.
VARIANCE_FLOOR = 1e-12


def _as_views(target_phi: np.ndarray, ref_phi: np.ndarray, ref_name: str) -> tuple[np.ndarray, np.ndarray]:
    """target (n, a), references (N, n, a) float64, checked: finite, shapes agreeing."""
    target = np.asarray(target_phi, dtype=np.float64)
    ref = np.asarray(ref_phi, dtype=np.float64)
    if target.ndim not in (1, 2):
        raise ValueError(f"target_phi must be (n,) or (n, a) (a = augmented views), got shape {target.shape}")
    if target.ndim == 1:
        target = target[:, None]
    if ref.ndim == 2:
        ref = ref[:, :, None]
    if ref.ndim != 3 or ref.shape[1:] != target.shape:
        raise ValueError(f"{ref_name} must be (N, n[, a]) = (N, {', '.join(map(str, target.shape))}) to match "
                         f"target_phi, got shape {np.shape(ref_phi)}")
    check_finite("target_phi", target)
    check_finite(ref_name, ref)
    return target, ref


def _fit(ref: np.ndarray, member: np.ndarray, global_variance: bool, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean (n, a) and variance (n, a) of ref (N, n, a) over the models where ``member`` (N, n) is True.

    Per-example: the unbiased variance of each candidate's values (needs >= 2 of them). Global: the pooled
    within-candidate variance sum_i sum_j (phi_ij - mu_i)^2 / sum_i (N_i - 1), one per view (Carlini et al.,
    Sec. VI-A, "fixed variance"; their code uses the spread of all values, between candidates included, which
    the pooled estimate leaves out)."""
    count = member.sum(0)  # (n,)
    if (count < 1).any():
        i = int(np.flatnonzero(count < 1)[0])
        raise ValueError(f"candidate {i} has no {side}-model among the reference models: every candidate needs "
                         f"at least one (more models, or a balanced in_mask)")
    weight = member[:, :, None].astype(np.float64)
    mean = (weight * ref).sum(0) / count[:, None]
    squares = (weight * (ref - mean) ** 2).sum(0)  # (n, a)
    if global_variance:
        dof = int((count - 1).sum())
        if dof < 1:
            raise ValueError(f"a global {side}-variance needs some candidate with >= 2 {side}-models, but each has "
                             "one: use more reference models")
        variance = np.broadcast_to(squares.sum(0) / dof, mean.shape)
    else:
        if (count < 2).any():
            i = int(np.flatnonzero(count < 2)[0])
            raise ValueError(f"per-example variances need >= 2 {side}-models per candidate, candidate {i} has "
                             f"{int(count[i])}: use global_variance=True or more reference models")
        variance = squares / (count[:, None] - 1)
    return mean, np.maximum(variance, VARIANCE_FLOOR)


def lira_online(target_phi: np.ndarray, ref_phi: np.ndarray, in_mask: np.ndarray, *,
                global_variance: bool) -> np.ndarray:
    """Online LiRA scores (n,) float64, HIGHER = MEMBER (Carlini et al., S&P 2022, Sec. IV, Algorithm 1).

    - ``target_phi`` (n,) or (n, a): the target's phi of each candidate (a views, e.g. x and its flip);
    - ``ref_phi`` (N, n) or (N, n, a): each reference model's phi of the same candidates and views;
    - ``in_mask`` (N, n) bool: True where reference model j was trained on candidate i;
    - ``global_variance``: one pooled variance per side and view instead of per-candidate ones (Sec. VI-A: better
      with few models, under ~64).

    score_i = sum_v [log N(t_iv; mu_in_iv, s_in_iv^2) - log N(t_iv; mu_out_iv, s_out_iv^2)]: the log likelihood
    ratio of the diagonal Gaussians fitted (mean and unbiased variance, floored at VARIANCE_FLOOR) to the in- and
    out-values of candidate i, summed over views (Sec. VI, test-time augmentation; the paper's code averages: the
    same ranking).

    Raises ``ValueError`` for mismatched shapes, NaN/inf values, a non-bool in_mask, a candidate without in- or
    out-models, or too few of them for the variance asked for (>= 2 per side per candidate per-example; some
    candidate with >= 2 per side for a global variance).
    """
    target, ref = _as_views(target_phi, ref_phi, "ref_phi")
    mask = np.asarray(in_mask)
    if mask.dtype != bool or mask.shape != ref.shape[:2]:
        raise ValueError(f"in_mask must be a bool array (N, n) = {ref.shape[:2]}, got {mask.dtype} {mask.shape}")
    mu_in, var_in = _fit(ref, mask, global_variance, "in")
    mu_out, var_out = _fit(ref, ~mask, global_variance, "out")
    score = (norm.logpdf(target, mu_in, np.sqrt(var_in)) - norm.logpdf(target, mu_out, np.sqrt(var_out)))
    return score.sum(1)


def lira_offline(target_phi: np.ndarray, ref_phi_out: np.ndarray, *, global_variance: bool) -> np.ndarray:
    """Offline LiRA scores (n,) float64, HIGHER = MEMBER (Carlini et al., S&P 2022, Sec. IV, offline variant): with
    out-models only, the one-sided test Lambda = Pr[Z < t], Z ~ N(mu_out, s_out^2), as a log:
    log Phi((t - mu_out) / s_out).

    - ``target_phi`` (n,) or (n, a): the target's phi (a views);
    - ``ref_phi_out`` (N, n) or (N, n, a): phi of N reference models none of which saw the candidates;
    - ``global_variance``: one pooled variance per view (as :func:`lira_online`).

    With several views the per-view log-probabilities are summed (a diagonal Gaussian, each view tested one-sided:
    our choice, the paper describes the single-view test). Raises ``ValueError`` for mismatched shapes, NaN/inf
    values, or N < 2 (no variance to fit).
    """
    target, ref = _as_views(target_phi, ref_phi_out, "ref_phi_out")
    if ref.shape[0] < 2:
        raise ValueError(f"offline LiRA fits a variance to the out-models' phi: it needs >= 2 of them, got "
                         f"{ref.shape[0]}")
    mu, var = _fit(ref, np.ones(ref.shape[:2], dtype=bool), global_variance, "out")
    return norm.logcdf(target, mu, np.sqrt(var)).sum(1)


@register("lira")
class LiraAttack:
    """Score = LiRA's log likelihood ratio (online) or one-sided log p-value (offline) of the target's phi."""

    needs_posteriors = True
    needs_attacker_data = True  # reference models are trained on D_shadow (and the candidates, online)

    @dataclass(frozen=True)
    class Config:
        """LiRA settings (Carlini et al., S&P 2022)."""

        n_models: int = doc_field(8, "reference models N (online: each candidate in half of them; paper: 256)")
        shadow: ShadowConfig = doc_field(ShadowConfig(), "reference model config; each trains on shadow.size "
                                                         "samples of D_shadow (0 = half of it), its own draw")
        online: bool = doc_field(True, "online (in- and out-models, likelihood ratio) or offline (out-models only, "
                                       "one-sided test)")
        augment: bool = doc_field(False, "query each candidate and its horizontal flip (2 target queries each)")
        global_variance: bool = doc_field(True, "one pooled variance for all candidates (paper: with < 64 models)")
        held_out: int = doc_field(0, "D_shadow samples kept out of every reference model, drawn as RMIA's population "
                                     "of that size (0 = the models draw from all of D_shadow); with RMIA's "
                                     "n_population, shadow and online, LiRA and RMIA share their reference models")

    def __init__(self, config: Config | None = None):
        self.config = config = config or self.Config()
        if config.n_models < 1:
            raise ValueError(f"LiRA needs at least one reference model: n_models must be >= 1, got {config.n_models}")
        if config.online:
            least = 3 if config.global_variance else 4
            if config.n_models < least:
                raise ValueError(f"online LiRA fits in- and out-Gaussians per candidate: n_models >= {least} "
                                 f"({'pooled' if config.global_variance else 'per-example'} variance, each candidate "
                                 f"in half of the models), got {config.n_models}")
        elif config.n_models < 2:
            raise ValueError(f"offline LiRA fits a variance to the out-models: n_models >= 2, got {config.n_models}")
        if config.held_out < 0:
            raise ValueError(f"held_out counts D_shadow samples kept out of the reference models: >= 0, got "
                             f"{config.held_out}")

    def run(self, ctx: AttackContext) -> AttackOutput:
        c = self.config
        target = target_confidences(ctx, c.augment)
        pool = reference_pool(len(ctx.shadow_x), c.held_out, c.shadow.seed)
        refs = reference_confidences(ctx, c.n_models, c.shadow, online=c.online, augment=c.augment, pool=pool)
        if c.online:
            scores = lira_online(target, refs.phi, refs.in_mask, global_variance=c.global_variance)
        else:
            scores = lira_offline(target, refs.phi, global_variance=c.global_variance)
        epochs = float(refs.epochs.sum())
        return AttackOutput(scores=scores, cost={
            "target_queries": float(target.size), "reference_models": float(c.n_models),
            "reference_epochs": epochs, "shadow_queries": 0.0, "shadow_epochs": epochs})
