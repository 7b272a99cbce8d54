"""QEBA (Li, Xu, Zhang, Yang & Li, CVPR 2020): HopSkipJump's boundary search with the gradient
estimated in a low-dimensional subspace of the input.

Only the probe directions change: instead of drawing them over all C*H*W inputs, QEBA draws them
in a small space and maps them up, so fewer sign queries pin down the boundary's normal.

- ``resize`` (QEBA-S): Gaussian noise on a (C, H/r, W/r) grid, bilinearly upsampled to (C, H, W);
- ``dct`` (QEBA-F): Gaussian coefficients of the lowest (H/r) x (W/r) 2-D DCT-II frequencies per
  channel, mapped back with the orthonormal inverse DCT.

For the L-inf version the low-dimensional noise is uniform in [-1, 1] instead of Gaussian.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from leakage.attacks.hopskipjump import DirectionSampler

SUBSPACES: tuple[str, ...] = ("resize", "dct")


def dct_matrix(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Orthonormal DCT-II matrix (size, size): row k is the k-th cosine basis vector."""
    n = torch.arange(size, dtype=torch.float64)
    k = n[:, None]
    basis = torch.cos(math.pi * (n[None, :] + 0.5) * k / size) * math.sqrt(2.0 / size)
    basis[0] /= math.sqrt(2.0)
    return basis.float().to(device)


def low_shape(shape: tuple[int, int, int], ratio: int) -> tuple[int, int, int]:
    """(C, ceil(H / ratio), ceil(W / ratio)): the subspace grid for inputs of ``shape`` (C, H, W)."""
    if ratio < 1:
        raise ValueError(f"the subspace ratio must be at least 1, got {ratio}")
    channels, height, width = shape
    return channels, math.ceil(height / ratio), math.ceil(width / ratio)


def subspace_sampler(shape: tuple[int, int, int], subspace: str, ratio: int, norm: str,
                     device: torch.device) -> DirectionSampler:
    """QEBA's probe directions for inputs of ``shape`` (C, H, W), flattened to (rows, C*H*W)."""
    if subspace not in SUBSPACES:
        raise ValueError(f"subspace must be one of {SUBSPACES}, got {subspace!r}")
    if len(shape) != 3:
        raise ValueError(f"QEBA's subspaces need image inputs (C, H, W), got shape {shape}")
    channels, h, w = low_shape(shape, ratio)
    height, width = shape[1], shape[2]

    def noise(rows: int, generator: torch.Generator) -> torch.Tensor:
        if norm == "l2":
            return torch.randn(rows, channels, h, w, generator=generator, device=device)
        return torch.rand(rows, channels, h, w, generator=generator, device=device) * 2 - 1

    if subspace == "resize":
        def sample(rows: int, generator: torch.Generator) -> torch.Tensor:
            up = F.interpolate(noise(rows, generator), size=(height, width), mode="bilinear", align_corners=False)
            return up.reshape(rows, -1)
        return sample

    rows_basis = dct_matrix(height, device)[:h]  # (h, H)
    cols_basis = dct_matrix(width, device)[:w]  # (w, W)

    def sample_dct(rows: int, generator: torch.Generator) -> torch.Tensor:
        coefficients = noise(rows, generator)
        image = torch.einsum("hH,rchw,wW->rcHW", rows_basis, coefficients, cols_basis)
        return image.reshape(rows, -1)

    return sample_dct
