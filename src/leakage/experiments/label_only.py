"""Stage: run a registered attack against a trained target, on balanced member/non-member candidates.

The attack sees the target only through the oracles; the member labels are used afterwards, to
evaluate. Scores, membership, candidate indices and the measured cost are one cached artefact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from leakage.attacks import AttackContext, LabelOnlyOracle, PosteriorOracle, get_attack
from leakage.config import doc_field
from leakage.data.splits import membership_candidates
from leakage.device import describe_device
from leakage.experiments.targets import Target
from leakage.metrics import summarize
from leakage.seed import seed_everything
from leakage.store import Store


@dataclass(frozen=True)
class CandidateConfig:
    """Which members and non-members an attack is evaluated on."""

    max_per_side: int = doc_field(0, "members and non-members per target, each (0 = the smaller side's size)")
    seed: int = doc_field(0, "seed of the candidate draw")


@dataclass(frozen=True)
class AttackRun:
    """One attack against one target: everything that determines its scores."""

    target: Any = doc_field(None, "the target's TargetConfig")
    attack: str = doc_field("baseline", "registered attack name (leakage.attacks.ATTACKS)")
    config: Any = doc_field(None, "the attack's own Config")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the evaluation candidates")


@dataclass
class AttackResult:
    """Scores (n,) with higher = member, membership (n,), dataset indices (n,), cost, by-products, metrics."""

    run: AttackRun
    scores: np.ndarray
    is_member: np.ndarray
    indices: np.ndarray
    cost: dict[str, float]
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    n_boot: int = 1000

    @property
    def metrics(self) -> dict[str, float]:
        """AUC with a bootstrap CI, TPR at 1% / 0.1% FPR, best F1 (leakage.metrics.summarize)."""
        if not hasattr(self, "_metrics"):
            self._metrics = summarize(self.scores, self.is_member, n_boot=self.n_boot, seed=self.run.candidates.seed)
        return self._metrics


def candidates_of(target: Target, config: CandidateConfig) -> tuple[np.ndarray, np.ndarray]:
    """(dataset indices (2n,), is_member (2n,)): n members from D_train and n non-members from D_test."""
    return membership_candidates(target.members, target.splits.test, config.seed, config.max_per_side or None)


def attack_context(target: Target, indices: np.ndarray, store: Store, *, budget: int | None = None,
                   with_posteriors: bool = False) -> AttackContext:
    """What the attacker gets for ``target`` and candidates ``indices``; the member labels are not in it."""
    device = next(target.model.parameters()).device
    index = torch.as_tensor(indices)
    shadow = torch.as_tensor(target.splits.shadow)
    return AttackContext(
        oracle=LabelOnlyOracle(target.model, num_owners=len(indices), budget=budget),
        candidates=target.data.images(index).to(device), candidate_labels=target.data.y[index].to(device),
        shadow_x=target.data.images(shadow).to(device), shadow_y=target.data.y[shadow].to(device),
        num_classes=target.data.num_classes, seed=target.config.seed, store=store,
        target_key=target.key, data_key=target.config.split,
        label_key=target.config,  # inference-time defences here (MemGuard) never change a label
        posterior_oracle=PosteriorOracle(target.model, num_owners=len(indices)) if with_posteriors else None)


def run_attack(target: Target, name: str, config: Any = None, candidates: CandidateConfig = CandidateConfig(),
               store: Store | None = None, *, n_boot: int = 1000) -> AttackResult:
    """Run attack ``name`` (with its ``config``, default if None) on ``target``, or load its cached result."""
    store = store or Store()
    attack = get_attack(name)(config)
    run = AttackRun(target=target.key, attack=name, config=attack.config, candidates=candidates)
    indices, is_member = candidates_of(target, candidates)

    def compute() -> dict[str, Any]:
        seed_everything(target.config.seed)
        context = attack_context(target, indices, store, budget=getattr(attack.config, "budget", None),
                                 with_posteriors=getattr(attack, "needs_posteriors", False))
        output = attack.run(context)
        if output.scores.shape != (len(indices),) or not np.isfinite(output.scores).all():
            raise RuntimeError(f"attack {name} returned {output.scores.shape} scores (NaN or infinite: "
                               f"{int((~np.isfinite(output.scores)).sum())}) for {len(indices)} candidates")
        per_candidate = context.oracle.per_owner + (context.posterior_oracle.per_owner if context.posterior_oracle
                                                    else 0)
        measured = {"queries_per_candidate": per_candidate.double().mean().item(),
                    "max_queries_per_candidate": int(per_candidate.max())}
        return {"scores": output.scores.astype(np.float64), "is_member": is_member, "indices": indices,
                "cost": {**output.cost, **measured}, **{f"extra_{k}": v for k, v in output.extras.items()}}

    values = store.cached("attack", run, compute, seed=target.config.seed, device=describe_device(
        next(target.model.parameters()).device))
    extras = {k.removeprefix("extra_"): v for k, v in values.items() if k.startswith("extra_")}
    return AttackResult(run=run, scores=values["scores"], is_member=values["is_member"].astype(bool),
                        indices=values["indices"], cost=values["cost"], extras=extras, n_boot=n_boot)
