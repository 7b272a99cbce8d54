"""Stage: train Li & Zhang's target models M-0..M-5 on one data set (cached in the store)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from leakage.config import doc_field
from leakage.data.splits import NUM_TARGETS, SplitConfig, Splits, make_splits, random_subset
from leakage.data import vision
from leakage.data.vision import VisionData
from leakage.defenses import DefenceConfig, training_hooks
from leakage.defenses.dp import DPSGD
from leakage.defenses.memguard import MemGuardConfig, MemGuardModel, train_defence_classifier
from leakage.device import describe_device, get_device
from leakage.models import CNNConfig, TargetCNN, count_parameters
from leakage.seed import derive_seed, seed_everything, seed_torch
from leakage.store import Store
from leakage.train import TrainConfig, accuracy, epochs_for, fit, predict_logits


@dataclass(frozen=True)
class TargetConfig:
    """One target model M-i: its data, architecture, optimisation and seed."""

    split: SplitConfig = doc_field(SplitConfig(), "data set and Table 7 split (the seed of the split lives here)")
    model_index: int = doc_field(0, "i of M-i: 0 has the largest D_train, 5 the smallest (most overfit)")
    arch: CNNConfig = doc_field(CNNConfig(), "CNN size")
    train: TrainConfig = doc_field(TrainConfig(), "optimisation")
    defence: DefenceConfig = doc_field(DefenceConfig(), "training-time defence (none by default)")
    seed: int = doc_field(0, "seed of weight initialisation and batch order")


@dataclass(frozen=True)
class DefendedKey:
    """Identity of a target behind an inference-time defence (what attack artefacts are keyed by)."""

    target: TargetConfig = doc_field(TargetConfig(), "the trained target")
    inference: Any = doc_field(None, "the inference-time defence's config (e.g. MemGuardConfig)")


@dataclass
class Target:
    """A trained target with everything an attack is allowed (or, for evaluation, needed) to know."""

    config: TargetConfig
    model: TargetCNN
    data: VisionData
    splits: Splits
    metrics: dict[str, float]
    inference: Any = None  # an inference-time defence's config, when ``model`` is wrapped by one

    @property
    def members(self) -> np.ndarray:
        """Indices of D_train (the members)."""
        return self.splits.train[self.config.model_index]

    @property
    def reference(self) -> np.ndarray:
        """The defender's own non-member data (sorted indices): see :func:`defender_reference`."""
        return defender_reference(self.config, self.splits)

    @property
    def key(self) -> Any:
        """What identifies this target for caching attacks: its config, plus any inference-time defence."""
        return self.config if self.inference is None else DefendedKey(self.config, self.inference)


def defender_reference(config: TargetConfig, splits: Splits) -> np.ndarray:
    """The defender's own non-member data for M-i: |D_train| samples of D_shadow drawn uniformly at random
    (a seeded permutation, from the target's seed and index), so its class mix is D_shadow's, however
    the data set is ordered. Adversarial regularisation trains against it, MemGuard's classifier too.

    Raises ``ValueError`` when D_shadow is smaller than D_train.
    """
    size = len(splits.train[config.model_index])
    if size > len(splits.shadow):
        raise ValueError(f"the defender's reference set needs {size} samples of D_shadow, which has "
                         f"{len(splits.shadow)}; lower the profile's scale")
    return random_subset(splits.shadow, size, config.seed, "defender-reference", config.model_index)


def build_model(data: VisionData, arch: CNNConfig, seed: int) -> TargetCNN:
    """A freshly initialised CNN for ``data``, its weights drawn from ``seed``."""
    seed_torch(derive_seed(seed, "init"))
    return TargetCNN(data.input_shape, data.num_classes, arch)


def train_target(config: TargetConfig, store: Store | None = None) -> Target:
    """Train M-i (or load it from the store) and measure its train and test accuracy."""
    if not 0 <= config.model_index < NUM_TARGETS:
        raise ValueError(f"model_index must be in 0..{NUM_TARGETS - 1}, got {config.model_index}")
    store = store or Store()
    data = vision.cached_data(config.split.dataset)
    splits = make_splits(config.split, len(data))
    device = get_device()
    members = splits.train[config.model_index]

    def compute() -> dict:
        seed_everything(config.seed)
        model = build_model(data, config.arch, config.seed).to(device)
        x, y = data.images(members).to(device), data.y[members].to(device)
        reference = None
        if config.defence.adv_reg:  # only adversarial regularisation trains against the reference set
            chosen = defender_reference(config, splits)
            reference = (data.images(chosen).to(device), data.y[chosen].to(device))
        hooks = training_hooks(config.defence, num_classes=data.num_classes, epochs=epochs_for(config.train, len(x)),
                               seed=config.seed, reference=reference)
        log = fit(model, x, y, config.train, seed=config.seed, hooks=hooks,
                  desc=f"M-{config.model_index} {config.split.dataset}")
        epsilons = [h.epsilon for h in hooks if isinstance(h, DPSGD)]
        return {
            "model": model.state_dict(),
            "train_accuracy": accuracy(model, x, y),
            "test_accuracy": accuracy(model, data.images(splits.test), data.y[splits.test]),
            "final_train_loss": log.loss[-1],
            "train_size": len(members), "test_size": len(splits.test), "shadow_size": len(splits.shadow),
            "parameters": count_parameters(model),
            "dp_epsilon": epsilons[0] if epsilons else float("inf"),
            "dp_delta": 1.0 / len(members) if epsilons else 0.0,
            **{f"split_{k}": v for k, v in splits.as_arrays().items()},
        }

    payload = store.cached("target", config, compute, seed=config.seed, device=describe_device(device))
    model = build_model(data, config.arch, config.seed)
    model.load_state_dict(payload["model"])
    model.to(device).eval()
    metrics = {k: v for k, v in payload.items() if isinstance(v, (int, float))}
    return Target(config=config, model=model, data=data, splits=splits, metrics=metrics)


def paper_targets(dataset: str, *, scale: float, epochs: int, min_steps: int, width: int, seed: int,
                  defence: DefenceConfig = DefenceConfig(), dropout: float = 0.0) -> list[TargetConfig]:
    """Configs of M-0..M-5 on ``dataset`` as the profiles' notebook parameters describe them."""
    return [TargetConfig(split=SplitConfig(dataset=dataset, scale=scale, seed=seed), model_index=index,
                         arch=CNNConfig(width=width, dropout=dropout),
                         train=TrainConfig(epochs=epochs, min_steps=min_steps), defence=defence, seed=seed)
            for index in range(NUM_TARGETS)]


def behind_memguard(target: Target, config: MemGuardConfig) -> Target:
    """The same target with MemGuard in front of it: the defender fits its membership classifier on the
    target's confidence vectors of D_train (members) vs its reference data (non-members).

    Raises ``ValueError`` for a target already behind an inference-time defence: wrapping it again would
    defend the defended outputs while its key forgot the first defence (so artefacts would be shared).
    """
    if target.inference is not None:
        raise ValueError(f"the target is already behind an inference-time defence ({type(target.inference).__name__}); "
                         "MemGuard wraps an undefended target only")
    device = next(target.model.parameters()).device
    with torch.no_grad():
        members = predict_logits(target.model, target.data.images(target.members)).softmax(1)
        reference = predict_logits(target.model, target.data.images(target.reference)).softmax(1)
    classifier = train_defence_classifier(members.to(device), reference.to(device), config)
    return dataclasses.replace(target, model=MemGuardModel(target.model, classifier, config).eval(), inference=config)
