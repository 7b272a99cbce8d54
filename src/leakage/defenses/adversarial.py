"""Adversarial regularisation (Nasr, Shokri & Houmansadr, CCS 2018): min-max training of the
classifier against an inference model that tells its members from the defender's reference data."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from leakage.checks import check_finite
from leakage.seed import torch_generator
from leakage.train import TrainHook


class InferenceModel(nn.Module):
    """h(p, y): P(member) from a confidence vector p (B, K) and the one-hot label (B, K) -> logits (B,)."""

    def __init__(self, num_classes: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * num_classes, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2),
                                 nn.ReLU(), nn.Linear(hidden // 2, 1))
        self.num_classes = num_classes

    def forward(self, probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([probs, F.one_hot(y, self.num_classes).to(probs.dtype)], dim=1)).squeeze(1)


class AdversarialRegularisation(TrainHook):
    """For every classifier batch: ``steps`` updates of h on (member batch, reference batch), then the
    classifier's loss gains lambda * mean log h(f(x), y) over the member batch (its membership gain).

    ``reference`` (x (n, C, H, W), y (n,)) is the defender's non-member data, a random sample of its
    distribution. Cannot run under DP-SGD (``dp_conflict``). Raises ``ValueError`` for a weight that is
    not finite and positive, steps < 1, or a reference set that is empty, mismatched or not finite.
    """

    dp_conflict = ("its inference model trains on the member batches outside DP-SGD's clipping and noise, and "
                   "every later gradient goes through it, so the accountant's epsilon would not hold")

    def __init__(self, weight: float, reference: tuple[torch.Tensor, torch.Tensor], num_classes: int, steps: int,
                 seed: int):
        if not (weight > 0 and weight < float("inf")):
            raise ValueError(f"adversarial regularisation weight must be finite and > 0, got {weight}")
        if steps < 1:
            raise ValueError(f"adversarial regularisation needs at least one inference-model step, got {steps}")
        ref_x, ref_y = reference
        if len(ref_x) == 0 or len(ref_x) != len(ref_y):
            raise ValueError(f"the reference set needs as many labels as inputs, and at least one: got "
                             f"{len(ref_x)} inputs, {len(ref_y)} labels")
        check_finite("reference inputs", ref_x)
        self.weight, self.steps = weight, steps
        self.ref_x, self.ref_y = ref_x, ref_y
        self.generator = torch_generator(seed, "adv-reg")
        self.inference = InferenceModel(num_classes).to(self.ref_x.device)
        self.optimizer = torch.optim.Adam(self.inference.parameters(), lr=1e-3)

    def extra_loss(self, model: nn.Module, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pick = torch.randint(0, len(self.ref_x), (len(y),), generator=self.generator).to(self.ref_x.device)
        with torch.no_grad():
            ref_probs = model(self.ref_x[pick]).softmax(1)
        member_probs = logits.detach().softmax(1)
        for _ in range(self.steps):
            scores = self.inference(torch.cat([member_probs, ref_probs]), torch.cat([y, self.ref_y[pick]]))
            target = torch.cat([torch.ones(len(y)), torch.zeros(len(pick))]).to(scores)
            loss = F.binary_cross_entropy_with_logits(scores, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        gain = F.logsigmoid(self.inference(logits.softmax(1), y)).mean()
        return self.weight * gain
