"""Shadow models: the attacker's own copy of the target's task, trained on D_shadow (cached in the store).

A shadow's architecture comes from a factory (:data:`ShadowFactory`): the caller's own
(``attack_classifier(shadow_model=...)``), or :func:`default_shadow_model`: the book's CNN for images
(C, H, W), an MLP for feature vectors (F,), sized by ``ShadowConfig.arch``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.models.cnn import CNNConfig, TargetCNN
from leakage.models.mlp import MLP, MLPConfig
from leakage.seed import derive_seed, numpy_rng, seed_everything, seed_torch
from leakage.store import Store
from leakage.train import TrainConfig, epochs_for, fit, predict_logits


@dataclass(frozen=True)
class ShadowConfig:
    """How the attacker builds a shadow model."""

    arch: CNNConfig = doc_field(CNNConfig(), "shadow CNN size (paper: the target's architecture); for feature "
                                             "vectors, hidden and dropout size the default MLP's two hidden layers")
    train: TrainConfig = doc_field(TrainConfig(), "shadow optimisation")
    size: int = doc_field(0, "D_shadow samples used (0 = all of D_shadow)")
    seed: int = doc_field(0, "seed of the subset drawn from D_shadow, initialisation and batch order")


@dataclass(frozen=True)
class ShadowRun:
    """Identity of one shadow model: whose data it was built from, and how."""

    data: Any = doc_field(None, "identifies D_shadow by content and its number of classes (the split config, "
                                "or a content digest for data handed in)")
    shadow: ShadowConfig = doc_field(ShadowConfig(), "the shadow's own config")
    purpose: str = doc_field("transfer", "what the shadow is for: 'transfer' (relabelled) or 'score' (true labels)")
    labels: Any = doc_field(None, "who labelled D_shadow for a relabelled shadow: the weights digest of the model "
                                  "answering label queries (None: D_shadow's true labels)")


def shadow_subset(num_shadow: int, config: ShadowConfig) -> np.ndarray:
    """Indices (size,) into D_shadow of the samples a shadow uses, drawn from the shadow's seed."""
    size = config.size or num_shadow
    if size > num_shadow:
        raise ValueError(f"shadow size {size} is larger than D_shadow ({num_shadow} samples)")
    return np.sort(numpy_rng(config.seed, "shadow-subset").permutation(num_shadow)[:size])


#: Builds one untrained shadow (or reference) model: ``factory(input_shape, num_classes)``, with ``input_shape``
#: the shape of one input (``(C, H, W)`` for images, ``(F,)`` for feature vectors), returns a fresh
#: ``torch.nn.Module`` (with parameters) mapping inputs (n, *input_shape) to logits (n, num_classes). It is called
#: after the global torch generator is seeded from the shadow's seed, so its initialisation is reproducible, and
#: the module is trained by :func:`leakage.train.fit` (Adam, cross-entropy; ``ShadowConfig.train``).
ShadowFactory = Callable[[tuple[int, ...], int], nn.Module]


def default_shadow_model(input_shape: tuple[int, ...], num_classes: int, arch: CNNConfig = CNNConfig()) -> nn.Module:
    """The book's shadow for inputs of ``input_shape``: :class:`~leakage.models.cnn.TargetCNN` of ``arch`` for
    images (C, H, W); for feature vectors (F,) an :class:`~leakage.models.mlp.MLP` with two hidden layers of
    ``arch.hidden`` units and ``arch.dropout``. Raises ``ValueError`` for any other shape: such inputs need a
    factory of their own (``attack_classifier(shadow_model=...)``)."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 3:
        return TargetCNN(shape, num_classes, arch)
    if len(shape) == 1:
        return MLP(shape[0], num_classes, MLPConfig(hidden=arch.hidden, layers=2, dropout=arch.dropout))
    raise ValueError(f"no default shadow model for inputs of shape {shape} (the defaults: the book's CNN for images "
                     "(C, H, W), an MLP for feature vectors (F,)): pass shadow_model=factory, a callable "
                     "factory(input_shape, num_classes) -> an untrained torch.nn.Module mapping (n, *input_shape) to "
                     "logits (n, num_classes)")


def build_shadow(input_shape: tuple[int, ...], num_classes: int, config: ShadowConfig,
                 factory: ShadowFactory | None = None) -> nn.Module:
    """One untrained shadow for inputs of ``input_shape``: ``factory(input_shape, num_classes)`` (None =
    :func:`default_shadow_model` of ``config.arch``), its initialisation drawn from ``config.seed``.

    Raises ``ValueError`` when the factory returns something other than a torch module with parameters (or,
    without a factory, for shapes that have no default)."""
    shape = tuple(int(d) for d in input_shape)
    seed_torch(derive_seed(config.seed, "shadow-init"))
    if factory is None:
        return default_shadow_model(shape, num_classes, config.arch)
    model = factory(shape, num_classes)
    if not isinstance(model, nn.Module) or next(iter(model.parameters()), None) is None:
        got = (f"a {type(model).__name__} without parameters" if isinstance(model, nn.Module)
               else type(model).__name__)
        raise ValueError(f"shadow_model{(shape, num_classes)} must return an untrained torch.nn.Module with "
                         f"parameters mapping inputs (n, *{shape}) to logits (n, {num_classes}), got {got}")
    return model


def train_shadow(run: ShadowRun, x: torch.Tensor, labels: Callable[[], torch.Tensor], num_classes: int,
                 store: Store, *, oracle: Any = None, true_labels: torch.Tensor | None = None,
                 factory: ShadowFactory | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Train (or load) a shadow model on x (n, *input_shape); returns it in eval mode and its stored values.

    The model comes from ``factory`` (None = :func:`default_shadow_model`: the book's CNN for images, an MLP for
    vectors), see :func:`build_shadow`; ``run.data`` must identify a factory handed in (its key does not see
    it otherwise). ``labels()`` gives the training labels (n,) and is only called when the shadow is not cached
    (for a transfer shadow it queries the target). The queries it spent on ``oracle`` are measured
    and stored as ``label_queries``; with ``true_labels`` the agreement of the labels with them too.
    """
    device = x.device

    def compute() -> dict[str, Any]:
        before = oracle.queries if oracle is not None else 0
        y = labels()
        spent = (oracle.queries - before) if oracle is not None else 0
        seed_everything(run.shadow.seed)
        model = build_shadow(x.shape[1:], num_classes, run.shadow, factory).to(device)
        fit(model, x, y, run.shadow.train, seed=run.shadow.seed, desc=f"shadow ({run.purpose})")
        accuracy = (predict_logits(model, x).argmax(1) == y).double().mean().item()
        agreement = (y.cpu() == true_labels.cpu()).double().mean().item() if true_labels is not None else 1.0
        return {"model": model.state_dict(), "train_accuracy": accuracy, "label_queries": spent,
                "label_agreement": agreement, "epochs": epochs_for(run.shadow.train, len(x)), "size": len(x)}

    values = store.cached("shadow", run, compute, seed=run.shadow.seed, device=describe_device(device))
    model = build_shadow(x.shape[1:], num_classes, run.shadow, factory)
    model.load_state_dict(values.pop("model"))
    return model.to(device).eval(), values


def posterior_statistics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-sample statistics of logits (n, K) with true labels (n,), each signed so that higher = member.

    - ``loss``: minus the cross-entropy with the true label;
    - ``max_confidence``: the largest softmax probability;
    - ``entropy``: minus the normalised entropy -1/log(K) * sum_k p_k log p_k.

    Raises ``ValueError`` for NaN/inf logits (a diverged shadow): they would give NaN scores.
    """
    check_finite("logits", logits)
    log_p = F.log_softmax(logits.double(), dim=1)
    p = log_p.exp()
    loss = F.nll_loss(log_p, labels, reduction="none")
    entropy = -(p * log_p).sum(1) / np.log(logits.shape[1])
    return {"loss": (-loss).cpu().numpy(), "max_confidence": p.max(1).values.cpu().numpy(),
            "entropy": (-entropy).cpu().numpy()}
