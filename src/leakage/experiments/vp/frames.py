"""The ``vp_mia`` chapter's tidy frames: what its tables, figures and claims read.

Built from the chapter's parameters (:class:`VPParameters`) by the same functions as the plan
(:mod:`leakage.experiments.vp.runs`): once the plan ran they load the stored artefacts and compute nothing
(those missing are computed). The derived frames at the end (:func:`baseline_share`, :func:`frontier_frame`,
:func:`label_only_frame`) only reshape these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from leakage.experiments.parameters import VPParameters
from leakage.experiments.vp.attacks import raw_outputs, run_vp_attack
from leakage.experiments.vp.configs import VPAttackRunConfig, VPDataConfig, shadow_of
from leakage.experiments.vp.data import prepare
from leakage.experiments.vp.models import train_vp_model
from leakage.experiments.vp.runs import (ATTACKERS, SCORE_KEYS, model_name, nmid_attacks, target_config,
                                         undefended_attacks)
from leakage.metrics import resolve_low_fprs
from leakage.store import Store
from leakage.vp.nmid import KEEPS_LABEL, apply_nmid

if TYPE_CHECKING:
    import pandas as pd

# --------------------------------------------------------------------------- per-function frames of one run


def scores_frame(config: VPAttackRunConfig, result: dict) -> "pd.DataFrame":
    """One attack artefact's per-function scores as a long frame: ``features``, ``function`` (position among
    the target's members then non-members: the same id for every model of one data config), ``is_member``,
    ``score`` (higher = member)."""
    import pandas as pd

    is_member = np.asarray(result["is_member"], bool)
    return pd.concat([pd.DataFrame({"features": feature_set, "function": np.arange(len(is_member)),
                                    "is_member": is_member, "score": np.asarray(result[f"scores_{i}"], float)})
                      for i, feature_set in enumerate(config.feature_sets)], ignore_index=True)


def release_predictions(config: VPAttackRunConfig, store: Store | None = None) -> "pd.DataFrame":
    """Per held-out function (a target non-member): ``function`` (numbered as in :func:`scores_frame`),
    ``label``, ``undefended`` (the model's prediction) and ``defended`` (the label of the NMID release, the
    same draw as :func:`run_vp_attack`'s)."""
    import pandas as pd

    target = raw_outputs(train_vp_model(config.target, store))
    defended = apply_nmid(target.embedding, target.logits, target.labels, config.nmid, "target").prediction
    out = np.flatnonzero(~target.is_member)
    return pd.DataFrame({"function": out, "label": target.labels[out].astype(int),
                         "undefended": target.logits[out].argmax(1), "defended": defended[out]})


# --------------------------------------------------------------------------- the chapter's frames


def split_frame(data: VPDataConfig) -> "pd.DataFrame":
    """One row per set (target_in, target_out, shadow_in, shadow_out, public): ``set``, ``functions``,
    ``vulnerable`` (count), ``test cases`` (distinct groups). Reads the corpus (no store artefact).
    Raises ``DataUnavailableError`` when the data set's source is missing."""
    import pandas as pd

    corpus, splits = prepare(data)
    return pd.DataFrame([{"set": name, "functions": len(splits[name]),
                          "vulnerable": int(corpus.label[splits[name]].sum()),
                          "test cases": len(set(corpus.group[splits[name]]))}
                         for name in ("target_in", "target_out", "shadow_in", "shadow_out", "public")])


def utility_frame(params: VPParameters, store: Store | None = None) -> "pd.DataFrame":
    """Liao et al.'s model utility: one row per model of ``models`` and role (target, then its shadow) with
    ``model`` (display name), ``role``, ``parameters``, ``epochs``, ``train_accuracy``, ``heldout_accuracy`` /
    ``_precision`` / ``_recall`` / ``_f1`` (on the model's non-members; vulnerable = positive),
    ``mean_tokens``, ``truncated`` (fraction cut at ``max_len``), ``train_seconds``; rounded to 4 decimals.
    Loads the trained models (trains those missing)."""
    import pandas as pd

    rows = []
    for arch in params.models:
        target = target_config(params, arch)
        for config in (target, shadow_of(target)):
            m = train_vp_model(config, store).metrics
            rows.append({"model": model_name(arch, params.codebert_path), "role": config.role,
                         "parameters": m["parameters"], "epochs": m["epochs"], "train_accuracy": m["train_accuracy"],
                         "heldout_accuracy": m["heldout_accuracy"], "heldout_precision": m["heldout_precision"],
                         "heldout_recall": m["heldout_recall"], "heldout_f1": m["heldout_f1"],
                         "mean_tokens": m["mean_tokens"], "truncated": m["truncated_fraction"],
                         "train_seconds": m["train_seconds"]})
    return pd.DataFrame(rows).round(4)


def baseline_frame(utility: "pd.DataFrame", baseline: Mapping[str, Any]) -> "pd.DataFrame":
    """Held-out ``accuracy`` and ``f1`` of each target (rows of :func:`utility_frame` with role "target"), of the
    bag-of-tokens baseline (:func:`run_vp_baseline`'s dict) and of the majority class (no F1), rounded to 3
    decimals; index ``held-out utility``."""
    import pandas as pd

    targets = utility[utility["role"] == "target"].set_index("model")
    table = pd.concat([
        targets[["heldout_accuracy", "heldout_f1"]].rename(columns=lambda c: c.replace("heldout_", "")),
        pd.DataFrame({"accuracy": [baseline["accuracy"], baseline["majority_rate"]],
                      "f1": [baseline["f1"], float("nan")]},
                     index=["bag of tokens (logistic regression)", "majority class"])]).round(3)
    table.index.name = "held-out utility"
    return table


def mia_frames(params: VPParameters, store: Store | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """The undefended attacks (:func:`undefended_attacks`): (metrics, scores).

    ``metrics``: one row per model x attack classifier x feature set: ``model``, ``classifier``, ``features``,
    ``auc`` with its 95% bootstrap CI (``auc_lo``, ``auc_hi``), ``tpr_at_1pct_fpr`` with its CI (``tpr_lo``,
    ``tpr_hi``; NaN with fewer than 100 non-members, where it would be the TPR at zero false positives),
    ``tpr_at_0fp`` (the TPR at zero false positives), ``best_f1``, ``members``, ``non_members`` (the stored
    metrics of each run).
    ``scores``: :func:`scores_frame` of each run (higher = member) with ``model``, ``classifier``, ``level``
    ("none") and ``sigma`` (0.0). Loads the attack artefacts (computes those missing).
    """
    import pandas as pd

    rows, frames = [], []
    for arch, classifier, config in undefended_attacks(params):
        name = model_name(arch, params.codebert_path)
        result = run_vp_attack(config, store)
        frames.append(scores_frame(config, result).assign(model=name, classifier=classifier, level="none",
                                                          sigma=0.0))
        for feature_set, m in result["metrics"].items():
            m = resolve_low_fprs(m)  # artefacts stored before the rule too
            rows.append({"model": name, "classifier": classifier, "features": feature_set,
                         "auc": m["auc"], "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"],
                         "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"], "tpr_lo": m["tpr_at_1pct_fpr_lo"],
                         "tpr_hi": m["tpr_at_1pct_fpr_hi"], "tpr_at_0fp": m.get("tpr_at_0fp", np.nan),
                         "best_f1": m["best_f1"],
                         "members": m["n_members"], "non_members": m["n_non_members"]})
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)


def nmid_frames(params: VPParameters, store: Store | None = None
                ) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]:
    """The NMID sweep (:func:`nmid_attacks`): (metrics, scores, predictions).

    ``metrics``: one row per model x level x sigma x attacker: ``model``, ``level``, ``sigma``, ``attacker``
    (:data:`ATTACKERS`), ``auc`` (``auc_lo``, ``auc_hi``), ``tpr_at_1pct_fpr``, ``utility_f1`` and
    ``utility_accuracy`` (held-out, from the defended release), ``f1_drop`` (the undefended target's held-out
    F1 minus ``utility_f1``), ``label_kept`` (share of released labels equal to the model's),
    ``keeps_label_by_rule``. ``scores``: :func:`scores_frame` of each run with ``model``, ``classifier``
    ("mlp"), ``level``, ``sigma``. ``predictions``: :func:`release_predictions` of each run with ``model``,
    ``level``, ``sigma``, columns in :data:`leakage.claims.vp.PREDICTION_COLUMNS` order. Loads the models and
    attack artefacts (computes those missing).
    """
    import pandas as pd

    rows, score_frames, prediction_frames = [], [], []
    for arch, level, sigma, config in nmid_attacks(params):
        name = model_name(arch, params.codebert_path)
        base_f1 = train_vp_model(config.target, store).metrics["heldout_f1"]
        result = run_vp_attack(config, store)
        setting = {"model": name, "level": level, "sigma": sigma}
        score_frames.append(scores_frame(config, result).assign(classifier="mlp", **setting))
        prediction_frames.append(release_predictions(config, store).assign(**setting))
        for feature_set, m in result["metrics"].items():
            m = resolve_low_fprs(m)  # artefacts stored before the rule too
            rows.append({**setting, "attacker": ATTACKERS[feature_set], "auc": m["auc"], "auc_lo": m["auc_lo"],
                         "auc_hi": m["auc_hi"], "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"],
                         "utility_f1": result["utility"]["f1"], "utility_accuracy": result["utility"]["accuracy"],
                         "f1_drop": base_f1 - result["utility"]["f1"], "label_kept": result["label_kept"],
                         "keeps_label_by_rule": KEEPS_LABEL[level]})
    predictions = pd.concat(prediction_frames, ignore_index=True)[
        ["model", "level", "sigma", "function", "label", "undefended", "defended"]]
    return pd.DataFrame(rows), pd.concat(score_frames, ignore_index=True), predictions


def claim_scores(*frames: "pd.DataFrame") -> "pd.DataFrame":
    """The per-function scores the claims read (``vp-scores``): ``frames`` (:func:`mia_frames`' then
    :func:`nmid_frames`' scores) stacked, each (:data:`SCORE_KEYS`) once (the first wins: the undefended MLP
    run with every feature set before the NMID sweep's level "none", sigma 0), columns :data:`SCORE_KEYS`,
    ``is_member``, ``score``."""
    import pandas as pd

    keys = list(SCORE_KEYS)
    return pd.concat(frames, ignore_index=True).drop_duplicates(keys)[keys + ["is_member", "score"]]


# --------------------------------------------------------------------------- derived frames, for the text and figures


def baseline_share(utility: "pd.DataFrame", baseline: Mapping[str, Any]) -> "pd.Series":
    """Per target (rows of :func:`utility_frame` with role "target", index ``model``): the share of the target's
    held-out accuracy margin over the majority class that the bag-of-tokens baseline (:func:`run_vp_baseline`'s
    dict) reaches, (baseline accuracy - majority rate) / (target accuracy - majority rate); NaN where the target
    does not beat the majority class."""
    targets = utility[utility["role"] == "target"].set_index("model")
    margin = targets["heldout_accuracy"] - baseline["majority_rate"]
    return ((baseline["accuracy"] - baseline["majority_rate"]) / margin).where(margin > 0)


def frontier_frame(nmid: "pd.DataFrame") -> "pd.DataFrame":
    """The privacy / utility frontier of the NMID sweep (:func:`nmid_frames`' metrics): one row per ``model``,
    ``level``, ``sigma`` with ``auc`` (the stronger of the two attackers: a worst case for the defender),
    ``utility_f1`` and ``f1_drop`` (the defended release's, the same for both attackers)."""
    return (nmid.groupby(["model", "level", "sigma"], as_index=False)
            .agg(auc=("auc", "max"), utility_f1=("utility_f1", "first"), f1_drop=("f1_drop", "first")))


def label_only_frame(utility: "pd.DataFrame", mia: "pd.DataFrame") -> "pd.DataFrame":
    """Per target (index ``model``, in :func:`utility_frame`'s order): ``train_accuracy``, ``heldout_accuracy``,
    ``label_only_auc`` = 0.5 + (train - held-out accuracy) / 2 (the AUC of an attacker that sees only whether
    the target is right) and ``best_auc``, the undefended MLP attack's (:func:`mia_frames`) highest AUC over the
    feature sets. Raises ``KeyError`` for a target with no MLP attack row."""
    bound = utility[utility["role"] == "target"].set_index("model")[["train_accuracy", "heldout_accuracy"]]
    mlp = mia[mia["classifier"] == "mlp"]
    best = mlp.loc[mlp.groupby("model", sort=False)["auc"].idxmax()].set_index("model")
    bound["label_only_auc"] = 0.5 + (bound["train_accuracy"] - bound["heldout_accuracy"]) / 2
    bound["best_auc"] = [best.loc[name, "auc"] for name in bound.index]
    return bound
