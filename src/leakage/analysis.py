"""Analyses of a target's outputs that explain membership leakage (Li & Zhang, section 4.1 and 5)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def other_label_cross_entropy(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy of each confidence vector to every label but the predicted one (Table 2).

    logits (n, K) -> (ce (n, K) with NaN at the predicted label, ace (n,) their mean). A larger ACE
    means the model would need more to change its mind: members should have larger ACE.
    """
    log_p = F.log_softmax(logits.double(), dim=1)
    ce = (-log_p).cpu().numpy()
    ce[np.arange(len(ce)), log_p.argmax(1).cpu().numpy()] = np.nan
    return ce, np.nanmean(ce, axis=1)


def tsne_embedding(features: np.ndarray, seed: int, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of features (n, h) -> (n, 2), for Fig. 12.

    The perplexity is capped below n / 3 so that small smoke-profile sets still embed.
    """
    from sklearn.manifold import TSNE

    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 4:
        raise ValueError(f"t-SNE needs at least 4 feature rows (n, h), got shape {features.shape}")
    perplexity = float(min(perplexity, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                random_state=seed % (2**32 - 1)).fit_transform(features)
