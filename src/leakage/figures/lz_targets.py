"""The ``lz_targets`` page's figure: the targets' train and test accuracy against the training set size."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure


def accuracy_curves(targets: pd.DataFrame) -> Figure:
    """Li & Zhang's Table 7 set-up (``lz-targets``): train and test accuracy (y, 0..1) of every target against its
    |D_train| (x, log scale), one panel per data set.

    ``targets``: one row per target with ``dataset``, ``model``, ``train_size``, ``train_accuracy`` and
    ``test_accuracy`` (:func:`leakage.experiments.part1.targets_frame`).
    """
    long = targets.melt(id_vars=["dataset", "model", "train_size"], value_vars=["train_accuracy", "test_accuracy"],
                        var_name="split", value_name="accuracy")
    long["split"] = long["split"].str.replace("_accuracy", "")
    grid = sns.relplot(data=long, x="train_size", y="accuracy", hue="split", col="dataset", kind="line",
                       marker="o", height=3.2, aspect=1.3, facet_kws={"sharex": False})
    grid.set(xscale="log", ylim=(0, 1.02), xlabel="|D_train| (log scale)")
    return grid.figure
