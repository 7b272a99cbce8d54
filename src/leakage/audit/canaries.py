"""Canaries for an audit: m samples, each put in the training set with probability 1/2 (from the seed).

- vision: ``mislabelled`` (real images of the data set with a wrong label, uniformly drawn among the
  others) or ``noise`` (uniform random images with random labels: out of distribution);
- text: sequences of words drawn uniformly from a vocabulary (out of distribution), and "secret"
  canaries: a fixed template with a random fill of digits (Carlini et al., USENIX Security 2019, "The
  secret sharer", Sec. 3), whose exposure (:mod:`leakage.audit.exposure`) ranks the true fill among
  alternatives drawn from the same space.
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


SECRET_TEMPLATE = "my secret code is {fill}"


def _fills(count: int, digits: int, rng: np.random.Generator) -> list[str]:
    """``count`` fills of ``digits`` random decimal digits, written with spaces between them (so a
    tokenizer sees one token per digit), e.g. ``"4 0 7 1"``."""
    return [" ".join(str(d) for d in row) for row in rng.integers(10, size=(count, digits))]


def secret_canaries(count: int, digits: int, seed: int, template: str = SECRET_TEMPLATE) -> tuple[list[str], list[str]]:
    """(texts (count,), fills (count,)): ``template`` filled with ``digits`` random digits each, drawn from
    ``seed`` (the secret sharer's canaries). Raises ``ValueError`` for a template without ``{fill}``,
    fewer than two canaries or fewer than one digit."""
    if "{fill}" not in template:
        raise ValueError(f"the secret template must hold '{{fill}}', got {template!r}")
    if count < 2 or digits < 1:
        raise ValueError(f"secret canaries need at least two canaries of at least one digit, got {count} of {digits}")
    fills = _fills(count, digits, numpy_rng(seed, "secret-fills"))
    return [template.format(fill=f) for f in fills], fills


def secret_alternatives(fills: list[str], alternatives: int, digits: int, seed: int,
                        template: str = SECRET_TEMPLATE) -> list[list[str]]:
    """For each true fill, ``alternatives`` texts of the template with other fills: distinct, different from
    the true one, drawn uniformly from the 10**digits fills (the candidate set R of the exposure is the true
    fill plus these). Raises ``ValueError`` when the fill space is too small for that many alternatives."""
    space = 10 ** digits
    if alternatives < 1 or alternatives > space - 1:
        raise ValueError(f"need 1 to {space - 1} alternatives for {digits}-digit fills, got {alternatives}")
    rng = numpy_rng(seed, "secret-alternatives")
    out = []
    for fill in fills:
        true = int(fill.replace(" ", ""))
        picks = rng.choice(space - 1, size=alternatives, replace=False)
        picks = picks + (picks >= true)  # skip the true fill: uniform over the other space - 1 fills
        out.append([template.format(fill=" ".join(f"{p:0{digits}d}")) for p in picks])
    return out
