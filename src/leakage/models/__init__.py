"""Model architectures: the vision CNN and an MLP for feature vectors here; sequence models come with their
chapters."""

from torch import nn

from leakage.models.cnn import CNNConfig, TargetCNN
from leakage.models.mlp import MLP, MLPConfig

__all__ = ["CNNConfig", "MLP", "MLPConfig", "TargetCNN", "count_parameters"]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (of those that train when ``trainable_only``): the one count every
    chapter reports (a LoRA-adapted LM: all weights, or the adapters' alone)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
