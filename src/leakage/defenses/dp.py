"""DP-SGD (Abadi et al. 2016) with opacus: per-sample gradient clipping and Gaussian noise on the
one training loop, Poisson-sampled batches, and the RDP accountant's epsilon for delta = 1/|D_train|."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from leakage.train import TrainHook

# RDP orders the accountant optimises over: opacus' defaults (up to 63) and larger ones, which small
# epsilons at small deltas need (with the defaults alone the optimum sits at the edge and eps is loose).
RDP_ORDERS: list[float] = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [64, 80, 96, 128, 192, 256,
                                                                                          384, 512, 1024]


class DPSGD(TrainHook):
    """Wraps the model in opacus' GradSampleModule and the optimiser in its DPOptimizer.

    With ``target_epsilon`` > 0 the noise multiplier is chosen by opacus to reach it after
    ``epochs`` epochs; otherwise ``noise`` is used. After training, ``epsilon`` holds the
    accountant's epsilon for ``delta`` (1/N unless given).
    """

    def __init__(self, noise: float, target_epsilon: float, clip: float, epochs: int, seed: int,
                 delta: float | None = None):
        self.noise, self.target_epsilon, self.clip, self.epochs, self.seed = noise, target_epsilon, clip, epochs, seed
        self.delta = delta
        self.epsilon = float("nan")

    def prepare(self, model: nn.Module, optimizer: torch.optim.Optimizer, num_samples: int,
                batch_size: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        from opacus import GradSampleModule
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.optimizers import DPOptimizer

        self.delta = self.delta or 1.0 / num_samples
        self.sample_rate = min(1.0, batch_size / num_samples)
        steps = self.epochs * max(1, round(1 / self.sample_rate))
        if self.target_epsilon > 0:
            self.noise = get_noise_multiplier(target_epsilon=self.target_epsilon, target_delta=self.delta,
                                              sample_rate=self.sample_rate, steps=steps, accountant="rdp",
                                              alphas=RDP_ORDERS)
        # opacus' hooks warn when the input needs no gradient, which is always the case here
        warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
        self.accountant = RDPAccountant()
        self.module = GradSampleModule(model)
        generator = torch.Generator(device=next(model.parameters()).device)
        generator.manual_seed(self.seed)
        dp_optimizer = DPOptimizer(optimizer, noise_multiplier=self.noise, max_grad_norm=self.clip,
                                   expected_batch_size=batch_size, generator=generator)
        return self.module, dp_optimizer

    def batches(self, num_samples: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
        """Poisson sampling: each of the epoch's N/B steps includes every sample with probability B/N."""
        steps = max(1, round(num_samples / batch_size))
        keep = torch.rand(steps, num_samples, generator=generator) < self.sample_rate
        for _ in range(steps):  # every sampled step is accounted, an empty one too
            self.accountant.step(noise_multiplier=self.noise, sample_rate=self.sample_rate)
        self.epsilon = self.accountant.get_epsilon(self.delta, alphas=RDP_ORDERS)
        return [row.nonzero().flatten() for row in keep]

    def finish(self, model: nn.Module) -> None:
        self.module.remove_hooks()
        for p in model.parameters():
            p.grad_sample = None
