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
# # The threat-model ladder
#
# How much does an attacker gain from seeing more of the target? This chapter runs every
# membership inference attack of the book against part 1's targets, on **one set of candidates**
# per target, ordered by what the attacker gets:
#
# - **labels only**: the baseline {cite:p}`yeom2018privacy` (one query: is the label right?); Li & Zhang's
#   {cite:yearpar}`li2021membership` transfer attack
#   (a shadow model trained on data the target labelled) and boundary attack (HopSkipJump
#   {cite:p}`chen2020hopskipjumpattack`: the distance to the decision boundary, from thousands of label
#   queries); Choquette-Choo et al.'s {cite:yearpar}`choquettechoo2021label`
#   data-augmentation attack (does the label survive flips and small translations?) and
#   random-noise attack (does it survive Gaussian noise?);
# - **confidence scores**: ML-Leaks ({cite:t}`salem2019mlleaks`: an MLP on the top-3 posteriors, part 1's
#   score-based attack); RMIA {cite:p}`zarifzadeh2024lowcost` and LiRA {cite:p}`carlini2022membership`,
#   which train **reference models** with and without the candidates and compare the target's
#   confidence on a candidate with theirs.
#
# Every attack scores the same candidates, so the ladder's rungs are compared pairwise. Besides
# the AUC, the table gives the **true-positive rate at 1% and 0.1% false-positive rate**: an
# attack that is right about a few members with confidence can matter more than one that is
# slightly better than chance on all of them, and attacks with equal AUC can differ widely there
# {cite:p}`carlini2022membership`.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
from IPython.display import Markdown, display
from leakage.chapters import chapter_parameters
from leakage.claims import record_evidence
from leakage.claims.lz_ladder import chapter_claims
from leakage.data.vision import cached_data
from leakage.experiments import ladder
from leakage.figures import lz_ladder as figures
from leakage.publish import publish, set_style
from leakage.results import record_provenance, save_table
from leakage.store import Store

set_style()
store = Store()
# every artefact below was computed by the chapter's plan (leakage.experiments.ladder.plan_tasks): here loaded.
# Part 1's attacks are configured from the lz_transfer chapter's parameters (params.transfer) and the boundary
# attack from lz_boundary's (params.boundary), of this profile, so a whole build computes each of them once.
params = chapter_parameters("lz_ladder", profile, overrides)  # typed: leakage.experiments.parameters.LadderParameters
shared = ladder.same_targets(params)
authors = chapter_parameters("lz_ladder", "paper")
display(Markdown(
    f"This build attacks {', '.join(f'M-{i}' for i in params.ladder_targets)} of {', '.join(params.datasets)}, "
    f"{params.max_per_side} members and {params.max_per_side} non-members each at most; LiRA and RMIA get "
    f"{params.reference_models} reference models each ({'online' if params.online else 'offline'}). The `paper` "
    f"profile gives them {authors.reference_models}; LiRA's paper used 256, RMIA's paper stresses its advantage "
    "with only a few (down to one)."))

# %% [markdown]
# The `default` profile attacks two targets of Fashion-MNIST {cite:p}`xiao2017fashion`, where the comparison matters most:
# **M-5**, the most overfit target, where Li & Zhang find the label-only boundary attack on par
# with the score-based one, and **M-2**, the target of their defence experiments (and of our
# defences chapter), trained on 15 times as much data. The reference models, trained per target,
# are what limits a CPU build to two targets and a few reference models.

# %% [markdown]
# ## Set-up
#
# What each attack sees and spends. The boundary attack's configuration is the boundary chapter's,
# part 1's attacks (baseline, transfer, ML-Leaks) are configured as in the transfer chapter. A
# reference model of LiRA and RMIA has the target's architecture and training and trains on as
# many samples as the target: online, the half of the candidates it holds plus samples of the
# attacker's data D_shadow; RMIA first holds its population samples out of D_shadow. LiRA and RMIA
# share the same reference models (as RMIA's authors compare them), so each is trained once.

# %% tags=["remove-input"]
ladder.setup_frame(params).style.hide(axis="index")

# %% tags=["remove-output"]
targets = ladder.targets(params, store)
results = ladder.results(params, store, targets)
table = ladder.ladder_table(results)
scores = ladder.ladder_scores(results)
save_table(scores, "lz-ladder-scores", profile)  # every attack's per-candidate scores: the claims' input
record_provenance(profile, "lz-ladder", datasets={d: cached_data(d).source for d in params.datasets},
                  note="part 1's targets; candidates: max_per_side members (D_train) and non-members (D_test)")

# %% [markdown]
# ## The ladder
#
# AUC, TPR at 1% FPR and TPR at 0.1% FPR of every attack on every target, each with its 95%
# bootstrap interval (members and non-members resampled separately). Label-only attacks are drawn
# in blue above the line, score-based ones in orange below it. With n non-members, TPR at an FPR
# f is that of the best threshold with at most f n false positives: below 1/n (0.1% unless the
# target has 1,000 non-members) no threshold has an FPR between 0 and 1/n, and the number would be
# the TPR at zero false positives. Such a panel shows that statistic under its own name ("TPR at
# 0 FP"), and the table leaves the TPR at that FPR out (n/a) beside its `tpr_at_0fp` column.

# %% tags=["remove-input"]
fig = figures.ladder_bars(table, ladder.ladder_panels(table), list(ladder.ATTACKS))
columns = ladder.ladder_columns()
publish("lz-ladder", profile, table=table[columns], figure=fig)
display(table[columns].style.hide(axis="index").format(precision=3, na_rep="n/a"))
if not shared:
    display(Markdown("**Note:** this build's targets or candidates differ from the boundary chapter's, so the "
                     "part-1 and boundary attacks were run here anew."))

# %% [markdown]
# ```{glue:figure} lz-ladder
# :name: lz-ladder
#
# The threat-model ladder: AUC, TPR at 1% FPR and TPR at 0.1% FPR (95% bootstrap intervals) of
# every attack on every target of this build, all on the same candidates; where a target has too
# few non-members to resolve the FPR (fewer than 1,000 for 0.1%, 100 for 1%), the panel shows the
# TPR at zero false positives instead, and its title says so. Label-only attacks (blue, above the
# line) see only the predicted label; score-based ones (orange, below) see the confidence vector.
# The dashed line is chance AUC. The table gives the numbers (n/a: an FPR below 1/n for n
# non-members; `tpr_at_0fp`: the TPR at zero false positives).
# ```

# %% [markdown]
# ## What label queries buy
#
# The boundary, augmentation and noise attacks record each candidate's score after the first q
# label queries (the boundary attack's best perturbation within q queries; the share of the first
# q augmented or noisy copies labelled correctly), so one run per attack gives its whole curve.

# %% tags=["remove-input"]
queries = ladder.query_frame(results)
tpr_metric, tpr_name = ladder.query_metric(table)  # one statistic for every target
fig = figures.query_curves(queries, tpr_metric, tpr_name)
publish("lz-queries", profile, table=queries, figure=fig)

# %% [markdown]
# ```{glue:figure} lz-queries
# :name: lz-queries
#
# AUC and TPR at 1% FPR (the TPR at zero false positives where a target has fewer than 100
# non-members; the panel's title says which) against the label queries spent per candidate (log scale) by the boundary
# attack (HopSkipJump's best perturbation so far), the augmentation attack (flips, then
# translations, in a fixed order) and the random-noise attack, one line style per target. Read
# from the attacks' recorded checkpoints, not from extra runs.
# ```

# %% [markdown]
# ## Low false-positive rates
#
# The log-log ROC curve shows the regime the AUC averages away: the left end of each curve is the
# share of members an attack finds before it accuses its first non-members.

# %% tags=["remove-input"]
roc_dataset = params.datasets[0]
curves = ladder.roc_frame(results, roc_dataset, params.lowfpr_target)
n_non = ladder.non_members(table, roc_dataset, params.lowfpr_target)
fig = figures.low_fpr_roc(curves, n_non, list(ladder.ATTACKS),
                          title=f"M-{params.lowfpr_target} ({roc_dataset}), {n_non} + {n_non} candidates")
publish("lz-lowfpr", profile, table=curves, figure=fig)

# %% [markdown]
# ```{glue:figure} lz-lowfpr
# :name: lz-lowfpr
#
# ROC curves of every attack on one target, log-log axes (label-only attacks dashed, score-based
# ones solid; dotted: chance). The thin vertical line is one false positive (1/n); zeros are
# drawn at half of it. Everything left of that line is unresolved by this many candidates.
# ```

# %% [markdown]
# ## Cost
#
# Queries to the target charged to a candidate (measured by the oracles), queries for the
# attacker's own data (the transfer attack's relabelling of D_shadow, RMIA's population), models
# the attacker trains, and the wall time of the query-based attacks.

# %% tags=["remove-input"]
cost = ladder.cost_table(table)
publish("lz-ladder-cost", profile, table=cost)

# %% [markdown]
# ```{glue:figure} lz-ladder-cost-table
# :name: lz-ladder-cost
#
# What each rung of the ladder costs the attacker on every target of this build.
# ```

# %% [markdown]
# ## Claims checked
#
# Tested on this build's per-candidate scores (`leakage.claims.lz_ladder`): the effect with a 95%
# bootstrap CI over candidates (members and non-members resampled separately; every attack of a
# target on the same resample), and the verdict that CI gives. A claim "on every target" is shown on
# the target whose interval lies closest to (or across) the margin; "the best attack" of a threat
# model is taken inside every resample. Each target was trained once: the intervals cover the
# choice of candidates, not retraining.

# %% tags=["remove-input"]
evidence = chapter_claims(scores, reference_models=params.reference_models, n_boot=params.n_boot, seed=params.seed)
record_evidence(profile, "lz_ladder", evidence)[["claim", "paper", "ours", "n", "verdict", "needed", "note"]] \
    .style.hide(axis="index")
