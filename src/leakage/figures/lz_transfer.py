"""The ``lz_transfer`` page's figures (Li & Zhang, section 3): the transfer attack against the baseline (Fig. 2),
over shadow sizes and widths (Fig. 3), the shadow's loss (Fig. 4), three statistics (Fig. 5) and the ROC curves.

Each takes a frame of :mod:`leakage.experiments.part1` (named in its docstring) and returns the figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure


def _chance(ax) -> None:
    """A dashed grey line at AUC 0.5 (chance)."""
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")


def transfer_vs_baseline(main: pd.DataFrame) -> Figure:
    """Fig. 2: AUC (y) of the baseline and the transfer attack per target (x), with 95% bootstrap intervals as
    error bars, one panel per data set (in the frame's order).

    ``main``: :func:`leakage.experiments.part1.transfer_vs_baseline` (dataset, model, attack, auc, auc_lo, auc_hi).
    """
    datasets = list(main["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.8 * len(datasets), 3.4), squeeze=False)
    for ax, (dataset, group) in zip(axes[0], main.groupby("dataset", sort=False)):
        pivot = group.pivot(index="model", columns="attack", values="auc")[["baseline", "transfer"]]
        lo = group.pivot(index="model", columns="attack", values="auc_lo")[["baseline", "transfer"]]
        hi = group.pivot(index="model", columns="attack", values="auc_hi")[["baseline", "transfer"]]
        pivot.plot.bar(ax=ax, yerr=np.stack([(pivot - lo).T.values, (hi - pivot).T.values], axis=1), capsize=2,
                       rot=0)
        _chance(ax)
        ax.set(title=dataset, ylabel="attack AUC", ylim=(0.4, 1.0), xlabel="target")
    return fig


def shadow_grid(grid: pd.DataFrame) -> Figure:
    """Fig. 3: a heat map of the transfer attack's AUC over shadow data set sizes (columns) and shadow parameter
    counts (rows, in millions, largest on top), titled with the attacked target.

    ``grid``: the first frame of :func:`leakage.experiments.part1.shadow_grid_results` (dataset, model,
    shadow_width, shadow_parameters, shadow_size, auc), all of one target.
    """
    heat = grid.pivot(index="shadow_parameters", columns="shadow_size", values="auc").sort_index(ascending=False)
    heat.index = [f"{p / 1e6:.2f}M" for p in heat.index]
    sizes, widths = grid["shadow_size"].nunique(), grid["shadow_width"].nunique()
    fig, ax = plt.subplots(figsize=(1.3 * sizes + 2.5, 0.6 * widths + 1.8))
    sns.heatmap(heat, annot=True, fmt=".3f", cmap="viridis", ax=ax, cbar_kws={"label": "transfer AUC"})
    ax.set(xlabel="shadow data set size", ylabel="shadow parameters",
           title=f"{grid['dataset'].iloc[0]}, {grid['model'].iloc[0]}")
    return fig


def shadow_losses(losses: pd.DataFrame) -> Figure:
    """Fig. 4: densities of the shadow's cross-entropy loss (x, log scale) of members and non-members, one panel
    per target (columns) and data set (rows).

    ``losses``: :func:`leakage.experiments.part1.shadow_losses` (dataset, model, shadow_loss, status).
    """
    grid = sns.displot(data=losses, x="shadow_loss", hue="status", col="model", row="dataset", kind="hist",
                       stat="density", common_norm=False, log_scale=(True, False), element="step",
                       height=2.8, aspect=1.3, facet_kws={"sharey": False})
    grid.set_axis_labels("shadow cross-entropy loss (log scale)", "density")
    return grid.figure


def statistics(stats: pd.DataFrame) -> Figure:
    """Fig. 5: the transfer attack's AUC per target with each shadow statistic (bars), with and without the
    misclassification rule (columns), one row per data set.

    ``stats``: :func:`leakage.experiments.part1.statistics_frame` (dataset, model, statistic, misclassified, auc).
    """
    grid = sns.catplot(data=stats, x="model", y="auc", hue="statistic", col="misclassified", row="dataset",
                       kind="bar", height=3, aspect=1.4)
    grid.set(ylim=(0.4, 1.0))
    for ax in grid.axes.flat:
        _chance(ax)
    return grid.figure


def roc_curves(curves: pd.DataFrame) -> Figure:
    """ROC curves on log-log axes per attack, one panel per target (columns) and data set (rows); rates below a
    floor, 1 / (2 n) for the most rows n of one target's curves, are drawn at it; the dashed line is chance.

    ``curves``: :func:`leakage.experiments.part1.roc_frame` (dataset, model, attack, fpr, tpr).
    """
    floor = 1 / (2 * curves.groupby(["dataset", "model"]).size().max())
    grid = sns.relplot(data=curves.assign(fpr=curves.fpr.clip(lower=floor), tpr=curves.tpr.clip(lower=floor)),
                       x="fpr", y="tpr", hue="attack", col="model", row="dataset", kind="line",
                       drawstyle="steps-post", height=2.6, aspect=1.0, estimator=None)
    for ax in grid.axes.flat:
        ax.plot([floor, 1], [floor, 1], color="grey", lw=0.8, ls="--")
        ax.set(xscale="log", yscale="log")
    return grid.figure
