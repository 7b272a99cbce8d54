"""The ``llm_mia`` chapter's frames: tidy tables loaded from the store after the plan ran (they compute nothing
but summaries of the stored scores)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from leakage.config import describe
from leakage.experiments.llm.configs import REFERENCES, LLMRunConfig, LMTargetConfig, pools_for
from leakage.experiments.llm.jobs import run_configs
from leakage.experiments.llm.runs import LLMRun, attack_specs, describe_target, mink_table, run_llm, summary_table
from leakage.experiments.parameters import LLMParameters
from leakage.lm.attacks import make_attack
from leakage.lm.models import SCRATCH
from leakage.metrics import roc_auc, roc_curve
from leakage.store import Store


#: The columns of the chapter's AUC tables (``llm-auc``; ``llm-epochs`` adds ``loss_gap``), in order.
AUC_COLUMNS = ["target", "epoch", "attack", "auc", "auc_lo", "auc_hi", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr",
               "tpr_at_0fp", "best_f1", "n_members", "n_non_members"]


def load_runs(params: LLMParameters, store: Store | None = None) -> dict[tuple[str, int], LLMRun]:
    """(target name, epoch) -> :class:`LLMRun` of every run of :func:`run_configs` (cache hits after the plan ran)."""
    store = store or Store()
    return {key: run_llm(config, store) for key, config in run_configs(params).items()}


def last_runs(runs: Mapping[tuple[str, int], LLMRun]) -> dict[str, LLMRun]:
    """Target name -> its run at its last training epoch."""
    return {name: run for (name, epoch), run in runs.items() if epoch == run.config.target.train.epochs}


def attack_labels(min_k: float) -> list[str]:
    """Every attack's label in table order (both references), e.g. ``"loss"``, ``"min-k (20%)"``."""
    return [make_attack(n, **p).label for n, p in attack_specs(LLMRunConfig(references=REFERENCES, min_k=min_k))]


def pools_table(targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """The pools of each target: rows = pool statistics (passages per pool, duplicates dropped, ...) and the
    passage length in corpus tokens, columns = targets."""
    rows = [{"target": name, "passage tokens": config.pools.passage_words,
             **pools_for(config.pools, config.corpus_digest).stats} for name, config in targets.items()]
    return pd.DataFrame(rows).set_index("target").T.rename_axis("pools")


def config_table(targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """Every field of each target's config as hashed into its key: columns ``field``, one per target, ``doc``
    (values as strings; fields that do not apply to a target, such as a scratch architecture of a pretrained
    model or LoRA fields of a full training, left empty)."""
    described = []
    for name, config in targets.items():
        rows = pd.DataFrame(describe(config)).assign(target=name)
        rows = rows[~rows["field"].str.startswith("scratch.") | (config.model == SCRATCH)]
        described.append(rows[~rows["field"].str.startswith("train.lora") | (config.train.method == "lora")])
    table = pd.concat(described)
    table["value"] = table["value"].astype(str)
    table = table.pivot_table(index=["field", "doc"], columns="target", values="value", aggfunc="first",
                              sort=False).fillna("")
    return table.reset_index()[["field", *targets, "doc"]]


def targets_table(targets: Mapping[str, LMTargetConfig], store: Store | None = None) -> pd.DataFrame:
    """One row per target: model, method, epochs, learning rate and :func:`describe_target`'s sizes (parameters,
    training texts, final training loss in nats per token, training seconds)."""
    return pd.DataFrame([{"target": name, "model": config.model, "method": config.train.method,
                          "epochs": config.train.epochs, "lr": config.train.lr, **describe_target(config, store)}
                         for name, config in targets.items()])


def attack_table(runs: Mapping[tuple[str, int], LLMRun], n_boot: int = 1000) -> pd.DataFrame:
    """One row per (target, epoch, attack): :func:`summary_table`'s metrics (AUC with its bootstrap CI, TPR at
    1% and 0.1% FPR and at zero false positives, best F1, counts) and ``loss_gap``, the mean loss (nats per token)
    of non-members minus that of members under the target at that epoch (> 0: members fit better)."""
    rows = []
    for (name, _), run in runs.items():
        table = summary_table(run, name, n_boot=n_boot)
        loss = -run.scores["loss"]
        table["loss_gap"] = float(loss[~run.is_member].mean() - loss[run.is_member].mean())
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def last_epoch_rows(table: pd.DataFrame, targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """The rows of ``table`` (columns ``target``, ``epoch``) at each target's last training epoch, re-indexed."""
    last = table["target"].map({name: config.train.epochs for name, config in targets.items()})
    return table[table["epoch"] == last].reset_index(drop=True)


def earliest_epoch_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` (columns ``target``, ``epoch``) at each target's earliest epoch in it (the least
    memorised), index kept."""
    return table[table["epoch"] == table.groupby("target")["epoch"].transform("min")]


def earliest_auc_table(table: pd.DataFrame, mink_attack: str) -> pd.DataFrame:
    """Per target (in ``table``'s order), the AUCs at its earliest epoch (the least memorised) that the chapter
    discusses: ``target``, ``epoch``, ``loss``, ``mink`` (attack ``mink_attack``), ``reference`` (the label of the
    best reference attack) with its ``reference_auc``, and ``neighbourhood``.

    ``table``: :func:`attack_table`'s rows (columns ``target``, ``epoch``, ``attack``, ``auc``); raises ``KeyError``
    when a target has no LOSS, ``mink_attack`` or neighbourhood row, ``ValueError`` when it has no reference attack.
    """
    rows = []
    for name, group in earliest_epoch_rows(table).groupby("target", sort=False):
        auc = group.set_index("attack")["auc"]
        refs = {a: v for a, v in auc.items() if a.startswith("reference")}
        best = max(refs, key=refs.get)
        rows.append({"target": name, "epoch": group["epoch"].iloc[0], "loss": auc["loss"], "mink": auc[mink_attack],
                     "reference": best, "reference_auc": refs[best], "neighbourhood": auc["neighbourhood"]})
    return pd.DataFrame(rows)


def roc_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """ROC curve points (``target``, ``attack``, ``fpr``, ``tpr``) of every attack against each target's run."""
    rows = []
    for name, run in final.items():
        for label, scores in run.scores.items():
            fpr, tpr, _ = roc_curve(scores, run.is_member)
            rows += [{"target": name, "attack": label, "fpr": f, "tpr": t} for f, t in zip(fpr, tpr)]
    return pd.DataFrame(rows)


def scores_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """Every text's score under every attack at every attacked epoch: ``target``, ``epoch``, ``attack``, ``text``
    (index among the target's evaluation texts, the same at every epoch), ``is_member``, ``score`` (higher =
    member). The claims' input (:func:`leakage.claims.llm.llm_claims`)."""
    return pd.concat([pd.DataFrame({"target": name, "epoch": epoch, "attack": label, "text": np.arange(len(scores)),
                                    "is_member": run.is_member, "score": scores})
                      for (name, epoch), run in runs.items() for label, scores in run.scores.items()],
                     ignore_index=True)


def mink_sweep_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """AUC of Min-k% and Min-k%++ for every k of the grid (:func:`mink_table`), every target and epoch."""
    return pd.concat([mink_table(run, name).assign(epoch=epoch) for (name, epoch), run in runs.items()],
                     ignore_index=True)


def cost_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """Forward passes each model actually ran for the runs: per (target, epoch, model) the texts forwarded, the
    batched calls, the seconds of the run that made the statistics, the neighbours per text; a reference's
    statistics, shared by every epoch, are listed once."""
    rows = []
    for (name, epoch), run in runs.items():
        rec = run.record["target_record"]
        rows.append({"target": name, "epoch": epoch, "model": "target", "texts forwarded": rec["forward_texts"],
                     "batched calls": rec["forward_calls"], "seconds": rec["seconds"],
                     "neighbours per text": run.config.neighbours.n})
        for ref, rec in run.record["reference_records"].items():
            rows.append({"target": name, "epoch": epoch, "model": f"reference ({ref})",
                         "texts forwarded": rec["forward_texts"], "batched calls": rec["forward_calls"],
                         "seconds": rec["seconds"], "neighbours per text": 0})
    return pd.DataFrame(rows).drop_duplicates(subset=["target", "model", "texts forwarded", "seconds"])


def neighbourhood_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """Per target: the fractions of non-members and of members whose neighbours have a higher mean loss than the
    text itself (neighbourhood score > 0), columns ``target``, ``non_members``, ``members``."""
    return pd.DataFrame([{"target": name,
                          "non_members": float(np.mean(run.scores["neighbourhood"][~run.is_member] > 0)),
                          "members": float(np.mean(run.scores["neighbourhood"][run.is_member] > 0))}
                         for name, run in final.items()])


def zlib_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """Per target: AUC of the zlib and LOSS attacks and the Spearman correlation of each score with the
    compressed length (bytes) of the texts as scored: ``target``, ``zlib_auc``, ``loss_auc``, ``rho_zlib``,
    ``rho_loss``."""
    from scipy.stats import spearmanr

    return pd.DataFrame([{"target": name, "zlib_auc": roc_auc(run.scores["zlib"], run.is_member),
                          "loss_auc": roc_auc(run.scores["loss"], run.is_member),
                          "rho_zlib": spearmanr(run.scores["zlib"], run.zlib_lengths).statistic,
                          "rho_loss": spearmanr(run.scores["loss"], run.zlib_lengths).statistic}
                         for name, run in final.items()])
