"""NMID: an inference-time defence (no retraining) that masks and noises what a VP model releases.

The paper (Liao et al.) does not publish its masking rule nor its noise scales, so this module
defines an ordered set of rules and a noise scale sigma, and the book sweeps both. With raw
embedding e (N, D), logits z (N, K) and true labels y, NMID(level, sigma) first draws

    e' = e + sigma * xi_e,   z' = z + sigma * xi_z     (xi ~ N(0, 1), fresh per query)

and then releases, by masking level (each releases less than the one before):

- ``none``: e', z', and confidence / loss computed from z'. The predicted label is argmax z',
  so noise can flip it (plain output perturbation, shown for comparison).
- ``coarse``: only a fixed random ``emb_keep`` fraction of the embedding dimensions of e' (the
  others are zero); z' rounded to ``decimals`` decimals; confidence and loss from the released
  logits, rounded to ``decimals``. Keeps the label.
- ``top1``: no embedding (zeros); the logits become the one-hot predicted label; the confidence
  max softmax(z') rounded to ``decimals`` (clipped to [1/K, 1]); the loss is the one implied by
  (label, confidence). Keeps the label.
- ``label``: only the predicted label: no embedding, one-hot logits, confidence 1, implied loss.
  sigma has no effect here; this is the floor any masking can reach (a label-only release).

"Keeps the label": the released prediction is argmax z of the raw logits, whatever the noise: where
the noisy (and rounded) logits would rank another class first, the predicted class's logit is
raised just above it (by one unit of the last released decimal). Utility is measured from the
released prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.seed import numpy_rng
from leakage.vp.features import Released

MASK_LEVELS: tuple[str, ...] = ("none", "coarse", "top1", "label")
KEEPS_LABEL: dict[str, bool] = {"none": False, "coarse": True, "top1": True, "label": True}
_MAX_CONFIDENCE = 1 - 1e-4  # the implied loss of a released confidence of 1 stays finite


@dataclass(frozen=True)
class NMIDConfig:
    """One NMID setting: masking level and noise scale."""

    level: str = doc_field("none", "masking rule: 'none', 'coarse', 'top1' or 'label' (see leakage.vp.nmid)")
    sigma: float = doc_field(0.0, "std of the Gaussian noise added to the embedding and logits before masking")
    emb_keep: float = doc_field(0.25, "'coarse': fraction of embedding dimensions released (a fixed random subset)")
    decimals: int = doc_field(1, "decimals of the released logits (coarse), confidence and loss (coarse, top1)")
    seed: int = doc_field(0, "seed of the noise and of the embedding dimensions kept")

    def __post_init__(self) -> None:
        if self.level not in MASK_LEVELS:
            raise ValueError(f"unknown NMID level {self.level!r}; choose one of {', '.join(MASK_LEVELS)}")
        if self.sigma < 0 or not 0 < self.emb_keep <= 1 or self.decimals < 0:
            raise ValueError(f"NMID needs sigma >= 0, 0 < emb_keep <= 1 and decimals >= 0, got {self}")

    @property
    def name(self) -> str:
        """E.g. ``top1-10`` (level-sigma), the paper's naming style (its ``All-10``)."""
        return f"{self.level}-{self.sigma:g}"


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    shifted = z - z.max(1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return -log_p[np.arange(len(y)), y]


def keep_label(logits: np.ndarray, prediction: np.ndarray, step: float) -> np.ndarray:
    """``logits`` (N, K) with row i's ``prediction[i]`` entry raised to ``step`` above the others where needed."""
    out = logits.copy()
    rows = np.arange(len(out))
    others = out.copy()
    others[rows, prediction] = -np.inf
    runner_up = others.max(1)
    low = out[rows, prediction] <= runner_up
    out[rows[low], prediction[low]] = runner_up[low] + step
    return out


def implied_loss(prediction: np.ndarray, confidence: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """-log p(y) of the distribution a (label, confidence) release implies: c on the label, the rest shared."""
    c = np.clip(confidence, 1.0 / num_classes, _MAX_CONFIDENCE)
    p_true = np.where(prediction == labels, c, (1 - c) / max(num_classes - 1, 1))
    return -np.log(p_true)


def apply_nmid(embedding: np.ndarray, logits: np.ndarray, labels: np.ndarray, config: NMIDConfig,
               stream: str) -> Released:
    """The release under ``config`` of raw embedding (N, D) and logits (N, K) for functions with ``labels`` (N,).

    ``stream`` names who deploys this NMID instance (e.g. "target" or "shadow"): the noise is drawn
    from (config.seed, stream), so two deployments draw independent noise. The embedding dimensions
    kept by ``coarse`` depend on config.seed only: they can be read off any released output (the
    others are zero), so the adaptive attacker's copy of NMID uses the same ones.

    Raises ``ValueError`` on mismatched shapes, on a NaN or infinite embedding or logit (a softmax of
    them is undefined: the model that produced them diverged), and on labels outside [0, K).
    """
    check_finite("NMID embedding", np.asarray(embedding))
    check_finite("NMID logits", np.asarray(logits))
    e, z, y = np.asarray(embedding, np.float64), np.asarray(logits, np.float64), np.asarray(labels, np.int64)
    if e.ndim != 2 or z.ndim != 2 or not len(e) == len(z) == len(y):
        raise ValueError(f"NMID needs embedding (N, D), logits (N, K), labels (N,); "
                         f"got {e.shape}, {z.shape}, {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"NMID labels must be class indices in [0, {z.shape[1]}), got values in "
                         f"[{y.min()}, {y.max()}]")
    n, k = z.shape
    prediction = z.argmax(1)
    rng = numpy_rng(config.seed, "nmid", stream)
    noisy_e = e + config.sigma * rng.standard_normal(e.shape) if config.sigma > 0 else e.copy()
    noisy_z = z + config.sigma * rng.standard_normal(z.shape) if config.sigma > 0 else z.copy()
    step = 10.0 ** -config.decimals
    if config.level == "none":
        return Released(embedding=noisy_e, logits=noisy_z, confidence=_softmax(noisy_z).max(1),
                        loss=_cross_entropy(noisy_z, y), prediction=noisy_z.argmax(1))
    if config.level == "coarse":
        kept = np.zeros(e.shape[1], dtype=bool)
        dims = numpy_rng(config.seed, "nmid-dims").permutation(e.shape[1])  # visible in the output: shared
        kept[dims[:max(1, round(config.emb_keep * e.shape[1]))]] = True
        released_z = keep_label(np.round(noisy_z, config.decimals), prediction, step)
        return Released(embedding=noisy_e * kept, logits=released_z,
                        confidence=np.round(_softmax(released_z).max(1), config.decimals),
                        loss=np.round(_cross_entropy(released_z, y), config.decimals),
                        prediction=released_z.argmax(1))
    one_hot = np.eye(k)[prediction]
    if config.level == "top1":
        confidence = np.round(_softmax(keep_label(noisy_z, prediction, 1e-6)).max(1), config.decimals)
        confidence = np.clip(confidence, 1.0 / k, 1.0)
    else:  # label
        confidence = np.ones(n)
    return Released(embedding=np.zeros_like(e), logits=one_hot, confidence=confidence,
                    loss=implied_loss(prediction, confidence, y, k), prediction=prediction)
