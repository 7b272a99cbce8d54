"""The ``lz_boundary`` chapter's plan (leakage.experiments.boundary): a DAG of jobs with stages and stable names;
once executed, the notebook's frame functions only load (the store computes nothing) and give the numbers the
notebook computed itself before."""

import time

import numpy as np
import pandas as pd
import pytest
import torch

from leakage.analysis import tsne_embedding
from leakage.attacks.boundary import percentile_threshold, random_reference
from leakage.chapters import chapter_parameters
from leakage.experiments import boundary
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.label_only import CandidateConfig, candidates_of, run_attack
from leakage.experiments.parameters import BoundaryParameters
from leakage.experiments.plan import Plan, plan_for
from leakage.metrics import best_f1, f1_at_threshold
from leakage.store import Store
from leakage.train import predict_logits


def tiny(params: BoundaryParameters) -> BoundaryParameters:
    """The profile's parameters with a few training steps and a handful of candidates and queries; part 1's
    (``params.transfer``, lz_transfer's) shadows trained for a few steps on part of D_shadow."""
    transfer = params.transfer.changed(epochs=1, min_steps=5, width=4, shadow_epochs=1, shadow_min_steps=5,
                                       shadow_size=60)
    return params.changed(epochs=1, min_steps=5, width=4, max_per_side=6, hsj_budget=30, qeba_budget=30, max_iter=3,
                          init_eval=5, max_eval=20, reference_samples=4, certify_per_side=5, certify_n0=5,
                          certify_n=20, tsne_per_side=5, n_boot=10, transfer=transfer)


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_the_plan_is_a_dag_of_staged_jobs_with_stable_names(profile):
    params = chapter_parameters("lz_boundary", profile)
    tasks = boundary.plan_tasks(params)
    plan = Plan(list(tasks))  # raises for a cycle, a duplicate or a missing prerequisite
    assert all(type(t.job) in STAGES for t in plan.tasks)
    assert [t.name for t in boundary.plan_tasks(chapter_parameters("lz_boundary", profile))] == [t.name for t in tasks]
    norms = len(params.attack_norms)
    # per target: one boundary run per HopSkipJump norm and QEBA, part 1's 3 attacks, 2 certifications
    targets = 6 * len(params.datasets)
    assert plan.counts() == {"target": targets, "attack": targets * (norms + 1 + 3), "certify": 2 * targets,
                             "reference": len(params.datasets), "thresholdsweep": len(params.datasets),
                             "tsne": len(params.datasets)}
    # the book's plan holds them (with any other chapter's tasks, each once)
    assert {t.name for t in tasks} <= {t.name for t in plan_for({"lz_boundary": params}).tasks}


def test_each_task_needs_what_it_loads():
    params = chapter_parameters("lz_boundary")
    by_name = {t.name: t for t in boundary.plan_tasks(params)}
    kinds = {name: {by_name[n].name.split("-")[0] for n in t.needs} for name, t in by_name.items()}
    for name, t in by_name.items():
        job = t.job
        if isinstance(job, boundary.ThresholdSweepJob):
            assert kinds[name] == {"reference", "attack"}
        elif isinstance(job, boundary.CertifyJob):
            assert kinds[name] == ({"target"} if job.certified == "target" else {"target", "attack"})
        elif isinstance(job, (boundary.ReferenceJob, boundary.TsneJob)):
            assert kinds[name] == {"target"}
    references = [t.job for t in by_name.values() if isinstance(t.job, boundary.ReferenceJob)]
    assert [r.run.target.model_index for r in references] == [params.reference_target]
    with pytest.raises(ValueError, match="no target M-7"):
        boundary.reference_jobs(params.changed(reference_target=7))


def test_a_parameter_changes_only_the_tasks_that_depend_on_it():
    params = chapter_parameters("lz_boundary")
    before = {t.name for t in boundary.plan_tasks(params)}
    after = {t.name for t in boundary.plan_tasks(params.changed(tsne_per_side=params.tsne_per_side + 1))}
    assert len(before - after) == len(after - before) == 1 and next(iter(after - before)).startswith("tsne-")
    after = {t.name for t in boundary.plan_tasks(params.changed(chosen_percentile=30))}
    assert [n.split("-")[0] for n in after - before] == ["thresholdsweep"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, one_thread):
    """The tiny build's plan executed in order on a fresh store; yields (params, store, time it finished)."""
    store = Store(tmp_path_factory.mktemp("boundary-store"))
    params = tiny(chapter_parameters("lz_boundary"))
    for t in Plan(boundary.plan_tasks(params)).tasks:
        execute(t.job, store)
    yield params, store, time.time()


def test_after_the_plan_the_frames_compute_nothing(built):
    params, store, since = built
    targets = boundary.targets(params, store)
    runs = boundary.boundary_runs(params, store, targets)
    table = boundary.attack_table(runs)
    scores, curve = boundary.candidate_frames(runs)
    compare, compare_scores = boundary.comparison(params, runs, store, targets)
    acr, radii = boundary.certified_radius_tables(params, store)
    frames = [table, scores, curve, boundary.perturbations(runs, "HopSkipJump"), boundary.unflipped_table(runs),
              boundary.norm_auc_frame(table, "QEBA"), boundary.query_curve(runs), boundary.setup_frame(params),
              compare, compare_scores, *boundary.threshold_curve(params, store), acr, radii,
              boundary.tsne_frame(params, store), boundary.l2_summary(table), boundary.cost_table(table),
              boundary.acr_table(acr, "target"), boundary.acr_table(acr, "shadow")]
    assert store.computed(since) == []
    assert all(isinstance(f, pd.DataFrame) and len(f) for f in frames)
    assert len(table) == 6 * 2 and set(table.method) == {"HopSkipJump", "QEBA"}
    assert len(acr) == 2 * 6 and (acr.gap == acr.acr_member - acr.acr_non_member).all()
    assert sorted(compare.attack.unique()) == ["baseline", "boundary", "score-based", "transfer"]
    assert set(radii.certified) == {"target", "shadow"} and (radii.radius >= 0).all()


def test_the_sweep_and_the_tsne_are_the_numbers_the_notebook_computed_itself(built):
    """The notebook's old loops, run on the loaded reference, attack run and target, give the stored artefacts."""
    params, store, since = built
    curve, chosen, reference_l2 = boundary.threshold_curve(params, store)
    tsne = boundary.tsne_frame(params, store)
    dataset, i = params.datasets[0], params.reference_target
    target = boundary.targets(params, store)[dataset, i]
    attack = boundary.attack_configs(params)["HopSkipJump", "l2"]
    reference = random_reference(target.model, target.data.input_shape, boundary.reference_run(params, target.config),
                                 store)
    result = run_attack(target, "boundary", attack, boundary.candidates(params), store, n_boot=1)
    flipped = reference["flipped"].astype(bool)
    pool = reference["l2"][flipped] if flipped.any() else reference["l2"]
    thresholds = [percentile_threshold(pool, t) for t in np.arange(0, 101, 5)]
    assert curve.threshold.tolist() == thresholds
    assert curve.f1.tolist() == [f1_at_threshold(result.scores, result.is_member, t) for t in thresholds]
    assert (curve.best_f1 == best_f1(result.scores, result.is_member)[0]).all()
    threshold = percentile_threshold(pool, params.chosen_percentile)
    row = chosen.iloc[0]
    assert row.threshold == threshold and row.f1 == f1_at_threshold(result.scores, result.is_member, threshold)
    assert row.random_flipped == flipped.sum() and row.threshold_from == len(pool)
    assert row.random_median_l2 == np.median(pool) and reference_l2.l2.tolist() == reference["l2"].tolist()

    target = boundary.targets(params, store)[dataset, params.tsne_target]
    index, member = candidates_of(target, CandidateConfig(max_per_side=params.tsne_per_side, seed=params.seed))
    x = target.data.images(torch.as_tensor(index))
    with torch.no_grad():
        xy = tsne_embedding(target.model.embed(x).numpy(), params.seed)
    predicted = predict_logits(target.model, x).argmax(1).numpy()
    np.testing.assert_allclose(tsne[["x", "y"]].to_numpy(), xy, rtol=1e-5, atol=1e-5)
    assert (tsne.status == np.where(member, "member", "non-member")).all()
    assert (tsne.misclassified == (predicted != target.data.y[torch.as_tensor(index)].numpy())).all()
    assert store.computed(since) == []
