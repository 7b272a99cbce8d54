"""The ``lz_boundary`` chapter (Li & Zhang, sections 4 and 5): its jobs, its plan and the frames its notebook shows.

Artefacts of the chapter (all computed by the plan, :func:`plan_tasks`; the notebook only loads them):

- part 1's targets M-0..M-5 of every data set (:func:`leakage.experiments.part1.target_task`);
- the boundary attack (HopSkipJump per norm of ``attack_norms``, QEBA with L2) on every target, and part 1's
  baseline, transfer (loss, lowest) and score-based attacks on the same candidates
  (:func:`leakage.experiments.part1.attack_task`, artefact kind ``attack``);
- Algorithm 3: the random uniform inputs attacked through the ``reference_target``'s oracle
  (:class:`ReferenceJob`, kind ``boundary_reference``) and the F1 of every top-t percentile threshold
  (:class:`ThresholdSweepJob`, kind ``threshold_sweep``);
- certified radii (randomized smoothing) of candidates for every target and for part 1's relabelled shadow
  model of it (:class:`CertifyJob`, kind ``certify``);
- the t-SNE of the ``tsne_target``'s last hidden layer (:class:`TsneJob`, kind ``tsne``).

The frame functions (:func:`boundary_runs`, :func:`attack_table`, :func:`candidate_frames`,
:func:`perturbations`, :func:`unflipped_table`, :func:`norm_auc_frame`, :func:`query_curve`,
:func:`comparison`, :func:`threshold_curve`, :func:`certified_radius_tables`, :func:`tsne_frame`) load those
artefacts through the store (cache hits once the plan ran) and return what the notebook tables and plots.
Every function taking ``params`` expects the notebook's resolved parameters (the names of its parameters cell).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakage.analysis import tsne_embedding
from leakage.membership import MembershipResult
from leakage.attacks.boundary import (BoundaryAttack, ReferenceRun, percentile_threshold, query_checkpoints,
                                      random_reference, unflipped_by_class)
from leakage.attacks.shadow import ShadowRun
from leakage.attacks.transfer import TransferAttack
from leakage.parameters import other_chapter_parameters
from leakage.certify import CertifyConfig, CertifyRun, certified_radii
from leakage.claims.lz_boundary import COMPARE_COLUMNS, CURVE_COLUMNS, RADII_COLUMNS, REFERENCE_COLUMNS, \
    SCORE_COLUMNS
from leakage.config import describe, doc_field
from leakage.device import describe_device
from leakage.experiments import part1
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, attack_context, candidates_of, run_attack
from leakage.experiments.targets import Target, TargetConfig, train_target
from leakage.inputs import module_digest
from leakage.metrics import best_f1, f1_at_threshold, roc_auc
from leakage.store import Store
from leakage.train import predict_logits

#: Perturbation measures of the boundary attack's extras -> their names in the book.
NORM_NAMES: dict[str, str] = {"l0": "L0", "l1": "L1", "l2": "L2", "linf": "L∞"}
#: Algorithm 3's sweep: the top-t percentiles (%) a threshold is taken at (Fig. 11's x-axis).
PERCENTILES: tuple[int, ...] = tuple(range(0, 101, 5))
#: Fig. 10's attacks from part 1: label in the book -> key of :func:`leakage.experiments.part1.transfer_runs`.
PART1_ATTACKS: dict[str, tuple[str, str]] = {"baseline": ("baseline", "-"), "transfer": ("transfer", "loss, lowest"),
                                             "score-based": ("score-based", "top-3 MLP")}
#: Targets key (data set, i of M-i) -> a run; ``RunKey``: (data set, i, method, attack norm).
RunKey = tuple[str, int, str, str]


# --------------------------------------------------------------------------- configs from the parameters


def candidates(params: Mapping[str, Any]) -> CandidateConfig:
    """The attacked candidates of every target (``max_per_side`` members and non-members, ``seed``)."""
    return CandidateConfig(max_per_side=params["max_per_side"], seed=params["seed"])


def attack_configs(params: Mapping[str, Any]) -> dict[tuple[str, str], BoundaryAttack.Config]:
    """(method, attack norm) -> boundary attack config: HopSkipJump for every norm of ``attack_norms``, then
    QEBA (L2, subspace ``resize`` at ``qeba_ratio``); budgets ``hsj_budget`` / ``qeba_budget`` label queries
    per candidate; query checkpoints include 131 and 2,500 (the paper quotes both)."""
    common = dict(max_iter=params["max_iter"], init_eval=min(params["init_eval"], params["max_eval"]),
                  max_eval=params["max_eval"], seed=params["seed"])
    budget = params["hsj_budget"]
    configs: dict[tuple[str, str], BoundaryAttack.Config] = {
        ("HopSkipJump", norm): BoundaryAttack.Config(method="hopskipjump", norm=norm, budget=budget,
                                                     checkpoints=query_checkpoints(budget, include=(131, 2500)),
                                                     **common)
        for norm in params["attack_norms"]}
    budget = params["qeba_budget"]
    configs["QEBA", "l2"] = BoundaryAttack.Config(method="qeba", norm="l2", budget=budget, subspace="resize",
                                                  subspace_ratio=params["qeba_ratio"],
                                                  checkpoints=query_checkpoints(budget, include=(131, 2500)), **common)
    return configs


def l2_method(params: Mapping[str, Any]) -> str:
    """The L2 boundary attack Figs. 10 and 11 use: ``"HopSkipJump"``, or ``"QEBA"`` when ``attack_norms`` lacks
    ``"l2"``."""
    return "HopSkipJump" if "l2" in params["attack_norms"] else "QEBA"


def certify_config(params: Mapping[str, Any]) -> CertifyConfig:
    """Randomized-smoothing settings of Tables 3 and 5 (``certify_sigma``, ``_n0``, ``_n``, ``_alpha``, ``seed``)."""
    return CertifyConfig(sigma=params["certify_sigma"], n0=params["certify_n0"], n=params["certify_n"],
                         alpha=params["certify_alpha"], seed=params["seed"])


def part1_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``lz_transfer`` chapter's parameters in this build (its profile and ``--set`` values): part 1's attacks
    of Fig. 10 and its shadow models of Table 5 are built from them, so they name the same artefacts."""
    return other_chapter_parameters("lz_transfer", params)


def part1_runs(params: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Fig. 10's part-1 attacks: label -> (registered attack name, config), configured as ``lz_transfer`` does."""
    runs = part1.transfer_runs(part1_parameters(params))
    return {label: runs[key] for label, key in PART1_ATTACKS.items()}


def same_targets(params: Mapping[str, Any]) -> bool:
    """Whether this build's targets are the ``lz_transfer`` chapter's (same data sets, sizes, training, seed)."""
    other = part1_parameters(params)
    return all(other[k] == params[k] for k in ("datasets", "scale", "epochs", "min_steps", "width", "seed"))


def reference_run(params: Mapping[str, Any], config: TargetConfig) -> ReferenceRun:
    """Algorithm 3's run on target ``config``: ``reference_samples`` uniform inputs, the L2 boundary attack."""
    return ReferenceRun(target=config, attack=attack_configs(params)[l2_method(params), "l2"],
                        num_samples=params["reference_samples"], seed=params["seed"])


def setup_frame(params: Mapping[str, Any]) -> pd.DataFrame:
    """The set-up table: every field of the HopSkipJump config (L2 if run) beside QEBA's, as hashed into their
    keys; columns ``field``, ``value (HopSkipJump)``, ``doc``, ``value (QEBA)`` (values as text)."""
    configs = attack_configs(params)
    hsj = configs.get(("HopSkipJump", "l2")) or next(c for (m, _), c in configs.items() if m == "HopSkipJump")
    setup = pd.DataFrame(describe(hsj))
    setup = setup.merge(pd.DataFrame(describe(configs["QEBA", "l2"]))[["field", "value"]], on="field",
                        suffixes=(" (HopSkipJump)", " (QEBA)"))
    setup["value (HopSkipJump)"] = setup["value (HopSkipJump)"].astype(str)
    setup["value (QEBA)"] = setup["value (QEBA)"].astype(str)
    return setup


# --------------------------------------------------------------------------- jobs and stages


@dataclass(frozen=True)
class ReferenceJob:
    """Algorithm 3: attack uniform random inputs through one target's oracle (artefact kind
    ``boundary_reference``, :func:`leakage.attacks.boundary.random_reference`)."""

    run: ReferenceRun = doc_field(ReferenceRun(), "the random inputs, the attack and the target (run.target)")


@dataclass(frozen=True)
class ThresholdSweepJob:
    """Algorithm 3's threshold sweep: F1 on the real candidates of the top-t percentile threshold of the random
    inputs' perturbations, for every t (artefact kind ``threshold_sweep``)."""

    reference: ReferenceRun = doc_field(ReferenceRun(), "the random-reference run (its target and attack)")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the real candidates the thresholds are tried on")
    percentiles: tuple[int, ...] = doc_field(PERCENTILES, "top-t percentiles (%) of the sweep")
    chosen_percentile: float = doc_field(50, "the t the book picks (Fig. 11's star)")
    model: str = doc_field("", "digest of the target's weights (filled in when computed)")


@dataclass(frozen=True)
class CertifyJob:
    """Certified radii of candidates for a target, or for part 1's relabelled shadow model of it (artefact kind
    ``certify``, :func:`leakage.certify.certified_radii`)."""

    target: TargetConfig = doc_field(TargetConfig(), "the target whose candidates are certified")
    certified: str = doc_field("target", "which model is certified: 'target' or 'shadow'")
    transfer: Any = doc_field(None, "for 'shadow': the transfer attack's config whose shadow is certified")
    samples: CandidateConfig = doc_field(CandidateConfig(), "the certified members and non-members")
    certify: CertifyConfig = doc_field(CertifyConfig(), "randomized-smoothing settings")

    def __post_init__(self) -> None:
        if self.certified not in ("target", "shadow"):
            raise ValueError(f"certified must be 'target' or 'shadow', got {self.certified!r}")
        if self.certified == "shadow" and not isinstance(self.transfer, TransferAttack.Config):
            raise ValueError("certifying the shadow needs the transfer attack's config (transfer=...)")


@dataclass(frozen=True)
class TsneJob:
    """Fig. 12: a 2-D t-SNE of the last hidden layer of a target on its members and non-members (artefact kind
    ``tsne``)."""

    target: TargetConfig = doc_field(TargetConfig(), "the embedded target")
    samples: CandidateConfig = doc_field(CandidateConfig(), "the embedded members and non-members")
    seed: int = doc_field(0, "seed of the t-SNE")
    model: str = doc_field("", "digest of the target's weights (filled in when computed)")


def _reference(run: ReferenceRun, store: Store) -> tuple[Target, dict[str, np.ndarray]]:
    target = train_target(run.target, store)
    return target, random_reference(target.model, target.data.input_shape, run, store)


@stage(ReferenceJob)
def run_reference_job(job: ReferenceJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`ReferenceJob`: how many random inputs changed label, their median L2 perturbation."""
    _, reference = _reference(job.run, store)
    return {"flipped": int(np.sum(reference["flipped"])), "median_l2": float(np.median(reference["l2"]))}


def threshold_sweep(job: ThresholdSweepJob, store: Store) -> dict[str, Any]:
    """The artefact of ``job`` (computed unless stored): arrays ``top_t_percent`` (T,) int, ``threshold`` (T,)
    (L2 perturbation), ``f1`` (T,) in [0, 1]; values ``best_f1`` (any threshold on these candidates),
    ``chosen_threshold``, ``chosen_f1``, ``threshold_from`` (random inputs behind the threshold) and
    ``random_median_l2`` (their median L2).

    As in the paper's Algorithm 3 (line 9), a random input enters the threshold only once its label changed;
    when none changed, all of them are used with the largest distance searched. Scores: the L2 boundary attack
    (``job.reference.attack``) on ``job.candidates``, higher = member; a candidate is flagged as a member when
    its perturbation is at least the threshold. Raises ``ValueError`` for a percentile outside [0, 100].
    """
    target, reference = _reference(job.reference, store)
    key = dataclasses.replace(job, model=module_digest(target.model))

    def compute() -> dict[str, Any]:
        result = run_attack(target, "boundary", job.reference.attack, job.candidates, store, n_boot=1)
        best, _ = best_f1(result.scores, result.is_member)
        flipped = reference["flipped"].astype(bool)
        pool = reference["l2"][flipped] if flipped.any() else reference["l2"]
        thresholds = np.array([percentile_threshold(pool, t) for t in job.percentiles], dtype=np.float64)
        chosen = percentile_threshold(pool, job.chosen_percentile)
        return {"top_t_percent": np.asarray(job.percentiles, dtype=np.int64), "threshold": thresholds,
                "f1": np.array([f1_at_threshold(result.scores, result.is_member, t) for t in thresholds]),
                "best_f1": best, "chosen_threshold": chosen,
                "chosen_f1": f1_at_threshold(result.scores, result.is_member, chosen),
                "threshold_from": int(len(pool)), "random_median_l2": float(np.median(pool))}

    return store.cached("threshold_sweep", key, compute, seed=job.reference.seed)


@stage(ThresholdSweepJob)
def run_threshold_sweep_job(job: ThresholdSweepJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`ThresholdSweepJob`: the chosen threshold's F1 and the best F1."""
    sweep = threshold_sweep(job, store)
    return {"chosen_f1": sweep["chosen_f1"], "best_f1": sweep["best_f1"]}


def certified(job: CertifyJob, store: Store) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(candidate indices (2n,), is_member (2n,), :func:`leakage.certify.certified_radii`'s arrays: ``radius``
    (2n,) >= 0 in L2 pixel units, ``correct`` (2n,) bool, ...) of ``job``, computed unless stored.

    The shadow is part 1's relabelled shadow of the transfer attack (``job.transfer``), loaded from the store
    (trained first if missing); members and non-members are the target's.
    """
    target = train_target(job.target, store)
    index, member = candidates_of(target, job.samples)
    x = target.data.images(torch.as_tensor(index))
    y = target.data.y[torch.as_tensor(index)]
    if job.certified == "target":
        model, key = target.model, target.config
    else:
        model, _ = TransferAttack(job.transfer).shadow(attack_context(target, index, store))
        key = ShadowRun(data=target.config, shadow=job.transfer.shadow, purpose="transfer")
    out = certified_radii(model, x, y, CertifyRun(model=key, samples=job.samples, certify=job.certify), store)
    return index, member, out


@stage(CertifyJob)
def run_certify_job(job: CertifyJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`CertifyJob`: the average certified radius of members and of non-members."""
    _, member, out = certified(job, store)
    return {"acr_member": float(out["radius"][member].mean()), "acr_non_member": float(out["radius"][~member].mean())}


def tsne(job: TsneJob, store: Store) -> dict[str, Any]:
    """The artefact of ``job`` (computed unless stored): arrays ``index`` (2n,) data-set indices (members, then
    non-members), ``is_member`` (2n,), ``label`` (2n,) true class, ``predicted`` (2n,) the target's label,
    ``xy`` (2n, 2) the t-SNE coordinates (:func:`leakage.analysis.tsne_embedding`, seed ``job.seed``) of the
    target's last hidden layer (``model.embed``)."""
    target = train_target(job.target, store)
    key = dataclasses.replace(job, model=module_digest(target.model))
    device = next(target.model.parameters()).device

    def compute() -> dict[str, Any]:
        index, member = candidates_of(target, job.samples)
        x = target.data.images(torch.as_tensor(index))
        y = target.data.y[torch.as_tensor(index)].numpy()
        with torch.no_grad():
            hidden = torch.cat([target.model.embed(x[k:k + 1024].to(device)) for k in range(0, len(x), 1024)])
        predicted = predict_logits(target.model, x).argmax(1).cpu().numpy()
        return {"index": np.asarray(index), "is_member": np.asarray(member, dtype=bool), "label": np.asarray(y),
                "predicted": predicted, "xy": tsne_embedding(hidden.cpu().numpy(), job.seed)}

    return store.cached("tsne", key, compute, seed=job.seed, device=describe_device(device))


@stage(TsneJob)
def run_tsne_job(job: TsneJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`TsneJob`: how many points were embedded."""
    return {"points": int(len(tsne(job, store)["index"]))}


# --------------------------------------------------------------------------- the plan


def _target(params: Mapping[str, Any], dataset: str, index: int) -> TargetConfig:
    """M-``index`` of ``dataset`` as this build configures it; ``ValueError`` for an index that is no target."""
    found = [c for c in part1.targets({**params, "datasets": [dataset]}) if c.model_index == index]
    if not found:
        raise ValueError(f"there is no target M-{index} (targets are M-0..M-5)")
    return found[0]


def reference_jobs(params: Mapping[str, Any]) -> list[ReferenceJob]:
    """Algorithm 3's random-reference run of every data set, on M-``reference_target``."""
    return [ReferenceJob(reference_run(params, _target(params, d, params["reference_target"])))
            for d in params["datasets"]]


def sweep_job(params: Mapping[str, Any], reference: ReferenceJob) -> ThresholdSweepJob:
    """The threshold sweep of ``reference`` on this chapter's candidates, chosen at ``chosen_percentile``."""
    return ThresholdSweepJob(reference=reference.run, candidates=candidates(params), percentiles=PERCENTILES,
                             chosen_percentile=params["chosen_percentile"])


def certify_jobs(params: Mapping[str, Any], config: TargetConfig) -> dict[str, CertifyJob]:
    """Tables 3 and 5 on target ``config``: ``"target"`` and ``"shadow"`` (part 1's transfer shadow) jobs."""
    samples = CandidateConfig(max_per_side=params["certify_per_side"], seed=params["seed"])
    settings = certify_config(params)
    return {"target": CertifyJob(config, "target", None, samples, settings),
            "shadow": CertifyJob(config, "shadow", part1_runs(params)["transfer"][1], samples, settings)}


def tsne_jobs(params: Mapping[str, Any]) -> list[TsneJob]:
    """Fig. 12's t-SNE of every data set's M-``tsne_target`` (``tsne_per_side`` members and non-members)."""
    samples = CandidateConfig(max_per_side=params["tsne_per_side"], seed=params["seed"])
    return [TsneJob(_target(params, d, params["tsne_target"]), samples, params["seed"]) for d in params["datasets"]]


def plan_tasks(params: Mapping[str, Any]) -> list[Task]:
    """The ``lz_boundary`` chapter's tasks, each after the tasks it needs: the targets; on each, the boundary
    attacks and part 1's baseline, transfer and score-based attacks on this chapter's candidates, and the
    certified radii of the target and of the transfer attack's shadow; per data set, Algorithm 3's reference
    run and threshold sweep on M-``reference_target`` and the t-SNE of M-``tsne_target``."""
    tasks: dict[str, Task] = {}

    def add(new: Task) -> Task:
        return tasks.setdefault(new.name, new)

    chosen = candidates(params)
    method = l2_method(params)
    runs = part1_runs(params)
    for config in part1.targets(params):
        trained = add(part1.target_task(config))
        for attack_config in attack_configs(params).values():
            add(part1.attack_task(config, "boundary", attack_config, chosen))
        attacks = {label: add(part1.attack_task(config, name, attack_config, chosen))
                   for label, (name, attack_config) in runs.items()}
        jobs = certify_jobs(params, config)
        add(task(jobs["target"], (trained,)))
        add(task(jobs["shadow"], (trained, attacks["transfer"])))
    for reference in reference_jobs(params):
        trained = part1.target_task(reference.run.target)
        done = add(task(reference, (trained,)))
        attacked = part1.attack_task(reference.run.target, "boundary", attack_configs(params)[method, "l2"], chosen)
        add(task(sweep_job(params, reference), (done, attacked)))
    for job in tsne_jobs(params):
        add(task(job, (part1.target_task(job.target),)))
    return list(tasks.values())


# --------------------------------------------------------------------------- the notebook's frames


def targets(params: Mapping[str, Any], store: Store | None = None) -> dict[tuple[str, int], Target]:
    """(data set, i) -> trained target M-i, for every data set of ``params`` (loaded from ``store``)."""
    store = store or Store()
    return {(c.split.dataset, c.model_index): train_target(c, store) for c in part1.targets(params)}


def boundary_runs(params: Mapping[str, Any], store: Store | None = None,
                  trained: Mapping[tuple[str, int], Target] | None = None) -> dict[RunKey, MembershipResult]:
    """(data set, i, method, attack norm) -> the boundary attack's result on M-i (loaded from ``store``), every
    target and every config of :func:`attack_configs`; bootstrap CIs of ``n_boot`` resamples. Scores: the
    perturbation in the attack norm (higher = member); ``extras`` hold every measure (:data:`NORM_NAMES`),
    ``flipped``, ``misclassified``, ``checkpoint_dist``, ``checkpoints``, ``labels``, ``start_source``."""
    store = store or Store()
    trained = trained or targets(params, store)
    chosen = candidates(params)
    return {(dataset, i, method, norm): run_attack(target, "boundary", config, chosen, store, n_boot=params["n_boot"])
            for (dataset, i), target in trained.items() for (method, norm), config in attack_configs(params).items()}


def attack_table(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """One row per boundary run: ``dataset``, ``model`` (M-i), ``method``, ``attack_norm``, ``auc`` with its 95%
    bootstrap CI (``auc_lo``, ``auc_hi``; :class:`MembershipResult` metrics), ``auc_<measure>`` for each measure
    of :data:`NORM_NAMES`, mean and median L2 perturbation of members / non-members, the share of candidates
    ``flipped`` and ``misclassified``, the cost (``queries_per_candidate``, ``max_queries_per_candidate``,
    ``seconds``, ``queries_per_second``) and ``n_candidates``."""
    rows = []
    for (dataset, i, method, norm), result in runs.items():
        e, member, m = result.extras, result.is_member, result.metrics
        rows.append({"dataset": dataset, "model": f"M-{i}", "method": method, "attack_norm": norm,
                     "auc": m["auc"], "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"],
                     **{f"auc_{p}": roc_auc(e[p], member) for p in NORM_NAMES},
                     "mean_l2_member": e["l2"][member].mean(), "mean_l2_non_member": e["l2"][~member].mean(),
                     "median_l2_member": np.median(e["l2"][member]),
                     "median_l2_non_member": np.median(e["l2"][~member]),
                     "flipped": e["flipped"].mean(), "misclassified": e["misclassified"].mean(),
                     "queries_per_candidate": result.cost["queries_per_candidate"],
                     "max_queries_per_candidate": result.cost["max_queries_per_candidate"],
                     "seconds": result.cost["seconds"], "queries_per_second": result.cost["queries_per_second"],
                     "n_candidates": len(result.scores)})
    return pd.DataFrame(rows)


def candidate_frames(runs: Mapping[RunKey, MembershipResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-candidate frames for the claims (:mod:`leakage.claims.lz_boundary`): (scores: every perturbation
    measure at the end of the budget, columns ``SCORE_COLUMNS``; curve: the attack norm's best perturbation at
    every query checkpoint, columns ``CURVE_COLUMNS``). Higher score = member."""
    score_frames, curve_frames = [], []
    for (dataset, i, method, norm), result in runs.items():
        keys = {"dataset": dataset, "model": f"M-{i}", "method": method, "attack_norm": norm,
                "candidate": result.indices, "is_member": result.is_member}
        score_frames += [pd.DataFrame({**keys, "measure": p, "score": result.extras[p]}) for p in NORM_NAMES]
        curve_frames += [pd.DataFrame({**keys, "queries": int(c), "score": result.extras["checkpoint_dist"][:, k]})
                         for k, c in enumerate(result.extras["checkpoints"])]
    return (pd.concat(score_frames, ignore_index=True)[list(SCORE_COLUMNS)],
            pd.concat(curve_frames, ignore_index=True)[list(CURVE_COLUMNS)])


def perturbations(runs: Mapping[RunKey, MembershipResult], method: str, norm: str = "l2") -> pd.DataFrame:
    """Figs. 7 and 14: one row per candidate of the ``method`` / ``norm`` runs: ``dataset``, ``model``, ``l2``
    (the perturbation found, 0 for a misclassified candidate), ``status`` (member / non-member), ``flipped``,
    ``misclassified``."""
    frames = []
    for (dataset, i, m, n), result in runs.items():
        if m == method and n == norm:
            frames.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "l2": result.extras["l2"],
                                        "status": np.where(result.is_member, "member", "non-member"),
                                        "flipped": result.extras["flipped"],
                                        "misclassified": result.extras["misclassified"]}))
    return pd.concat(frames, ignore_index=True)


def unflipped_table(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """Per (data set, method, attack norm, class), summed over the targets: candidates, where their starts came
    from, how many stayed unflipped and ``unflipped_share``
    (:func:`leakage.attacks.boundary.unflipped_by_class`)."""
    by_class = pd.concat([unflipped_by_class(r.extras["labels"], r.extras["flipped"], r.extras["start_source"])
                          .assign(dataset=d, method=m, attack_norm=n) for (d, i, m, n), r in runs.items()])
    by_class = by_class.groupby(["dataset", "method", "attack_norm", "class"], as_index=False).sum(numeric_only=True)
    by_class["unflipped_share"] = by_class.unflipped / by_class.candidates
    return by_class


def norm_auc_frame(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Figs. 8 and 15: the AUC of each perturbation measure of ``method``'s runs (long form, from
    :func:`attack_table`): ``dataset``, ``model``, ``attack_norm``, ``distance`` (L0, L1, L2, L∞), ``AUC``,
    ``panel`` (data set and attack norm)."""
    sub = table[table.method == method].melt(id_vars=["dataset", "model", "attack_norm"],
                                             value_vars=[f"auc_{p}" for p in NORM_NAMES], var_name="distance",
                                             value_name="AUC")
    sub["distance"] = sub["distance"].str.removeprefix("auc_").map(NORM_NAMES)
    sub["panel"] = sub["dataset"] + ", " + sub["attack_norm"].map(NORM_NAMES) + " attack"
    return sub


def query_curve(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """Fig. 9: AUC of the best L2 perturbation found within c label queries, for every L2 run and checkpoint c:
    ``dataset``, ``model``, ``method``, ``queries``, ``auc``."""
    rows = []
    for (dataset, i, method, norm), result in runs.items():
        if norm != "l2":
            continue
        record, checkpoints = result.extras["checkpoint_dist"], result.extras["checkpoints"]
        for k, c in enumerate(checkpoints):
            rows.append({"dataset": dataset, "model": f"M-{i}", "method": method, "queries": int(c),
                         "auc": roc_auc(record[:, k], result.is_member)})
    return pd.DataFrame(rows)


def comparison(params: Mapping[str, Any], runs: Mapping[RunKey, MembershipResult], store: Store | None = None,
               trained: Mapping[tuple[str, int], Target] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 10: part 1's baseline, transfer and score-based attacks (configured as ``lz_transfer`` does, run on
    this chapter's candidates, loaded from ``store``) and the L2 boundary attack of ``runs``, on every target.

    Returns (one row per target and attack: ``dataset``, ``model``, ``attack``, ``n_candidates``, ``auc``,
    ``auc_lo``, ``auc_hi`` with ``n_boot`` bootstrap resamples; per-candidate scores, columns
    ``COMPARE_COLUMNS``, higher = member).
    """
    store = store or Store()
    trained = trained or targets(params, store)
    chosen, method = candidates(params), l2_method(params)
    rows, frames = [], []
    for (dataset, i), target in trained.items():
        results = {label: run_attack(target, name, attack_config, chosen, store, n_boot=params["n_boot"])
                   for label, (name, attack_config) in part1_runs(params).items()}
        results["boundary"] = runs[dataset, i, method, "l2"]
        for label, result in results.items():
            rows.append({"dataset": dataset, "model": f"M-{i}", "attack": label, "n_candidates": len(result.scores),
                         **{k: result.metrics[k] for k in ("auc", "auc_lo", "auc_hi")}})
            frames.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "attack": label,
                                        "candidate": result.indices, "is_member": result.is_member,
                                        "score": result.scores}))
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)[list(COMPARE_COLUMNS)]


def threshold_curve(params: Mapping[str, Any], store: Store | None = None,
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fig. 11 (Algorithm 3) on M-``reference_target`` of every data set, loaded from ``store``.

    Returns (curve: ``dataset``, ``model``, ``top_t_percent``, ``threshold`` (L2), ``f1``, ``best_f1``, one row
    per t of :data:`PERCENTILES`; chosen: the same at ``chosen_percentile`` plus ``random_samples``,
    ``random_flipped``, ``threshold_from``, ``random_labels``, ``random_median_l2``; the random inputs' L2
    perturbations, columns ``REFERENCE_COLUMNS``). See :func:`threshold_sweep`.
    """
    store = store or Store()
    curve_rows, chosen_rows, reference_frames = [], [], []
    for job in reference_jobs(params):
        _, reference = _reference(job.run, store)
        sweep = threshold_sweep(sweep_job(params, job), store)
        model = f"M-{job.run.target.model_index}"
        dataset = job.run.target.split.dataset
        flipped = reference["flipped"].astype(bool)
        reference_frames.append(pd.DataFrame({"dataset": dataset, "model": model, "sample": np.arange(len(flipped)),
                                              "l2": reference["l2"], "flipped": flipped}))
        for t, threshold, f1 in zip(sweep["top_t_percent"], sweep["threshold"], sweep["f1"]):
            curve_rows.append({"dataset": dataset, "model": model, "top_t_percent": int(t), "threshold": threshold,
                               "f1": f1, "best_f1": sweep["best_f1"]})
        chosen_rows.append({"dataset": dataset, "model": model, "top_t_percent": params["chosen_percentile"],
                            "threshold": sweep["chosen_threshold"], "f1": sweep["chosen_f1"],
                            "best_f1": sweep["best_f1"], "random_samples": params["reference_samples"],
                            "random_flipped": int(flipped.sum()), "threshold_from": sweep["threshold_from"],
                            "random_labels": len(np.unique(reference["labels"])),
                            "random_median_l2": sweep["random_median_l2"]})
    return (pd.DataFrame(curve_rows), pd.DataFrame(chosen_rows),
            pd.concat(reference_frames, ignore_index=True)[list(REFERENCE_COLUMNS)])


def certified_radius_tables(params: Mapping[str, Any], store: Store | None = None,
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 3 and 5: certified radii (randomized smoothing, Cohen et al.; L2, pixel units) of
    ``certify_per_side`` members and non-members of every target, for the target and for part 1's shadow.

    Returns (one row per target and certified model: ``dataset``, ``model``, ``certified`` (target / shadow),
    ``acr_member``, ``acr_non_member`` (average certified radius), ``certified_share_member`` /
    ``_non_member`` (share certified correctly), ``auc_radius`` (the radius as a membership score),
    ``n_per_side``, ``gap`` (member minus non-member ACR); per-candidate radii, columns ``RADII_COLUMNS``).
    """
    store = store or Store()
    rows, frames = [], []
    for config in part1.targets(params):
        for kind, job in certify_jobs(params, config).items():
            index, member, out = certified(job, store)
            dataset, model = config.split.dataset, f"M-{config.model_index}"
            rows.append({"dataset": dataset, "model": model, "certified": kind,
                         "acr_member": out["radius"][member].mean(), "acr_non_member": out["radius"][~member].mean(),
                         "certified_share_member": out["correct"][member].mean(),
                         "certified_share_non_member": out["correct"][~member].mean(),
                         "auc_radius": roc_auc(out["radius"], member), "n_per_side": int(member.sum())})
            frames.append(pd.DataFrame({"dataset": dataset, "model": model, "certified": kind, "candidate": index,
                                        "is_member": member, "radius": out["radius"]}))
    acr = pd.DataFrame(rows)
    acr["gap"] = acr["acr_member"] - acr["acr_non_member"]
    return acr, pd.concat(frames, ignore_index=True)[list(RADII_COLUMNS)]


def tsne_frame(params: Mapping[str, Any], store: Store | None = None) -> pd.DataFrame:
    """Fig. 12: the t-SNE of M-``tsne_target``'s last hidden layer on ``tsne_per_side`` members and non-members
    of every data set (loaded from ``store``): ``dataset``, ``model``, ``x``, ``y`` (t-SNE coordinates),
    ``label`` (true class), ``status`` (member / non-member), ``misclassified`` (the target's label is wrong)."""
    store = store or Store()
    frames = []
    for job in tsne_jobs(params):
        out = tsne(job, store)
        frames.append(pd.DataFrame({"dataset": job.target.split.dataset, "model": f"M-{job.target.model_index}",
                                    "x": out["xy"][:, 0], "y": out["xy"][:, 1], "label": out["label"],
                                    "status": np.where(out["is_member"], "member", "non-member"),
                                    "misclassified": out["predicted"] != out["label"]}))
    return pd.concat(frames, ignore_index=True)
