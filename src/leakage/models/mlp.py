"""A multilayer perceptron for feature vectors (tabular data): the default shadow model for vector inputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from leakage.config import doc_field


@dataclass(frozen=True)
class MLPConfig:
    """Size of the MLP; the input width and class count come from the data."""

    hidden: int = doc_field(256, "units in each hidden layer")
    layers: int = doc_field(2, "hidden layers (each Linear + ReLU); 0 = a linear model")
    dropout: float = doc_field(0.0, "dropout rate before each hidden layer (0 = none)")

    def __post_init__(self) -> None:
        """``ValueError`` for hidden < 1, layers < 0 or a dropout outside [0, 1)."""
        if self.hidden < 1 or self.layers < 0:
            raise ValueError(f"an MLP needs hidden >= 1 and layers >= 0, got hidden={self.hidden}, "
                             f"layers={self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class MLP(nn.Module):
    """Maps feature vectors (N, F) float (any range; standardise them first for a fast fit) to logits
    (N, num_classes): ``layers`` hidden layers of ``hidden`` units (Linear + ReLU, dropout before each), then a
    linear head."""

    def __init__(self, num_features: int, num_classes: int, config: MLPConfig = MLPConfig()):
        super().__init__()
        if num_features < 1 or num_classes < 2:
            raise ValueError(f"an MLP needs num_features >= 1 and num_classes >= 2, got {num_features} and "
                             f"{num_classes}")
        layers: list[nn.Module] = []
        width = num_features
        for _ in range(config.layers):
            layers += [nn.Dropout(config.dropout), nn.Linear(width, config.hidden), nn.ReLU()]
            width = config.hidden
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x))
