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
# # Auditing DP training with membership inference
#
# The other chapters ask how much a model leaks. This one turns their attacks into a **privacy audit**
# {cite:p}`jagielski2020auditing,nasr2023tight,steinke2023privacy`: train a model with
# DP-SGD {cite:p}`abadi2016deep` at a stated epsilon of differential privacy {cite:p}`dwork2006calibrating`, hide *m* **canaries** in its training set (each one put in with
# probability 1/2, by a seeded coin), score every canary with an attack, and compute the smallest
# epsilon consistent with how well the attack tells included canaries from excluded ones. That
# number, **eps_LB**, is a statistical lower bound at the stated confidence: if the training really
# is (epsilon, delta)-DP, eps_LB exceeds epsilon with probability at most 5%. A violation
# (eps_LB > epsilon) would flag a bug in the DP training or in the audit. Both bounds below are
# checked by simulation in the test suite (randomized response {cite:p}`warner1965randomized` with a known
# epsilon, and scores that
# carry no information, with 1,000 and 5,000 canaries): at most 5% of simulated audits exceed the true
# epsilon.
#
# - **Canaries.** Vision: real images with a wrong label (or uniform noise images); text: random
#   sequences of words, far from the Brown passages the model learns. Both are the kind of
#   outlier a model must memorise to fit, the strongest known choice for black-box audits.
# - **Models.** The Li & Zhang {cite:yearpar}`li2021membership` CNN (same training loop as the other chapters,
#   DP-SGD with opacus {cite:p}`yousefpour2021opacus`, DP-Adam) and the from-scratch GPT-2
#   {cite:p}`radford2019language` of the LLM chapter (opacus per-sample gradients of every
#   weight, Poisson-sampled batches), each at several target epsilons and without DP. The noise is
#   chosen by opacus' RDP accountant {cite:p}`mironov2017renyi` to reach the target epsilon at the audit's delta.
# - **Attacks.** Vision: LOSS (log-probability of the canary's label; confidence vectors), and the
#   label-only baseline and HopSkipJump boundary attacks through the query-counting oracle. Text:
#   LOSS, zlib, Min-k% and Min-k%++. Every canary gets a score from every attack; none is dropped.
# - **Threshold audit** {cite:p}`jagielski2020auditing,nasr2021adversary`. *Assumes the canaries are
#   independent trials* (given its membership, each canary's score is an independent draw). A test
#   "member iff score >= t" has error rates FPR and FNR, and (epsilon, delta)-DP implies
#   FPR + e^eps FNR >= 1 - delta and FNR + e^eps FPR >= 1 - delta; Clopper-Pearson
#   {cite:p}`clopper1934use` upper bounds FPR_u,
#   FNR_u (each the upper end of a two-sided 95% interval) turn either inequality into a bound, e.g.
#   eps_LB = log((1 - delta - FPR_u) / FNR_u). **How the threshold is chosen:** a seeded random half of
#   the canaries (drawn without looking at scores or inclusion) picks the threshold and the inequality
#   that would give the largest bound; the bound is computed once, for that fixed test, on the *other*
#   half. Picking the best threshold on the canaries that are then bounded, as those papers do, is not
#   a 95% bound: on scores that carry no information it gives eps_LB > 0 in about 9% of audits with
#   4,000 canaries. The split halves the canaries bounded, which costs less than a Bonferroni
#   correction over every threshold and both inequalities would.
# - **One-run audit** {cite:p}`steinke2023privacy`. *Needs no independence between canaries*,
#   only the fair inclusion coins: guess "in" for the k highest and "out" for the k lowest scores;
#   the number of correct guesses of an (epsilon, delta)-DP run is dominated by a binomial (their
#   Theorem 5.2), which gives a p-value per epsilon; six values of k, fixed in advance, are tried at
#   level 5%/6 each (Bonferroni), so the best of them is still a 95% bound.
# - **Best over attacks and audits.** Each attack's bounds in the figure hold at 95% on their own.
#   The tightest bound of a model (the table below the figure, the curve and the claims) is a maximum
#   over attacks x 2 audits, so each bound in it is computed at 5% / (2 x attacks) (Bonferroni): the
#   maximum then holds at 95%.
# - **Ceiling.** With m canaries even a perfect attack cannot show more than a finite eps_LB (its
#   rates' upper bounds are not 0); the tables give that ceiling (the threshold audit's, on the half
#   it bounds) beside each bound.
#
# Black-box audits of the final model, with few canaries, are known to fall far below the
# theoretical epsilon of DP-SGD; tight audits need white-box access to every step or thousands of
# canaries {cite:p}`nasr2023tight`. Expect loose bounds for the DP models, and a bound near the ceiling
# for the model trained without DP. The claims below check both: no DP model's eps_LB exceeds its
# epsilon, and every no-DP model's eps_LB is above 0.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from leakage.chapters import chapter_parameters
from leakage.experiments import llm
from leakage.experiments.audit import (MODELS, audit_results, best_curve, canary_frame, curve_frame, epsilon_label,
                                       eps_frame, models_frame, tightest_bounds)
from leakage.figures.audit import curve_figure, eps_figure
from leakage.publish import publish, set_style
from leakage.claims import record_evidence
from leakage.claims.audit import audit_claims
from leakage.results import record_provenance, save_table

set_style()
params = chapter_parameters("audit", profile, overrides)  # typed: leakage.experiments.parameters.AuditParameters
# every model at every epsilon (0: no DP), trained and scored by the plan before this page runs: loads only
results = audit_results(params)

# %% [markdown]
# ## The audited models
#
# Target epsilon, the epsilon the accountant reports for the noise opacus chose (at the audit's
# delta), the noise multiplier, and what the model learnt: test accuracy (CNN) or final training
# loss (GPT-2), and for the CNN how many included and excluded canaries it labels with the
# canary's (wrong) label.

# %% tags=["remove-input"]
models = models_frame(results)
models.style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Empirical lower bounds (`audit-eps`)

# %% tags=["remove-input"]
eps_table = eps_frame(results, params)
order = [epsilon_label(e) for e in params.epsilons] + ["no DP"]
fig = eps_figure(eps_table.assign(epsilon=eps_table.target_epsilon.map(epsilon_label)), list(MODELS), order,
                 {epsilon_label(e): e for e in params.epsilons})
cols = ["model", "target_epsilon", "accountant_epsilon", "attack", "canaries", "auc", "eps_lb", "eps_lb_one_run",
        "eps_lb_family", "eps_lb_one_run_family", "family", "ceiling", "confidence", "delta"]
publish("audit-eps", profile, table=eps_table[cols], figure=fig)

# %% [markdown]
# ```{glue:figure} audit-eps
# :name: audit-eps
#
# Privacy audit (beyond the three works): eps_LB at 95% confidence of each attack for each
# theoretical epsilon, from the threshold audit (Jagielski et al. 2020, Nasr et al. 2023; top) and
# the one-run audit (Steinke et al. 2023; bottom), each a 95% bound on its own. Black bars mark the
# theoretical epsilon, the dotted line the threshold audit's bound for a perfect attack on the half
# of the canaries it bounds (the other half chose the threshold).
# ```
#
# ```{glue:figure} audit-eps-table
# :name: audit-eps-table
#
# Privacy audit: theoretical epsilon (target and accountant), AUC, and eps_LB of the threshold
# audit and of the one-run audit (Steinke et al. 2023) at 95% each, the same bounds at the Bonferroni
# level of the model's `family` of bounds (`_family`: their maximum holds at 95%), and the ceiling of
# a perfect attack.
# ```

# %% tags=["remove-input"]
tightest = tightest_bounds(eps_table)
display(Markdown("**The tightest attack per model**: the largest eps_LB over attacks and both audits, each "
                 "bound at 5% / `bounds_compared` (Bonferroni), so this best bound holds at 95%:"))
tightest.style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Bound against the number of canaries (`audit-curve`)

# %% tags=["remove-input"]
curve = curve_frame(results, params)
best = best_curve(curve)
fig = curve_figure(best, list(MODELS), order)
publish("audit-curve", profile, table=curve, figure=fig)

# %% [markdown]
# ```{glue:figure} audit-curve
# :name: audit-curve
#
# Privacy audit: the best attack's threshold-audit eps_LB using the first m canaries of each run
# (each attack's bound at 5% / attacks, so the best holds at 95%), and the ceiling of a perfect attack
# on the half of those m canaries that is bounded (dotted, at 95%): more canaries allow larger
# bounds. Lines of equal values overlap.
# ```

# %% [markdown]
# Every canary's inclusion and scores (one row per model, epsilon, canary and attack) are saved
# for re-analysis as `results/<profile>/audit-canaries.csv`.

# %% tags=["remove-input"]
canary_rows = canary_frame(results)
save_table(canary_rows, "audit-canaries", profile)
record_provenance(profile, "audit-eps", datasets={
    params.vision_dataset: "leakage.data.vision (the book's loader)", "Brown corpus": llm.corpus().source},
    note="canaries drawn by this build; their inclusion is a seeded coin flip, so membership is exact")
record_provenance(profile, "audit-curve", datasets={params.vision_dataset: "leakage.data.vision",
                                                    "Brown corpus": llm.corpus().source},
                  note="the same runs as audit-eps, with fewer canaries")

# %% [markdown]
# ## Claims checked
#
# Each bound is a one-sided 95% lower confidence limit for the privacy loss, so a claim's interval is
# [eps_LB, inf). *DP models:* every attack x audit x DP model is one Bonferroni family, and the claim is
# contradicted when some model's best eps_LB exceeds its accountant's epsilon (an audit can refute a DP
# guarantee, never prove one; "reproduced" means no bound exceeds it). *No-DP models:* reproduced when
# each one's best eps_LB (Bonferroni over its attacks and audits) is above 0.

# %% tags=["remove-input"]
evidence = audit_claims(canary_rows, eps_table, seed=params.seed)
record_evidence(profile, "audit", evidence)[["claim", "ours", "verdict", "note"]].style.hide(axis="index")
