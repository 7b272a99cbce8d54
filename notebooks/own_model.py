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
# # Measure leakage of your own model
#
# The attacks of this book are a library: `leakage.api` takes **your** model and data, not the
# book's targets. Three entry points, one per kind of model, and one result type:
#
# | your model | entry point | attacks |
# |---|---|---|
# | a torch image classifier, (N, C, H, W) in [0, 1] → logits | `attack_classifier` | baseline, transfer, score-based (ML-Leaks {cite:p}`salem2019mlleaks`), boundary (HopSkipJump {cite:p}`chen2020hopskipjumpattack` / QEBA {cite:p}`li2020qeba`) |
# | a causal LM (Hugging Face model + tokenizer, a folder, a Hub id) | `attack_language_model`, `python -m leakage score-texts` | LOSS, zlib, Min-k%, Min-k%++, neighbourhood, reference (mimir's suite {cite:p}`duan2024membership`) |
# | a code classifier (any callable on code strings) | `attack_code_model` | shadow-model attack {cite:p}`shokri2017membership`, under NMID {cite:p}`liao2025exposing` |
#
# Every call returns `MembershipResult` objects: per-candidate `scores` (**higher = member**, none
# dropped), `is_member`, documented per-candidate `extras`, the measured `cost`, and `metrics`: AUC and
# TPR at 1% and 0.1% FPR and at zero false positives, each with a 95% bootstrap confidence interval (a
# TPR at an FPR below 1/n for n non-members is NaN: see below). A model handed in is keyed by
# a digest of its weights, or not cached at all: a result is never another model's. The book's own
# chapters run through the same code (the tests check that the entry points give the chapters' scores
# on the chapters' targets).
#
# Below, each entry point runs on a model trained on this page, standing in for yours; the code cells are
# shown, since they are what you would write.

# %% tags=["parameters"]
profile = "smoke"  # the profile whose parameters this page is computed with (leakage.experiments.parameters)
overrides = {}  # this build's --set values (the runner fills them)

# %% tags=["remove-input"]
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from leakage.api import attack_classifier, attack_code_model, attack_language_model, summary_frame
from leakage.chapters import chapter_parameters
from leakage.publish import publish, set_style
from leakage.results import record_provenance

set_style()
params = chapter_parameters("own_model", profile, overrides)  # typed: experiments.parameters.OwnModelParameters
COLUMNS = ["attack", "auc", "auc_lo", "auc_hi", "tpr_at_1pct_fpr", "tpr_at_1pct_fpr_lo", "tpr_at_1pct_fpr_hi",
           "tpr_at_0.1pct_fpr", "tpr_at_0fp", "n_members", "n_non_members"]

# %% [markdown]
# ## An image classifier
#
# Your model is any `torch.nn.Module` mapping images (N, C, H, W) with pixels in [0, 1] to logits. Here:
# a small network trained to fit 150 of scikit-learn's {cite:p}`pedregosa2011scikit` 8x8 digits, the members; 150 other
# digits are the non-members, and the rest is the attacker's own data (D_shadow), which the transfer
# and score-based attacks train their shadow models on (a small CNN, whatever the target's architecture:
# the attacker does not know it).

# %%
from sklearn.datasets import load_digits

from leakage.attacks.boundary import BoundaryAttack
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import TransferAttack
from leakage.models.cnn import CNNConfig
from leakage.train import TrainConfig, fit

digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8) in [0, 1]
labels = torch.tensor(digits.target, dtype=torch.long)
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(params.seed))
n = params.image_members
member, non_member, attacker = order[:n], order[n:2 * n], order[2 * n:]

torch.manual_seed(params.seed)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
fit(model, images[member], labels[member], TrainConfig(epochs=params.image_epochs, batch_size=32), seed=params.seed)

shadow = ShadowConfig(arch=CNNConfig(width=8, hidden=64),
                      train=TrainConfig(epochs=params.shadow_epochs, batch_size=64))
results = {}
for attack, config in [("baseline", None), ("transfer", TransferAttack.Config(shadow=shadow)),
                       ("score_based", ScoreBasedAttack.Config(shadow=shadow)),
                       ("hopskipjump", BoundaryAttack.Config(budget=params.boundary_budget))]:
    results[attack] = attack_classifier(model, (images[member], labels[member]),
                                        (images[non_member], labels[non_member]), attack, config,
                                        attacker_data=(images[attacker], labels[attacker]), seed=params.seed,
                                        n_boot=params.n_boot)
summary_frame(results)[COLUMNS].round(3)

# %% [markdown]
# Digits are an easy task, so this model generalises well (every attack's AUC is close to 0.5 here,
# baseline included: its AUC is 1/2 plus half the train/test accuracy gap). At low false-positive rates the picture can differ from the AUC: the log-log ROC of each attack
# ({cite:t}`carlini2022membership` argue this is where membership inference should be judged). The dotted
# diagonal is chance.

# %% tags=["remove-input"]
from leakage.metrics import roc_curve

figure, ax = plt.subplots(figsize=(5, 4))
for name, result in results.items():
    fpr, tpr, _ = roc_curve(result.scores, result.is_member)
    ax.plot(np.maximum(fpr, 1e-3), np.maximum(tpr, 1e-3), label=f"{name} (AUC {result.metrics['auc']:.2f})")
ax.plot([1e-3, 1], [1e-3, 1], ":", color="grey")
ax.set(xscale="log", yscale="log", xlabel="false-positive rate", ylabel="true-positive rate",
       title="Your classifier: ROC of each attack")
ax.legend(fontsize=8)
publish("own-classifier", profile, table=summary_frame(results)[COLUMNS], figure=figure)
record_provenance(profile, "own-classifier", datasets={"digits": "scikit-learn's load_digits (ships with it)"},
                  note="a model trained on this page stands in for the reader's own")

# %% [markdown]
# Each result carries its per-candidate by-products; the boundary attack's, for instance, say whether
# a label-changing perturbation was found within the budget (`flipped`) and how many label queries each
# candidate took (`queries`); `leakage.api.EXTRAS` documents every one.

# %%
frame = results["hopskipjump"].to_frame()
frame[["index", "is_member", "score", "flipped", "misclassified", "queries"]].head()

# %% [markdown]
# ## A causal language model
#
# Your model is any causal LM with its tokenizer (or a `save_pretrained` folder, or a Hub id when
# online). Here: a small GPT-2 {cite:p}`radford2019language` trained on Brown-corpus
# {cite:p}`francis1964brown` passages (the members); passages of other
# documents are the non-members, and a second model trained on a third set of documents serves as the
# reference model. With no tagged text, the neighbourhood attack's neighbours come from a word-level
# perturbation (`leakage.lm.perturb`); give `masked_lm=` a masked LM to get Mattern et al.'s
# {cite:yearpar}`mattern2023membership`.

# %%
from leakage.experiments.llm import corpus
from leakage.lm.corpus import PoolConfig, make_pools
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm, train_tokenizer

pools = make_pools(corpus(), PoolConfig(passage_words=32, docs_per_pool=params.lm_docs, passages_per_doc=3,
                                        seed=params.seed))
members, non_members = [p.text for p in pools.eval_members], [p.text for p in pools.eval_nonmembers]
tokenizer = train_tokenizer([p.text for p in pools.reference], 1024)
lm_recipe = FinetuneConfig(method="full", epochs=params.lm_epochs, lr=3e-3, batch_size=16, warmup_steps=10)


def small_gpt2(texts: list[str]):
    lm = build_scratch(ScratchConfig(n_layer=2, n_embd=params.lm_width, n_head=4, vocab_size=1024, n_positions=129),
                       tokenizer, params.seed)
    train_lm(lm, tokenizer, texts, lm_recipe, max_tokens=128, seed=params.seed)
    return lm.eval()


lm, reference = small_gpt2([p.text for p in pools.members]), small_gpt2([p.text for p in pools.reference])
lm_results = attack_language_model(lm, members, non_members, tokenizer=tokenizer, reference={"disjoint": reference},
                                   neighbours=5, seed=params.seed, n_boot=params.n_boot)
summary_frame(lm_results)[COLUMNS].round(3)

# %% tags=["remove-input"]
publish("own-lm", profile, table=summary_frame(lm_results)[COLUMNS])
record_provenance(profile, "own-lm", datasets={"brown": corpus().source},
                  note="a GPT-2 trained on this page stands in for the reader's own")
display(Markdown(f"{len(members)} member and {len(non_members)} non-member passages evaluated; the model "
                 f"trained on all {len(pools.members)} member passages, the reference on {len(pools.reference)} others."))

# %% [markdown]
# The same from the command line, on a saved model and two text files (one text per line):

# %%
from leakage.cli import main as leakage_cli

with tempfile.TemporaryDirectory() as folder:
    folder = Path(folder)
    lm.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    (folder / "members.txt").write_text("\n".join(members) + "\n")
    (folder / "non_members.txt").write_text("\n".join(non_members) + "\n")
    status = leakage_cli(["score-texts", "--model", str(folder / "model"), "--members", str(folder / "members.txt"),
                          "--non-members", str(folder / "non_members.txt"), "--neighbours", "0",
                          "--n-boot", str(params.n_boot), "--out", str(folder / "scores.csv")])
    cli_scores = pd.read_csv(folder / "scores.csv")
assert status == 0
cli_loss = cli_scores[cli_scores.attack == "loss"].score.to_numpy()
display(Markdown(f"The command's LOSS scores equal the function's: largest difference "
                 f"{np.abs(cli_loss - lm_results['loss'].scores).max():.1e}."))

# %% [markdown]
# ## A code model
#
# Your model is any callable mapping a list of code strings to logits (N, K), or to
# `(embedding, logits)` when it exposes an embedding. Here: a bag-of-tokens logistic regression over
# C functions of the Juliet test suite {cite:p}`nist2017juliet`, trained weakly regularised on its members so that it
# memorises them. The attacker trains a shadow the same way on its own functions
# (`train_shadow`); the attack classifier learns from the shadow's released outputs. NMID (the VP
# chapter's defence) masks what is released; `level="label"` releases the predicted label only.

# %%
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from leakage.experiments.vp import VPDataConfig, prepare
from leakage.vp.nmid import NMIDConfig
from leakage.vp.splits import VPSplitConfig

corpus_vp, sets = prepare(VPDataConfig(split=VPSplitConfig(per_set=params.code_per_set, seed=params.seed)))


def labelled(name: str) -> tuple[list[str], np.ndarray]:
    return [corpus_vp.code[i] for i in sets[name]], corpus_vp.label[sets[name]]


def train_code_model(code: list[str], label: np.ndarray):
    pipeline = make_pipeline(CountVectorizer(token_pattern=r"\w+"), LogisticRegression(C=100.0, max_iter=2000))
    pipeline.fit(code, label)
    # logits (N, 2): [0, w.x + b], whose softmax is the model's probabilities (finite, unlike log-probabilities,
    # which are -inf where a weakly regularised model is certain)
    return lambda strings: np.stack([np.zeros(len(strings)), pipeline.decision_function(strings)], 1)


code_model = train_code_model(*labelled("target_in"))
code_results = {}
for level in ("none", "label"):  # one result per feature set: here only the loss
    code_results[level] = attack_code_model(
        code_model, labelled("target_in"), labelled("target_out"), shadow_members=labelled("shadow_in"),
        shadow_non_members=labelled("shadow_out"), train_shadow=train_code_model, nmid=NMIDConfig(level=level),
        feature_sets=["loss"], n_boot=params.n_boot, seed=params.seed)["loss"]
summary_frame(code_results)[COLUMNS].round(3)

# %% [markdown]
# Releasing only the label does not remove all leakage when the model is more accurate on its members
# than on other functions: the attack then reads "correct" as "member", as the baseline attack does on
# images.

# %% tags=["remove-input"]
publish("own-code", profile, table=summary_frame(code_results)[COLUMNS])
record_provenance(profile, "own-code", datasets={"juliet": corpus_vp.source},
                  note="a bag-of-tokens model trained on this page stands in for the reader's own")

# %% [markdown]
# ## What to keep in mind
#
# - **Members and non-members must come from the same distribution.** An attack separates what differs
#   between the two sets; if the non-members are another kind of data, it measures that difference, not
#   membership ({cite:t}`duan2024membership`, on LM benchmarks built from texts published before and after a cut-off).
# - **Small samples give wide intervals.** Read the CI beside every AUC and TPR; a TPR at 0.1% FPR needs
#   well over 1,000 non-members to mean anything. Below 1/n for n non-members an FPR cannot be measured at
#   all (no threshold has an FPR between 0 and 1/n): the results leave such a TPR out (NaN) and give
#   `tpr_at_0fp`, the TPR at zero false positives, which is what it would have been.
# - **Caching.** `attack_classifier(..., store=Store())` caches results keyed by the digest of your model's
#   weights, architecture and outputs on a fixed probe batch, and your data's content; without a store nothing
#   is cached. The LM and code entry points never
#   cache: each call scores the weights the model holds at that moment.
