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
# # Membership inference on language models
#
# The attacks collected by the mimir benchmark {cite:p}`duan2024membership` (and surveyed in "Membership Inference Attacks on
# LLM"), run against causal language models whose members we chose ourselves, so the ground truth
# is exact. Each attack gives every text one score, **higher = member**; L(x; M) is the mean
# negative log-likelihood per token of text x under model M:
#
# | attack | score (higher = member) | source |
# | --- | --- | --- |
# | LOSS | -L(x; M) | {cite:t}`yeom2018privacy` |
# | reference | -(L(x; M) - L(x; M_ref)) | {cite:t}`carlini2021extracting` |
# | zlib | -L(x; M) / zlib(x), zlib(x) = bytes of zlib-compressed x | {cite:t}`carlini2021extracting` |
# | neighbourhood | -(L(x; M) - mean_i L(x~_i; M)) over n neighbours x~_i | {cite:t}`mattern2023membership` |
# | Min-k% | mean of the k% lowest log p(x_t \| x_<t) | {cite:t}`shi2024detecting` |
# | Min-k%++ | mean of the k% lowest (log p(x_t \| x_<t) - mu_t) / sigma_t | {cite:t}`zhang2024mink` |
#
# where mu_t and sigma_t are the mean and standard deviation of log p(z | x_<t) for z drawn from
# the model's own next-token distribution. The token-level attacks share **one** batched forward
# pass per text and model (cached per text); the reference attack adds one pass of the reference
# model and the neighbourhood attack n passes of the neighbours.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from leakage.chapters import chapter_parameters
from leakage.experiments.llm import (AUC_COLUMNS, DATA_NOTE, attack_labels, attack_table, chapter_targets,
                                     config_table, corpus, cost_table, data_sources, earliest_auc_table,
                                     last_epoch_rows, last_runs, load_runs, mink_sweep_table, neighbourhood_table,
                                     pools_table, roc_table, scores_table, targets_table, zlib_table)
from leakage.figures.llm_mia import auc_figure, epochs_figure, mink_figure, roc_figure, scores_figure
from leakage.lm.attacks import make_attack
from leakage.publish import publish, set_style
from leakage.claims import record_evidence
from leakage.claims.llm import llm_claims
from leakage.results import record_provenance, save_table

set_style()
params = chapter_parameters("llm_mia", profile, overrides)  # typed: leakage.experiments.parameters.LLMParameters

# %% [markdown]
# ## Data and targets
#
# Text comes from the Brown corpus {cite:p}`francis1964brown` (500 documents of edited American English, 15 genres). Each
# document is cut into passages of a fixed number of corpus tokens; **documents**, not passages,
# are dealt to the member, non-member and reference pools (genre-stratified: each pool gets the
# same genre mix), after exact and near-duplicate passages are removed. Members and non-members
# are evaluated in equal numbers.

# %% tags=["remove-input"]
# Every model, statistic and score below was computed by the plan (plan_tasks); this page loads them from the store.
brown = corpus()
targets = chapter_targets(params)
first = next(iter(targets.values())).pools
display(Markdown(f"Corpus read from: **{brown.source}** ({len(brown.documents)} documents, {brown.n_tokens:,} "
                 f"tokens, content digest `{brown.digest()}`). Near duplicates: word {first.dedup_ngram}-gram "
                 f"Jaccard similarity of at least {first.near_dup_threshold} with an earlier passage."))
pools_table(targets)

# %% [markdown]
# The targets: a small GPT-2-architecture model {cite:p}`radford2019language` trained from scratch on the
# member passages only (it sees no other text, so it memorises fast), and, when the profile names one, a
# pretrained model fine-tuned on the members (offline: SmolLM2-135M-Instruct {cite:p}`allal2025smollm2`,
# fine-tuned with LoRA adapters {cite:p}`hu2022lora` or in full). Each has a **disjoint** reference model (the
# profile may leave it out for the pretrained target, where it costs a second fine-tuning): the same
# model and recipe trained on the reference pool (same genres, other documents); the pretrained
# target also has its **base** model (before fine-tuning) as a reference. The full configuration
# of each target, as hashed into its artefact key:

# %% tags=["remove-input"]
config_table(targets).style.hide(axis="index")

# %% tags=["remove-output"]
runs = load_runs(params)  # (target, epoch) -> every attack's scores at that epoch
epoch_table = attack_table(runs, n_boot=params.n_boot)
final = last_runs(runs)  # target -> its run at the last epoch
auc_table = last_epoch_rows(epoch_table, targets)
attack_order = [a for a in attack_labels(params.min_k) if a in set(epoch_table["attack"])]

# %% [markdown]
# ### The targets of this build

# %% tags=["remove-input"]
targets_table(targets).style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Attack performance (`llm-auc`)

# %% tags=["remove-input"]
for item in ("llm-auc", "llm-roc", "llm-scores", "llm-epochs", "llm-mink"):
    record_provenance(profile, item, datasets=data_sources(params.pretrained_model), note=DATA_NOTE)

publish("llm-auc", profile, table=auc_table[AUC_COLUMNS], figure=auc_figure(auc_table, attack_order))

# %% [markdown]
# ```{glue:figure} llm-auc
# :name: llm-auc
#
# LLM MIA (mimir's attack suite): ROC AUC of every attack against every target of this build at
# its last training epoch, with 95% bootstrap confidence intervals (members and non-members
# resampled separately); dotted: chance.
# ```
#
# ```{glue:figure} llm-auc-table
# :name: llm-auc-table
#
# LLM MIA: AUC (CI), TPR at 1% and 0.1% FPR, TPR at zero false positives (`tpr_at_0fp`), best F1,
# and the numbers of members and non-members evaluated, per attack and target (last epoch). A TPR at
# an FPR below 1/n for n non-members is left blank (0.1% with fewer than 1,000 non-members, 1% with
# fewer than 100): no threshold has an FPR between 0 and 1/n, so it would be the TPR at zero false
# positives, which `tpr_at_0fp` gives under its own name.
# ```

# %% [markdown]
# ## ROC curves (`llm-roc`)

# %% tags=["remove-input"]
roc = roc_table(final)
non_members = {name: int((~run.is_member).sum()) for name, run in final.items()}
publish("llm-roc", profile, table=roc, figure=roc_figure(roc, non_members, attack_order))

# %% [markdown]
# ```{glue:figure} llm-roc
# :name: llm-roc
#
# LLM MIA (Carlini et al.'s {cite:yearpar}`carlini2022membership` log-log ROC, as in mimir): ROC curves of every attack against
# each target at its last epoch, on log scales so that the low-FPR regime is visible; rates of
# zero are drawn at half the smallest non-zero FPR. Dotted: chance.
# ```

# %% [markdown]
# ## Score distributions (`llm-scores`)

# %% tags=["remove-input"]
score_table = scores_table(runs)
save_table(score_table, "llm-scores", profile)  # every attacked epoch, one row per text: the claims' input
publish("llm-scores", profile, figure=scores_figure(last_epoch_rows(score_table, targets), list(final), attack_order))

# %% [markdown]
# ```{glue:figure} llm-scores
# :name: llm-scores
#
# LLM MIA: distributions of each attack's score (higher = member) for members and non-members,
# per target (rows) at its last epoch. The further apart the two histograms, the higher the AUC.
# The table (`llm-scores.csv`) holds every text's score at every attacked epoch: target, epoch,
# attack, text (its index among the target's evaluation texts, the same at every epoch), is_member,
# score.
# ```

# %% [markdown]
# ## Memorisation over training (`llm-epochs`)

# %% tags=["remove-input"]
publish("llm-epochs", profile, table=epoch_table[AUC_COLUMNS + ["loss_gap"]],
        figure=epochs_figure(epoch_table, attack_order))

# %% [markdown]
# ```{glue:figure} llm-epochs
# :name: llm-epochs
#
# LLM MIA over training: AUC of every attack against each target after each kept training epoch
# (fine-tuning epochs for a pretrained target). The table adds `loss_gap`, the mean loss of
# non-members minus that of members: a direct measure of how much the model has memorised.
# ```

# %% [markdown]
# ## Min-k%: the choice of k (`llm-mink`)

# %% tags=["remove-input"]
mink = mink_sweep_table(runs)
publish("llm-mink", profile, table=mink[["target", "epoch", "attack", "k", "auc"]],
        figure=mink_figure(mink))

# %% [markdown]
# ```{glue:figure} llm-mink
# :name: llm-mink
#
# LLM MIA, Min-k% Prob {cite:p}`shi2024detecting` and Min-k%++ {cite:p}`zhang2024mink`: AUC against k, the fraction of lowest-scoring
# tokens averaged (mimir's default: 20%), per target at its earliest kept epoch (the least memorised,
# where the attacks are furthest from saturating; the table holds every kept epoch). At k = 1 Min-k%
# averages every token's log-probability, i.e. it ranks texts exactly as LOSS does.
# ```

# %% [markdown]
# ## Neighbours and the cost of the attacks
#
# mimir makes neighbours with a masked language model (T5 {cite:p}`raffel2020exploring`); none is available offline, so each
# neighbour here replaces a random `replace_fraction` of the passage's tokens, chosen among its
# nouns, verbs, adjectives and adverbs, with words of the **same Brown POS tag** drawn from their
# frequency in the reference pool. Such replacements ignore context, so neighbours are less fluent
# than masked-LM fills; the attack compares each text with its own neighbours, which offsets part of
# that.

# %% tags=["remove-input"]
display(Markdown("Texts whose neighbours have a higher mean loss than the text itself under the target (last epoch): "
                 + "; ".join(f"{row.target}: {row.non_members:.0%} of non-members and {row.members:.0%} of members"
                             for row in neighbourhood_table(final).itertuples())
                 + ". Forward passes actually run, per model:"))

# %% tags=["remove-input"]
cost_table(runs).style.hide(axis="index").format(precision=1)

# %% [markdown]
# Each evaluated text is forwarded once through the target (plus once per neighbour) and once
# through each reference model; all six attacks read those cached statistics. Times are from the
# run that made each artefact (a later build reuses it from the store).
#
# ## Claims checked

# %% [markdown]
# Each claim is a hypothesis tested on this build's per-text scores (`llm-scores`), the evaluation
# texts resampled (members and non-members separately) for a 95% CI: an attack against LOSS is the
# AUC difference on the same texts, averaged over the target's attacked epochs; memorisation is the
# AUC of LOSS at the last epoch minus that at the first, on the same texts. Reproduced: the whole CI
# on the paper's side of 0; inconclusive: the CI covers 0 (with the number of texts that would
# decide it); contradicted: the CI wholly on the other side.

# %% tags=["remove-input"]
paper = chapter_parameters("llm_mia", "paper")
paper_pool = paper.pretrained_docs_per_pool * paper.pretrained_passages_per_doc
sizes = score_table.groupby(["target", "is_member"])["text"].nunique().unstack()
display(Markdown("Texts per side behind these intervals: " + "; ".join(
    f"{target}: {int(row[True])} members, {int(row[False])} non-members" for target, row in sizes.iterrows())
    + ". The small pools are the pretrained target's: fine-tuning and scoring SmolLM2 on a CPU costs about "
      "1-2 s per text per pass, so the default profile keeps them small (100 texts per side would add some "
      "12 minutes on 2 cores); the `needed` column says how many texts each inconclusive claim would need, and "
      f"the paper profile uses {paper_pool} per side. Texts come 2-4 to a Brown document, so resampling single "
      "texts understates the CIs' width somewhat."))

# %% tags=["remove-input"]
mink_label = make_attack("min-k", k=params.min_k).label
evidence = llm_claims(score_table, mink_attack=mink_label, n_boot=params.n_boot, seed=params.seed)
record_evidence(profile, "llm_mia", evidence)[["claim", "paper", "ours", "verdict", "needed", "note"]].style.hide(
    axis="index").set_properties(**{"text-align": "left"})

# %% tags=["remove-input"]
best = auc_table.loc[auc_table.groupby("target")["auc"].idxmax(), ["target", "attack", "auc"]]
lines = [f"- **{row.target}**: strongest attack {row.attack} (AUC {row.auc:.3f})" for row in best.itertuples()]
display(Markdown("Summary of this build:\n\n" + "\n".join(lines)))

# %% tags=["remove-input"]
zlib_lines = [f"{row.target}: AUC {row.zlib_auc:.3f} (LOSS {row.loss_auc:.3f}); Spearman correlation with the "
              f"compressed length {row.rho_zlib:.2f} for the zlib score, {row.rho_loss:.2f} for the LOSS score"
              for row in zlib_table(final).itertuples()]  # lengths of each text as scored (a truncated one's prefix)
display(Markdown("The zlib score divides a *per-token mean* loss by the compressed length of the text as scored; among "
                 "passages of one length in words, the more the compressed length varies relative to the loss, the "
                 "more it, rather than membership, orders the texts. At the last epoch: " + "; ".join(zlib_lines) + "."))

# %% [markdown]
# ## Reading the results
#
# The published context (mimir {cite:p}`duan2024membership`, on Pythia models {cite:p}`biderman2023pythia`
# and the Pile {cite:p}`gao2020pile`) is AUCs near 0.5-0.75 for
# *pretraining* membership, where each member was seen about once among billions of tokens. Here
# every target was trained on a few hundred passages for several epochs, so membership is far
# easier to detect: this chapter reproduces the mechanics and the ordering of the attacks, not the
# absolute AUCs of pretraining-data detection. What this build's numbers say, target by target (earliest kept epoch, the least
# memorised):

# %% tags=["remove-input"]
notes = []
for row in earliest_auc_table(epoch_table, mink_label).itertuples():
    text = [f"**{row.target}** (epoch {row.epoch}): LOSS {row.loss:.3f}, {mink_label} {row.mink:.3f}, "
            f"{row.reference} {row.reference_auc:.3f}, neighbourhood {row.neighbourhood:.3f}."]
    if row.mink > row.loss:
        text.append("The least likely tokens carry the membership signal before the average does: a model that "
                    "has seen a member learns its rare words and names first.")
    else:
        text.append("Averaging every token (LOSS) is at least as informative as the least likely ones: the "
                    "fine-tuning lowered the loss of members' tokens broadly, not only of their rare ones.")
    if row.reference_auc > row.loss:
        text.append(f"Calibrating by {row.reference} removes part of the text's intrinsic difficulty, as Carlini "
                    "et al. intend.")
    elif targets[row.target].is_scratch:
        text.append(f"{row.reference} does not help here: a reference trained from scratch on a few hundred "
                    "passages is a noisy estimate of a text's difficulty.")
    else:
        text.append(f"{row.reference} does not beat LOSS at this epoch.")
    if row.neighbourhood < row.loss:
        text.append("The neighbourhood attack trails LOSS; its POS-tag replacements are a coarse stand-in for "
                    "mimir's masked-LM neighbours (see above).")
    notes.append(" ".join(text))
display(Markdown("\n\n".join(f"- {n}" for n in notes)))
