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
# # Boundary attack, and what it reveals
#
# Li & Zhang's {cite:yearpar}`li2021membership` second label-only attack (their section 4) needs no shadow data at all. The
# adversary perturbs a candidate until the target **changes its predicted label**, using only
# label queries, and takes the **size of the perturbation** as the membership score: a model is
# more confident on its training samples, so it should be harder to change its mind about
# them. The decision change is a black-box adversarial attack, untargeted:
#
# - **HopSkipJump** {cite:p}`chen2020hopskipjumpattack`: start from a random input the target labels
#   differently, then repeatedly binary-search towards the candidate, estimate the boundary's
#   normal from sign queries, and step along it;
# - **QEBA** {cite:p}`li2020qeba`: the same walk, with the normal estimated in a
#   low-dimensional subspace of the image (here a resized grid, QEBA-S).
#
# Both are batched over all candidates of a target (one oracle call per step for the whole
# batch) and talk to the target only through the label-only oracle, which counts every query
# per candidate and enforces the budget. A candidate the target already misclassifies gets
# perturbation 0; one the attack cannot flip within the budget keeps the largest distance it
# searched (it is never dropped). Section 5 then asks *why* the attack works: members lie
# farther from the decision boundary, measured by the certified radius of randomized smoothing
# {cite:p}`cohen2019certified` (Tables 3 and 5) and seen in a t-SNE {cite:p}`vandermaaten2008visualizing` of
# the last hidden layer (Fig. 12).

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them; the reused lz_transfer runs use them too)

# %% tags=["remove-input"]
from IPython.display import Markdown, display
from leakage.chapters import chapter_parameters
from leakage.claims import record_evidence
from leakage.claims.lz_boundary import chapter_claims
from leakage.data.vision import cached_data
from leakage.experiments import boundary
from leakage.figures import lz_boundary as figures
from leakage.publish import publish, set_style
from leakage.results import record_provenance, save_table
from leakage.store import Store

set_style()
store = Store()  # every artefact below was computed by the chapter's plan (boundary.plan_tasks): here loaded
params = chapter_parameters("lz_boundary", profile, overrides)  # BoundaryParameters; params.transfer: lz_transfer's

# %% [markdown]
# ## Set-up
#
# The attack configurations of this build (HopSkipJump first, then QEBA), as hashed into their
# artefact keys. Budgets are label queries per candidate, the first label check included.

# %% tags=["remove-input"]
boundary.setup_frame(params).style.hide(axis="index")

# %% tags=["remove-output"]
targets = boundary.targets(params, store)
runs = boundary.boundary_runs(params, store, targets)
table = boundary.attack_table(runs)
boundary_scores, boundary_curve = boundary.candidate_frames(runs)  # per-candidate frames for the claims
compare, compare_scores = boundary.comparison(params, runs, store, targets)  # Fig. 10
f1_curve, chosen, random_reference_l2 = boundary.threshold_curve(params, store)  # Fig. 11
acr, radii = boundary.certified_radius_tables(params, store)  # Tables 3 and 5
for frame, name in ((boundary_scores, "lz-boundary-scores"), (boundary_curve, "lz-boundary-curve"),
                    (compare_scores, "lz-boundary-compare"), (random_reference_l2, "lz-fig11-reference"),
                    (radii, "lz-acr-radii")):
    save_table(frame, name, profile)
record_provenance(profile, "lz-fig7", datasets={d: cached_data(d).source for d in params.datasets},
                  note="targets of lz-targets; candidates: max_per_side members (D_train) and non-members (D_test)")

# %% tags=["remove-input"]
# the page's figures and tables, saved and glued: each is shown where its glue:figure caption stands below
fig7, fig14 = boundary.perturbations(runs, "HopSkipJump"), boundary.perturbations(runs, "QEBA")
publish("lz-fig7", profile, table=fig7, figure=figures.perturbation_figure(fig7))
fig8, fig15 = boundary.norm_auc_frame(table, "HopSkipJump"), boundary.norm_auc_frame(table, "QEBA")
publish("lz-fig8", profile, table=fig8, figure=figures.norm_auc_figure(fig8))
curves = boundary.query_curve(runs)
publish("lz-fig9", profile, table=curves, figure=figures.query_curve_figure(curves))
publish("lz-fig10", profile, table=compare, figure=figures.comparison_figure(compare))
publish("lz-fig11", profile, table=f1_curve,
        figure=figures.threshold_figure(f1_curve, chosen, params.reference_target, params.chosen_percentile))
publish("lz-tab3", profile, table=boundary.acr_table(acr, "target"))
publish("lz-tab5", profile, table=boundary.acr_table(acr, "shadow"))
tsne = boundary.tsne_frame(params, store)
publish("lz-fig12", profile, table=tsne, figure=figures.tsne_figure(tsne))
publish("lz-fig14", profile, table=fig14, figure=figures.perturbation_figure(fig14))
publish("lz-fig15", profile, table=fig15, figure=figures.norm_auc_figure(fig15))
publish("lz-boundary-cost", profile, table=boundary.cost_table(table))

# %% [markdown]
# ## Perturbation of members and non-members (Fig. 7)

# %% tags=["remove-input"]
display(boundary.l2_summary(table).style.hide(axis="index").format(precision=4))

# %% [markdown]
# ```{glue:figure} lz-fig7
# :name: lz-fig7
#
# Li & Zhang, Fig. 7: L2 distance between each candidate and the closest point HopSkipJump found
# with a different label, members vs non-members, per target (log scale; candidates the target
# misclassifies have distance 0 and are drawn at the floor). The paper: M-5 CIFAR-10 mean 1.0755
# (members) vs 0.1102 (non-members). The table gives the means and medians of this build and the
# share of candidates flipped (misclassified ones count as flipped at distance 0).
# ```
#
# ### Candidates no start could flip, per class
#
# Both searches start from uniform noise. A target that labels all noise as one class gives that
# class's candidates no start: unflipped, they would score the largest distance searched and rank as
# members for their class alone. Those candidates therefore also try blended noise and the attacker's
# own images (D_shadow) that the target labels differently, each trial a label query paid from the
# candidate's budget and planned so that a small budget reaches them. A candidate no trial starts is
# flagged `unstarted`, scores below every distance found (no membership information) and the attack
# warns. Per class, summed over the targets: where the starts came from, and how many candidates
# stayed unflipped (a large share in one class is the warning sign).

# %% tags=["remove-input"]
display(boundary.unflipped_table(runs).style.hide(axis="index").format(precision=3))

# %% [markdown]
# ## Four ways to measure the perturbation (Fig. 8)
#
# ```{glue:figure} lz-fig8
# :name: lz-fig8
#
# Li & Zhang, Fig. 8: boundary-attack AUC when the perturbation HopSkipJump found is measured in
# L0, L1, L2 or L∞ (one attack run, four measurements). The paper (M-1, CIFAR-10): L1 0.8969,
# L2 0.8963, L∞ 0.9033, L0 0.7405. With `attack_norms` including "linf", a second panel shows the
# L∞ version of HopSkipJump.
# ```
#
# ## How many queries the attack needs (Fig. 9)
#
# One run per target records, for every candidate, the best perturbation found within c
# queries, at the checkpoints c below. At c = 1 (the label check) the attack is the baseline
# attack: misclassified candidates score 0 and the others are still unknown, ranked highest.
#
# ```{glue:figure} lz-fig9
# :name: lz-fig9
#
# Li & Zhang, Fig. 9: AUC (L2) against the number of label queries per candidate, from 0 to this
# build's budget (paper: 15,000 for HopSkipJump; they show M-5), one line per target; symlog
# x-axis. The paper: AUC rises sharply, is stable after about 2,500 queries, and at 131 queries
# is already 0.8228 (CIFAR-10) and 0.9266 (CIFAR-100).
# ```
#
# ## All label-only attacks and the score-based one (Fig. 10)
#
# Baseline, transfer (shadow loss, misclassified candidates lowest) and score-based attacks are
# part 1's, with the configurations the lz_transfer chapter uses (their shadow models come from the
# store), run here on this chapter's candidates, so that all four attacks score the same candidates
# and their AUCs can be compared pairwise; the boundary attack is HopSkipJump with L2.

# %% tags=["remove-input"]
if not boundary.same_targets(params):
    display(Markdown("**Note:** this build's target parameters differ from the lz_transfer chapter's, so part 1's "
                     "attacks were run here on this chapter's targets."))

# %% [markdown]
# ```{glue:figure} lz-fig10
# :name: lz-fig10
#
# Li & Zhang, Fig. 10: baseline, transfer and boundary (HopSkipJump, L2) attacks, which see
# labels only, against the score-based attack (Salem et al.), which sees confidence scores; AUC
# with 95% bootstrap intervals, all four on this chapter's candidates. The paper: the boundary
# attack is on par with, sometimes better than, the score-based attack.
# ```
#
# ## Choosing a threshold without any data (Fig. 11, Algorithm 3)
#
# The adversary draws random inputs uniformly from the input space, takes them as non-members,
# attacks them the same way (moving each away from the label the target gives it), and uses the
# top-t percentile of their perturbations as the threshold: a candidate whose perturbation
# exceeds it is called a member. As in the paper's Algorithm 3, a random input enters the
# threshold only once its label has changed (the table below counts them; if none changed, all
# are used with the largest distance searched). Below, the F1 on the real candidates for every t,
# on the profile's `reference_target`.

# %% tags=["remove-input"]
display(chosen.style.hide(axis="index").format(precision=4))

# %% [markdown]
# ```{glue:figure} lz-fig11
# :name: lz-fig11
#
# Li & Zhang, Fig. 11: F1 of the boundary attack on the real members and non-members when the
# threshold is the top-t percentile of the L2 perturbations of random uniform inputs (no data
# needed). The dotted line is the best F1 any threshold reaches on these candidates, the star
# the chosen t. The paper (100 random samples, M-5): F1 is good for t from 30% to 80%. The table
# gives the chosen threshold's F1, how many random inputs changed label within the budget
# (`random_flipped`) and how many distinct labels the target gave them (`random_labels`): a
# target that puts all noise in one class gives HopSkipJump's noise-based start nothing to use.
# ```
#
# ## Distance to the decision boundary: certified radius (Tables 3 and 5)
#
# Randomized smoothing {cite:p}`cohen2019certified` certifies an L2 ball around a sample within which the
# smoothed classifier keeps its label: sigma * Phi^-1(p_A), with p_A the Clopper-Pearson lower
# bound {cite:p}`clopper1934use` on the probability of the top class under Gaussian noise (appendix A.2, Theorem 1). A
# sample the smoothed classifier gets wrong, or abstains on, has radius 0. The average certified
# radius (ACR) of members and non-members, for the targets and for part 1's relabelled shadow
# models (which never saw either):
#
# ```{glue:figure} lz-tab3-table
# :name: lz-tab3
#
# Li & Zhang, Table 3: average certified radius of members and non-members for the targets
# (sigma, N0, N and alpha as configured above; share of samples certified correctly; AUC of the
# radius as a membership score). The paper, CIFAR-10 M-5: 0.1814 (members) vs 0.0909.
# ```
#
# ```{glue:figure} lz-tab5-table
# :name: lz-tab5
#
# Li & Zhang, Table 5: the same for part 1's shadow models (trained on D_shadow relabelled by
# the target; members and non-members are the target's). The paper, CIFAR-10 M-5: 0.1819 vs
# 0.0846.
# ```
#
# ## What the target's last hidden layer sees (Fig. 12)
#
# ```{glue:figure} lz-fig12
# :name: lz-fig12
#
# Li & Zhang, Fig. 12a-b: t-SNE of the target's last hidden layer for members (circles) and
# non-members (triangles), coloured by true class, misclassified samples marked with a red
# cross. The paper (CIFAR-10 M-3, 1,000 + 1,000 samples): members sit deeper inside their class
# regions, farther from the boundary. (The paper's dense background of random points showing
# class regions, Fig. 12a, and the shadow-model panel, 12c, are not drawn.)
# ```
#
# ## The same with QEBA (Figs. 14 and 15)
#
# ```{glue:figure} lz-fig14
# :name: lz-fig14
#
# Li & Zhang, Fig. 14: as Fig. 7, with QEBA (gradient estimated on a (C, H/ratio, W/ratio) grid,
# bilinearly upsampled) making the decision change.
# ```
#
# ```{glue:figure} lz-fig15
# :name: lz-fig15
#
# Li & Zhang, Fig. 15: as Fig. 8, with QEBA. The paper: L1, L2 and L∞ again best, L0 worst.
# ```
#
# ## Cost
#
# Label queries per candidate as counted by the oracle, and the wall time of each attack run
# when it was computed (batched over the candidates of one target).
#
# ```{glue:figure} lz-boundary-cost-table
# :name: lz-boundary-cost
#
# Queries per candidate (mean and maximum; never above the budget) and time of every boundary
# attack run of this build.
# ```
#
# ## Claims checked
#
# Each of the paper's statements above, tested on this build's per-candidate results
# (`leakage.claims.lz_boundary`): the effect with a 95% bootstrap CI over candidates (members and
# non-members resampled separately; targets too for a trend), and the verdict that CI gives. A claim
# "on every target" is decided by its weakest target, one "in some cases" by its strongest (with
# Bonferroni-corrected CIs); a published number is matched within the scorecard's one tolerance, and
# only on the paper's data set. "needed" says roughly how many candidates per side would decide an
# inconclusive claim.

# %% tags=["remove-input"]
authors = chapter_parameters("lz_boundary", "paper")
display(Markdown(
    f"This build attacks {params.max_per_side} members and {params.max_per_side} non-members per target with a "
    f"budget of {params.hsj_budget:,} queries and certifies {params.certify_per_side} per side; the authors' code "
    f"attacks {authors.max_per_side} + {authors.max_per_side} (the paper profile does too). The attack runs at "
    "the target's forward-pass speed (`benchmarks/bench_hopskipjump.py`: about 0.3-0.6 s per candidate at "
    "1,000 queries on a Fashion-MNIST CNN on one CPU core), so the authors' count on six targets would add "
    "about half an hour to a CPU build; where an interval is inconclusive, the `needed` column says how many "
    "candidates would decide it. Each target is trained once (one seed): the intervals cover the choice of "
    "candidates, and of targets for trends, not retraining."))
evidence = chapter_claims(scores=boundary_scores, curve=boundary_curve, compare=compare_scores,
                          reference=random_reference_l2, radii=radii, n_boot=params.n_boot, seed=params.seed)
record_evidence(profile, "lz_boundary", evidence)[["claim", "paper", "ours", "verdict", "needed", "note"]] \
    .style.hide(axis="index")
