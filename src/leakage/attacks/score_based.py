"""Score-based attack (Salem et al., NDSS 2019, "ML-Leaks", adversary 1): a shadow model trained on
half of D_shadow with true labels, and an attack classifier on the shadow's sorted top-k confidence
scores of its members (in) vs the other half (out), applied to the target's confidence scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neural_network import MLPClassifier

from leakage.attacks import AttackContext, AttackOutput, register
from leakage.attacks.shadow import ShadowConfig, ShadowRun, shadow_subset, train_shadow
from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.seed import derive_seed, numpy_rng
from leakage.train import predict_logits


def top_k_features(posteriors: torch.Tensor, k: int) -> np.ndarray:
    """The k largest confidence scores of each row of posteriors (n, K), sorted descending: (n, min(k, K)).

    Raises ``ValueError`` for NaN/inf posteriors."""
    check_finite("posteriors", posteriors)
    return torch.topk(posteriors.double(), min(k, posteriors.shape[1]), dim=1).values.cpu().numpy()


@register("score_based")
class ScoreBasedAttack:
    """Score = the attack classifier's probability that the target's confidence vector is a member's.

    The shadow's architecture comes from ``ctx.shadow_model`` (None = the book's CNN for images, an MLP for
    feature vectors); inputs of any shape (n, ...)."""

    needs_posteriors = True
    needs_attacker_data = True  # the shadow is trained on half of D_shadow with its true labels

    @dataclass(frozen=True)
    class Config:
        """Score-based attack settings."""

        shadow: ShadowConfig = doc_field(ShadowConfig(), "shadow model; trained on half of its D_shadow subset")
        top_k: int = doc_field(3, "sorted top-k confidence scores used as attack features (ML-Leaks: 3)")
        hidden: int = doc_field(64, "hidden units of the attack MLP")

    def __init__(self, config: Config | None = None):
        self.config = config or self.Config()

    def run(self, ctx: AttackContext) -> AttackOutput:
        if ctx.posterior_oracle is None:
            raise ValueError("the score-based attack needs confidence scores: give the context a posterior_oracle")
        subset = shadow_subset(len(ctx.shadow_x), self.config.shadow)
        subset = numpy_rng(self.config.shadow.seed, "in-out").permutation(subset)
        half = len(subset) // 2
        if half < 2:
            raise ValueError(f"the score-based attack needs at least 4 shadow samples, got {len(subset)}")
        inside, outside = torch.as_tensor(subset[:half]), torch.as_tensor(subset[half:2 * half])
        x_in, y_in = ctx.shadow_x[inside], ctx.shadow_y[inside]
        run = ShadowRun(data=ctx.data_key, shadow=self.config.shadow, purpose="score")
        model, values = train_shadow(run, x_in, lambda: y_in, ctx.num_classes, ctx.store, factory=ctx.shadow_model)
        features = np.concatenate([
            top_k_features(predict_logits(model, x_in).softmax(1), self.config.top_k),
            top_k_features(predict_logits(model, ctx.shadow_x[outside]).softmax(1), self.config.top_k)])
        labels = np.repeat([1, 0], half)
        classifier = MLPClassifier(hidden_layer_sizes=(self.config.hidden,), max_iter=500,
                                   random_state=derive_seed(ctx.seed, "score-attack-mlp") % (2**32 - 1))
        classifier.fit(features, labels)
        owners = torch.arange(len(ctx.candidates))
        target_features = top_k_features(ctx.posterior_oracle.posteriors(ctx.candidates, owner=owners),
                                         self.config.top_k)
        scores = classifier.predict_proba(target_features)[:, 1]
        return AttackOutput(scores=scores, cost={"shadow_queries": 0.0,
                                                 "shadow_epochs": float(values["epochs"])})
