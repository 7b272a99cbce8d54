"""Transfer attack (Li & Zhang, section 3): relabel D_shadow through the label-only oracle, train a
shadow model on it, and score candidates by the shadow's statistics with the true label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from leakage.attacks import AttackContext, AttackOutput, register
from leakage.attacks.shadow import ShadowConfig, ShadowRun, posterior_statistics, shadow_subset, train_shadow
from leakage.config import doc_field
from leakage.train import predict_logits

STATISTICS = ("loss", "max_confidence", "entropy")
MISCLASSIFIED = ("lowest", "keep")


@register("transfer")
class TransferAttack:
    """Score = a statistic of the relabelled shadow's output on (candidate, true label); higher = member."""

    needs_attacker_data = True  # the shadow is trained on D_shadow (relabelled through the oracle)

    @dataclass(frozen=True)
    class Config:
        """Transfer attack settings."""

        shadow: ShadowConfig = doc_field(ShadowConfig(), "the shadow model built from relabelled D_shadow")
        statistic: str = doc_field("loss", "shadow statistic: loss, max_confidence or entropy (paper Fig. 5)")
        misclassified: str = doc_field("lowest", "candidates the target mislabels: 'lowest' score (authors' "
                                                 "code: non-member, one label query each) or 'keep' (no query)")

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()
        if self.config.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {self.config.statistic!r}")
        if self.config.misclassified not in MISCLASSIFIED:
            raise ValueError(f"misclassified must be one of {MISCLASSIFIED}, got {self.config.misclassified!r}")

    def shadow(self, ctx: AttackContext) -> tuple[torch.nn.Module, dict]:
        """The shadow trained on D_shadow relabelled by the target, and its stored values; cached by D_shadow
        (``ctx.data_key``), the labelling model's weights (``ctx.label_key``, else ``ctx.target_key``) and the
        shadow config, so a MemGuard target and its undefended model share it. Its architecture comes from
        ``ctx.shadow_model`` (None = the book's CNN for images, an MLP for feature vectors)."""
        subset = torch.as_tensor(shadow_subset(len(ctx.shadow_x), self.config.shadow))
        x = ctx.shadow_x[subset]
        labels = ctx.label_key if ctx.label_key is not None else ctx.target_key
        run = ShadowRun(data=ctx.data_key, shadow=self.config.shadow, purpose="transfer", labels=labels)
        return train_shadow(run, x, lambda: ctx.oracle.labels(x), ctx.num_classes, ctx.store, oracle=ctx.oracle,
                            true_labels=ctx.shadow_y[subset], factory=ctx.shadow_model)

    def run(self, ctx: AttackContext) -> AttackOutput:
        model, values = self.shadow(ctx)
        stats = posterior_statistics(predict_logits(model, ctx.candidates), ctx.candidate_labels.to(
            next(model.parameters()).device))
        scores = stats[self.config.statistic]
        if self.config.misclassified == "lowest":
            owners = torch.arange(len(ctx.candidates))
            wrong = (ctx.oracle.labels(ctx.candidates, owner=owners).cpu() != ctx.candidate_labels.cpu()).numpy()
            # the lowest float, not min(scores) - 1: a candidate's score never depends on the others (issue #27)
            scores = np.where(wrong, np.finfo(np.float64).min, scores)
        return AttackOutput(scores=scores, cost={"shadow_queries": float(values["label_queries"]),
                                                 "shadow_epochs": float(values["epochs"])},
                            extras={f"shadow_{k}": v for k, v in stats.items()})
