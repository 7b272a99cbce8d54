"""Certified radius by randomized smoothing (Cohen, Rosenfeld & Kolter, ICML 2019), Li & Zhang's
section 5.1 and appendix A.2.

The smoothed classifier G(x) = argmax_c P(M(x + e) = c), e ~ N(0, sigma^2 I), is robust at x within
the L2 radius (Theorem 1)

    CR = sigma / 2 * (Phi^-1(p_A) - Phi^-1(p_B)),   p_A = P(M(x + e) = y),  p_B = max_{c != y} P(M(x + e) = c).

CERTIFY estimates it: N0 noisy copies choose the top class c_A; N more give its count n_A and a
one-sided Clopper-Pearson lower bound p_A_lower = Beta^-1(alpha; n_A, N - n_A + 1); with
p_B <= 1 - p_A_lower the radius is sigma * Phi^-1(p_A_lower). Following the paper (ACR of
*correctly* classified samples, as in MACER), a sample gets radius 0 when c_A is not its true label
or when CERTIFY abstains (p_A_lower <= 1/2). Higher radius = farther from the decision boundary.

Inputs are checked before any noise is drawn or any cache is read: a NaN or infinite x (or a label
tensor of the wrong type or length) is a ``ValueError`` naming the argument, never a radius.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import beta, norm

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.inputs import array_digest, module_digest
from leakage.progress import progress
from leakage.seed import torch_generator
from leakage.store import Store


@dataclass(frozen=True)
class CertifyConfig:
    """Randomized-smoothing certification settings (defaults: the paper's code, from Cohen et al.)."""

    sigma: float = doc_field(0.25, "standard deviation of the Gaussian noise")
    n0: int = doc_field(100, "noisy copies per sample that choose the top class")
    n: int = doc_field(100_000, "noisy copies per sample that estimate the top class's probability")
    alpha: float = doc_field(0.001, "failure probability of the Clopper-Pearson lower bound")
    batch_size: int = doc_field(4096, "noisy copies per model call (several samples share a call)")
    seed: int = doc_field(0, "seed of the noise")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be positive and finite, got {self.sigma}")
        if self.n0 < 1 or self.n < 1 or self.batch_size < 1:
            raise ValueError(f"n0, n and batch_size must be at least 1, got {self.n0}, {self.n}, {self.batch_size}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")


def lower_confidence_bound(successes: np.ndarray, trials: int, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson lower bound of a binomial proportion, per entry of successes (m,).

    Raises ``ValueError`` for a NaN/inf count or one outside [0, trials].
    """
    successes = np.asarray(successes, dtype=np.float64)
    check_finite("successes", successes)
    if successes.size and (successes.min() < 0 or successes.max() > trials):
        raise ValueError(f"successes must lie in [0, trials = {trials}], got [{successes.min()}, {successes.max()}]")
    bound = beta.ppf(alpha, np.maximum(successes, 1e-300), trials - successes + 1)
    return np.where(successes > 0, bound, 0.0)


def radius_from_counts(top_counts: np.ndarray, trials: int, sigma: float, alpha: float) -> tuple[np.ndarray,
                                                                                                np.ndarray]:
    """Theorem 1 with p_A bounded below: (radius (m,), p_A_lower (m,)); radius 0 where CERTIFY abstains."""
    p_lower = lower_confidence_bound(top_counts, trials, alpha)
    radius = np.where(p_lower > 0.5, sigma * norm.ppf(np.clip(p_lower, 0.5, 1.0)), 0.0)
    return radius, p_lower


@torch.no_grad()
def _class_counts(model: torch.nn.Module, x: torch.Tensor, copies: int, num_classes: int, config: CertifyConfig,
                  generator: torch.Generator, desc: str) -> torch.Tensor:
    """Counts (m, K) of the model's labels on ``copies`` noisy copies of each input x (m, ...), in batches."""
    m = len(x)
    device = x.device
    counts = torch.zeros(m * num_classes, dtype=torch.long, device=device)
    total = m * copies
    for begin in progress(range(0, total, config.batch_size), desc=desc, total=-(-total // config.batch_size)):
        rows = torch.arange(begin, min(begin + config.batch_size, total), device=device) // copies
        noisy = x[rows] + config.sigma * torch.randn(len(rows), *x.shape[1:], generator=generator, device=device)
        labels = model(noisy).argmax(1)
        counts.index_add_(0, rows * num_classes + labels, torch.ones_like(labels))
    return counts.view(m, num_classes)


def check_inputs(x: torch.Tensor, y: torch.Tensor) -> None:
    """Raise ``ValueError`` unless x (m, ...) is a finite float tensor and y (m,) an int64 label tensor."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2:
        raise ValueError(f"x must be a float tensor of inputs (m, C, H, W), got "
                         f"{getattr(x, 'dtype', type(x).__name__)} of shape {tuple(getattr(x, 'shape', ()))}")
    check_finite("x", x)
    if not isinstance(y, torch.Tensor) or y.dtype != torch.long or y.shape != (len(x),):
        raise ValueError(f"y must be an int64 tensor of shape ({len(x)},) (one label per input), got "
                         f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}")


def certify(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, config: CertifyConfig) -> dict[str, np.ndarray]:
    """CERTIFY every input x (m, C, H, W) with true labels y (m,); all noise drawn in batches across inputs.

    Returns per-input arrays: ``radius`` (L2, in input units; 0 if abstained or wrong), ``predicted`` (c_A,
    -1 if abstained), ``p_lower`` (the bound on p_A), ``correct`` (c_A == y and not abstained).
    Raises ``ValueError`` for a NaN/inf x or labels that are not int64 (m,) (:func:`check_inputs`).
    """
    check_inputs(x, y)
    model.eval()
    device = next(model.parameters()).device
    x, y = x.to(device).float(), y.to(device)
    num_classes = int(model(x[:1]).shape[1]) if len(x) else 0
    if len(x) == 0:
        empty = np.zeros(0)
        return {"radius": empty, "predicted": empty.astype(np.int64), "p_lower": empty, "correct": empty.astype(bool)}
    generator = torch_generator(config.seed, "certify", device=device)
    selection = _class_counts(model, x, config.n0, num_classes, config, generator, "certify: select")
    top = selection.argmax(1)
    estimation = _class_counts(model, x, config.n, num_classes, config, generator, "certify: estimate")
    top_counts = estimation.gather(1, top[:, None]).squeeze(1).cpu().numpy()
    radius, p_lower = radius_from_counts(top_counts, config.n, config.sigma, config.alpha)
    abstained = p_lower <= 0.5
    correct = (top.cpu().numpy() == y.cpu().numpy()) & ~abstained
    return {"radius": np.where(correct, radius, 0.0), "predicted": np.where(abstained, -1, top.cpu().numpy()),
            "p_lower": p_lower, "correct": correct}


def outcomes_by_class(y: np.ndarray, out: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per true class of y (m,): how :func:`certify`'s output ``out`` ended for its samples.

    Columns: ``class``, ``samples``, ``certified`` (c_A == y, radius > 0), ``wrong`` (c_A != y),
    ``abstained`` (p_A_lower <= 1/2), ``acr`` (mean radius, L2, abstained and wrong counted as 0) and
    ``zero_share`` (wrong or abstained, of the class's samples). Radius 0 ranks a sample as the least
    member-like; a target whose Gaussian-noise copies all drift to one class gives every OTHER class's
    samples radius 0 for their class alone, which this table shows. Raises ``ValueError`` on length mismatch.
    """
    y = np.asarray(y).astype(np.int64).ravel()
    if any(np.shape(out[k]) != y.shape for k in ("radius", "predicted", "correct")):
        raise ValueError(f"y and certify's output must have one entry per sample, got {y.shape} and "
                         f"{[np.shape(out[k]) for k in ('radius', 'predicted', 'correct')]}")
    classes = np.unique(y)
    index = np.searchsorted(classes, y)
    abstained = np.asarray(out["predicted"]) == -1
    correct = np.asarray(out["correct"], dtype=bool)
    samples = np.bincount(index, minlength=len(classes))
    count = lambda mask: np.bincount(index[mask], minlength=len(classes))  # noqa: E731
    radius_sum = np.bincount(index, weights=np.asarray(out["radius"], dtype=np.float64), minlength=len(classes))
    return pd.DataFrame({"class": classes, "samples": samples, "certified": count(correct),
                         "wrong": count(~correct & ~abstained), "abstained": count(abstained),
                         "acr": radius_sum / np.maximum(samples, 1),
                         "zero_share": count(~correct) / np.maximum(samples, 1)})


@dataclass(frozen=True)
class CertifyRun:
    """One certification: a model (its config and weights), the samples (identity and content), the settings."""

    model: Any = doc_field(None, "config of the certified model (a TargetConfig or a ShadowRun)")
    samples: Any = doc_field(None, "identity of the samples (e.g. the attack run whose candidates they are)")
    certify: CertifyConfig = doc_field(CertifyConfig(), "randomized-smoothing settings")
    weights: str = doc_field("", "digest of the model's weights (filled in by certified_radii)")
    inputs: str = doc_field("", "content digest of the samples and labels (filled in by certified_radii)")


def certified_radii(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, run: CertifyRun,
                    store: Store | None = None) -> dict[str, np.ndarray]:
    """:func:`certify`, cached in the store under ``run`` completed with the digests of the model's weights
    and of x and y, so another model or other samples under the same names are never served this result.

    Raises ``ValueError`` for a NaN/inf x or bad labels, before the cache is read (:func:`check_inputs`).
    """
    check_inputs(x, y)
    store = store or Store()
    device = next(model.parameters()).device
    key = replace(run, weights=module_digest(model), inputs=array_digest(x, y))
    return store.cached("certify", key, lambda: certify(model, x, y, run.certify), seed=run.certify.seed,
                        device=describe_device(device))
