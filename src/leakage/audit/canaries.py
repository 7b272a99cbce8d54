"""Canaries for an audit: m samples, each put in the training set with probability 1/2 (from the seed).

- vision: ``mislabelled`` (real images of the data set with a wrong label, uniformly drawn among the
  others) or ``noise`` (uniform random images with random labels: out of distribution);
- text: sequences of words drawn uniformly from a vocabulary (out of distribution).
"""

from __future__ import annotations

import numpy as np
import torch

from leakage.seed import numpy_rng, torch_generator

VISION_KINDS: tuple[str, ...] = ("mislabelled", "noise")


def canary_inclusion(canaries: int, seed: int) -> np.ndarray:
    """(m,) bool: canary i is in the training set; independent fair coins drawn from ``seed``."""
    if canaries < 2:
        raise ValueError(f"an audit needs at least two canaries, got {canaries}")
    return numpy_rng(seed, "canary-inclusion").random(canaries) < 0.5


def wrong_labels(labels: np.ndarray, num_classes: int, seed: int) -> np.ndarray:
    """(m,) int64: for each label a different one, uniform among the other ``num_classes - 1``."""
    if num_classes < 2:
        raise ValueError("mislabelled canaries need at least two classes")
    shift = numpy_rng(seed, "canary-labels").integers(1, num_classes, size=len(labels))
    return ((np.asarray(labels) + shift) % num_classes).astype(np.int64)


def noise_images(canaries: int, shape: tuple[int, ...], num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``canaries`` uniform random images (m, *shape) in [0, 1] and random labels (m,)."""
    generator = torch_generator(seed, "canary-noise")
    images = torch.rand((canaries, *shape), generator=generator)
    labels = torch.randint(num_classes, (canaries,), generator=generator)
    return images, labels


def random_word_texts(canaries: int, words: int, vocabulary: list[str], seed: int) -> list[str]:
    """``canaries`` texts of ``words`` words each, drawn uniformly (with replacement) from ``vocabulary``."""
    if len(vocabulary) < 2 or words < 1:
        raise ValueError("text canaries need a vocabulary of at least two words and at least one word each")
    rng = numpy_rng(seed, "canary-texts")
    picks = rng.integers(len(vocabulary), size=(canaries, words))
    return [" ".join(vocabulary[j] for j in row) for row in picks]
