"""Model architectures: the vision CNN here; sequence models come with their chapters."""

from leakage.models.cnn import CNNConfig, TargetCNN

__all__ = ["CNNConfig", "TargetCNN"]
