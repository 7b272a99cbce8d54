"""The target chapter's claim (``lz_targets``; Li & Zhang, Table 7 set-up) as a tested hypothesis.

It reads the chapter's published table ``lz-targets``: one row per target, columns ``dataset``, ``model``
(``M-0`` .. ``M-5``) and ``gap`` (train accuracy - test accuracy). The gap is one number per target, so
the resampling unit is the **target**: :func:`leakage.claims.stats.value_trend` resamples the six targets
with replacement and refits the slope of the gap on the model index. It does not cover the noise of
training one model per size (one seed per target) beyond what the spread of the six points shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakage.claims.core import Evidence, hypothesis, model_index, not_comparable, require_columns
from leakage.claims.stats import value_trend

CHAPTER = "lz_targets"
COLUMNS = ("dataset", "model", "gap")


def overfitting_grows(targets: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-targets-overfit, one Evidence per data set: the train-test accuracy gap rises from M-0 to M-5.

    Statistic: the OLS slope of the gap on the model index (per step M-i -> M-i+1); 95% CI from resampling
    the targets (:func:`value_trend`). Fewer than three targets: not comparable.
    """
    require_columns(targets, COLUMNS, "lz-targets")
    out = []
    for dataset, group in targets.groupby("dataset", sort=False):
        claim = f"targets overfit more as D_train shrinks: the gap rises from M-0 to M-5 ({dataset})"
        x, gaps = model_index(group["model"]), group["gap"].to_numpy(float)
        if len(np.unique(x)) < 3:
            out.append(not_comparable("lz-targets-overfit", chapter=CHAPTER, claim=claim,
                                      reason=f"only {len(np.unique(x))} targets in this build; a trend needs 3"))
            continue
        slope, low, high = value_trend(gaps, x, n_boot=n_boot, seed=seed)
        order = np.argsort(x)
        out.append(hypothesis(
            "lz-targets-overfit", chapter=CHAPTER, claim=claim, statistic="slope of the train-test gap per target step",
            effect=slope, ci=(low, high), null=0.0, direction=1, n=f"{len(x)} targets", unit="targets",
            n_unit=len(x),
            ours=f"{slope:+.3f} [{low:+.3f}, {high:+.3f}] per step; gap M-{x[order[0]]} {gaps[order[0]]:.3f}, "
                 f"M-{x[order[-1]]} {gaps[order[-1]]:.3f}",
            note="targets resampled (one trained model per size)"))
    return out
