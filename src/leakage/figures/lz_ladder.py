"""Figures of the threat-model ladder (``lz_ladder``): every attack's metrics per target, what label queries buy and
the low false-positive ROC curves, drawn from the frames of :mod:`leakage.experiments.ladder`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

#: Line style of each threat model on the ROC curves.
THREAT_STYLES: dict[str, str] = {"label-only": "--", "score-based": "-"}


def ladder_bars(table: pd.DataFrame, panels: Mapping[tuple[str, str], Sequence[tuple[str, str]]],
                order: Sequence[str]) -> Figure:
    """``lz-ladder``: one row of panels per target, one panel per metric: a horizontal bar per attack with its 95%
    CI, label-only attacks (blue) above the line, score-based ones (orange) below it; chance AUC dashed.

    ``table``: one row per target and attack (:func:`leakage.experiments.ladder.ladder_table`): ``dataset``,
    ``model``, ``threat`` ("label-only" or "score-based"), ``attack`` and every shown column with its ``_lo`` and
    ``_hi`` bounds (on [0, 1]). ``panels``: (data set, model) -> (column, panel title) per panel, the same count
    for every target (:func:`leakage.experiments.ladder.ladder_panels`). ``order``: the attacks, top to bottom.
    """
    threat_colour = {"label-only": sns.color_palette()[0], "score-based": sns.color_palette()[1]}
    keys = list(panels)
    columns = max(len(p) for p in panels.values())
    fig, axes = plt.subplots(len(keys), columns, figsize=(4.0 * columns, 0.38 * len(order) * len(keys) + 1.2),
                             squeeze=False, sharey=True)
    y = np.arange(len(order))
    for row, (dataset, model) in enumerate(keys):
        part = table[(table.dataset == dataset) & (table.model == model)].set_index("attack").loc[list(order)]
        for col, (metric, name) in enumerate(panels[dataset, model]):
            ax = axes[row, col]
            values, lo, hi = part[metric], part[f"{metric}_lo"], part[f"{metric}_hi"]
            ax.barh(y, values, xerr=np.stack([values - lo, hi - values]),
                    color=[threat_colour[t] for t in part.threat], capsize=2)
            border = sum(t == "label-only" for t in part.threat) - 0.5
            ax.axhline(border, color="black", lw=0.8)
            if metric == "auc":
                ax.axvline(0.5, color="grey", lw=0.8, ls="--")
            ax.set(xlim=(0.3 if metric == "auc" else 0, 1.0), title=f"{model} ({dataset}): {name}", yticks=y,
                   yticklabels=list(order))
    axes[0, 0].invert_yaxis()  # the y axes are shared: label-only attacks on top
    fig.tight_layout()
    return fig


def query_curves(queries: pd.DataFrame, tpr_metric: str, tpr_name: str) -> Figure:
    """``lz-queries``: AUC (left; chance dashed) and a TPR (right) against the label queries per candidate (log
    scale), one colour per attack and one line style per target; the zero-query checkpoint is left out.

    ``queries``: :func:`leakage.experiments.ladder.query_frame`'s frame (``dataset``, ``model``, ``attack``,
    ``queries``, ``auc`` and the column ``tpr_metric``); ``tpr_name``: the right panel's title and axis label
    (:func:`leakage.experiments.ladder.query_metric` gives both).
    """
    long = queries.melt(id_vars=["dataset", "model", "attack", "queries"], value_vars=["auc", tpr_metric],
                        var_name="metric", value_name="value")
    long["metric"] = long.metric.map({"auc": "AUC", tpr_metric: tpr_name})
    long["target"] = long.model + " (" + long.dataset + ")"
    grid = sns.relplot(data=long[long.queries > 0], x="queries", y="value", hue="attack", style="target",
                       col="metric", kind="line", marker="o", height=3.3, aspect=1.35, facet_kws={"sharey": False})
    grid.set(xscale="log", xlabel="label queries per candidate (log)")
    grid.set_titles("{col_name}")
    for ax, name in zip(grid.axes.flat, ["AUC", tpr_name]):
        ax.set(ylabel=name, ylim=(0.3, 1.02) if name == "AUC" else (0, 1.02))
        if name == "AUC":
            ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    return grid.figure


def low_fpr_roc(curves: pd.DataFrame, n_non_members: int, order: Sequence[str], title: str) -> Figure:
    """``lz-lowfpr``: every attack's ROC curve on log-log axes (label-only dashed, score-based solid, chance
    dotted), a thin vertical line at one false positive (1/n) and zeros drawn at half of it.

    ``curves``: :func:`leakage.experiments.ladder.roc_frame`'s frame (``attack``, ``threat``, ``fpr``, ``tpr``,
    one target); ``n_non_members``: that target's n (> 0); ``order``: the attacks, fixing their colours;
    ``title``: the axes' title.
    """
    floor = 1 / (2 * n_non_members)
    fig, ax = plt.subplots(figsize=(6.0, 4.6))
    palette = dict(zip(order, sns.color_palette("tab10", len(order))))
    for attack, curve in curves.groupby("attack", sort=False):
        ax.step(curve.fpr.clip(lower=floor), curve.tpr.clip(lower=floor), where="post", color=palette[attack],
                ls=THREAT_STYLES[curve.threat.iloc[0]], label=f"{attack} ({curve.threat.iloc[0]})")
    ax.plot([floor, 1], [floor, 1], color="grey", lw=0.8, ls=":")
    ax.axvline(1 / n_non_members, color="grey", lw=0.6)
    ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1.05), xlabel="false-positive rate (log)",
           ylabel="true-positive rate (log)", title=title)
    ax.legend(fontsize="small", loc="lower right")
    return fig
