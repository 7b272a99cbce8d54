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
# # Defences against membership inference
#
# Li & Zhang's {cite:yearpar}`li2021membership` section 6: do the usual defences stop label-only attacks? Every defence below is
# a real algorithm run by the same training loop as the undefended targets (or, for MemGuard, a
# wrapper at inference time), and all four attacks (baseline, transfer, boundary, score-based)
# run unchanged against every defended target:
#
# - **generalisation**: L2 and L1 weight penalties (lambda * sum w^2, lambda * sum |w| over weight
#   matrices and kernels), dropout {cite:p}`srivastava2014dropout` before both hidden layers, data
#   augmentation (random crop + flip; "strong" adds brightness/contrast jitter and cutout
#   {cite:p}`devries2017cutout`);
# - **privacy**: DP-SGD {cite:p}`abadi2016deep` with opacus {cite:p}`yousefpour2021opacus` (per-sample
#   clipping to norm 1, Gaussian noise of the given multiplier, Poisson-sampled batches); epsilon from the
#   RDP accountant {cite:p}`mironov2017renyi` for delta = 1/|D_train|;
# - **confidence alteration**: adversarial regularisation ({cite:t}`nasr2018machine`: min-max training
#   against an inference model that separates members from the defender's reference data) and
#   MemGuard ({cite:t}`jia2019memguard`: crafted noise on each confidence vector that keeps the label and
#   drives a defender-side membership classifier to 0.5).
#
# The penalties are summed over every weight, and most of this CNN's weights sit in its two fully
# connected layers, so the paper's strengths (L2 from 0.01, L1 from 1e-3) can leave a small target
# predicting a single class. The `default` profile therefore sweeps milder penalties as well (see
# the accuracy panel of Fig. 13); the `paper` profile uses the paper's strengths.
#
# The defender's reference data (adversarial regularisation, MemGuard) is drawn from D_shadow,
# the same distribution; it may overlap the attacker's shadow data, as both are public data.
# MemGuard never changes a label (tested), so label-only oracles read labels from the
# undefended model behind it.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from leakage.chapters import chapter_parameters
from leakage.claims import record_evidence
from leakage.claims.lz_defences import defence_claims
from leakage.experiments import defences
from leakage.data.vision import cached_data
from leakage.figures.lz_defences import attacks_against_defences, privacy_utility_frontier
from leakage.publish import publish, set_style
from leakage.results import record_provenance, save_table

set_style()
params = chapter_parameters("lz_defences", profile, overrides)  # typed: experiments.parameters.DefencesParameters

# %% tags=["remove-output"]
# every defended target and attack run was computed by the book's plan (leakage.experiments.defences.plan_tasks):
# these load them from the store
fig13, fig13_scores, fig13_accuracy = defences.figure13(params)
dataset = params.datasets[0]
save_table(fig13_scores, "lz-fig13-scores", profile)  # per-candidate scores: the claims' input
save_table(fig13_accuracy, "lz-fig13-accuracy", profile)  # per-example held-out correctness: the claims' input
record_provenance(profile, "lz-fig13", datasets={dataset: cached_data(dataset).source},
                  note=f"M-{params.victim} of the profile's first data set (the paper: CIFAR-10 M-2)")

# %% [markdown]
# ## Attacks against every defence (Fig. 13)

# %% tags=["remove-input"]
fig = attacks_against_defences(fig13.assign(setting=defences.setting_labels(fig13)))
publish("lz-fig13", profile, table=fig13, figure=fig)

# %% [markdown]
# ```{glue:figure} lz-fig13
# :name: lz-fig13
#
# Li & Zhang, Fig. 13: AUC of the four attacks against M-2 trained with each defence at each
# strength (top), and the defended target's test accuracy (bottom). "none" is the undefended
# target. The DP-SGD epsilons (delta = 1/|D_train|) are in the table below.
# ```

# %% tags=["remove-input"]
dp_rows = defences.dp_guarantees(fig13)
if len(dp_rows):
    display(Markdown("DP-SGD guarantees of this build (epsilon at delta = 1/|D_train|, from opacus' RDP accountant):"))
    display(dp_rows.style.hide(axis="index").format(precision=3))

# %% [markdown]
# ## MemGuard (Table 6)

# %% tags=["remove-output"]
tab6, tab6_scores = defences.table6(params)
save_table(tab6_scores, "lz-tab6-scores", profile)  # per-candidate scores without / with MemGuard: the claims' input
record_provenance(profile, "lz-tab6", datasets={d: cached_data(d).source for d, _ in params.memguard_sets},
                  note="M-2 of each data set (the paper: CIFAR-10 and Face)")

# %% tags=["remove-input"]
publish("lz-tab6", profile, table=tab6)

# %% [markdown]
# ```{glue:figure} lz-tab6-table
# :name: lz-tab6
#
# Li & Zhang, Table 6: attack AUC against M-2 without and with MemGuard on this build's data
# sets. MemGuard only perturbs confidence scores, so it can only hurt the score-based attack. The
# paper's values (CIFAR-10 and Face) are beside ours in the scorecard below.
# ```

# %% [markdown]
# ## The privacy/utility frontier (beyond the paper)
#
# Every defended target as a point: its test accuracy against the strongest attack's AUC and
# TPR at 1% FPR. The Pareto front (no other setting is both more accurate and less attackable)
# is marked.

# %% tags=["remove-input"]
frontier = defences.frontier(fig13)
fig = privacy_utility_frontier(frontier)
publish("lz-frontier", profile, table=frontier, figure=fig)

# %% [markdown]
# ```{glue:figure} lz-frontier
# :name: lz-frontier
#
# Beyond the paper: test accuracy vs the strongest attack's AUC (left) and TPR at 1% FPR (right)
# for every defence setting; the dotted line joins the Pareto front (filled markers). The TPR is
# the best of the attacks with at least 100 non-members (below that no threshold has an FPR between
# 0 and 1/n, and the number would be the TPR at zero false positives: the boundary attack, run on
# fewer candidates, can have too few).
# ```

# %% [markdown]
# ## Claims checked
#
# Each of the paper's findings as a tested hypothesis (`leakage.claims.lz_defences`), from the
# per-candidate scores and per-example held-out correctness behind the figures above
# (`lz-fig13-scores`, `lz-fig13-accuracy`, `lz-tab6-scores`). Every defended target is attacked
# on the undefended target's candidates, so defended vs undefended is a paired bootstrap over
# candidates (accuracies: over held-out examples); leakage is the strongest label-only attack's
# AUC, taken inside each resample; "each of the strongest L2, L1, DP" and "every augmentation
# policy" are tested on the worst of them. The readings of "unchanged", "does not reduce" and
# "significant degradation" are constants of that module, each with its reason. The CIs do not
# cover the noise of training each target once.

# %% tags=["remove-input"]
evidence = defence_claims(fig13_scores, fig13_accuracy, tab6_scores, n_boot=params.n_boot, seed=params.seed)
(record_evidence(profile, "lz_defences", evidence)[["claim", "paper", "ours", "n", "verdict", "needed", "note"]]
 .style.hide(axis="index"))
