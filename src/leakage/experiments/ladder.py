"""The ``lz_ladder`` chapter (the threat-model ladder): every attack of the book against part 1's targets, on one
set of candidates, from the baseline's one label query up to LiRA's reference models; its jobs, its plan and
the frames its notebook shows.

Artefacts of the chapter (all computed by the plan, :func:`plan_tasks`; the notebook only loads them):

- part 1's targets M-i, i in ``ladder_targets``, of every data set (:func:`leakage.experiments.part1.target_task`);
- on each target, one set of candidates (``max_per_side`` members and non-members, ``seed``), scored by
  (:func:`leakage.experiments.part1.attack_task`, artefact kind ``attack``):

  - label-only: part 1's baseline and transfer (shadow loss, misclassified lowest) attacks, configured as the
    ``lz_transfer`` chapter does; the boundary attack (HopSkipJump L2, or QEBA when lz_boundary runs no L2
    HopSkipJump), configured as the ``lz_boundary`` chapter does; Choquette-Choo et al.'s data-augmentation and
    random-noise attacks. With lz_boundary's ``max_per_side`` these are that chapter's Fig. 10 runs (the same
    artefacts, computed once in a whole build);
  - score-based: ML-Leaks (part 1's score-based attack, a top-3 MLP on a shadow model), RMIA and LiRA;
- every reference model of RMIA and LiRA, one task each (:class:`ReferenceModelJob`, task kind
  ``referencemodel``, store kind ``shadow``), so the plan's workers train them in parallel and the attacks find
  them in the store. RMIA and LiRA share them (both draw from D_shadow minus RMIA's population, as RMIA's paper
  shares one set of reference models between the attacks): each is trained once.

The frame functions (:func:`results`, :func:`ladder_table`, :func:`ladder_scores`, :func:`query_frame`,
:func:`roc_frame`, :func:`setup_frame`) load those artefacts through the store (cache hits once the plan ran).
Every function taking ``params`` expects the chapter's resolved parameters (:class:`LadderParameters`, from
:func:`leakage.chapters.chapter_parameters`); part 1's attacks are configured from ``params.transfer`` and the
boundary attack from ``params.boundary`` (the reused chapters' parameters, resolved with the same profile and
``--set`` values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from leakage.membership import MembershipResult
from leakage.attacks.augmentation import AugmentationAttack
from leakage.attacks.boundary import query_checkpoints
from leakage.attacks.lira import LiraAttack
from leakage.attacks.noise import NoiseAttack
from leakage.attacks.reference_models import reference_in_mask, reference_pool, train_reference_model
from leakage.attacks.rmia import RmiaAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.claims.lz_ladder import LABEL_ONLY, SCORE_BASED, SCORE_COLUMNS
from leakage.config import doc_field
from leakage.data.splits import NUM_TARGETS, table7_sizes
from leakage.experiments import boundary, part1
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, attack_context, candidates_of, run_attack
from leakage.experiments.parameters import LadderParameters, TargetModelParameters
from leakage.experiments.targets import Target, TargetConfig, train_target
from leakage.metrics import LOW_FPRS, resolved_tpr_at_fpr, roc_auc, roc_curve, shown_tpr, tpr_at_zero_fp
from leakage.store import Store

#: The ladder's attacks, in the book's order: label in the book -> its threat model (label-only ones first).
ATTACKS: dict[str, str] = {"baseline": LABEL_ONLY, "transfer": LABEL_ONLY, "boundary": LABEL_ONLY,
                           "augmentation": LABEL_ONLY, "noise": LABEL_ONLY, "ML-Leaks": SCORE_BASED,
                           "RMIA": SCORE_BASED, "LiRA": SCORE_BASED}
#: Attacks whose score after the first q label queries is recorded (``lz-queries``): label -> the extra holding it.
QUERY_ATTACKS: dict[str, str] = {"boundary": "checkpoint_dist", "augmentation": "checkpoint_score",
                                 "noise": "checkpoint_score"}
#: lz_boundary's labels of part 1's attacks that the ladder names otherwise: on the ladder "score-based" is a threat
#: model, so part 1's score-based attack goes by its name.
RENAMED: dict[str, str] = {"score-based": "ML-Leaks"}
#: Part 1's attacks on the ladder: label -> key of :func:`leakage.experiments.part1.transfer_runs`; lz_boundary's
#: Fig. 10 ones (:data:`leakage.experiments.boundary.PART1_ATTACKS`), relabelled by :data:`RENAMED`.
PART1_ATTACKS: dict[str, tuple[str, str]] = {RENAMED.get(label, label): key
                                             for label, key in boundary.PART1_ATTACKS.items()}
#: The parameters that name the targets M-0..M-5 (the same values give the same, cached, targets).
TARGET_PARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(TargetModelParameters) if f.name != "profile")
#: ``lz-ladder``'s metrics (its figure's panels, its table's columns with ``tpr_at_0fp``): column -> name.
LADDER_METRICS: dict[str, str] = {"auc": "AUC", "tpr_at_1pct_fpr": "TPR at 1% FPR",
                                  "tpr_at_0.1pct_fpr": "TPR at 0.1% FPR"}
#: Targets key (data set, i of M-i, attack label) -> a result.
ResultKey = tuple[str, int, str]


# --------------------------------------------------------------------------- configs from the parameters


def same_targets(params: LadderParameters) -> bool:
    """Whether this build's targets and candidates are lz_boundary's (then every part-1 and boundary run of the
    ladder is one of that chapter's Fig. 10 runs) and its targets lz_transfer's."""
    other, transfer = params.boundary, params.transfer
    return (all(getattr(other, k) == getattr(params, k) == getattr(transfer, k) for k in TARGET_PARAMETERS)
            and other.max_per_side == params.max_per_side)


def candidates(params: LadderParameters) -> CandidateConfig:
    """The candidates every attack of the ladder scores (``max_per_side`` members and non-members, ``seed``)."""
    return CandidateConfig(max_per_side=params.max_per_side, seed=params.seed)


def ladder_targets(params: LadderParameters) -> list[TargetConfig]:
    """M-i for every i of ``ladder_targets``, of every data set (data set by data set). Raises ``ValueError`` for
    an index that is no target."""
    wrong = [i for i in params.ladder_targets if not 0 <= i < NUM_TARGETS]
    if wrong:
        raise ValueError(f"ladder_targets must be in 0..{NUM_TARGETS - 1} (M-0..M-5), got {wrong}")
    configs = part1.targets(params)
    return [c for dataset in params.datasets for i in params.ladder_targets for c in configs
            if c.split.dataset == dataset and c.model_index == i]


def per_side(params: LadderParameters, config: TargetConfig) -> int:
    """Members (and non-members) the candidates of target ``config`` hold: ``max_per_side``, at most the smaller
    of its D_train and D_test (Table 7's sizes at the build's scale)."""
    train, test, _ = table7_sizes(config.split.dataset, config.split.scale)
    sides = min(train[config.model_index], test)
    return min(params.max_per_side, sides) if params.max_per_side else sides


def reference_shadow(params: LadderParameters, config: TargetConfig) -> ShadowConfig:
    """The reference models' config for target ``config``: its architecture and training (a reference model
    mimics the target, Carlini et al. Sec. IV), on as many samples as the target's D_train: online, the
    candidates a model holds (half of them, :func:`per_side`) plus the rest from D_shadow (at least 1);
    offline, all from D_shadow."""
    train, _, _ = table7_sizes(config.split.dataset, config.split.scale)
    size = train[config.model_index] - (per_side(params, config) if params.online else 0)
    return ShadowConfig(arch=config.arch, train=config.train, size=max(1, size), seed=params.seed)


def lira_config(params: LadderParameters, config: TargetConfig) -> LiraAttack.Config:
    """LiRA against target ``config``: ``reference_models`` models, ``online``, ``lira_global_variance``, no
    flip queries; its reference models are RMIA's (drawn from D_shadow minus RMIA's ``rmia_population``
    population samples, ``held_out``), so the ladder trains each reference model once for both attacks."""
    return LiraAttack.Config(n_models=params.reference_models, shadow=reference_shadow(params, config),
                             online=params.online, augment=False,
                             global_variance=params.lira_global_variance, held_out=params.rmia_population)


def rmia_config(params: LadderParameters, config: TargetConfig) -> RmiaAttack.Config:
    """RMIA against target ``config``: ``reference_models`` models (LiRA's, drawn from D_shadow minus the
    population), ``rmia_population`` population samples z, ``online``, gamma 1 and offline a 0.3 (the
    attack's defaults)."""
    return RmiaAttack.Config(n_models=params.reference_models, n_population=params.rmia_population,
                             shadow=reference_shadow(params, config), online=params.online)


def attack_runs(params: LadderParameters, config: TargetConfig) -> dict[str, tuple[str, Any]]:
    """Every attack of the ladder against target ``config``: label (:data:`ATTACKS`, in order) -> (registered
    attack name, its config)."""
    part1_runs = part1.transfer_runs(params.transfer)
    other = params.boundary
    boundary_attack = boundary.attack_configs(other)[boundary.l2_method(other), "l2"]
    budget = params.noise_queries
    runs = {label: part1_runs[key] for label, key in PART1_ATTACKS.items()}
    runs |= {"boundary": ("boundary", boundary_attack),
             "augmentation": ("augmentation", AugmentationAttack.Config(shift=params.augment_shift)),
             "noise": ("noise", NoiseAttack.Config(n_queries=budget, sigma=params.noise_sigma, seed=params.seed,
                                                   checkpoints=query_checkpoints(budget))),
             "RMIA": ("rmia", rmia_config(params, config)), "LiRA": ("lira", lira_config(params, config))}
    return {label: runs[label] for label in ATTACKS}


def setup_frame(params: LadderParameters) -> pd.DataFrame:
    """What each attack sees and spends, one row per attack of the first target: ``attack``, ``threat``,
    ``registered`` (name in the attack registry), ``setting`` (its main settings, in words)."""
    config = ladder_targets(params)[0]
    runs = attack_runs(params, config)
    shadow = reference_shadow(params, config)
    mode = "online" if params.online else "offline"
    words = {
        "baseline": "1 label query: member if the label is right",
        "transfer": "a shadow model trained on D_shadow relabelled by the target; its loss on the candidate",
        "boundary": f"{runs['boundary'][1].method}, {runs['boundary'][1].norm}, budget "
                    f"{runs['boundary'][1].budget:,} label queries",
        "augmentation": f"{runs['augmentation'][1].budget} label queries (flips and {params.augment_shift}-pixel "
                        "translations): share answered with the true label",
        "noise": f"{params.noise_queries:,} label queries with Gaussian noise, sigma {params.noise_sigma}",
        "ML-Leaks": "top-3 posteriors into an MLP trained on a shadow model's",
        "RMIA": f"{params.reference_models} reference models ({mode}), {params.rmia_population} population "
                f"samples, each on {shadow.size} samples",
        "LiRA": f"{params.reference_models} reference models ({mode}, "
                f"{'global' if params.lira_global_variance else 'per-example'} variance): RMIA's, each on "
                f"{shadow.size} samples",
    }
    return pd.DataFrame([{"attack": label, "threat": ATTACKS[label], "registered": runs[label][0],
                          "setting": words[label]} for label in ATTACKS])


# --------------------------------------------------------------------------- jobs and stages


@dataclass(frozen=True)
class ReferenceModelJob:
    """Train one reference model of a LiRA or RMIA run (:func:`leakage.attacks.reference_models.train_reference_model`;
    store kind ``shadow``): the attack then loads it from the store. Model j does not depend on how many models
    the attack uses, so attacks with different ``n_models`` share their first models."""

    target: TargetConfig = doc_field(TargetConfig(), "the attacked target (its D_shadow and candidates)")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the attack's candidates (online: half of them "
                                                               "train each model)")
    shadow: ShadowConfig = doc_field(ShadowConfig(), "the attack's reference-model config (seed of model 0's draws)")
    online: bool = doc_field(True, "online (the candidates of row j of the in-mask join model j) or offline")
    population: int = doc_field(0, "samples held out of D_shadow before the model's subset is drawn (RMIA's "
                                   "population; LiRA's held_out, the same in the ladder; 0 = none)")
    index: int = doc_field(0, "j, the model's index")


def reference_model_jobs(config: TargetConfig, attack: str, attack_config: Any,
                         chosen: CandidateConfig) -> list[ReferenceModelJob]:
    """The reference models of attack ``attack`` ("lira" or "rmia", with its Config) against target ``config``
    on candidates ``chosen``, one job per model. Raises ``ValueError`` for another attack."""
    if attack not in ("lira", "rmia"):
        raise ValueError(f"only LiRA and RMIA train reference models, got {attack!r}")
    population = attack_config.n_population if attack == "rmia" else attack_config.held_out
    return [ReferenceModelJob(config, chosen, attack_config.shadow, attack_config.online, population, j)
            for j in range(attack_config.n_models)]


def reference_model(job: ReferenceModelJob, store: Store) -> dict[str, Any]:
    """Train (or load) ``job``'s reference model exactly as the attack would: the same context
    (:func:`leakage.experiments.label_only.attack_context`), pool (D_shadow minus the held-out population,
    :func:`leakage.attacks.reference_models.reference_pool`, as RMIA and LiRA draw it) and in-mask row
    (:func:`leakage.attacks.reference_models.reference_in_mask`: row j of any N > j). Returns its stored values
    (``epochs``, ``size``, ``train_accuracy``)."""
    target = train_target(job.target, store)
    index, _ = candidates_of(target, job.candidates)
    context = attack_context(target, index, store)
    pool = reference_pool(len(context.shadow_x), job.population, job.shadow.seed)
    in_row = reference_in_mask(max(2, job.index + 1), len(index), job.shadow.seed, online=job.online)[job.index]
    _, values = train_reference_model(context, job.shadow, job.index, in_row, pool)
    return values


@stage(ReferenceModelJob)
def run_reference_model_job(job: ReferenceModelJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`ReferenceModelJob`: the model's training accuracy, size and epochs."""
    values = reference_model(job, store)
    return {k: values[k] for k in ("train_accuracy", "size", "epochs")}


# --------------------------------------------------------------------------- the plan


def plan_tasks(params: LadderParameters) -> list[Task]:
    """The ``lz_ladder`` chapter's tasks, each after the tasks it needs: the targets; on each, every attack of
    :func:`attack_runs` on the ladder's candidates, RMIA and LiRA after their reference models (one task per
    model, after the target)."""
    tasks: dict[str, Task] = {}

    def add(new: Task) -> Task:
        return tasks.setdefault(new.name, new)

    chosen = candidates(params)
    for config in ladder_targets(params):
        trained = add(part1.target_task(config))
        for name, attack_config in attack_runs(params, config).values():
            needs: list[Task] = [trained]
            if name in ("lira", "rmia"):
                jobs = reference_model_jobs(config, name, attack_config, chosen)
                needs += [add(task(job, (trained,))) for job in jobs]
            add(task(part1.AttackJob(config, name, attack_config, chosen), tuple(needs)))
    return list(tasks.values())


# --------------------------------------------------------------------------- the notebook's frames


def targets(params: LadderParameters, store: Store | None = None) -> dict[tuple[str, int], Target]:
    """(data set, i) -> trained target M-i, for every target of :func:`ladder_targets` (loaded from ``store``)."""
    store = store or Store()
    return {(c.split.dataset, c.model_index): train_target(c, store) for c in ladder_targets(params)}


def results(params: LadderParameters, store: Store | None = None,
            trained: Mapping[tuple[str, int], Target] | None = None) -> dict[ResultKey, MembershipResult]:
    """(data set, i, attack label) -> the attack's result on M-i (loaded from ``store``), for every target and
    every attack of :data:`ATTACKS`, on the same candidates; metrics with ``n_boot`` bootstrap resamples."""
    store = store or Store()
    trained = trained or targets(params, store)
    chosen = candidates(params)
    out = {}
    for (dataset, i), target in trained.items():
        for label, (name, config) in attack_runs(params, target.config).items():
            out[dataset, i, label] = run_attack(target, name, config, chosen, store, n_boot=params.n_boot)
    return out


def ladder_table(runs: Mapping[ResultKey, MembershipResult]) -> pd.DataFrame:
    """``lz-ladder``: one row per target and attack: ``dataset``, ``model``, ``threat``, ``attack``, ``auc`` and
    TPR at 1% and 0.1% FPR and at zero false positives (``tpr_at_0fp``), each with its 95% bootstrap CI (``_lo``,
    ``_hi``; :attr:`MembershipResult.metrics`: a TPR at an FPR below 1/n0 for n0 non-members is NaN),
    ``n_candidates``, ``n_non_members``, the cost: ``queries_per_candidate`` (label or posterior queries to the
    target charged to a candidate, measured), ``other_queries`` (queries for the attacker's own data: the transfer attack's
    relabelling of D_shadow, RMIA's population), ``models_trained`` (shadow or reference models the attacker
    trains) and ``seconds`` (when measured)."""
    rows = []
    metrics = ("auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "tpr_at_0fp")
    for (dataset, i, label), result in runs.items():
        m, cost = result.metrics, result.cost
        trained = cost.get("reference_models", 1.0 if cost.get("shadow_epochs") else 0.0)
        rows.append({"dataset": dataset, "model": f"M-{i}", "threat": ATTACKS[label], "attack": label,
                     **{f"{k}{s}": m[f"{k}{s}"] for k in metrics for s in ("", "_lo", "_hi")},
                     "n_candidates": len(result.scores), "n_non_members": int(m["n_non_members"]),
                     "queries_per_candidate": cost["queries_per_candidate"],
                     "other_queries": cost.get("shadow_queries", 0.0) + cost.get("population_queries", 0.0),
                     "models_trained": int(trained), "seconds": cost.get("seconds", np.nan)})
    return pd.DataFrame(rows)


def ladder_columns() -> list[str]:
    """The columns of ``lz-ladder``'s published table (of :func:`ladder_table`): ``dataset``, ``model``,
    ``threat``, ``attack``, every metric of :data:`LADDER_METRICS` and ``tpr_at_0fp`` with its CI bounds,
    ``n_candidates``, ``n_non_members``."""
    return ["dataset", "model", "threat", "attack",
            *[f"{m}{s}" for m in [*LADDER_METRICS, "tpr_at_0fp"] for s in ("", "_lo", "_hi")], "n_candidates",
            "n_non_members"]


def cost_table(table: pd.DataFrame) -> pd.DataFrame:
    """``lz-ladder-cost``: the cost columns of :func:`ladder_table` (``dataset``, ``model``, ``threat``,
    ``attack``, ``queries_per_candidate``, ``other_queries``, ``models_trained``, ``seconds``)."""
    return table[["dataset", "model", "threat", "attack", "queries_per_candidate", "other_queries", "models_trained",
                  "seconds"]]


def ladder_panels(table: pd.DataFrame) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """What each target's panels of ``lz-ladder`` show: (data set, model) -> (column, panel name) per metric of
    :data:`LADDER_METRICS`, in order; a TPR at an FPR below 1/n for the target's n non-members (the fewest of its
    attacks) is replaced by the TPR at zero false positives under its own name (:func:`leakage.metrics.shown_tpr`;
    two panels may then show it). ``table``: :func:`ladder_table`'s frame."""
    panels = {}
    for (dataset, model), part in table.groupby(["dataset", "model"], sort=False):
        n_non = int(part.n_non_members.min())
        # below 1/n the sample gives the TPR at zero false positives: shown as such
        panels[dataset, model] = [shown_tpr(metric, n_non) if metric in LOW_FPRS else (metric, name)
                                  for metric, name in LADDER_METRICS.items()]
    return panels


def query_metric(table: pd.DataFrame) -> tuple[str, str]:
    """(column, name) of ``lz-queries``' TPR panel, one statistic for every target: TPR at 1% FPR if each has the
    100 non-members it takes, else the TPR at zero false positives (:func:`leakage.metrics.shown_tpr`).
    ``table``: :func:`ladder_table`'s frame."""
    return shown_tpr("tpr_at_1pct_fpr", int(table.n_non_members.min()))


def non_members(table: pd.DataFrame, dataset: str, index: int) -> int:
    """Non-members of M-``index`` of ``dataset``'s candidates (from :func:`ladder_table`'s frame ``table``).
    Raises ``IndexError`` when the table has no such target."""
    rows = table.loc[(table.dataset == dataset) & (table.model == f"M-{index}"), "n_non_members"]
    return int(rows.iloc[0])


def ladder_scores(runs: Mapping[ResultKey, MembershipResult]) -> pd.DataFrame:
    """Per-candidate scores of every attack (the claims' frame, :mod:`leakage.claims.lz_ladder`): columns
    ``SCORE_COLUMNS`` (``dataset``, ``model``, ``threat``, ``attack``, ``candidate``, ``is_member``, ``score``);
    higher = member."""
    frames = [pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "threat": ATTACKS[label], "attack": label,
                            "candidate": result.indices, "is_member": result.is_member, "score": result.scores})
              for (dataset, i, label), result in runs.items()]
    return pd.concat(frames, ignore_index=True)[list(SCORE_COLUMNS)]


def query_frame(runs: Mapping[ResultKey, MembershipResult]) -> pd.DataFrame:
    """``lz-queries``: for the attacks of :data:`QUERY_ATTACKS`, the AUC and TPR at 1% FPR of the score after the
    first q label queries per candidate, for every recorded q (their ``checkpoints`` extras; no extra runs):
    ``dataset``, ``model``, ``attack``, ``queries``, ``auc``, ``tpr_at_1pct_fpr`` (NaN with fewer than 100
    non-members, :func:`leakage.metrics.resolved_tpr_at_fpr`), ``tpr_at_0fp`` (the TPR at zero false positives)."""
    rows = []
    for (dataset, i, label), result in runs.items():
        if label not in QUERY_ATTACKS:
            continue
        record, checkpoints = result.extras[QUERY_ATTACKS[label]], result.extras["checkpoints"]
        for k, q in enumerate(checkpoints):
            rows.append({"dataset": dataset, "model": f"M-{i}", "attack": label, "queries": int(q),
                         "auc": roc_auc(record[:, k], result.is_member),
                         "tpr_at_1pct_fpr": resolved_tpr_at_fpr(record[:, k], result.is_member, 0.01),
                         "tpr_at_0fp": tpr_at_zero_fp(record[:, k], result.is_member)})
    return pd.DataFrame(rows)


def roc_frame(runs: Mapping[ResultKey, MembershipResult], dataset: str, index: int) -> pd.DataFrame:
    """``lz-lowfpr``: the ROC curve of every attack on M-``index`` of ``dataset``: ``dataset``, ``model``,
    ``threat``, ``attack``, ``fpr``, ``tpr`` (one point per distinct score, from flagging nothing to all).
    Raises ``ValueError`` when the build did not attack that target."""
    frames = []
    for (d, i, label), result in runs.items():
        if d == dataset and i == index:
            fpr, tpr, _ = roc_curve(result.scores, result.is_member)
            frames.append(pd.DataFrame({"dataset": d, "model": f"M-{i}", "threat": ATTACKS[label], "attack": label,
                                        "fpr": fpr, "tpr": tpr}))
    if not frames:
        raise ValueError(f"this build did not attack M-{index} of {dataset}: choose one of its ladder_targets")
    return pd.concat(frames, ignore_index=True)
