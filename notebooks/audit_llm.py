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
# # Auditing a pretrained LM fine-tuned with differential privacy
#
# The LLM overview ends on an outlook: use membership inference to *audit* language models fine-tuned
# with differential privacy, since DP fine-tuning methods exist but their real privacy is rarely
# measured. The audit chapter trains a small GPT-2 from scratch; the case people deploy is a
# **pretrained** model fine-tuned on private text. This page audits that case.
#
# - **Model.** SmolLM2-135M {cite:p}`allal2025smollm2` (offline, the LM chapter's pretrained target) with LoRA
#   adapters {cite:p}`hu2022lora` on every linear layer; only the adapters train. DP-SGD {cite:p}`abadi2016deep` through opacus {cite:p}`yousefpour2021opacus`: per-sample gradients of the adapter
#   parameters, each clipped to norm `clip`, Gaussian noise, Poisson-sampled batches; opacus' RDP
#   accountant {cite:p}`mironov2017renyi` chooses the noise that reaches the target epsilon at delta = `delta` over the run. The
#   training loop is the LM chapter's; without DP it clips the batch gradient as usual.
# - **Fine-tuning set.** Brown passages (the member pool) plus canaries, each put in with probability
#   1/2 by a seeded coin: **random-word canaries** (words drawn uniformly from a Brown vocabulary) and
#   **secret canaries**, a fixed template "my secret code is d d d d d d" with a random digit fill
#   {cite:p}`carlini2019secret`.
# - **Audits.** The random-word canaries are scored by the LM attacks (LOSS, the reference attack with
#   the pretrained model before fine-tuning as the reference, zlib, Min-k% and Min-k%++), and the scores
#   become eps_LB with the audit chapter's two audits (threshold audit on a seeded half, one-run audit;
#   each bound a 95% lower confidence limit {cite:p}`jagielski2020auditing,steinke2023privacy`, checked by simulation in the test suite).
# - **Exposure.** For each secret canary the model ranks the true fill among `alternatives` other
#   fills by log-perplexity; exposure = log2(candidates) - log2(rank of the true fill), in bits, at
#   most log2(candidates). A secret the model memorised ranks first.
#
# Before trusting DP-SGD's per-sample gradients on this model, the page checks them: opacus'
# per-sample gradients of the adapter weights for a padded batch of 4 canaries are compared with
# each text's own backward pass (below).

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from leakage.chapters import chapter_parameters
from leakage.claims import record_evidence
from leakage.claims.audit_llm import audit_llm_claims
from leakage.experiments import llm
from leakage.experiments.audit import epsilon_label, tightest_bounds
from leakage.experiments.audit_llm import (adapter_check_error, audit_results, canary_frame, eps_frame,
                                           exposure_ceiling, exposure_frame, models_frame, uses)
from leakage.figures.audit import exposure_figure, finetune_eps_figure
from leakage.publish import publish, set_style
from leakage.results import record_provenance, save_table

set_style()
params = chapter_parameters("audit_llm", profile, overrides)  # typed: experiments.parameters.AuditLLMParameters
# every run (no DP and each epsilon), fine-tuned and scored by the plan before this page runs: loads only
results = audit_results(params)
sizes = uses(params)
order = ["no DP"] + [epsilon_label(e) for e in params.epsilons]
display(Markdown(
    f"**This build:** {sizes['base_passages']} Brown passages, {sizes['canaries']} random-word canaries "
    f"({sizes['canaries_in']} included) and {sizes['secrets']} secret canaries ({sizes['secrets_in']} included), "
    f"{sizes['epochs']} epochs; each secret ranked among {sizes['candidates']} candidate fills, so exposure is "
    f"at most {sizes['max_exposure']:.2f} bits. With {sizes['canaries']} canaries even a perfect attack "
    "cannot show a large eps_LB: the `ceiling` column of the table below gives the threshold audit's limit."))

# %% [markdown]
# ## Opacus' per-sample gradients of the adapters

# %% tags=["remove-input"]
error = adapter_check_error(params)
display(Markdown(
    f"Largest relative difference between opacus' per-sample gradients of the LoRA adapters (a padded batch "
    f"of 4 canaries) and each text's own backward pass, over every adapter tensor: **{error:.1e}** "
    f"({'float32 rounding: the per-sample gradients are right' if error < 1e-3 else 'TOO LARGE: DP-SGD would clip the wrong gradients'})."))

# %% [markdown]
# ## The fine-tuned models

# %% tags=["remove-input"]
models_frame(results).style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Empirical lower bounds (`audit-llm`)

# %% tags=["remove-input"]
eps_table = eps_frame(results, params)
fig = finetune_eps_figure(eps_table, order, {epsilon_label(e): e for e in params.epsilons})
cols = ["model", "target_epsilon", "accountant_epsilon", "attack", "canaries", "auc", "eps_lb", "eps_lb_one_run",
        "eps_lb_family", "eps_lb_one_run_family", "family", "ceiling", "confidence", "delta"]
publish("audit-llm", profile, table=eps_table[cols], figure=fig)

# %% [markdown]
# ```{glue:figure} audit-llm
# :name: audit-llm
#
# Auditing DP fine-tuning (beyond the three works): eps_LB at 95% confidence of each LM attack on the
# random-word canaries of SmolLM2-135M fine-tuned with LoRA, without DP and at each theoretical
# epsilon, from the threshold audit (left) and the one-run audit (right). Black bars mark the
# theoretical epsilon, the dotted line the threshold audit's ceiling (a perfect attack on the half of
# the canaries it bounds).
# ```
#
# ```{glue:figure} audit-llm-table
# :name: audit-llm-table
#
# Auditing DP fine-tuning: theoretical epsilon (target and accountant), each attack's AUC on the
# canaries, eps_LB of both audits at 95% each and at the Bonferroni level of the run's family of bounds
# (`_family`), and the perfect attack's ceiling.
# ```

# %% tags=["remove-input"]
display(Markdown("**The tightest attack per run**: the largest eps_LB over attacks and both audits, each bound at "
                 "5% / `bounds_compared` (Bonferroni), so this best bound holds at 95%:"))
tightest_bounds(eps_table).style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Exposure of the secret canaries (`audit-exposure`)

# %% tags=["remove-input"]
exposure = exposure_frame(results)
fig = exposure_figure(exposure, order, exposure_ceiling(params))
publish("audit-exposure", profile, table=exposure, figure=fig)

# %% [markdown]
# ```{glue:figure} audit-exposure
# :name: audit-exposure
#
# Exposure {cite:p}`carlini2019secret` of each secret canary after fine-tuning, without DP and at each
# theoretical epsilon: secrets the model was fine-tuned on against those it was not (dashes: means).
# The dotted line is the largest exposure this build can measure, log2 of the number of candidate
# fills; the table also gives each secret's exposure under the pretrained model (`exposure_before`).
# ```

# %% tags=["remove-input"]
canary_rows = canary_frame(results)
save_table(canary_rows, "audit-llm-canaries", profile)
for item in ("audit-llm", "audit-exposure"):
    record_provenance(profile, item, datasets={"Brown corpus": llm.corpus().source,
                                               params.model: "leakage.lm.models.load_pretrained"},
                      note="canaries drawn by this build; their inclusion is a seeded coin flip, so membership "
                           "is exact")

# %% [markdown]
# Every random-word canary's inclusion and scores (one row per run, canary and attack) are saved for
# re-analysis as `results/<profile>/audit-llm-canaries.csv`.
#
# ## Claims checked
#
# The audit chapter's two claims on the fine-tuned model (eps_LB never above the accountant's epsilon;
# without DP, eps_LB above 0), and the secret sharer's: the included secrets' exposure falls with
# epsilon (no DP against the smallest epsilon, paired by secret, bootstrap over the included secrets).

# %% tags=["remove-input"]
evidence = audit_llm_claims(canary_rows, eps_table, exposure, seed=params.seed, n_boot=params.n_boot)
record_evidence(profile, "audit_llm", evidence)[["claim", "ours", "verdict", "note"]].style.hide(axis="index")
