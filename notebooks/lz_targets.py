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
profile = "smoke"  # which profile's results folder to write to
datasets = ["digits"]  # data sets to train targets on
scale = 0.1  # multiplier on every Table 7 size
epochs = 30  # training epochs (paper: 200)
min_steps = 300  # at least this many optimiser steps: small sets get more epochs (paper: 0)
width = 16  # channels of the first conv layer
seed = 0  # seed of the splits, initialisation and batch order

# %% tags=["remove-input"]
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown

from leakage.config import describe
from leakage.data.vision import cached_data
from leakage.experiments.targets import paper_targets, train_target
from leakage.publish import publish, set_style
from leakage.claims import record_evidence
from leakage.claims.lz_targets import overfitting_grows
from leakage.results import record_provenance

set_style()

# %% [markdown]
# ## Set-up
#
# Each target is the paper's CNN (4 conv + 4 max-pool + 2 fully connected layers of 256),
# trained with Adam {cite:p}`kingma2015adam` (lr 1e-3, batch 128). The paper trains every target for 200 epochs; the CPU
# profiles train fewer epochs but at least `min_steps` optimiser steps, so that the small
# training sets are still fitted (the paper's 200 epochs do the same for them). The full configuration of M-0 of the first data set, as hashed into its
# artefact key:

# %% tags=["remove-input"]
configs = {d: paper_targets(d, scale=scale, epochs=epochs, min_steps=min_steps, width=width, seed=seed)
           for d in datasets}
pd.DataFrame(describe(configs[datasets[0]][0])).style.hide(axis="index")

# %% tags=["remove-output"]
rows = []
for dataset in datasets:
    for config in configs[dataset]:
        target = train_target(config)
        rows.append({"dataset": dataset, "model": f"M-{config.model_index}", "train_size": target.metrics["train_size"],
                     "test_size": target.metrics["test_size"], "shadow_size": target.metrics["shadow_size"],
                     "train_accuracy": target.metrics["train_accuracy"],
                     "test_accuracy": target.metrics["test_accuracy"], "parameters": target.metrics["parameters"]})
targets = pd.DataFrame(rows)
targets["gap"] = targets["train_accuracy"] - targets["test_accuracy"]
record_provenance(profile, "lz-targets", datasets={d: cached_data(d).source for d in datasets},
                  note="the richest data this profile can load offline (see the intro)")

# %% tags=["remove-input"]
long = targets.melt(id_vars=["dataset", "model", "train_size"], value_vars=["train_accuracy", "test_accuracy"],
                    var_name="split", value_name="accuracy")
long["split"] = long["split"].str.replace("_accuracy", "")
grid = sns.relplot(data=long, x="train_size", y="accuracy", hue="split", col="dataset", kind="line",
                   marker="o", height=3.2, aspect=1.3, facet_kws={"sharex": False})
grid.set(xscale="log", ylim=(0, 1.02), xlabel="|D_train| (log scale)")
publish("lz-targets", profile, table=targets, figure=grid.figure)

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
evidence = overfitting_grows(targets, seed=seed)
(record_evidence(profile, "lz_targets", evidence)[["claim", "paper", "ours", "n", "verdict", "needed", "note"]]
 .style.hide(axis="index"))
