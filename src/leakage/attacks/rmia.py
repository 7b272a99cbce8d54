"""RMIA, the robust membership inference attack (Zarifzadeh, Liu & Shokri, "Low-Cost High-Power Membership
Inference Attacks", ICML 2024): the target's probability of x's true label relative to its average over
reference models, compared pairwise with the same ratio on population samples z.

The scoring function is pure, on arrays; :class:`RmiaAttack` ("rmia") trains the reference models
(:mod:`leakage.attacks.reference_models`) and queries the target's confidences (``needs_posteriors``).

Population z: ``n_population`` samples of D_shadow drawn from ``shadow.seed`` and held out of every reference
model's training pool, so z is out for all reference models and the target (D_shadow is disjoint from the
target's training set), as in the authors' code (privacy_meter: population data trains no model). Its Pr(z) is
then computed as the candidates' would be with out-models only: the plain mean online, the ``offline_a``
correction offline (the authors' code does the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from leakage.attacks import AttackContext, AttackOutput, register
from leakage.attacks.reference_models import PROB_FLOOR, held_out_split, reference_outputs, true_class_probability
from leakage.attacks.shadow import ShadowConfig
from leakage.checks import check_finite
from leakage.config import doc_field


def _probabilities(name: str, values: np.ndarray, ndim: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    check_finite(name, array)
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"{name} must be probabilities in [0, 1], got values in [{array.min():.4g}, "
                         f"{array.max():.4g}]")
    return array


def rmia_scores(p_target_x: np.ndarray, p_ref_x: np.ndarray, p_target_z: np.ndarray, p_ref_z: np.ndarray,
                gamma: float = 1.0, a: float | None = None, in_mask: np.ndarray | None = None) -> np.ndarray:
    """RMIA scores (n,) float64 in [0, 1], HIGHER = MEMBER (Zarifzadeh et al., ICML 2024: the pairwise
    likelihood ratio LR(x, z) and the score Pr_z[LR(x, z) > gamma]).

    - ``p_target_x`` (n,): Pr(x | theta), the target's softmax probability of each candidate's true label;
    - ``p_ref_x`` (N, n): the same for each of N reference models;
    - ``p_target_z`` (m,), ``p_ref_z`` (N, m): the same on m population samples z, which no reference model saw;
    - ``gamma`` > 0: the pairwise threshold on LR(x, z);
    - ``a`` in [0, 1] or None: None = online, Pr(x) from all models; a number = offline, Pr(x) from the out-models
      with the paper's linear approximation Pr(x)_IN ~ a Pr(x)_OUT + (1 - a), i.e.
      Pr(x) = ((1 + a) mean_out + (1 - a)) / 2 (the paper's offline approximation; a = 1 is no correction);
    - ``in_mask`` (N, n) bool or None: which models saw which candidate. Online with a mask,
      Pr(x) = (mean_in + mean_out) / 2 (the membership-balanced average, the plain mean for a balanced mask; the
      authors' code); offline with a mask, mean_out is over each candidate's out-models; None = no model saw any.

    Pr(z) is the mean over all models (z is out for every one), with the same ``a`` correction offline. Then
    LR(x, z) = (Pr(x|theta) / Pr(x)) / (Pr(z|theta) / Pr(z)) and score(x) = the fraction of z with
    LR(x, z) > gamma. Probabilities and Pr(.) are floored at PROB_FLOOR before dividing.

    Raises ``ValueError`` for shapes that do not match, values outside [0, 1] or NaN, gamma <= 0, a outside [0, 1],
    no population sample, a non-bool in_mask, or (with a mask) a candidate without the models its Pr(x) needs.
    """
    t_x = _probabilities("p_target_x", p_target_x, 1)
    r_x = _probabilities("p_ref_x", p_ref_x, 2)
    t_z = _probabilities("p_target_z", p_target_z, 1)
    r_z = _probabilities("p_ref_z", p_ref_z, 2)
    n, m = len(t_x), len(t_z)
    if r_x.shape[1] != n or r_z.shape != (r_x.shape[0], m) or r_x.shape[0] < 1:
        raise ValueError(f"p_ref_x must be (N, n) and p_ref_z (N, m) with N >= 1, n = {n}, m = {m}: got "
                         f"{r_x.shape} and {r_z.shape}")
    if m < 1:
        raise ValueError("RMIA compares each candidate with population samples z: p_target_z is empty")
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive threshold on the likelihood ratio LR(x, z), got {gamma}")
    if a is not None and not 0.0 <= a <= 1.0:
        raise ValueError(f"offline a must lie in [0, 1] (Pr(x)_IN ~ a Pr(x)_OUT + 1 - a; 1 = no correction), got {a}")
    mask = np.zeros(r_x.shape, dtype=bool) if in_mask is None else np.asarray(in_mask)
    if mask.dtype != bool or mask.shape != r_x.shape:
        raise ValueError(f"in_mask must be a bool array (N, n) = {r_x.shape}, got {mask.dtype} {mask.shape}")

    def mean_over(member: np.ndarray, side: str) -> np.ndarray:
        count = member.sum(0)
        if (count < 1).any():
            raise ValueError(f"candidate {int(np.flatnonzero(count < 1)[0])} has no {side}-model among the "
                             "reference models")
        return (r_x * member).sum(0) / count

    if a is None:
        pr_x = r_x.mean(0) if in_mask is None else (mean_over(mask, "in") + mean_over(~mask, "out")) / 2
        pr_z = r_z.mean(0)
    else:
        pr_x = ((1 + a) * mean_over(~mask, "out") + (1 - a)) / 2
        pr_z = ((1 + a) * r_z.mean(0) + (1 - a)) / 2
    ratio_x = np.maximum(t_x, PROB_FLOOR) / np.maximum(pr_x, PROB_FLOOR)
    ratio_z = np.maximum(t_z, PROB_FLOOR) / np.maximum(pr_z, PROB_FLOOR)
    # LR(x, z) > gamma  <=>  ratio_z < ratio_x / gamma (ratios > 0): count by binary search, no (n, m) matrix
    return np.searchsorted(np.sort(ratio_z), ratio_x / gamma, side="left") / m


@register("rmia")
class RmiaAttack:
    """Score = the fraction of population samples z that x's likelihood ratio beats by more than gamma."""

    needs_posteriors = True
    needs_attacker_data = True  # reference models and the population are drawn from D_shadow

    @dataclass(frozen=True)
    class Config:
        """RMIA settings (Zarifzadeh, Liu & Shokri, ICML 2024)."""

        n_models: int = doc_field(4, "reference models N (online: each candidate in half of them; paper: 1-254)")
        n_population: int = doc_field(1000, "population samples z, drawn from D_shadow and held out of every "
                                            "reference model (one target query each)")
        gamma: float = doc_field(1.0, "threshold on LR(x, z): z counts when x's ratio beats z's by more than gamma")
        offline_a: float = doc_field(0.3, "offline only: Pr(x) = ((1 + a) mean_out + 1 - a) / 2 (1 = no correction; "
                                          "the authors tune a by attacking one reference model with the others)")
        shadow: ShadowConfig = doc_field(ShadowConfig(), "reference model config; each trains on shadow.size samples "
                                                         "of D_shadow minus the population (0 = half), its own draw")
        online: bool = doc_field(False, "online (candidates in half of the models) or offline (out-models only)")

    def __init__(self, config: Config | None = None):
        self.config = config = config or self.Config()
        if config.n_models < 1:
            raise ValueError(f"RMIA needs at least one reference model: n_models must be >= 1, got {config.n_models}")
        if config.online and config.n_models < 2:
            raise ValueError(f"online RMIA needs a model with and one without each candidate: n_models >= 2, got "
                             f"{config.n_models}")
        if config.n_population < 1:
            raise ValueError(f"RMIA compares candidates with population samples: n_population must be >= 1, got "
                             f"{config.n_population}")
        if not (np.isfinite(config.gamma) and config.gamma > 0):
            raise ValueError(f"gamma must be a positive threshold on LR(x, z), got {config.gamma}")
        if not 0.0 <= config.offline_a <= 1.0:
            raise ValueError(f"offline_a must lie in [0, 1] (1 = no correction), got {config.offline_a}")

    def population(self, num_shadow: int) -> tuple[np.ndarray, np.ndarray]:
        """(population indices (n_population,), the rest of D_shadow (the reference models' pool)), sorted, drawn
        from ``shadow.seed``. Raises ``ValueError`` when D_shadow has fewer than n_population + 2 samples."""
        m = self.config.n_population
        if num_shadow < m + 2:
            raise ValueError(f"RMIA holds n_population={m} samples of D_shadow out for z, but D_shadow has "
                             f"{num_shadow}: it needs at least {m + 2} (the rest trains the reference models)")
        return held_out_split(num_shadow, m, self.config.shadow.seed)

    def run(self, ctx: AttackContext) -> AttackOutput:
        c = self.config
        if ctx.posterior_oracle is None:
            raise ValueError("RMIA needs the target's confidence scores: give the context a posterior_oracle "
                             "(the score-based threat model)")
        z_idx, pool = self.population(len(ctx.shadow_x))
        z_t = torch.as_tensor(z_idx, device=ctx.shadow_x.device)
        z_x, z_y = ctx.shadow_x[z_t], ctx.shadow_y[z_t]
        owners = torch.arange(len(ctx.candidates))
        p_target_x = _true_class(ctx.posterior_oracle.posteriors(ctx.candidates, owner=owners), ctx.candidate_labels)
        p_target_z = _true_class(ctx.posterior_oracle.posteriors(z_x), z_y)
        out = reference_outputs(ctx, c.n_models, c.shadow, online=c.online, queries=[ctx.candidates, z_x], pool=pool)
        labels_x, labels_z = ctx.candidate_labels.cpu(), z_y.cpu()
        p_ref_x = np.stack([true_class_probability(logits, labels_x) for logits in out.logits[0]])
        p_ref_z = np.stack([true_class_probability(logits, labels_z) for logits in out.logits[1]])
        scores = rmia_scores(p_target_x, p_ref_x, p_target_z, p_ref_z, gamma=c.gamma,
                             a=None if c.online else c.offline_a, in_mask=out.in_mask)
        epochs = float(out.epochs.sum())
        return AttackOutput(scores=scores, cost={
            "target_queries": float(len(ctx.candidates) + len(z_idx)), "population_queries": float(len(z_idx)),
            "reference_models": float(c.n_models), "reference_epochs": epochs, "shadow_queries": 0.0,
            "shadow_epochs": epochs})


def _true_class(posteriors: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """The softmax probability (n,) float64 of each row's true label, from the oracle's posteriors (n, K)."""
    check_finite("posteriors", posteriors)
    return posteriors.detach().double().gather(1, labels.to(posteriors.device)[:, None])[:, 0].cpu().numpy()
