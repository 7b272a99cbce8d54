"""The scorecard's forest plot: every claim's effect and 95% CI against its null, coloured by verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from leakage.claims.core import LEVEL

VERDICT_COLOURS = {"reproduced": "#1a7f37", "inconclusive": "#9a6700", "contradicted": "#cf222e",
                   "not comparable": "#8c959f"}


def standardised(frame: pd.DataFrame) -> pd.DataFrame:
    """Each testable claim's effect on one scale: z = direction * (effect - null) / SE, with SE from the CI's
    width, and its CI z -/+ 1.96. Positive: the paper's side. Claims without a finite CI are left out.

    Columns added: ``z``, ``z_low``, ``z_high``. An equivalence claim's null is the tolerance band's edge
    nearer its estimate, so z > 1.96 there too means "reproduced".
    """
    z_crit = norm.ppf(0.5 + LEVEL / 2)
    rows = frame[np.isfinite(frame.ci_low.astype(float)) & np.isfinite(frame.ci_high.astype(float))].copy()
    low, high = rows.ci_low.astype(float), rows.ci_high.astype(float)
    se = ((high - low) / (2 * z_crit)).where(lambda s: s > 0)
    effect = rows.effect.astype(float)
    tolerance = rows.note.str.extract(r"tolerance ±([0-9.]+)", expand=False).astype(float)
    # equivalence: distance inside the band (positive when within it); hypothesis: signed distance from the null
    distance = np.where(tolerance.notna(), tolerance - effect.abs(), rows.direction * (effect - rows.null.astype(float)))
    rows["z"] = distance / se
    rows["z_low"], rows["z_high"] = rows.z - z_crit, rows.z + z_crit
    return rows[np.isfinite(rows.z)]


def forest_plot(frame: pd.DataFrame, chapters: list[str] | None = None):
    """A figure with one row per testable claim (grouped by chapter, top to bottom), its standardised effect
    and 95% CI (:func:`standardised`), a line at 0 (the null) and at +/-1.96; colour = verdict."""
    import matplotlib.pyplot as plt

    rows = standardised(frame)
    order = chapters or list(dict.fromkeys(rows.chapter))
    rows = rows.assign(_c=rows.chapter.map({c: i for i, c in enumerate(order)})).sort_values(["_c"], kind="stable")
    height = 0.28 * len(rows) + 1.2
    figure, axis = plt.subplots(figsize=(8.5, max(2.5, height)))
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows.itertuples()):
        colour = VERDICT_COLOURS[row.verdict]
        axis.plot([max(row.z_low, -12), min(row.z_high, 12)], [yi, yi], color=colour, lw=2)
        axis.plot(np.clip(row.z, -12, 12), yi, "o", color=colour, ms=5)
    axis.axvline(0, color="black", lw=1)
    for x in (-norm.ppf(0.5 + LEVEL / 2), norm.ppf(0.5 + LEVEL / 2)):
        axis.axvline(x, color="grey", lw=0.6, ls=":")
    labels = [f"{r.chapter}: {r.claim[:60]}{'…' if len(r.claim) > 60 else ''}" for r in rows.itertuples()]
    axis.set_yticks(y, labels, fontsize=7)
    axis.set_xlim(-12, 12)
    axis.set_xlabel("standardised effect toward the paper's side, (effect − null) / SE  (clipped at ±12)")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in VERDICT_COLOURS.items()
               if v != "not comparable"]
    axis.legend(handles=handles, loc="lower right", fontsize=7)
    figure.tight_layout()
    return figure
