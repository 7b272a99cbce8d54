"""Baseline attack (Yeom et al., CSF 2018): a candidate is a member iff the target labels it correctly."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from leakage.attacks import AttackContext, AttackOutput, register


@register("baseline")
class BaselineAttack:
    """Score 1 (member) if the target's label equals the true label, else 0; one query per candidate."""

    @dataclass(frozen=True)
    class Config:
        """The baseline attack has no parameters."""

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()

    def run(self, ctx: AttackContext) -> AttackOutput:
        owners = torch.arange(len(ctx.candidates))
        labels = ctx.oracle.labels(ctx.candidates, owner=owners)
        correct = (labels.cpu() == ctx.candidate_labels.cpu()).double().numpy()
        return AttackOutput(scores=correct, cost={"shadow_queries": 0.0, "shadow_epochs": 0.0})
