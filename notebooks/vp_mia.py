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
# # Membership leakage in vulnerability-prediction models, and NMID
#
# {cite:t}`liao2025exposing` attack vulnerability-prediction (VP) models, classifiers that label a C/C++ function
# vulnerable or not, with shadow-model membership inference: an LSTM, a BiGRU and CodeBERT, trained on SARD and NVD
# functions, leak their training set through their embeddings, logits, loss and confidence (attack AUC close to 1.0;
# logits and loss leak most). Their defence, NMID, masks and noises what the model releases at inference time, without
# retraining; its strongest setting ("All-10") brings the attack close to random guessing (AUC from about 1.0 to below
# 0.65) while keeping the model's predictive utility.
#
# The paper does not publish its noise scales, its masking rule, its attack classifier or its per-cell numbers. This
# page therefore defines its own masking rules, sweeps them against the noise scale, and shows the whole privacy /
# utility trade-off; what is the paper's and what is ours is said at each step.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
import pandas as pd
from IPython.display import Markdown, display

from leakage.chapters import chapter_parameters
from leakage.claims import record_evidence
from leakage.claims.paper import paper_entry
from leakage.claims.vp import vp_claims
from leakage.config import describe
from leakage.experiments import vp
from leakage.figures import vp_mia as figures
from leakage.publish import publish, set_style
from leakage.results import record_provenance, save_table
from leakage.vp.features import FEATURE_SETS

set_style()
params = chapter_parameters("vp_mia", profile, overrides)  # typed (VPParameters); artefacts: vp.plan_tasks(params)
names = [vp.model_name(arch, params.codebert_path) for arch in params.models]  # display names, in order
auc_goal = paper_entry("vp-nmid-tradeoff").value  # the paper's bound for a defended attack, drawn in the figures

# %% [markdown]
# ## Data
#
# The paper's functions come from NIST's SARD and from NVD. This build uses SARD's **Juliet C/C++ 1.3** suite
# {cite:p}`nist2017juliet` (public domain), which is available offline; NVD-based sets (Devign {cite:p}`zhou2019devign`,
# BigVul {cite:p}`fan2020ccode`) load from a user's file (`dataset`, `data_path`). From each Juliet file the test-case
# entry points are extracted with a brace-matching C extractor: `..._bad()` is vulnerable, `goodG2B()`, `goodB2G()`,
# `good1()`, ... are not. What gives the label away is removed: comments (`/* FLAW */`, `/* FIX */`), every identifier
# containing bad / good / G2B / B2G / CWE*n* / the CWE's or the test case's name (renamed `id0`, `id1`, ... consistently
# within the function), the content of every string literal (each becomes `"STR"`: Juliet's fixes print fixed messages),
# Juliet's template marker `printLine("Benign, fixed string")` in the dead branches of fixed functions (removed by
# dead-code elimination: `if(<false>) {marker} else {fix}` becomes `if(<true>) {fix}`, the vulnerable variant's shape),
# and the `static` that Juliet puts on good functions only. Exact duplicates are dropped, and code that occurs under
# both labels (a `goodB2G` entry point whose fix lives in a helper is textually the `bad` one) is dropped entirely. A
# *test case* is the file name without its flow-variant suffix (`_01` to `_84`), `wchar_t` read as `char`: all
# near-copies of a function stay in one of the four sets.

# %% tags=["remove-input"]
data_config = vp.data_config(params)
corpus, extraction = vp.load_corpus(data_config.dataset, data_config.path, data_config.juliet)
_, splits = vp.prepare(data_config)
display(Markdown(vp.corpus_summary(corpus, extraction, params.max_chars) + " The four sets below share no test case; "
                 "each is half vulnerable; the tokenizer is learnt on `public`."))
vp.split_frame(data_config).style.hide(axis="index")

# %% [markdown]
# One function as the models see it (a vulnerable one, from the target's members):

# %% tags=["remove-input"]
Markdown("```c\n" + corpus.code[vp.typical_vulnerable_member(corpus, splits)] + "\n```")

# %% [markdown]
# ## Models
#
# Three classifiers, as in the paper: a **BiLSTM** and a **BiGRU** (token embedding, bidirectional recurrent layer,
# max-pool over time, linear output), and **CodeBERT** {cite:p}`feng2020codebert`, the RoBERTa architecture
# {cite:p}`liu2019roberta` through `transformers` {cite:p}`wolf2020transformers`. Offline there are no CodeBERT weights,
# so the default profile trains the *same architecture at a reduced size from scratch* on the corpus (labelled
# **CodeBERT (small, scratch)** in every table and figure); with `codebert_path` (a local folder, or
# `microsoft/codebert-base` online) the pretrained model is fine-tuned instead, with its own tokenizer. The other models
# use a BPE tokenizer {cite:p}`sennrich2016neural` (Hugging Face `tokenizers`) whose merges stay within C lexemes,
# learnt on the public pool. The *embedding* a gray-box attacker sees is the input of the output layer: the pooled RNN
# state, or CodeBERT's last-layer `<s>` ([CLS]) vector. Every model is trained to (near) zero training error, as an
# unregularised VP model overfits; the shadow models follow the same recipe on the shadow half with their own seed. The
# full configuration of the first target, as hashed into its artefact key:

# %% tags=["remove-input"]
pd.DataFrame(describe(vp.target_config(params, params.models[0]))).style.hide(axis="index")

# %% tags=["remove-output"]
utility_table = vp.utility_frame(params)  # every target, then its shadow
provenance = {"VP corpus": corpus.source}
record_provenance(profile, "vp-utility", datasets=provenance,
                  note="Juliet (SARD) is the paper's SARD source and works offline; NVD-based sets need a user file")

# %% tags=["remove-input"]
publish("vp-utility", profile, table=utility_table, figure=figures.utility_figure(utility_table))

# %% [markdown]
# ```{glue:figure} vp-utility
# :name: vp-utility
#
# Liao et al., model utility (their VP models' accuracy / precision / recall / F1): training accuracy, and accuracy and
# F1 on the held-out functions (the non-members of the same half, unseen test cases), for the targets and the attacker's
# shadows of this build.
# ```
#
# ```{glue:figure} vp-utility-table
# :name: vp-utility-table
#
# Utility of every model of this build (held-out = the model's non-members, vulnerable = positive class), its size,
# epochs, mean tokens per function, the fraction truncated at `max_len`, and the training time.
# ```
#
# How much of that utility needs a model of code at all? A **bag-of-tokens baseline** (`leakage.vp.baseline`: logistic
# regression on which C tokens a function contains, no order) is trained on the targets' training functions and scored
# on the same held-out functions:

# %% tags=["remove-input"]
baseline = vp.run_vp_baseline(vp.baseline_config(params))
share = vp.baseline_share(utility_table, baseline)  # of each target's margin over the majority class
display(vp.baseline_frame(utility_table, baseline))
display(Markdown(
    f"The bag of tokens reaches accuracy {baseline['accuracy']:.3f} (F1 {baseline['f1']:.3f}) against "
    f"{baseline['majority_rate']:.3f} for the majority class, "
    + (f"that is {share.min():.0%} to {share.max():.0%} of the targets' margin over the majority class: "
       if share.notna().any() else "while no target beats the majority class: ")
    + "that much of the utility is in which tokens Juliet's templates put in a vulnerable or a fixed function, not in "
    "how the code runs."))

# %% [markdown]
# ## The attack
#
# The paper's shadow-model attack, after {cite:t}`shokri2017membership`. The data is split into disjoint target and
# shadow halves, each into equal numbers of members (the model's training set) and non-members, each balanced on the
# vulnerable class. The attacker trains the shadow model, queries it on its members and non-members, and trains an
# attack classifier (member / non-member) on what the shadow releases; the classifier's member probability on the
# target's release is the membership score (higher = member). Features, the paper's four and combinations, eight in all
# (the paper uses eight without listing them; these are ours):
#
# | feature set | released quantities | threat model |
# | --- | --- | --- |
# | embedding | pooled RNN state / [CLS] vector | gray-box |
# | logits | the two logits | black-box |
# | loss | cross-entropy on the true label | black-box |
# | confidence | max softmax | black-box |
# | logits+loss, loss+confidence, logits+loss+confidence | side by side | black-box |
# | all | embedding, logits, loss, confidence | gray-box |
#
# The attack classifier is an MLP (its inputs pass through a quantile transform fitted on the shadow's features: losses
# are heavy-tailed); a gradient-boosting classifier is run as a check. Metrics on the target's members and non-members
# (equal numbers): AUC with a 95% bootstrap CI, TPR at 1% FPR with its bootstrap CI, and the best F1 over thresholds.

# %% tags=["remove-output"]
mia, mia_scores = vp.mia_frames(params)  # every model x attack classifier x feature set, undefended
record_provenance(profile, "vp-mia", datasets=provenance, note="target and shadow halves of the same corpus")

# %% tags=["remove-input"]
publish("vp-mia", profile, table=mia, figure=figures.mia_figure(mia, names, FEATURE_SETS))

# %% [markdown]
# ```{glue:figure} vp-mia
# :name: vp-mia
#
# Liao et al., MIA on VP models (undefended): attack AUC per model and feature set, MLP attack classifier (left) and the
# gradient-boosting check (right), on the target's members and non-members of this build.
# ```
#
# ```{glue:figure} vp-mia-table
# :name: vp-mia-table
#
# Every model x feature set x attack classifier: AUC with its 95% bootstrap CI, TPR at 1% FPR with its CI (blank with
# fewer than 100 non-members: no threshold has an FPR between 0 and 1/n, so it would be the TPR at zero false positives,
# given as `tpr_at_0fp`), the best F1 over thresholds, and the numbers of members and non-members evaluated.
# ```
#
# ## NMID
#
# NMID sits between the model and its user and changes only what is released. The paper's masking rule and noise scales
# are not public; ours (`leakage.vp.nmid`): Gaussian noise of standard deviation sigma is added to the embedding and the
# logits, then one masking level is applied, each releasing less than the one before:
#
# | level | embedding | logits | confidence, loss | predicted label |
# | --- | --- | --- | --- | --- |
# | none | noisy | noisy | from the noisy logits | argmax of the noisy logits (can flip) |
# | coarse | a fixed random 25% of the dimensions, noisy; the rest 0 | noisy, rounded to 1 decimal | from the released logits, rounded to 1 decimal | kept |
# | top1 | withheld (0) | the one-hot predicted label | max softmax of the noisy logits, rounded to 1 decimal; the loss it implies | kept |
# | label | withheld (0) | the one-hot predicted label | 1; the loss it implies | kept |
#
# "Kept": where noise or rounding would rank another class first, the predicted class's logit is raised just above it,
# so the released label is the model's, and utility is untouched. Under `label` nothing but the label is released, so
# sigma has no effect there (computed once, drawn flat); every other level releases the label too, so an optimal
# attacker would get at least the `label` AUC from them (a learned attack classifier can fall below it when noise hides
# the correctness signal among noisy values). The attacker is adaptive: it passes its shadow's outputs through the same
# NMID (its own noise draws) before training the attack classifier. Utility is measured on the defended release. The
# paper's strongest setting, "All-10", is read here as `top1` with the largest sigma swept (the strongest level on which
# noise still acts); which of our levels matches the paper's is not knowable from what is public.

# %% tags=["remove-output"]
nmid_table, nmid_scores, predictions = vp.nmid_frames(params)  # every model x level x sigma x attacker
# the per-function data behind the claims' CIs (not shown: one row per function and attack)
scores = vp.claim_scores(mia_scores, nmid_scores)
save_table(scores, "vp-scores", profile)
save_table(predictions, "vp-predictions", profile)
for item in ("vp-nmid", "vp-frontier"):
    record_provenance(profile, item, datasets=provenance, note="NMID applied to the released outputs")

# %% tags=["remove-input"]
publish("vp-nmid", profile, table=nmid_table, figure=figures.nmid_figure(nmid_table, params.levels, auc_goal))

# %% [markdown]
# ```{glue:figure} vp-nmid
# :name: vp-nmid
#
# Liao et al., NMID: the adaptive black-box (logits+loss+confidence) and gray-box (all features) attackers' AUC (dashed:
# the paper's 0.65, dotted: chance) and the target's held-out F1 from the defended release, against the noise scale, one
# line per masking level.
# ```
#
# ```{glue:figure} vp-nmid-table
# :name: vp-nmid-table
#
# Every model x masking level x sigma x attacker of this build: attack AUC (CI), TPR at 1% FPR (blank with fewer than
# 100 non-members), utility of the defended release (F1, accuracy), the F1 drop from the undefended model, and the share
# of released labels equal to the model's own.
# ```

# %% tags=["remove-input"]
worst = vp.frontier_frame(nmid_table)  # the stronger attacker per model and setting
publish("vp-frontier", profile, table=worst, figure=figures.frontier_figure(worst, names, params.levels, auc_goal))

# %% [markdown]
# ```{glue:figure} vp-frontier
# :name: vp-frontier
#
# Liao et al., the privacy / utility trade-off of NMID: every swept setting of this build as (held-out F1 of the
# defended release, AUC of the stronger of the two adaptive attackers on the target, a worst case for the defender); the
# star is the undefended model, dashed the paper's 0.65. Down and to the right is better. Differences of a few
# hundredths between settings are within the attack's bootstrap CIs (see the table of the previous figure).
# ```
#
# ```{glue:figure} vp-frontier-table
# :name: vp-frontier-table
#
# The points of the frontier: per model and setting, the stronger attacker's AUC and the defended utility.
# ```
#
# ## Claims checked
#
# Each of the paper's findings as a tested hypothesis (`leakage.claims.vp`), from the per-function scores and
# predictions behind the tables above: an effect with its 95% CI, resampling the target's functions (members and
# non-members apart, one resample for every model, feature set and setting), and a verdict from the CI alone. "For every
# model" is tested on the worst model (the minimum or maximum taken inside each resample). Readings of the paper's
# qualitative words ("close to 1.0", "utility preserved", "random guessing") are constants of that module, each with its
# reason; the NMID claims are tested at the paper's strongest setting as read here (the paper does not say which setting
# takes the AUC below 0.65). Under our masking levels that keep the label, the F1 drop is zero by construction.

# %% tags=["remove-input"]
evidence = record_evidence(profile, "vp_mia", vp_claims(scores, predictions, n_boot=params.n_boot, seed=params.seed))
evidence[["item", "claim", "paper", "ours", "n", "verdict", "needed", "note"]].style.hide(axis="index")

# %% [markdown]
# Where the undefended AUC comes from in this build: a target leaks at least through which functions it gets right,
# which alone gives an attacker AUC = 0.5 + (training accuracy - held-out accuracy) / 2 (the label-only AUC); what loss,
# logits and confidence add is the rest.

# %% tags=["remove-input"]
Markdown("; ".join(f"{name}: training accuracy {r.train_accuracy:.3f}, held-out accuracy {r.heldout_accuracy:.3f}, "
                   f"label-only AUC {r.label_only_auc:.3f}, best attack AUC {r.best_auc:.3f}"  # best: the MLP's
                   for name, r in vp.label_only_frame(utility_table, mia).iterrows()) + ".")

# %% [markdown]
# ## What differs from the paper
#
# - **Data.** Juliet (SARD) only; the paper also uses NVD functions. Juliet's functions are generated from templates:
#   even a function of an unseen test case shares most of its code with training functions, so the targets are confident
#   on many non-members too. The label-only AUC above is most of the undefended AUC here, and the whole of it stays well
#   below the paper's ~1.0. The paper's models (larger, on SARD and NVD, sizes not public) evidently separate members
#   more sharply; the `paper` profile runs this code at larger sizes on a GPU.
# - **CodeBERT.** Offline, the RoBERTa architecture at a reduced size trained from scratch (see the table of models);
#   pass `codebert_path` to fine-tune the real checkpoint.
# - **NMID.** The masking rules and the sigma grid are ours (the paper's are not public), and so is the reading of
#   "All-10"; the figure shows every swept cell so that any reading can be checked against it. A label-only release
#   still leaks through which functions the model gets right (members: nearly all of them), so no output masking that
#   keeps the label can bring an optimal attacker below AUC = 1 - (held-out accuracy) / 2 on a model with training
#   accuracy 1.
# - **Sizes.** The paper's set sizes, model sizes and epochs are not all public; the profile's sizes are in the
#   configuration table above.
