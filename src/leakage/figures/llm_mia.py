"""Figures of the ``llm_mia`` chapter, drawn from its frames (:mod:`leakage.experiments.llm.frames`).

Attacks are named by their table labels (``"loss"``, ``"min-k (20%)"``, ...) and coloured by
:func:`attack_palette`, so one attack has one colour in every figure of the chapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

Colour = tuple[float, float, float]


def attack_palette(attacks: Sequence[str]) -> dict[str, Colour]:
    """Attack label -> its colour (seaborn's colorblind palette, in the order of ``attacks``)."""
    return dict(zip(attacks, sns.color_palette("colorblind", len(attacks))))


def auc_figure(auc_table: pd.DataFrame, attack_order: Sequence[str]) -> Figure:
    """``llm-auc``: each (target, attack) row's ROC AUC with its 95% bootstrap CI, chance dotted.

    ``auc_table``: columns ``target``, ``attack``, ``auc``, ``auc_lo``, ``auc_hi`` (one row per attack and target,
    drawn top to bottom); ``attack_order``: every attack of the table (``KeyError`` otherwise), coloured by
    :func:`attack_palette`.
    """
    palette = attack_palette(attack_order)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(auc_table)))
    labels = [f"{t} | {a}" for t, a in zip(auc_table["target"], auc_table["attack"])]
    y = np.arange(len(auc_table))[::-1]
    for yi, row in zip(y, auc_table.itertuples()):
        ax.errorbar(row.auc, yi, xerr=[[row.auc - row.auc_lo], [row.auc_hi - row.auc]], fmt="o", capsize=3,
                    color=palette[row.attack])
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set(yticks=y, yticklabels=labels, xlabel="ROC AUC (95% bootstrap CI)",
           xlim=(min(0.4, auc_table["auc_lo"].min() - 0.02), 1.01))
    return fig


def roc_figure(roc: pd.DataFrame, non_members: Mapping[str, int], attack_order: Sequence[str]) -> Figure:
    """``llm-roc``: one log-log ROC panel per target (Carlini et al.'s view of the low-FPR regime), chance dotted.

    ``roc``: columns ``target``, ``attack``, ``fpr``, ``tpr`` (curve points in order); ``non_members``: target ->
    number of non-members evaluated, one panel per entry in its order (rates of zero are drawn at half the
    smallest non-zero FPR, ``1 / (2 n)``); ``attack_order``: every attack drawn, coloured by :func:`attack_palette`,
    in the legend's order.
    """
    palette = attack_palette(attack_order)
    fig, axes = plt.subplots(1, len(non_members), figsize=(5.2 * len(non_members), 4.4), squeeze=False)
    for ax, (name, n) in zip(axes[0], non_members.items()):
        floor = 1 / (2 * n)
        for label, group in roc[roc["target"] == name].groupby("attack", sort=False):
            ax.step(np.maximum(group["fpr"], floor), np.maximum(group["tpr"], floor), where="post", label=label,
                    color=palette[label])
        ax.plot([floor, 1], [floor, 1], color="grey", ls=":", lw=1)
        ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1.05), xlabel="false positive rate",
               ylabel="true positive rate", title=name)
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines() if h.get_label() in palette}
    axes[0][-1].legend([handles[a] for a in attack_order if a in handles], [a for a in attack_order if a in handles],
                       fontsize="small", loc="lower right")
    return fig


def scores_figure(scores: pd.DataFrame, targets: Sequence[str], attacks: Sequence[str]) -> Figure:
    """``llm-scores``: histograms of each attack's score (columns) for members and non-members, per target (rows).

    ``scores``: columns ``target``, ``attack``, ``score`` and ``is_member`` (bool), one epoch per target; a (target,
    attack) without rows is marked "not applicable".
    """
    scores = scores.assign(membership=np.where(scores["is_member"], "member", "non-member"))
    fig, axes = plt.subplots(len(targets), len(attacks), figsize=(2.4 * len(attacks), 2.3 * len(targets)),
                             squeeze=False)
    for r, name in enumerate(targets):
        for c, label in enumerate(attacks):
            ax = axes[r][c]
            data = scores[(scores["target"] == name) & (scores["attack"] == label)]
            if not len(data):
                ax.axis("off")
                ax.text(0.5, 0.5, "not applicable", ha="center", va="center", transform=ax.transAxes, color="grey")
            else:
                sns.histplot(data=data, x="score", hue="membership", hue_order=["member", "non-member"], ax=ax,
                             stat="density", common_norm=False, element="step", bins=20, legend=(r == 0 and c == 0))
            ax.set(title=label if r == 0 else "", xlabel="", ylabel=name if c == 0 else "")
            ax.tick_params(labelsize="x-small")
    fig.tight_layout()
    return fig


def epochs_figure(epoch_table: pd.DataFrame, attack_order: Sequence[str]) -> Figure:
    """``llm-epochs``: ROC AUC of every attack against the training epoch, one panel per target, chance dotted.

    ``epoch_table``: columns ``target``, ``epoch``, ``attack``, ``auc``; ``attack_order``: the legend's order (colours
    of :func:`attack_palette`).
    """
    palette = attack_palette(attack_order)
    grid = sns.relplot(data=epoch_table, x="epoch", y="auc", hue="attack", hue_order=attack_order, palette=palette,
                       col="target", kind="line", marker="o", height=3.4, aspect=1.2, facet_kws={"sharex": False})
    grid.set(ylim=(0.4, 1.02), ylabel="ROC AUC")
    for ax in grid.axes.flat:
        ax.axhline(0.5, color="grey", ls=":", lw=1)
    return grid.figure


def mink_figure(mink: pd.DataFrame) -> Figure:
    """``llm-mink``: AUC of Min-k% and Min-k%++ against k (log scale) at each target's earliest epoch in ``mink``
    (the least memorised), one panel per target titled with that epoch.

    ``mink``: columns ``target``, ``epoch``, ``attack``, ``k`` (a fraction), ``auc``.
    """
    mink = mink[mink["epoch"] == mink.groupby("target")["epoch"].transform("min")]
    grid = sns.relplot(data=mink, x="k", y="auc", hue="attack", col="target", kind="line", marker="o", height=3.2,
                       aspect=1.2, facet_kws={"sharey": False})
    grid.set(xscale="log", xlabel="k (fraction of tokens)", ylabel="ROC AUC")
    for ax, name in zip(grid.axes.flat, grid.col_names):
        ax.set_title(f"{name}, epoch {int(mink.loc[mink['target'] == name, 'epoch'].iloc[0])}")
    return grid.figure
