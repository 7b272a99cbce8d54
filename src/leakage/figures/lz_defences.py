"""Figures of the defence chapter (``lz_defences``; Li & Zhang, section 6): Fig. 13 and the privacy/utility
frontier, drawn from the frames of :mod:`leakage.experiments.defences`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure


def attacks_against_defences(table: pd.DataFrame) -> Figure:
    """Li & Zhang, Fig. 13: each attack's AUC per defence setting (top; 0.5 = chance, dashed) and the defended
    target's test accuracy (bottom).

    ``table``: one row per setting and attack, with columns ``setting`` (the x label, e.g. ``L2 0.05``; settings
    in order of first appearance), ``attack``, ``auc`` and ``test_accuracy`` (both on [0, 1]).
    """
    order = list(dict.fromkeys(table["setting"]))
    fig, (ax_auc, ax_acc) = plt.subplots(2, 1, figsize=(max(7, 0.7 * len(order) + 2), 6.5), sharex=True,
                                         gridspec_kw={"height_ratios": [2, 1]})
    sns.barplot(data=table, x="setting", y="auc", hue="attack", order=order, ax=ax_auc)
    ax_auc.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax_auc.set(ylim=(0.3, 1.0), ylabel="attack AUC", xlabel="")
    ax_auc.legend(ncol=4, fontsize="small", loc="upper right")
    acc = table.drop_duplicates("setting")
    ax_acc.bar(acc["setting"], acc["test_accuracy"], color="grey")
    ax_acc.set(ylabel="target test acc.", ylim=(0, 1), xlabel="defence and strength")
    ax_acc.tick_params(axis="x", rotation=60)
    return fig


def privacy_utility_frontier(frontier: pd.DataFrame) -> Figure:
    """Test accuracy against the strongest attack's AUC (left) and TPR at 1% FPR (right), one point per defence
    setting annotated with its strength; a dotted line joins the Pareto front.

    ``frontier``: one row per setting, with columns ``defence``, ``strength``, ``test_accuracy``,
    ``best_attack_auc``, ``best_tpr_at_1pct_fpr`` and ``pareto`` (bool), as
    :func:`leakage.experiments.defences.frontier` returns.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ["best_attack_auc", "best_tpr_at_1pct_fpr"]):
        sns.scatterplot(data=frontier, x="test_accuracy", y=metric, hue="defence", style="pareto", s=80, ax=ax)
        front = frontier[frontier.pareto].sort_values("test_accuracy")
        ax.plot(front["test_accuracy"], front[metric], color="black", lw=1, ls=":")
        for _, r in frontier.iterrows():
            ax.annotate(str(r["strength"]), (r["test_accuracy"], r[metric]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.set(xlabel="target test accuracy", ylabel=metric.replace("_", " "))
    axes[0].legend(fontsize="small")
    axes[1].get_legend().remove()
    return fig
