"""Li & Zhang's target CNN: 4 conv + 4 max-pool layers, then 2 fully connected layers of 256 units."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from leakage.config import doc_field


@dataclass(frozen=True)
class CNNConfig:
    """Size of the target CNN; the input shape and class count come from the data."""

    width: int = doc_field(32, "channels of the first conv layer; the next three have 2x, 4x, 8x as many")
    hidden: int = doc_field(256, "units in each of the two fully connected hidden layers (paper: 256)")
    dropout: float = doc_field(0.0, "dropout rate before each fully connected layer (0 = none; a defence)")


class TargetCNN(nn.Module):
    """Maps images (N, C, H, W) in [0, 1] to logits (N, num_classes).

    Each block is conv3x3 (same padding) + ReLU + 2x2 max-pool; a pool is skipped once the
    feature map is 1 pixel wide, so 8x8 digits and 64x64 GTSRB use the same four blocks.
    Weights and activations are kept channels-last (NHWC), which halves a forward pass on a CPU
    (oneDNN) and suits tensor cores; inputs in either layout are accepted and the logits are the same
    up to float rounding (``benchmarks/bench_cnn.py``).
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, config: CNNConfig = CNNConfig()):
        super().__init__()
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        for block in range(4):
            out = config.width * 2**block
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.ReLU()]
            if min(height, width) > 1:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
                height, width = (height + 1) // 2, (width + 1) // 2
            channels = out
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.hidden = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(channels * height * width, config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
        )
        self.head = nn.Linear(config.hidden, num_classes)
        self.to(memory_format=torch.channels_last)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, (N, hidden): what Fig. 12's t-SNE shows."""
        return self.hidden(self.features(x.contiguous(memory_format=self.memory_format())))

    def memory_format(self) -> torch.memory_format:
        """The layout of the conv weights (channels-last unless a caller converted the model back, as DP-SGD
        does for opacus' per-sample gradients); inputs are converted to it."""
        last_conv = [m for m in self.features if isinstance(m, nn.Conv2d)][-1]
        if last_conv.weight.is_contiguous(memory_format=torch.channels_last) and not last_conv.weight.is_contiguous():
            return torch.channels_last
        return torch.contiguous_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

