"""The ``lz_boundary`` chapter's figures (Li & Zhang, Figs. 7-12, 14 and 15), each drawn from one of the frames of
:mod:`leakage.experiments.boundary` (the function named in each docstring gives its columns)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

#: Fig. 10's bars, in order: the label-only attacks, then the score-based one.
COMPARE_ORDER: tuple[str, ...] = ("baseline", "transfer", "boundary", "score-based")


def perturbation_figure(frame: pd.DataFrame) -> Figure:
    """Figs. 7 and 14: box plots of the L2 perturbation of members and non-members per target, a panel per data
    set, log scale (a 0 perturbation, a misclassified candidate, drawn at half the smallest positive one).
    ``frame``: :func:`leakage.experiments.boundary.perturbations` (``dataset``, ``model``, ``l2``, ``status``)."""
    floor = frame.loc[frame.l2 > 0, "l2"].min() / 2
    grid = sns.catplot(data=frame.assign(l2=frame.l2.clip(lower=floor)), x="model", y="l2", hue="status",
                       col="dataset", kind="box", height=3.3, aspect=1.5, sharey=False, fliersize=2)
    grid.set(yscale="log", ylabel="L2 perturbation (log; 0 drawn at the floor)", xlabel="target")
    return grid.figure


def norm_auc_figure(frame: pd.DataFrame) -> Figure:
    """Figs. 8 and 15: bars of the AUC of each perturbation measure per target, a panel per data set and attack
    norm, chance (0.5) dashed. ``frame``: :func:`leakage.experiments.boundary.norm_auc_frame` (``model``,
    ``AUC``, ``distance``, ``panel``)."""
    grid = sns.catplot(data=frame, x="model", y="AUC", hue="distance", col="panel", kind="bar", height=3.2,
                       aspect=1.5)
    grid.set(ylim=(0.3, 1.0), xlabel="target")
    for ax in grid.axes.flat:
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    return grid.figure


def query_curve_figure(frame: pd.DataFrame) -> Figure:
    """Fig. 9: AUC (L2) against label queries per candidate (symlog), a line per target, a panel per method and
    data set. ``frame``: :func:`leakage.experiments.boundary.query_curve` (``dataset``, ``model``, ``method``,
    ``queries``, ``auc``)."""
    grid = sns.relplot(data=frame, x="queries", y="auc", hue="model", col="method", row="dataset", kind="line",
                       marker="o", height=3.0, aspect=1.4, facet_kws={"sharex": False})
    grid.set(xscale="symlog", ylim=(0.3, 1.02), ylabel="AUC (L2)", xlabel="label queries per candidate (symlog)")
    for ax in grid.axes.flat:
        ax.set_xlim(left=0)
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    return grid.figure


def comparison_figure(frame: pd.DataFrame) -> Figure:
    """Fig. 10: AUC bars with their 95% bootstrap intervals of the attacks of :data:`COMPARE_ORDER` per target, a
    panel per data set. ``frame``: :func:`leakage.experiments.boundary.comparison`'s first frame (``dataset``,
    ``model``, ``attack``, ``auc``, ``auc_lo``, ``auc_hi``)."""
    order = list(COMPARE_ORDER)
    n = frame.dataset.nunique()
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 3.5), squeeze=False)
    for ax, (dataset, group) in zip(axes[0], frame.groupby("dataset", sort=False)):
        pivot = group.pivot(index="model", columns="attack", values="auc")[order]
        lo = group.pivot(index="model", columns="attack", values="auc_lo")[order]
        hi = group.pivot(index="model", columns="attack", values="auc_hi")[order]
        pivot.plot.bar(ax=ax, yerr=np.stack([(pivot - lo).T.values, (hi - pivot).T.values], axis=1), capsize=2,
                       rot=0)
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set(title=dataset, ylabel="attack AUC", ylim=(0.3, 1.0), xlabel="target")
    return fig


def threshold_figure(curve: pd.DataFrame, chosen: pd.DataFrame, reference_target: int,
                     chosen_percentile: float) -> Figure:
    """Fig. 11: F1 on the real candidates against the top-t percentile of the random inputs' L2 perturbation, a
    line per data set; dotted: the best F1 of any threshold, star: the chosen t. ``curve`` and ``chosen``:
    :func:`leakage.experiments.boundary.threshold_curve`'s first two frames; ``reference_target`` (the i of
    M-i) and ``chosen_percentile`` (%) name them in the title."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    sns.lineplot(data=curve, x="top_t_percent", y="f1", hue="dataset", marker="o", ax=ax)
    for _, r in chosen.iterrows():
        ax.axhline(r.best_f1, color="grey", lw=0.8, ls=":")
        ax.plot([r.top_t_percent], [r.f1], marker="*", ms=14, color="black")
    ax.set(xlabel="top t percentile of the random samples' L2 perturbation (%)", ylabel="F1 on real candidates",
           ylim=(0, 1.02),
           title=f"M-{reference_target}; dotted: best F1 of any threshold; star: t = {chosen_percentile}%")
    return fig


def tsne_figure(frame: pd.DataFrame) -> Figure:
    """Fig. 12: the t-SNE of a target's last hidden layer, a panel per data set: members (circles) and
    non-members (triangles) coloured by class, misclassified samples as red crosses. ``frame``:
    :func:`leakage.experiments.boundary.tsne_frame` (``dataset``, ``model``, ``x``, ``y``, ``label``,
    ``status``, ``misclassified``)."""
    n = frame.dataset.nunique()
    fig, axes = plt.subplots(1, n, figsize=(6.2 * n, 5.2), squeeze=False)
    for ax, (dataset, group) in zip(axes[0], frame.groupby("dataset", sort=False)):
        palette = sns.color_palette("tab10", n_colors=max(10, group.label.nunique()))
        ok = group[~group.misclassified]
        for status, marker in (("member", "o"), ("non-member", "^")):
            part = ok[ok.status == status]
            ax.scatter(part.x, part.y, c=[palette[v % len(palette)] for v in part.label], marker=marker, s=14,
                       alpha=0.8 if status == "member" else 0.5, linewidths=0, label=f"{status} (colour = class)")
        wrong = group[group.misclassified]
        ax.scatter(wrong.x, wrong.y, facecolors="none", edgecolors="red", marker="X", s=30, linewidths=0.8,
                   label="misclassified")
        ax.set(title=f"{dataset}, {group.model.iloc[0]}", xticks=[], yticks=[])
        handles = [Line2D([], [], ls="", marker="o", color="grey", label="member (colour: class)"),
                   Line2D([], [], ls="", marker="^", color="grey", alpha=0.6, label="non-member (colour: class)"),
                   Line2D([], [], ls="", marker="X", mfc="none", mec="red", label="misclassified")]
        ax.legend(handles=handles, loc="best", fontsize="small")
    return fig
