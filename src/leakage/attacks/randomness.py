"""Per-candidate random streams: a candidate's randomness depends on its own content, its label, the seed and
the attack's settings, never on the other candidates handed in with it or on their order.

An attack that draws random numbers for its candidates (the boundary attack's starts and probe directions, the
noise attack's noisy copies) gives each candidate its own generator, seeded from (seed, the attack's names, a
digest of the candidate's pixels as float32 and of its label): scoring a subset or a permutation of a set of
candidates gives each shared candidate the same random numbers, so the same score (up to how the target's forward
pass batches float arithmetic, which an attack cannot control). Two identical candidates with the same label share
a stream, and so a score.
"""

from __future__ import annotations

import numpy as np
import torch

from leakage.inputs import bytes_digest
from leakage.seed import derive_seed, seeded_generator


def candidate_digests(x: torch.Tensor, labels: torch.Tensor | None) -> list[str]:
    """One 16-hex-digit digest per candidate of x (n, ...): its values as float32 and its label (int64; None = no
    label, e.g. Algorithm 3's random inputs, which move away from the target's own label)."""
    flat = x.detach().reshape(len(x), -1).to("cpu", torch.float32).contiguous().numpy()
    ys = None if labels is None else labels.detach().to("cpu", torch.long).numpy().astype(np.int64)
    return [bytes_digest(flat[i].tobytes(), b"-" if ys is None else ys[i].tobytes()) for i in range(len(flat))]


def candidate_seeds(seed: int, x: torch.Tensor, labels: torch.Tensor | None, *names: object) -> list[int]:
    """One seed per candidate of x (n, ...): :func:`leakage.seed.derive_seed` of ``seed``, ``names`` (the attack and
    its settings) and the candidate's digest (:func:`candidate_digests`)."""
    return [derive_seed(seed, *names, digest) for digest in candidate_digests(x, labels)]


def candidate_generators(seed: int, x: torch.Tensor, labels: torch.Tensor | None, *names: object,
                         device: torch.device | str = "cpu") -> list[torch.Generator]:
    """One torch generator per candidate of x (n, ...), on ``device``, seeded by :func:`candidate_seeds` (CPU and
    CUDA generators draw different numbers from one seed: the device is part of what fixes the stream)."""
    return [seeded_generator(value, device) for value in candidate_seeds(seed, x, labels, *names)]
