"""The defence chapter's (``lz_defences``; Li & Zhang, section 6: Fig. 13 and Table 6) experiments: the defended
targets, the four attacks against each, MemGuard's defence classifier and the attacks behind it, as plan tasks,
and the frames the notebook shows, loaded through the store.

Every defended target of Fig. 13 is M-``victim`` of the first data set trained with one training-time defence
(:class:`leakage.defenses.DefenceConfig`, or dropout in the CNN), so it is a plain
:class:`~leakage.experiments.targets.TargetConfig` and its tasks are part 1's
(:class:`~leakage.experiments.part1.TargetJob`, :class:`~leakage.experiments.part1.AttackJob`). Table 6 puts
MemGuard (Jia et al., CCS 2019), an inference-time defence, in front of M-2 of each of its data sets: its
defence classifier is one artefact (kind ``memguard``, :class:`MemGuardJob`), each attack behind it another
(:class:`MemGuardAttackJob`). :func:`plan_tasks` lists them all; :func:`figure13` and :func:`table6` load them
(cache hits once the plan ran) into the notebook's frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd
import torch

from leakage.data import vision
from leakage.membership import MembershipResult
from leakage.attacks.boundary import BoundaryAttack
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import TransferAttack
from leakage.config import doc_field
from leakage.data.splits import make_splits
from leakage.defenses import DefenceConfig
from leakage.defenses.memguard import DefenceClassifier, MemGuardConfig, MemGuardModel
from leakage.device import describe_device
from leakage.experiments import part1
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.experiments.parameters import DefencesParameters
from leakage.experiments.targets import Target, TargetConfig, behind_memguard, paper_targets, train_target
from leakage.inputs import module_digest
from leakage.metrics import roc_auc
from leakage.store import Store
from leakage.train import predict_logits

#: Table 6's defended model: M-2 of each MemGuard data set.
MEMGUARD_VICTIM = 2


class Setting(NamedTuple):
    """One defence setting of Fig. 13: its ``defence`` name (``none`` = undefended), its ``strength`` as the tables
    write it, the training-time :class:`DefenceConfig` and the CNN's dropout rate."""

    defence: str
    strength: str
    config: DefenceConfig
    dropout: float


class Figure13(NamedTuple):
    """Fig. 13's frames: ``table`` (one row per setting and attack: accuracies, DP epsilon, AUC with its CI, TPR
    at 1% FPR), ``scores`` (one row per setting, attack and candidate) and ``accuracy`` (one row per setting and
    held-out example of D_test)."""

    table: pd.DataFrame
    scores: pd.DataFrame
    accuracy: pd.DataFrame


class Table6(NamedTuple):
    """Table 6's frames: ``table`` (one row per data set and attack: AUC without / with MemGuard) and ``scores``
    (one row per data set, attack, side and candidate)."""

    table: pd.DataFrame
    scores: pd.DataFrame


# --------------------------------------------------------------------------- configs from the parameters


def defence_settings(params: DefencesParameters) -> list[Setting]:
    """Fig. 13's settings from the chapter's parameters (``l2``, ``l1``, ``dropout``, ``augment``, ``dp_noise``,
    ``dp_epsilon``, ``adv_reg``): the undefended target first, then each defence at each strength, in that order."""
    settings = [Setting("none", "-", DefenceConfig(), 0.0)]
    settings += [Setting("L2", f"{v:g}", DefenceConfig(l2=v), 0.0) for v in params.l2]
    settings += [Setting("L1", f"{v:g}", DefenceConfig(l1=v), 0.0) for v in params.l1]
    settings += [Setting("dropout", f"{v:g}", DefenceConfig(), v) for v in params.dropout]
    settings += [Setting("augmentation", v, DefenceConfig(augment=v), 0.0) for v in params.augment]
    settings += [Setting("DP-SGD", f"noise {v:g}", DefenceConfig(dp_noise=v), 0.0) for v in params.dp_noise]
    settings += [Setting("DP-SGD", f"eps {v:g}", DefenceConfig(dp_epsilon=v), 0.0) for v in params.dp_epsilon]
    settings += [Setting("adv. reg.", f"{v:g}", DefenceConfig(adv_reg=v), 0.0) for v in params.adv_reg]
    return settings


def defended_target(params: DefencesParameters, setting: Setting) -> TargetConfig:
    """M-``victim`` of the first of ``datasets`` trained with ``setting``'s defence (``scale``, ``epochs``,
    ``min_steps``, ``width``, ``seed``, ``victim`` of the parameters)."""
    return paper_targets(params.datasets[0], scale=params.scale, epochs=params.epochs,
                         min_steps=params.min_steps, width=params.width, seed=params.seed,
                         defence=setting.config, dropout=setting.dropout)[params.victim]


def attack_runs(params: DefencesParameters, shadow: ShadowConfig) -> dict[str, tuple[str, Any, CandidateConfig]]:
    """Label -> (registered attack name, its config, candidates) of the chapter's four attacks, their shadows
    configured by ``shadow``: the baseline, the transfer attack, the boundary attack (``boundary_budget`` label
    queries, ``boundary_per_side`` members and non-members) and the score-based attack (ML-Leaks' top-3 MLP)."""
    seed = params.seed
    return {
        "baseline": ("baseline", None, CandidateConfig(seed=seed)),
        "transfer": ("transfer", TransferAttack.Config(shadow=shadow), CandidateConfig(seed=seed)),
        "boundary": ("boundary", BoundaryAttack.Config(budget=params.boundary_budget, seed=seed),
                     CandidateConfig(max_per_side=params.boundary_per_side, seed=seed)),
        "score-based": ("score_based", ScoreBasedAttack.Config(shadow=shadow), CandidateConfig(seed=seed)),
    }


def memguard_config(params: DefencesParameters) -> MemGuardConfig:
    """MemGuard's config in Table 6: the defaults, seeded by ``seed``."""
    return MemGuardConfig(seed=params.seed)


def memguard_target(params: DefencesParameters, dataset: str, scale: float) -> TargetConfig:
    """The undefended M-2 of ``dataset`` at ``scale`` that Table 6 puts behind MemGuard."""
    return paper_targets(dataset, scale=scale, epochs=params.epochs, min_steps=params.min_steps,
                         width=params.width, seed=params.seed)[MEMGUARD_VICTIM]


def memguard_attack_runs(params: DefencesParameters,
                         config: TargetConfig) -> dict[str, tuple[str, Any, CandidateConfig]]:
    """:func:`attack_runs` against ``config`` in Table 6: a smaller data set's D_shadow may hold fewer samples than
    ``shadow_size``, and then its shadows use all of it (size 0). Loads the data set to size its D_shadow."""
    size = params.shadow_size
    available = len(make_splits(config.split, len(vision.cached_data(config.split.dataset))).shadow)
    return attack_runs(params, dataclasses.replace(part1.shadow(params), size=size if size <= available else 0))


# --------------------------------------------------------------------------- MemGuard as artefacts


@dataclass(frozen=True)
class MemGuardJob:
    """Fit MemGuard's defence classifier in front of one target (artefact kind ``memguard``)."""

    target: TargetConfig = doc_field(TargetConfig(), "the undefended target's config")
    memguard: MemGuardConfig = doc_field(MemGuardConfig(), "MemGuard's config")


@dataclass(frozen=True)
class MemGuardKey:
    """What the ``memguard`` artefact is keyed by: the job plus the digest of the target's weights (a retrained
    target never gets another's classifier)."""

    target: TargetConfig = doc_field(TargetConfig(), "the undefended target's config")
    memguard: MemGuardConfig = doc_field(MemGuardConfig(), "MemGuard's config")
    model: str = doc_field("", "digest of the target's weights and buffers (leakage.inputs.module_digest)")


@dataclass(frozen=True)
class MemGuardAttackJob:
    """One attack against one target behind MemGuard (artefact kind ``attack``, keyed by the defended target)."""

    target: TargetConfig = doc_field(TargetConfig(), "the undefended target's config")
    memguard: MemGuardConfig = doc_field(MemGuardConfig(), "MemGuard's config")
    attack: str = doc_field("baseline", "registered attack name")
    config: Any = doc_field(None, "the attack's Config (None: its defaults)")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the evaluation candidates")


def guarded_target(target: Target, config: MemGuardConfig, store: Store | None = None) -> Target:
    """``target`` behind MemGuard (:func:`leakage.experiments.targets.behind_memguard`), its defence classifier
    loaded from ``store`` (kind ``memguard``; fitted and saved on a miss), so every process attacks the same
    weights. Raises ``ValueError`` for a target already behind an inference-time defence."""
    store = store or Store()
    if target.inference is not None:
        behind_memguard(target, config)  # raises its ValueError (the one message for a doubly defended target)
    device = next(target.model.parameters()).device

    def compute() -> dict[str, Any]:
        classifier = behind_memguard(target, config).model.classifier
        return {"classifier": classifier.state_dict(), "num_classes": target.data.num_classes}

    payload = store.cached("memguard", MemGuardKey(target.config, config, module_digest(target.model)), compute,
                           seed=config.seed, device=describe_device(device))
    classifier = DefenceClassifier(target.data.num_classes, config.hidden)
    classifier.load_state_dict(payload["classifier"])
    classifier = classifier.to(device).eval().requires_grad_(False)
    return dataclasses.replace(target, model=MemGuardModel(target.model, classifier, config).eval(), inference=config)


@stage(MemGuardJob)
def run_memguard_job(job: MemGuardJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`MemGuardJob`: the defence classifier's size (its weights stay in the store)."""
    guarded = guarded_target(train_target(job.target, store), job.memguard, store)
    return {"classifier_parameters": sum(p.numel() for p in guarded.model.classifier.parameters())}


@stage(MemGuardAttackJob)
def run_memguard_attack_job(job: MemGuardAttackJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`MemGuardAttackJob`: the attack's AUC behind MemGuard (the scores stay in the store)."""
    guarded = guarded_target(train_target(job.target, store), job.memguard, store)
    result = run_attack(guarded, job.attack, job.config, job.candidates, store, n_boot=1)
    return {"auc": roc_auc(result.scores, result.is_member)}


def memguard_task(config: TargetConfig, memguard: MemGuardConfig) -> Task:
    """The task fitting MemGuard's classifier in front of target ``config`` (after the target's task)."""
    return task(MemGuardJob(config, memguard), (part1.target_task(config),))


def memguard_attack_task(config: TargetConfig, memguard: MemGuardConfig, attack: str, attack_config: Any,
                         candidates: CandidateConfig) -> Task:
    """The task of one attack run on target ``config`` behind MemGuard (after its classifier's task)."""
    return task(MemGuardAttackJob(config, memguard, attack, attack_config, candidates),
                (memguard_task(config, memguard),))


# --------------------------------------------------------------------------- the plan


def plan_tasks(params: DefencesParameters) -> list[Task]:
    """The ``lz_defences`` chapter's tasks, each once: every defended target of Fig. 13 and the four attacks on it;
    for Table 6, each M-2, MemGuard's classifier in front of it and the four attacks without and with MemGuard."""
    tasks: dict[str, Task] = {}

    def add(*new: Task) -> None:
        for t in new:
            tasks.setdefault(t.name, t)

    shadow = part1.shadow(params)
    for setting in defence_settings(params):
        config = defended_target(params, setting)
        add(part1.target_task(config))
        add(*(part1.attack_task(config, name, attack_config, candidates)
              for name, attack_config, candidates in attack_runs(params, shadow).values()))
    memguard = memguard_config(params)
    for dataset, scale in params.memguard_sets:
        config = memguard_target(params, dataset, scale)
        add(part1.target_task(config), memguard_task(config, memguard))
        for name, attack_config, candidates in memguard_attack_runs(params, config).values():
            add(part1.attack_task(config, name, attack_config, candidates),
                memguard_attack_task(config, memguard, name, attack_config, candidates))
    return list(tasks.values())


# --------------------------------------------------------------------------- the notebook's frames


def attack_all(target: Target, runs: Mapping[str, tuple[str, Any, CandidateConfig]], store: Store | None = None,
               n_boot: int = 1000) -> dict[str, MembershipResult]:
    """Label -> result of each run of ``runs`` (:func:`attack_runs`) against ``target``, loaded from ``store`` (a
    miss computes it); ``n_boot`` bootstrap resamples behind each result's CIs. Scores: higher = member."""
    return {label: run_attack(target, name, config, candidates, store, n_boot=n_boot)
            for label, (name, config, candidates) in runs.items()}


def metric_columns(result: MembershipResult) -> dict[str, float]:
    """Fig. 13's metric columns of one result: ``auc`` with its 95% CI (``auc_lo``, ``auc_hi``), ``tpr_at_1pct_fpr``
    (from :attr:`MembershipResult.metrics`: NaN with fewer than 100 non-members, where no threshold has an FPR
    between 0 and 1%)."""
    m = result.metrics
    return {"auc": m["auc"], "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"], "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"]}


def candidate_scores(result: MembershipResult, **keys: Any) -> pd.DataFrame:
    """One row per candidate of ``result``: ``keys``, ``candidate`` (data-set index), ``is_member``, ``score``."""
    return pd.DataFrame({**keys, "candidate": result.indices, "is_member": result.is_member.astype(bool),
                         "score": result.scores})


def held_out_correct(target: Target) -> pd.DataFrame:
    """Whether ``target`` labels each example of its D_test correctly: ``example`` (data-set index), ``correct``
    (the accuracy claim's input; computed on the fly, not stored)."""
    test = target.splits.test
    with torch.no_grad():
        predicted = predict_logits(target.model, target.data.images(test)).argmax(1).cpu().numpy()
    return pd.DataFrame({"example": test, "correct": predicted == target.data.y[test].numpy()})


def figure13(params: DefencesParameters, store: Store | None = None) -> Figure13:
    """Li & Zhang, Fig. 13 on this build: the four attacks against M-``victim`` of the first data set under every
    setting of :func:`defence_settings`, loaded from ``store`` (None: the default store; cache hits once the
    plan ran). AUCs are on [0, 1], 0.5 = chance; ``dp_epsilon`` is inf for a target without DP-SGD."""
    store = store or Store()
    dataset, victim = params.datasets[0], params.victim
    runs = attack_runs(params, part1.shadow(params))
    rows, score_frames, accuracy_frames = [], [], []
    for setting in defence_settings(params):
        target = train_target(defended_target(params, setting), store)
        keys = {"dataset": dataset, "model": f"M-{victim}", "defence": setting.defence, "strength": setting.strength}
        for attack, result in attack_all(target, runs, store, params.n_boot).items():
            rows.append({**keys, "test_accuracy": target.metrics["test_accuracy"],
                         "train_accuracy": target.metrics["train_accuracy"],
                         "dp_epsilon": target.metrics["dp_epsilon"], "attack": attack, **metric_columns(result)})
            score_frames.append(candidate_scores(result, **keys, attack=attack))
        accuracy_frames.append(held_out_correct(target).assign(**keys))
    accuracy = pd.concat(accuracy_frames, ignore_index=True)[["dataset", "model", "defence", "strength", "example",
                                                              "correct"]]
    return Figure13(pd.DataFrame(rows), pd.concat(score_frames, ignore_index=True), accuracy)


def table6(params: DefencesParameters, store: Store | None = None) -> Table6:
    """Li & Zhang, Table 6 on this build: the four attacks against M-2 of each of ``memguard_sets`` without and with
    MemGuard, loaded from ``store`` (None: the default store; cache hits once the plan ran)."""
    store = store or Store()
    memguard = memguard_config(params)
    rows, score_frames = [], []
    for dataset, scale in params.memguard_sets:
        config = memguard_target(params, dataset, scale)
        target = train_target(config, store)
        runs = memguard_attack_runs(params, config)
        plain = attack_all(target, runs, store, params.n_boot)
        defended = attack_all(guarded_target(target, memguard, store), runs, store, params.n_boot)
        for attack in runs:
            rows.append({"dataset": dataset, "model": f"M-{MEMGUARD_VICTIM}", "attack": attack,
                         "auc_without": plain[attack].metrics["auc"],
                         "auc_with_memguard": defended[attack].metrics["auc"]})
            for side, result in (("without", plain[attack]), ("with", defended[attack])):
                score_frames.append(candidate_scores(result, dataset=dataset, model=f"M-{MEMGUARD_VICTIM}",
                                                     attack=attack, memguard=side))
    return Table6(pd.DataFrame(rows), pd.concat(score_frames, ignore_index=True))


def setting_labels(table: pd.DataFrame) -> pd.Series:
    """``defence strength`` of each row of a Fig. 13 table (the x axis of its plots)."""
    return table["defence"] + " " + table["strength"].astype(str)


def dp_guarantees(table: pd.DataFrame) -> pd.DataFrame:
    """The DP-SGD guarantees of a Fig. 13 table: one row per DP-SGD setting (``strength``, ``dp_epsilon`` at
    delta = 1/|D_train| from opacus' RDP accountant, ``test_accuracy``); empty when no setting uses DP-SGD."""
    rows = table[table.defence == "DP-SGD"].drop_duplicates("strength")
    return rows[["strength", "dp_epsilon", "test_accuracy"]]


def frontier(table: pd.DataFrame) -> pd.DataFrame:
    """The privacy/utility frontier of a Fig. 13 table: one row per setting (``setting``, ``defence``,
    ``strength``, ``test_accuracy``), its strongest attack's AUC and name (``best_attack_auc``, ``best_attack``),
    the highest TPR at 1% FPR of any attack whose non-members resolve it (``best_tpr_at_1pct_fpr``; NaN if none
    does) and ``pareto``: True when no other setting
    is both more accurate and less attackable (by the best AUC)."""
    table = table.assign(setting=setting_labels(table))
    best = table.loc[table.groupby("setting", sort=False)["auc"].idxmax()]
    tpr = table.groupby("setting", sort=False)["tpr_at_1pct_fpr"].max().rename("best_tpr_at_1pct_fpr")
    out = best.set_index("setting")[["defence", "strength", "test_accuracy", "auc", "attack"]].join(tpr)
    out = out.rename(columns={"auc": "best_attack_auc", "attack": "best_attack"}).reset_index()
    ordered = out.sort_values(["test_accuracy", "best_attack_auc"], ascending=[False, True])
    out["pareto"] = out["setting"].isin(
        ordered[ordered["best_attack_auc"] <= ordered["best_attack_auc"].cummin()]["setting"])
    return out
