"""Figures of the ``vp_mia`` chapter (Liao et al.: membership inference on vulnerability-prediction models, NMID).

Each function draws one of the chapter's tidy frames (:mod:`leakage.experiments.vp.frames`) and returns the
figure; the notebook publishes it. Model names are the frames' display names
(:func:`leakage.experiments.vp.model_name`), passed in the chapter's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

#: The rows of :func:`nmid_figure`, top to bottom.
NMID_PANELS: tuple[str, ...] = ("AUC, black-box attacker", "AUC, gray-box attacker", "held-out F1, defended release")


def utility_figure(utility: pd.DataFrame) -> Figure:
    """Bars of training accuracy, held-out accuracy and held-out F1 per model (x), one panel per role.

    ``utility``: :func:`~leakage.experiments.vp.frames.utility_frame` (``model``, ``role``, ``train_accuracy``,
    ``heldout_accuracy``, ``heldout_f1``; fractions in [0, 1])."""
    long = utility.melt(id_vars=["model", "role"], value_vars=["train_accuracy", "heldout_accuracy", "heldout_f1"],
                        var_name="metric", value_name="value")
    long["model"] = long["model"].str.replace(" (", "\n(", regex=False)
    grid = sns.catplot(data=long, x="model", y="value", hue="metric", col="role", kind="bar", height=3.2, aspect=1.3)
    grid.set(ylim=(0, 1.02), xlabel="", ylabel="")
    grid.set_titles("{col_name}s")
    return grid.figure


def mia_figure(mia: pd.DataFrame, models: Sequence[str], features: Sequence[str]) -> Figure:
    """Heat maps of the undefended attack AUC, model (rows, in ``models``' order) x feature set (columns, in
    ``features``' order), one panel per attack classifier (in the frame's order).

    ``mia``: :func:`~leakage.experiments.vp.frames.mia_frames`' metrics (``model``, ``classifier``,
    ``features``, ``auc``); colour scale from 0.5 (chance) to 1."""
    classifiers = list(mia["classifier"].unique())
    fig, axes = plt.subplots(1, len(classifiers), figsize=(4.6 * len(classifiers) + 2.2, 0.55 * len(models) + 3.4),
                             squeeze=False, sharey=True)
    for ax, classifier in zip(axes[0], classifiers):
        heat = (mia[mia["classifier"] == classifier].pivot(index="model", columns="features", values="auc")
                .reindex(index=list(models), columns=list(features)))
        sns.heatmap(heat, annot=True, fmt=".2f", vmin=0.5, vmax=1.0, cmap="rocket_r", ax=ax, annot_kws={"size": 8},
                    cbar=ax is axes[0][-1], cbar_kws={"label": "attack AUC"})
        ax.set(title=f"{classifier.upper()} attack classifier", xlabel="", ylabel="")
        ax.tick_params(axis="x", rotation=60)
        ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig


def nmid_figure(nmid: pd.DataFrame, levels: Sequence[str], auc_goal: float) -> Figure:
    """Lines against the NMID noise sigma, one per masking level (``levels``' order): per model (columns), the
    black-box and the gray-box attacker's AUC and the defended release's held-out F1 (rows, :data:`NMID_PANELS`).

    ``nmid``: :func:`~leakage.experiments.vp.frames.nmid_frames`' metrics (``model``, ``level``, ``sigma``,
    ``attacker`` starting "black-box" or "gray-box", ``auc``, ``utility_f1``). The AUC panels mark ``auc_goal``
    (dashed) and chance, 0.5 (dotted)."""
    panel = pd.concat([nmid.assign(panel="AUC, " + nmid["attacker"].str.split(" ").str[0] + " attacker",
                                   value=nmid["auc"]),
                       nmid[nmid["attacker"].str.startswith("gray")]
                       .assign(panel="held-out F1, defended release", value=lambda t: t["utility_f1"])])
    grid = sns.relplot(data=panel, x="sigma", y="value", hue="level", style="level", row="panel", col="model",
                       kind="line", marker="o", height=2.5, aspect=1.35, facet_kws={"sharey": "row"},
                       hue_order=list(levels), style_order=list(levels), row_order=list(NMID_PANELS))
    for (row, _), ax in grid.axes_dict.items():
        if row.startswith("AUC"):
            ax.axhline(auc_goal, color="grey", lw=0.8, ls="--")
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    grid.set_titles("{col_name}\n{row_name}", size="small")
    grid.set(xlabel="NMID noise sigma", ylabel="")
    return grid.figure


def frontier_figure(frontier: pd.DataFrame, models: Sequence[str], levels: Sequence[str], auc_goal: float
                    ) -> Figure:
    """The privacy / utility trade-off, one panel per model (``models``' order): every swept setting as (held-out
    F1 of the defended release, AUC), colour = masking level (``levels``' order), size = sigma; a star marks the
    undefended model (level "none", sigma 0), dashed ``auc_goal``, dotted chance (0.5).

    ``frontier``: :func:`~leakage.experiments.vp.frames.frontier_frame` (``model``, ``level``, ``sigma``,
    ``auc``, ``utility_f1``)."""
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], models):
        part = frontier[frontier["model"] == name]
        sns.scatterplot(data=part, x="utility_f1", y="auc", hue="level", size="sigma", hue_order=list(levels),
                        sizes=(30, 160), ax=ax, legend=ax is axes[0][-1])
        undefended = part[(part["level"] == "none") & (part["sigma"] == 0)]
        ax.scatter(undefended["utility_f1"], undefended["auc"], marker="*", s=250, color="black", zorder=5,
                   label="undefended")
        ax.axhline(auc_goal, color="grey", lw=0.8, ls="--")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(title=name, xlabel="held-out F1 (defended)", ylabel="attack AUC (stronger attacker)")
    if len(axes[0]):
        axes[0][-1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize="small")
    return fig
