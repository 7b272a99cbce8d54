"""Data augmentation in plain torch, batched: random crop with padding + horizontal flip, and a
stronger policy adding brightness/contrast jitter and cutout."""

from __future__ import annotations

import torch

from leakage.train import TrainHook


def random_crop(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Pad x (B, C, H, W) by ``pad`` (reflect) and crop back to H x W at a random offset per image."""
    if pad == 0:
        return x
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect" if min(h, w) > pad else "replicate")
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (B, 1, 1, W)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image of x (B, C, H, W) left-right with probability 1/2."""
    flip = (torch.rand(len(x), generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def jitter(x: torch.Tensor, generator: torch.Generator, strength: float = 0.2) -> torch.Tensor:
    """Random brightness and contrast per image of x (B, C, H, W), clamped to [0, 1]."""
    b = len(x)
    brightness = ((torch.rand(b, generator=generator) * 2 - 1) * strength).to(x.device)[:, None, None, None]
    contrast = (1 + (torch.rand(b, generator=generator) * 2 - 1) * strength).to(x.device)[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp(0, 1)


def cutout(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Zero a random size x size square in each image of x (B, C, H, W)."""
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b,), generator=generator).to(x.device)[:, None, None]
    cx = torch.randint(0, w, (b,), generator=generator).to(x.device)[:, None, None]
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = ((rows - cy).abs() <= size // 2) & ((cols - cx).abs() <= size // 2)
    return x * (~inside)[:, None].to(x.dtype)


class Augmentation(TrainHook):
    """``flip_crop``: crop with padding H//8 + flip; ``strong``: that, jitter, and cutout of H//4."""

    def __init__(self, policy: str):
        if policy not in ("flip_crop", "strong"):
            raise ValueError(f"unknown augmentation policy {policy!r}")
        self.policy = policy

    def transform(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        h = x.shape[-1]
        x = random_flip(random_crop(x, max(1, h // 8), generator), generator)
        if self.policy == "strong":
            x = cutout(jitter(x, generator), max(1, h // 4), generator)
        return x, y
