"""Figures of the privacy-audit chapters (``audit``: ``audit-eps``, ``audit-curve``; ``audit_llm``: ``audit-llm``,
``audit-exposure``), drawn from the frames of :mod:`leakage.experiments.audit` and
:mod:`leakage.experiments.audit_llm`.

Epsilons are shown by their labels (``"no DP"``, ``"1"``, ``"4"``, ...; the chapters'
:func:`~leakage.experiments.audit.epsilon_label`): ``order`` lists them along the x axis, and ``theoretical`` maps
each DP label to the theoretical epsilon drawn as a black bar over its group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

#: The two audits of every bound: frame column -> name in the panel titles.
AUDITS: dict[str, str] = {"eps_lb": "threshold audit", "eps_lb_one_run": "one-run audit"}


def _bounds_panel(ax, frame: pd.DataFrame, column: str, order: Sequence[str],
                  theoretical: Mapping[str, float]) -> None:
    """One panel: each attack's ``column`` per epsilon label, black bars at the theoretical epsilons, the ceiling
    (dotted, the frame's first ``ceiling``)."""
    sns.barplot(data=frame, x="epsilon", y=column, hue="attack", ax=ax, errorbar=None, order=list(order))
    for label, epsilon in theoretical.items():
        i = list(order).index(label)
        ax.plot([i - 0.4, i + 0.4], [epsilon, epsilon], color="black", lw=1.5)
    ax.axhline(frame.ceiling.iloc[0], color="grey", ls=":", lw=1)


def eps_figure(frame: pd.DataFrame, models: Sequence[str], order: Sequence[str],
               theoretical: Mapping[str, float]) -> Figure:
    """``audit-eps``: eps_LB (95%) of each attack per epsilon label, one column of panels per model of
    ``models``, the threshold audit (top) and the one-run audit (bottom).

    ``frame``: one row per model x epsilon x attack with columns ``model``, ``epsilon`` (label), ``attack``,
    ``eps_lb``, ``eps_lb_one_run`` and ``ceiling`` (the model's perfect attack, the same on every row of a model).
    """
    fig, axes = plt.subplots(len(AUDITS), len(models), figsize=(5.2 * len(models), 3.4 * len(AUDITS)),
                             squeeze=False)
    for col, name in enumerate(models):
        sub = frame[frame.model == name]
        for row, (column, audit_name) in enumerate(AUDITS.items()):
            ax = axes[row, col]
            _bounds_panel(ax, sub, column, order, theoretical)
            ax.set(title=f"{name}: {audit_name}", xlabel="theoretical epsilon", ylabel="eps_LB (95%)")
            ax.legend(fontsize="small", title="attack")
    fig.tight_layout()
    return fig


def curve_figure(best: pd.DataFrame, models: Sequence[str], order: Sequence[str]) -> Figure:
    """``audit-curve``: the best attack's eps_LB (95%) against the number of canaries used, one line per epsilon
    label (in ``order``) and one panel per model of ``models``, with a perfect attack's ceiling (dotted).

    ``best``: one row per model, ``epsilon`` label and ``canaries`` with columns ``eps_lb`` and ``ceiling``
    (:func:`leakage.experiments.audit.best_curve`).
    """
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.6), squeeze=False)
    for ax, name in zip(axes[0], models):
        sub = best[best.model == name]
        sns.lineplot(data=sub, x="canaries", y="eps_lb", hue="epsilon", style="epsilon", markers=True, ax=ax,
                     hue_order=list(order), style_order=list(order))
        ceil = sub.drop_duplicates("canaries")
        ax.plot(ceil.canaries, ceil.ceiling, color="grey", ls=":", label="perfect attack")
        ax.set(title=name, xlabel="canaries used (m)", ylabel="best eps_LB (95%)")
        ax.legend(title="theoretical epsilon", fontsize="small")
    fig.tight_layout()
    return fig


def finetune_eps_figure(frame: pd.DataFrame, order: Sequence[str], theoretical: Mapping[str, float],
                        title: str = "SmolLM2-135M (LoRA)") -> Figure:
    """``audit-llm``: eps_LB (95%) of each LM attack per epsilon label of one fine-tuned model, the threshold
    audit (left) and the one-run audit (right); ``frame`` as for :func:`eps_figure` (one model)."""
    fig, axes = plt.subplots(1, len(AUDITS), figsize=(10.4, 3.6), squeeze=False)
    for ax, (column, audit_name) in zip(axes[0], AUDITS.items()):
        _bounds_panel(ax, frame, column, order, theoretical)
        ax.set(title=f"{title}: {audit_name}", xlabel="theoretical epsilon", ylabel="eps_LB (95%)")
        ax.legend(fontsize="small", title="attack")
    fig.tight_layout()
    return fig


def exposure_figure(exposure: pd.DataFrame, order: Sequence[str], ceiling: float) -> Figure:
    """``audit-exposure``: each secret canary's exposure (bits) per epsilon label, secrets fine-tuned on against
    those not (dashes: means), and the largest measurable exposure ``ceiling`` (bits, dotted).

    ``exposure``: one row per run and secret with columns ``epsilon`` (label), ``included`` (bool) and
    ``exposure`` (:func:`leakage.experiments.audit_llm.exposure_frame`).
    """
    hue_order = ["fine-tuned on", "not fine-tuned on"]
    shown = exposure.assign(canary=exposure.included.map({True: hue_order[0], False: hue_order[1]}))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    sns.stripplot(data=shown, x="epsilon", y="exposure", hue="canary", order=list(order), dodge=True, alpha=0.7,
                  ax=ax, hue_order=hue_order)
    sns.pointplot(data=shown, x="epsilon", y="exposure", hue="canary", order=list(order), dodge=0.4,
                  errorbar=None, markers="_", linestyles="none", ax=ax, hue_order=hue_order,
                  palette="dark:black", legend=False)
    ax.axhline(ceiling, color="grey", ls=":", lw=1)
    ax.set(xlabel="theoretical epsilon", ylabel="exposure (bits)", title="secret canaries after fine-tuning")
    ax.legend(fontsize="small", title="secret")
    fig.tight_layout()
    return fig
