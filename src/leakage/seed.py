"""The one seed helper: every random draw in the package derives from a seed passed here."""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import torch


def derive_seed(seed: int, *labels: object) -> int:
    """A child seed for a named sub-task, stable across runs and machines (0 <= s < 2**31)."""
    text = "/".join([str(seed), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") % (2**31)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global generators, and ask for deterministic kernels."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on GPUs
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False


def numpy_rng(seed: int, *labels: object) -> np.random.Generator:
    """A NumPy generator for one named sub-task of a seeded run."""
    return np.random.default_rng(derive_seed(seed, *labels))


def torch_generator(seed: int, *labels: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator for one named sub-task of a seeded run."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(seed, *labels))
    return gen
