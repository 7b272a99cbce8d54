"""The ``lz_boundary`` chapter's jobs, their stages and its plan (:func:`plan_tasks`).

Artefacts of the chapter (all computed by the plan; the notebook only loads them):

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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from leakage.analysis import tsne_embedding
from leakage.attacks.boundary import RandomReferenceRun, percentile_threshold, random_reference
from leakage.attacks.shadow import ShadowRun
from leakage.attacks.transfer import TransferAttack
from leakage.certify import CertifyConfig, CertifyRun, certified_radii
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.experiments import part1
from leakage.experiments.boundary.configs import (PERCENTILES, attack_configs, candidates, certify_config,
                                                  l2_method, part1_runs, reference_run, target_of)
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, attack_context, candidates_of, run_attack
from leakage.experiments.parameters import BoundaryParameters
from leakage.experiments.targets import Target, TargetConfig, train_target
from leakage.inputs import module_digest
from leakage.metrics import best_f1, f1_at_threshold
from leakage.store import Store
from leakage.train import predict_logits


@dataclass(frozen=True)
class ReferenceJob:
    """Algorithm 3: attack uniform random inputs through one target's oracle (artefact kind
    ``boundary_reference``, :func:`leakage.attacks.boundary.random_reference`)."""

    run: RandomReferenceRun = doc_field(RandomReferenceRun(),
                                        "the random inputs, the attack and the target (run.target)")


@dataclass(frozen=True)
class ThresholdSweepJob:
    """Algorithm 3's threshold sweep: F1 on the real candidates of the top-t percentile threshold of the random
    inputs' perturbations, for every t (artefact kind ``threshold_sweep``)."""

    reference: RandomReferenceRun = doc_field(RandomReferenceRun(), "the random-reference run (its target and attack)")
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


def reference_outputs(run: RandomReferenceRun, store: Store) -> tuple[Target, dict[str, np.ndarray]]:
    """(the trained target of ``run``, :func:`leakage.attacks.boundary.random_reference`'s arrays of ``run``:
    ``l2`` (n,) perturbations, ``flipped`` (n,), ``labels`` (n,), ...), each loaded from ``store`` or computed."""
    target = train_target(run.target, store)
    return target, random_reference(target.model, target.data.input_shape, run, store)


@stage(ReferenceJob)
def run_reference_job(job: ReferenceJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`ReferenceJob`: how many random inputs changed label, their median L2 perturbation."""
    _, reference = reference_outputs(job.run, store)
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
    target, reference = reference_outputs(job.reference, store)
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


def reference_jobs(params: BoundaryParameters) -> list[ReferenceJob]:
    """Algorithm 3's random-reference run of every data set, on M-``reference_target``."""
    return [ReferenceJob(reference_run(params, target_of(params, d, params.reference_target)))
            for d in params.datasets]


def sweep_job(params: BoundaryParameters, reference: ReferenceJob) -> ThresholdSweepJob:
    """The threshold sweep of ``reference`` on this chapter's candidates, chosen at ``chosen_percentile``."""
    return ThresholdSweepJob(reference=reference.run, candidates=candidates(params), percentiles=PERCENTILES,
                             chosen_percentile=params.chosen_percentile)


def certify_jobs(params: BoundaryParameters, config: TargetConfig) -> dict[str, CertifyJob]:
    """Tables 3 and 5 on target ``config``: ``"target"`` and ``"shadow"`` (part 1's transfer shadow) jobs."""
    samples = CandidateConfig(max_per_side=params.certify_per_side, seed=params.seed)
    settings = certify_config(params)
    return {"target": CertifyJob(config, "target", None, samples, settings),
            "shadow": CertifyJob(config, "shadow", part1_runs(params)["transfer"][1], samples, settings)}


def tsne_jobs(params: BoundaryParameters) -> list[TsneJob]:
    """Fig. 12's t-SNE of every data set's M-``tsne_target`` (``tsne_per_side`` members and non-members)."""
    samples = CandidateConfig(max_per_side=params.tsne_per_side, seed=params.seed)
    return [TsneJob(target_of(params, d, params.tsne_target), samples, params.seed) for d in params.datasets]


def plan_tasks(params: BoundaryParameters) -> list[Task]:
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
