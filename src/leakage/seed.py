"""The one seed helper: every random draw in the package derives from a seed passed here.

Every generator the package makes, and every seeding of torch's global generator, goes through this module
(``tests/test_seed.py`` checks that no other module calls ``np.random.default_rng``, ``manual_seed`` or
``torch.Generator(`` itself). Two kinds of helper:

- derived streams, one per named sub-task: :func:`derive_seed`, :func:`numpy_rng`, :func:`torch_generator`;
- exact streams, the seed used as given (the numbers computed so far were drawn this way, so they stay):
  :func:`seeded_rng`, :func:`seeded_generator`, :func:`seed_torch`, :func:`rewind_generator`.
"""

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
    return seeded_generator(derive_seed(seed, *labels), device)


def seeded_rng(seed: int | None) -> np.random.Generator:
    """A NumPy generator seeded with ``seed`` as given: exactly ``np.random.default_rng(seed)``; for resampling
    (bootstrap, permutation) and for picking examples to show.

    The seed is used as given (no :func:`derive_seed`), so the streams of the claims' intervals stay the ones
    they were computed with. ``None`` draws fresh entropy from the OS (not reproducible).
    """
    return np.random.default_rng(seed)


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed`` as given: exactly
    ``torch.Generator(device).manual_seed(seed)``. CPU and CUDA generators draw different numbers from one seed.

    Raises ``RuntimeError`` (torch's) for a CUDA device on a machine without CUDA.
    """
    return torch.Generator(device=device).manual_seed(seed)


def rewind_generator(generator: torch.Generator) -> torch.Generator:
    """Set ``generator`` back to the start of its stream (its initial seed) and return it: exactly
    ``generator.manual_seed(generator.initial_seed())``."""
    return generator.manual_seed(generator.initial_seed())


def seed_torch(seed: int) -> None:
    """Seed torch's global generators (CPU and every CUDA device) with ``seed`` as given: exactly
    ``torch.manual_seed(seed)``. For what draws from them implicitly: a module's initialisation, dropout."""
    torch.manual_seed(seed)
