# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduction scorecard
#
# Every claim the chapters check, as a tested hypothesis. Each claim states the paper's effect (for
# example "the transfer attack's AUC exceeds the baseline's"), and this build measures it with a 95%
# confidence interval from the right resampling unit: candidates (a paired bootstrap when two attacks
# score the same candidates), targets (for trends across M-0..M-5), or training seeds. The verdict
# follows from the interval alone:
#
# - **reproduced**: the interval lies wholly on the paper's side of the null;
# - **inconclusive**: it covers the null; the table says roughly how many samples the observed effect
#   would need for 80% power;
# - **contradicted**: it lies wholly on the other side;
# - **not comparable**: this build cannot test the claim as stated (e.g. a number published for CIFAR-10).
#
# A published number is compared by an equivalence test: reproduced when the interval lies within the
# one tolerance (`leakage.claims.PAPER_TOLERANCE`) of it. The papers' values come from one table in the
# package (`leakage/claims/paper_values.csv`); everything else on this page is computed by the chapter
# notebooks of this build (`results/<profile>/claims/*.csv`).
#
# Before claims were tested this way, the default build's scorecard compared bare point estimates and
# read 22 reproduced, 14 not reproduced and 6 not comparable; several of those verdicts flipped with the
# seed.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
import pandas as pd
from IPython.display import Markdown, display

from leakage.chapters import CHAPTER_NOTEBOOKS
from leakage.claims import VERDICTS, load_evidence
from leakage.claims.plot import VERDICT_COLOURS, forest_plot
from leakage.publish import publish, set_style

set_style()
claims = load_evidence(profile)
claims = claims.iloc[claims.chapter.map({c: i for i, c in enumerate(CHAPTER_NOTEBOOKS)}).argsort(kind="stable")]
counts = claims["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0)
display(Markdown(f"Build profile **{profile}**: {len(claims)} claims; "
                 + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) + "."))

# %% tags=["remove-input"]
chapters = [c for c in CHAPTER_NOTEBOOKS if c in set(claims.chapter)]
figure = forest_plot(claims, chapters) if len(claims) else None
if figure is not None:
    publish("scorecard-forest", profile, table=claims[["chapter", "claim_id", "effect", "ci_low", "ci_high", "null",
                                                        "direction", "verdict"]], figure=figure)

# %% [markdown]
# ```{glue:figure} scorecard-forest
# :name: scorecard-forest
# Every testable claim of this build, in book order: its effect and 95% CI measured from the null toward
# the paper's side (right), in standard errors so that claims in different units share one axis. A bar
# wholly right of 0 is "reproduced", one wholly left of 0 "contradicted", one across it "inconclusive".
# Claims about a published number show the distance inside the tolerance band around it. Not comparable
# claims, and the audit's one-sided bounds (whose interval has no upper end), are in the table only.
# ```

# %% [markdown]
# ## Every claim
#
# "n" is what the interval rests on; "needed" is the rough sample size (of the same unit) at which the
# observed effect would be detected with 80% power, for inconclusive claims.

# %% tags=["remove-input"]
shown = claims[["chapter", "item", "claim", "paper", "ours", "statistic", "n", "verdict", "needed", "note"]]
shown.style.hide(axis="index").map(lambda v: f"color: {VERDICT_COLOURS.get(v, 'inherit')}", subset=["verdict"])
