"""MemGuard (Jia et al., CCS 2019): at inference, add crafted noise to each confidence vector so that
a defender-side membership classifier outputs 0.5, while the predicted label never changes.

Phase I finds the noise e on the logits by gradient descent on
    |g(softmax(z + e))| + c2 * relu(max_{j != l} (z + e)_j - (z + e)_l) + c3 * ||softmax(z + e) - softmax(z)||_2,
where g is the defence classifier's logit (0 means 0.5) and l the predicted label; a final scaling
step guarantees the label. Phase II adds the noise with probability min(1, budget / ||noise||_1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.seed import seed_torch, torch_generator


@dataclass(frozen=True)
class MemGuardConfig:
    """MemGuard's defence classifier and noise search."""

    steps: int = doc_field(300, "gradient steps of the Phase I noise search")
    lr: float = doc_field(0.1, "step size of the noise search (on the logits)")
    c2: float = doc_field(10.0, "weight of the keep-the-label term")
    c3: float = doc_field(0.1, "weight of the distortion term")
    budget: float = doc_field(float("inf"), "Phase II expected L1 distortion budget (inf = always add the noise)")
    hidden: int = doc_field(64, "hidden units of the defender's membership classifier")
    seed: int = doc_field(0, "seed of the defence classifier and Phase II")

    def __post_init__(self) -> None:
        """Raise ``ValueError`` for a NaN or out-of-range setting (``budget`` may be +inf: always add)."""
        if self.steps < 0 or self.hidden < 1:
            raise ValueError(f"MemGuard needs steps >= 0 and hidden >= 1, got {self.steps} and {self.hidden}")
        for name in ("lr", "c2", "c3"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):  # NaN fails too
                raise ValueError(f"MemGuard {name} must be finite and >= 0, got {value}")
        if not self.budget >= 0:
            raise ValueError(f"MemGuard budget must be >= 0 (inf: always add the noise), got {self.budget}")


class DefenceClassifier(nn.Module):
    """g: sorted confidence vector (n, K) -> membership logit (n,) (0 = undecided)."""

    def __init__(self, num_classes: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(num_classes, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        return self.net(probs.sort(dim=1, descending=True).values).squeeze(1)


def train_defence_classifier(member_probs: torch.Tensor, non_member_probs: torch.Tensor,
                             config: MemGuardConfig, epochs: int = 400) -> DefenceClassifier:
    """Full-batch training of g on the target's confidence vectors of members (1) and reference data (0).

    ``member_probs`` (n, K) and ``non_member_probs`` (m, K): probability vectors (finite, in [0, 1]).
    Raises ``ValueError`` for an empty or mismatched set, or a NaN / infinite / out-of-range probability.
    """
    if member_probs.ndim != 2 or non_member_probs.ndim != 2 or member_probs.shape[1] != non_member_probs.shape[1]:
        raise ValueError(f"confidence vectors must be (n, K) with one K, got {tuple(member_probs.shape)} and "
                         f"{tuple(non_member_probs.shape)}")
    if len(member_probs) == 0 or len(non_member_probs) == 0:
        raise ValueError(f"the defence classifier needs members and non-members, got {len(member_probs)} and "
                         f"{len(non_member_probs)}")
    for name, probs in (("member_probs", member_probs), ("non_member_probs", non_member_probs)):
        check_finite(name, probs)
        if float(probs.min()) < 0 or float(probs.max()) > 1:
            raise ValueError(f"{name} must be probabilities in [0, 1], got values in "
                             f"[{float(probs.min()):.4g}, {float(probs.max()):.4g}]")
    if epochs < 1:
        raise ValueError(f"the defence classifier needs at least one epoch, got {epochs}")
    seed_torch(config.seed)
    classifier = DefenceClassifier(member_probs.shape[1], config.hidden).to(member_probs.device)
    x = torch.cat([member_probs, non_member_probs]).float()
    y = torch.cat([torch.ones(len(member_probs)), torch.zeros(len(non_member_probs))]).to(x)
    weight = torch.where(y == 1, len(y) / (2 * len(member_probs)), len(y) / (2 * len(non_member_probs)))
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-2)
    for _ in range(epochs):
        loss = F.binary_cross_entropy_with_logits(classifier(x), y, weight=weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return classifier.eval().requires_grad_(False)


def memguard_logits(logits: torch.Tensor, classifier: DefenceClassifier, config: MemGuardConfig,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Defended logits (n, K) whose softmax is MemGuard's released confidence vector; argmax unchanged.

    ``logits`` (n, K) must be finite (a NaN or infinite logit is a ``ValueError``: the noise search needs
    gradients through the softmax). ``generator`` draws Phase II's coins (only with a finite budget).
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must be (n, K), got shape {tuple(logits.shape)}")
    check_finite("logits", logits)
    z = logits.detach().float()
    label = z.argmax(1)
    original = z.softmax(1)
    noise = torch.zeros_like(z, requires_grad=True)
    others = F.one_hot(label, z.shape[1]).bool()
    with torch.enable_grad():
        for _ in range(config.steps):
            shifted = z + noise
            probs = shifted.softmax(1)
            runner_up = shifted.masked_fill(others, float("-inf")).max(1).values
            loss = (classifier(probs).abs() + config.c2 * F.relu(runner_up - shifted.gather(1, label[:, None])[:, 0])
                    + config.c3 * (probs - original).norm(dim=1)).sum()
            (grad,) = torch.autograd.grad(loss, noise)
            with torch.no_grad():
                noise -= config.lr * grad
    noise = noise.detach()
    # Guarantee the label: shrink each noise vector (halving, bounded) until the argmax is unchanged.
    scale = torch.ones(len(z), 1, device=z.device)
    for _ in range(30):
        wrong = (z + scale * noise).argmax(1) != label
        if not bool(wrong.any()):
            break
        scale[wrong] /= 2
    scale[(z + scale * noise).argmax(1) != label] = 0.0
    noise = scale * noise
    if config.budget != float("inf"):
        distortion = ((z + noise).softmax(1) - original).abs().sum(1)
        keep = torch.rand(len(z), generator=generator).to(z.device) < (config.budget / distortion.clamp_min(1e-12))
        noise = noise * keep[:, None]
    return z + noise


class MemGuardModel(nn.Module):
    """The target behind MemGuard: forward(x) -> defended logits (N, K).

    MemGuard never changes a predicted label, so label-only oracles may use ``label_model`` (the
    undefended target) and skip the noise search; ``tests/test_defenses.py`` checks the equality.
    """

    def __init__(self, model: nn.Module, classifier: DefenceClassifier, config: MemGuardConfig):
        super().__init__()
        self.label_model, self.classifier, self.config = model, classifier, config
        self.generator = torch_generator(config.seed, "memguard-phase2")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return memguard_logits(self.label_model(x), self.classifier, self.config, self.generator)
