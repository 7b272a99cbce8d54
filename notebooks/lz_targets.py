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
# # Target models M-0 to M-5
#
# Li & Zhang {cite:yearpar}`li2021membership` train six target models per data set on shrinking training sets
# (their Table 7):
# the smaller the training set, the more the model overfits, and every later figure reads its
# attack results against this overfitting level. This page trains the six targets of this
# build and measures their train and test accuracy.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
import pandas as pd

from leakage.chapters import chapter_parameters
from leakage.config import describe
from leakage.data.vision import cached_data
from leakage.experiments import part1
from leakage.figures.lz_targets import accuracy_curves
from leakage.publish import publish, set_style
from leakage.claims import record_evidence
from leakage.claims.lz_targets import overfitting_grows
from leakage.results import record_provenance

set_style()
params = chapter_parameters("lz_targets", profile, overrides)  # typed: leakage.experiments.parameters.TargetsParameters

# %% [markdown]
# ## Set-up
#
# Each target is the paper's CNN (4 conv + 4 max-pool + 2 fully connected layers of 256),
# trained with Adam {cite:p}`kingma2015adam` (lr 1e-3, batch 128). The paper trains every target for 200 epochs; the CPU
# profiles train fewer epochs but at least `min_steps` optimiser steps, so that the small
# training sets are still fitted (the paper's 200 epochs do the same for them). The full configuration of M-0 of the first data set, as hashed into its
# artefact key:

# %% tags=["remove-input"]
pd.DataFrame(describe(part1.targets(params)[0])).style.hide(axis="index")

# %% tags=["remove-output"]
targets = part1.targets_frame(params)
record_provenance(profile, "lz-targets", datasets={d: cached_data(d).source for d in params.datasets},
                  note="the richest data this profile can load offline (see the intro)")

# %% tags=["remove-input"]
publish("lz-targets", profile, table=targets, figure=accuracy_curves(targets))

# %% [markdown]
# ```{glue:figure} lz-targets
# :name: lz-targets
#
# Li & Zhang, Table 7 set-up: train and test accuracy of the targets M-0 (largest D_train) to
# M-5 (smallest) of this build. The gap between the curves is the overfitting every attack
# exploits.
# ```
#
# ```{glue:figure} lz-targets-table
# :name: lz-targets-table
#
# The targets of this build: split sizes (Table 7 times the profile's scale), accuracies and
# train-test gap.
# ```

# %% [markdown]
# ## Claim checked
#
# The paper's design assumes that the targets overfit more as their training set shrinks. The
# scorecard entry below tests it on the table above (`leakage.claims.lz_targets`): the slope of
# the train-test gap on the model index, with a 95% CI from resampling the six targets (one
# trained model per size, so the CI rests on the spread of the six points).

# %% tags=["remove-input"]
evidence = overfitting_grows(targets, seed=params.seed)
(record_evidence(profile, "lz_targets", evidence)[["claim", "paper", "ours", "n", "verdict", "needed", "note"]]
 .style.hide(axis="index"))
