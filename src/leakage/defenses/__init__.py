"""Defences against membership inference: training-time options of the one training loop, and
MemGuard, an inference-time wrapper. ``DefenceConfig`` selects them; ``training_hooks`` turns it
into the ``TrainHook`` list that ``leakage.train.fit`` runs (dropout lives in ``CNNConfig``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from leakage.config import doc_field
from leakage.train import TrainHook

AUGMENTATIONS = ("none", "flip_crop", "strong")


@dataclass(frozen=True)
class DefenceConfig:
    """Training-time defences; all off by default. Several may be combined."""

    l2: float = doc_field(0.0, "L2 weight penalty: lambda * sum of squared weights (paper: .01/.05/.1)")
    l1: float = doc_field(0.0, "L1 weight penalty: lambda * sum of absolute weights (paper: 1e-4/1e-3/5e-3)")
    augment: str = doc_field("none", "data augmentation: none, flip_crop (random crop + flip) or strong")
    dp_noise: float = doc_field(0.0, "DP-SGD noise multiplier (0 = no DP unless dp_epsilon is set; paper: .1/.5/1.1)")
    dp_epsilon: float = doc_field(0.0, "DP-SGD target epsilon: the noise is chosen to reach it (0 = use dp_noise)")
    dp_clip: float = doc_field(1.0, "DP-SGD per-sample gradient clipping norm")
    adv_reg: float = doc_field(0.0, "adversarial regularisation weight lambda (Nasr et al. 2018; 0 = off)")
    adv_steps: int = doc_field(1, "inference-model steps per classifier step in adversarial regularisation")

    def __post_init__(self) -> None:
        """Raise ``ValueError`` for a bad value or an option combination that would silently do nothing.

        Combinations: L1, L2, augmentation and dropout each compose with every other option, DP-SGD
        included (the penalties' gradient is added after DP-SGD's clipping and noise). Refused: DP-SGD with
        adversarial regularisation (its inference model sees the members outside DP-SGD), ``dp_noise``
        with ``dp_epsilon`` (the target epsilon sets the noise), and ``dp_clip`` or ``adv_steps`` changed
        without the defence they configure.
        """
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        for name in ("l2", "l1", "dp_noise", "dp_epsilon", "adv_reg", "dp_clip"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):  # NaN fails too
                raise ValueError(f"defence {name} must be finite and >= 0, got {value}")
        if self.dp_clip <= 0:
            raise ValueError(f"dp_clip must be positive, got {self.dp_clip}")
        if self.adv_steps < 1:
            raise ValueError(f"adv_steps must be at least 1, got {self.adv_steps}")
        if self.dp_noise > 0 and self.dp_epsilon > 0:
            raise ValueError(f"dp_noise ({self.dp_noise}) and dp_epsilon ({self.dp_epsilon}) cannot both be set: "
                             "with dp_epsilon the noise is chosen to reach it, so dp_noise would be ignored")
        if self.uses_dp and self.adv_reg:
            raise ValueError("DP-SGD (dp_noise / dp_epsilon) cannot be combined with adversarial regularisation "
                             "(adv_reg): its inference model trains on the members outside DP-SGD's clipping and "
                             "noise, so the reported epsilon would not hold")
        if not self.uses_dp and self.dp_clip != 1.0:
            raise ValueError(f"dp_clip ({self.dp_clip}) only configures DP-SGD; set dp_noise or dp_epsilon too")
        if not self.adv_reg and self.adv_steps != 1:
            raise ValueError(f"adv_steps ({self.adv_steps}) only configures adversarial regularisation; set adv_reg too")

    @property
    def uses_dp(self) -> bool:
        """True when DP-SGD is on (a noise multiplier or a target epsilon is set)."""
        return self.dp_noise > 0 or self.dp_epsilon > 0


def training_hooks(defence: DefenceConfig, *, num_classes: int, epochs: int, seed: int,
                   reference: tuple[torch.Tensor, torch.Tensor] | None = None) -> list[TrainHook]:
    """The hooks implementing ``defence``; ``reference`` (x, y) is the defender's non-member data (adv_reg)."""
    from leakage.defenses.adversarial import AdversarialRegularisation
    from leakage.defenses.augment import Augmentation
    from leakage.defenses.dp import DPSGD
    from leakage.defenses.penalties import WeightPenalty

    hooks: list[TrainHook] = []
    if defence.augment != "none":
        hooks.append(Augmentation(defence.augment))
    if defence.l1 or defence.l2:
        hooks.append(WeightPenalty(l1=defence.l1, l2=defence.l2))
    if defence.adv_reg:
        if reference is None:
            raise ValueError("adversarial regularisation needs the defender's reference (non-member) data")
        hooks.append(AdversarialRegularisation(defence.adv_reg, reference, num_classes, defence.adv_steps, seed))
    if defence.uses_dp:
        hooks.append(DPSGD(noise=defence.dp_noise, target_epsilon=defence.dp_epsilon, clip=defence.dp_clip,
                           epochs=epochs, seed=seed))
    return hooks
