"""What a VP model releases for a set of functions, and the attack's eight feature sets built from it.

A :class:`RawOutputs` holds what a model computes on the functions it is queried on, before any
defence: embedding (N, D), logits (N, K), the true labels and who is a member. A :class:`Released`
holds, per function, what is released (after NMID, :func:`leakage.vp.nmid.apply_nmid`): the embedding
(N, D), the logits (N, K), the confidence max softmax (N,), the cross-entropy loss on the true label
(N,) and the predicted label (N,). The attacker knows the true labels of the functions it queries (so
it can compute the loss itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from leakage.checks import check_finite

# The eight attack feature sets (the paper uses eight combinations without listing them; these are ours).
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "embedding": ("embedding",),
    "logits": ("logits",),
    "loss": ("loss",),
    "confidence": ("confidence",),
    "logits+loss": ("logits", "loss"),
    "loss+confidence": ("loss", "confidence"),
    "logits+loss+confidence": ("logits", "loss", "confidence"),
    "all": ("embedding", "logits", "loss", "confidence"),
}
SINGLE_FEATURES: tuple[str, ...] = ("embedding", "logits", "loss", "confidence")
BLACK_BOX, GRAY_BOX = "logits+loss+confidence", "all"
#: The feature sets that use no embedding: those a model that releases only logits can be attacked with.
WITHOUT_EMBEDDING: tuple[str, ...] = tuple(name for name, parts in FEATURE_SETS.items() if "embedding" not in parts)


def check_feature_sets(feature_sets: Sequence[str], *, no_embedding: str = "") -> tuple[str, ...]:
    """The feature sets, in order, without repeats.

    Raises ``ValueError`` when one is unknown or none is given, and, when ``no_embedding`` names a model
    that exposes no embedding (e.g. "the target"), when one needs an embedding (naming the feature sets of
    :data:`WITHOUT_EMBEDDING`, which work on logits alone)."""
    if isinstance(feature_sets, str):
        feature_sets = (feature_sets,)
    chosen = tuple(dict.fromkeys(feature_sets))
    if not chosen:
        raise ValueError(f"no feature set asked for; choose from {', '.join(FEATURE_SETS)}")
    unknown = [f for f in chosen if f not in FEATURE_SETS]
    if unknown:
        raise ValueError(f"unknown feature set(s) {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(FEATURE_SETS)}")
    needing = [f for f in chosen if f not in WITHOUT_EMBEDDING]
    if needing and no_embedding:
        raise ValueError(f"feature set(s) {', '.join(needing)} need an embedding, but there is none from "
                         f"{no_embedding} (it returns logits only); without an embedding use "
                         f"{', '.join(WITHOUT_EMBEDDING)}")
    return chosen


@dataclass(frozen=True, eq=False)
class RawOutputs:
    """A model's outputs on the functions it is queried on, before any defence (members first, by convention).

    - ``embedding`` (N, D) float64; D = 0 for a model that exposes no embedding;
    - ``logits`` (N, K) float64, K >= 2, finite;
    - ``labels`` (N,) int64, the true labels, in [0, K);
    - ``is_member`` (N,) bool: trained on (the attack's ground truth for a target, its training labels for
      a shadow).

    ``name`` says whose outputs they are (e.g. "target", "shadow") in error messages. Raises ``ValueError``
    on mismatched shapes, a NaN or infinite logit or embedding value, or a label outside [0, K).
    """

    embedding: np.ndarray
    logits: np.ndarray
    labels: np.ndarray
    is_member: np.ndarray
    name: str = "model"

    def __post_init__(self) -> None:
        z = np.asarray(self.logits, dtype=np.float64)
        n = len(z) if z.ndim else 0
        e = np.zeros((n, 0)) if self.embedding is None else np.asarray(self.embedding, dtype=np.float64)
        y, member = np.asarray(self.labels), np.asarray(self.is_member)
        if z.ndim != 2 or z.shape[1] < 2 or e.ndim != 2 or y.ndim != 1 or member.ndim != 1 \
                or not len(e) == len(y) == len(member) == n:
            raise ValueError(f"{self.name} outputs need embedding (N, D), logits (N, K >= 2), labels (N,) and "
                             f"is_member (N,); got {e.shape}, {z.shape}, {y.shape} and {member.shape}")
        if y.dtype != bool and not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{self.name} labels must be integer class indices, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if n and (y.min() < 0 or y.max() >= z.shape[1]):
            raise ValueError(f"{self.name} labels must be class indices in [0, {z.shape[1]}) (the model gives "
                             f"{z.shape[1]} logits), got values in [{y.min()}, {y.max()}]")
        check_finite(f"{self.name} logits", z)
        check_finite(f"{self.name} embedding", e)
        for key, value in (("embedding", e), ("logits", z), ("labels", y), ("is_member", member.astype(bool))):
            object.__setattr__(self, key, value)

    def __len__(self) -> int:
        return len(self.logits)

    @property
    def has_embedding(self) -> bool:
        """True when the model exposes an embedding (D > 0)."""
        return self.embedding.shape[1] > 0


@dataclass(frozen=True, eq=False)
class Released:
    """Per-function outputs: embedding (N, D), logits (N, K), confidence (N,), loss (N,), prediction (N,) int64."""

    embedding: np.ndarray
    logits: np.ndarray
    confidence: np.ndarray
    loss: np.ndarray
    prediction: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.logits)
        shapes = [self.embedding.shape[:1], self.confidence.shape, self.loss.shape, self.prediction.shape]
        if self.embedding.ndim != 2 or self.logits.ndim != 2 or any(s != (n,) for s in shapes):
            raise ValueError(f"released outputs must be embedding (N, D), logits (N, K) and (N,) vectors, got "
                             f"{self.embedding.shape}, {self.logits.shape}, {self.confidence.shape}, "
                             f"{self.loss.shape}, {self.prediction.shape}")

    def __len__(self) -> int:
        return len(self.logits)


def from_logits(embedding: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> Released:
    """The undefended release: confidence, loss and prediction computed from the logits (N, K) and labels (N,).

    Raises ``ValueError`` when a logit or an embedding value is NaN or infinite."""
    check_finite("logits", np.asarray(logits))
    check_finite("embedding", np.asarray(embedding))
    z = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if len(y) != len(z):
        raise ValueError(f"{len(z)} logit rows but {len(y)} labels")
    loss = F.cross_entropy(z, y, reduction="none") if len(z) else torch.zeros(0, dtype=torch.float64)
    return Released(embedding=np.asarray(embedding, dtype=np.float64), logits=z.numpy(),
                    confidence=torch.softmax(z, 1).max(1).values.numpy() if len(z) else np.zeros(0),
                    loss=loss.numpy(), prediction=z.argmax(1).numpy() if len(z) else np.zeros(0, np.int64))


@torch.no_grad()
def model_outputs(model: nn.Module, ids: torch.Tensor, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(embedding (N, D), logits (N, K)) of ``model.features`` in eval mode, in batches on the model's device.

    Raises ``ValueError`` when an output is NaN or infinite (a diverged model), rather than storing it."""
    model.eval()
    device = next(model.parameters()).device
    embeddings, logits = [], []
    for start in range(0, len(ids), batch_size):
        z, e = model.features(ids[start:start + batch_size].to(device))
        logits.append(z.float().cpu())
        embeddings.append(e.float().cpu())
    if not logits:
        raise ValueError("no functions to compute outputs for")
    embedding, logit = torch.cat(embeddings).numpy(), torch.cat(logits).numpy()
    check_finite("model logits (did training diverge?)", logit)
    check_finite("model embedding (did training diverge?)", embedding)
    return embedding, logit


def feature_matrix(released: Released, feature_set: str) -> np.ndarray:
    """The attack's input (N, d) for one of :data:`FEATURE_SETS`: the named parts side by side."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}")
    columns = []
    for part in FEATURE_SETS[feature_set]:
        value = getattr(released, part)
        columns.append(value if value.ndim == 2 else value[:, None])
    return np.concatenate(columns, axis=1).astype(np.float64)
