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
