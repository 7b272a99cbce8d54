"""DP-SGD (Abadi et al. 2016) with opacus: per-sample gradient clipping and Gaussian noise on the
one training loop, Poisson-sampled batches, and the RDP accountant's epsilon for delta = 1/|D_train|."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from leakage.seed import seeded_generator
from leakage.train import TrainHook

# RDP orders the accountant optimises over: opacus' defaults (up to 63) and larger ones, which small
# epsilons at small deltas need (with the defaults alone the optimum sits at the edge and eps is loose).
RDP_ORDERS: list[float] = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [64, 80, 96, 128, 192, 256,
                                                                                          384, 512, 1024]


def _conv_grad_sample_any_layout(layer: nn.Module, activations: list[torch.Tensor],
                                 backprops: torch.Tensor) -> dict[nn.Parameter, torch.Tensor]:
    """Per-sample gradients of an ``nn.Conv2d`` for opacus, correct for inputs in any memory layout.

    opacus' own sampler unfolds the input with ``as_strided`` and the strides of a contiguous (NCHW) tensor,
    so the channels-last activations of :class:`leakage.models.cnn.TargetCNN` were unfolded wrong (every conv after
    the first; making them contiguous is not enough, as a channels-last 1x1 map already counts as contiguous).
    Here torch's ``F.unfold`` (im2col, layout-aware) does it; weight gradient
    (N, O, C, kh, kw) = backprops (N, O, L) x unfolded input (N, C*kh*kw, L) summed over the L output
    positions. Layers with groups or string padding go to opacus' sampler.
    """
    from opacus.grad_sample.conv import compute_conv_grad_sample

    x = activations[0].to(backprops.dtype)
    if layer.groups != 1 or isinstance(layer.padding, str) or len(x) == 0:
        return compute_conv_grad_sample(layer, [x.contiguous()], backprops.contiguous())
    columns = F.unfold(x, layer.kernel_size, dilation=layer.dilation, padding=layer.padding, stride=layer.stride)
    backprops = backprops.reshape(len(x), layer.out_channels, -1)
    grads: dict[nn.Parameter, torch.Tensor] = {}
    if layer.weight.requires_grad:
        grads[layer.weight] = torch.einsum("nol,npl->nop", backprops, columns).reshape(len(x), *layer.weight.shape)
    if layer.bias is not None and layer.bias.requires_grad:
        grads[layer.bias] = backprops.sum(dim=2)
    return grads


def use_layout_safe_conv_grad_sampler() -> None:
    """Make opacus compute ``nn.Conv2d``'s per-sample gradients with :func:`_conv_grad_sample_any_layout`
    (opacus keeps one grad sampler per layer type for the process; this one is correct for every layout)."""
    from opacus.grad_sample import GradSampleModule

    GradSampleModule.GRAD_SAMPLERS[nn.Conv2d] = _conv_grad_sample_any_layout


class DPSGD(TrainHook):
    """Wraps the model in opacus' GradSampleModule and the optimiser in its DPOptimizer.

    With ``target_epsilon`` > 0 the noise multiplier is chosen by opacus to reach it after
    ``epochs`` epochs; otherwise ``noise`` is used. After training, ``epsilon`` holds the
    accountant's epsilon for ``delta`` (1/N unless given).

    In :func:`leakage.train.fit` it is the one gradient-privatising hook: data terms of the loss must be
    per-sample (they are clipped per sample); the data-free ``weight_loss`` terms of other hooks (L1/L2
    penalties) have their gradient added after clipping and noise, which keeps the guarantee. With
    neither ``noise`` nor ``target_epsilon`` it only clips (epsilon is infinite). Raises ``ValueError``
    when both are set, or for a NaN, infinite or out-of-range setting.
    """

    privatises_gradients = True

    def __init__(self, noise: float, target_epsilon: float, clip: float, epochs: int, seed: int,
                 delta: float | None = None):
        for name, value in (("noise", noise), ("target_epsilon", target_epsilon)):
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"DP-SGD {name} must be finite and >= 0, got {value}")
        if noise > 0 and target_epsilon > 0:
            raise ValueError(f"DP-SGD takes noise ({noise}) or target_epsilon ({target_epsilon}), not both: with a "
                             "target epsilon the noise is chosen to reach it, so the noise given would be ignored")
        if not (clip > 0 and math.isfinite(clip)):
            raise ValueError(f"DP-SGD clip must be finite and > 0, got {clip}")
        if epochs < 1:
            raise ValueError(f"DP-SGD needs at least one epoch, got {epochs}")
        if delta is not None and not 0 < delta < 1:
            raise ValueError(f"DP-SGD delta must be in (0, 1), got {delta}")
        self.noise, self.target_epsilon, self.clip, self.epochs, self.seed = noise, target_epsilon, clip, epochs, seed
        self.delta = delta
        self.epsilon = float("nan")
        self.public_loss: Callable[[], torch.Tensor | None] | None = None

    def add_public_loss(self, public_loss: Callable[[], torch.Tensor | None]) -> None:
        """Add the gradient of ``public_loss()`` (data-free: e.g. a weight penalty) after clipping and noise."""
        self.public_loss = public_loss

    def _add_public_gradient(self, optimizer: torch.optim.Optimizer) -> None:
        """opacus step hook: runs after the clipped, noised, averaged gradient is in ``p.grad``."""
        if self.public_loss is None:
            return
        with torch.enable_grad():
            loss = self.public_loss()
            if loss is None:
                return
            params = [p for p in optimizer.params if p.grad is not None]
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        for p, g in zip(params, grads):
            if g is not None:
                p.grad += g

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
        use_layout_safe_conv_grad_sampler()
        self.module = GradSampleModule(model)
        generator = seeded_generator(self.seed, next(model.parameters()).device)
        dp_optimizer = DPOptimizer(optimizer, noise_multiplier=self.noise, max_grad_norm=self.clip,
                                   expected_batch_size=batch_size, generator=generator)
        dp_optimizer.attach_step_hook(self._add_public_gradient)
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
