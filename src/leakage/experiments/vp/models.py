"""The VP chapter's trained models: a BiLSTM / BiGRU / CodeBERT target or shadow (artefact ``vp_model``), with
its raw outputs (embedding, logits) on its members and non-members and its utility on the held-out non-members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.device import describe_device, get_device
from leakage.experiments.vp.configs import VPModelRunConfig
from leakage.experiments.vp.data import encode_set, load_tokenizer
from leakage.models import count_parameters
from leakage.seed import derive_seed, seed_everything, seed_torch
from leakage.store import Store
from leakage.train import epochs_for, fit
from leakage.vp.features import model_outputs
from leakage.vp.models import build_vp_model

def utility(labels: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 (vulnerable = positive) of predictions (N,) against labels (N,)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(labels, prediction, average="binary",
                                                               zero_division=0)
    return {"accuracy": float(accuracy_score(labels, prediction)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


@dataclass
class VPModelRun:
    """A trained VP model's artefact: raw outputs on its members (``in``) and non-members (``out``), metrics."""

    config: VPModelRunConfig
    payload: dict

    def outputs(self, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(embedding (n, D), logits (n, 2), labels (n,)) on ``part`` = 'in' (members) or 'out' (non-members)."""
        return self.payload[f"embedding_{part}"], self.payload[f"logits_{part}"], self.payload[f"labels_{part}"]

    @property
    def metrics(self) -> dict:
        return {k: v for k, v in self.payload.items() if isinstance(v, (int, float, str))}


def train_vp_model(config: VPModelRunConfig, store: Store | None = None) -> VPModelRun:
    """Train (or load) one VP model and record its outputs on its members and non-members."""
    store = store or Store()
    device = get_device()
    sets = (f"{config.role}_in", f"{config.role}_out")

    def compute() -> dict:
        import time

        seed_everything(config.seed)
        tokenizer = load_tokenizer(config.data, config.model, store)
        (x_in, y_in), (x_out, y_out) = (encode_set(config.data, config.model, s, store) for s in sets)
        seed_torch(derive_seed(config.seed, "init"))
        model = build_vp_model(config.model, tokenizer.vocab_size, tokenizer.pad_id, config.data.tokenizer.max_len)
        model.to(device)
        start = time.perf_counter()
        log = fit(model, x_in.to(device), y_in.to(device), config.train, seed=config.seed,
                  desc=f"{config.model.arch} {config.role}")
        seconds = time.perf_counter() - start
        payload: dict = {"model": model.state_dict(), "train_seconds": seconds,
                         "epochs": epochs_for(config.train, len(x_in)), "parameters": count_parameters(model),
                         "train_loss_curve": log.loss, "train_accuracy_curve": log.accuracy,
                         "mean_tokens": float((x_in != tokenizer.pad_id).sum(1).float().mean()),
                         "truncated_fraction": float((x_in[:, -1] != tokenizer.pad_id).float().mean())}
        for part, x, y in (("in", x_in, y_in), ("out", x_out, y_out)):
            embedding, logits = model_outputs(model, x)
            payload.update({f"embedding_{part}": embedding.astype(np.float32), f"logits_{part}": logits,
                            f"labels_{part}": y.numpy()})
            for name, value in utility(y.numpy(), logits.argmax(1)).items():
                payload[f"{'train' if part == 'in' else 'heldout'}_{name}"] = value
        return payload

    payload = store.cached("vp_model", config, compute, seed=config.seed, device=describe_device(device))
    return VPModelRun(config, payload)
