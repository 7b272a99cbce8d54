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
# # Membership Leakage
#
# A reproducible companion to research on **membership inference attacks** (MIA)
# {cite:p}`shokri2017membership`: given a
# trained model and a sample, did the sample belong to the model's training set? Every table
# and figure in this book is regenerated from code in `src/leakage` by the notebooks in
# `notebooks/`, executed with papermill for one *profile*, and every number on these pages
# was computed by that build.
#
# The book regenerates:
#
# 1. **Label-only MIA** ("Membership Leakage in Label-Only Exposures", {cite:t}`li2021membership`, CCS):
#    the target models, transfer and boundary attacks, and defences.
# 2. **MIA on vulnerability-prediction models** (LSTM, BiGRU, CodeBERT) and the NMID defence
#    {cite:p}`liao2025exposing`.
# 3. **MIA scores on language models**: LOSS, reference, zlib, neighbourhood, Min-k% and Min-k%++, as
#    collected by the mimir benchmark {cite:p}`duan2024membership`.
#
# Beyond the three works, a **threat-model ladder** runs every attack of the book, from one label
# query to the reference models of LiRA {cite:p}`carlini2022membership` and RMIA
# {cite:p}`zarifzadeh2024lowcost`, on part 1's targets and compares them at low
# false-positive rates; a **privacy audit** chapter turns the attacks into empirical lower bounds
# on the epsilon of DP-SGD training (canaries, Clopper-Pearson and one-run audits;
# {cite:p}`jagielski2020auditing,steinke2023privacy`). Every work cited is listed under {doc}`/references`.
#
# The [reproduction scorecard](scorecard) lists every claim checked as a tested hypothesis: the
# paper's statement beside our effect with its 95% confidence interval, the samples behind it, and a
# verdict that follows from the interval (reproduced, inconclusive, contradicted, not comparable).
#
# ## Re-running it
#
# ```bash
# python -m leakage book --profile default            # the whole book (see README for set-up)
# python -m leakage book --profile smoke --only lz_targets   # one chapter, tiny
# python -m leakage book --profile default --set epochs=50   # change a parameter
# ```
#
# Profiles set parameters only; the code path is the same:

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
import pandas as pd
from IPython.display import Markdown

from leakage.profiles import PROFILE_COST, PROFILES
from leakage.results import load_provenance
from leakage.store import package_versions

pd.DataFrame({"profile": PROFILES, "cost": [PROFILE_COST[p] for p in PROFILES],
              "this build": ["yes" if p == profile else "" for p in PROFILES]}).style.hide(axis="index")

# %% [markdown]
# ## This build
#
# The data each item used, as recorded by the notebook that made it:

# %% tags=["remove-input"]
versions = ", ".join(f"{k} {v}" for k, v in package_versions().items())
provenance = load_provenance(profile)
display(Markdown(f"Profile **{profile}**; {versions}."))
provenance.style.hide(axis="index")
