"""The ``lz_ladder`` chapter's plan (leakage.experiments.ladder): a DAG of staged jobs with stable names, one task per
reference model, whose models the attacks then find in the store; once executed, the notebook's frame functions only
load (the store computes nothing)."""

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from leakage.attacks.reference_models import reference_in_mask
from leakage.claims.lz_ladder import SCORE_COLUMNS, chapter_claims
from leakage.experiments import ladder
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.part1 import AttackJob, TargetJob
from leakage.experiments.plan import Plan, plan_for
from leakage.figures import lz_ladder as figures
from leakage.metrics import roc_auc
from leakage.chapters import chapter_parameters
from leakage.experiments.parameters import LadderParameters
from leakage.store import Store


def tiny(params: LadderParameters) -> LadderParameters:
    """The profile's parameters with a few training steps and a handful of candidates, models and queries; part 1's
    (lz_transfer) shadows trained for a few steps on part of D_shadow, lz_boundary's budget a few queries."""
    transfer = params.transfer.changed(epochs=1, min_steps=5, width=4, shadow_epochs=1, shadow_min_steps=5,
                                       shadow_size=60)
    boundary = params.boundary.changed(hsj_budget=30, qeba_budget=30, max_iter=3, init_eval=5, max_eval=20)
    return params.changed(epochs=1, min_steps=5, width=4, max_per_side=6, reference_models=3, rmia_population=20,
                          noise_queries=10, n_boot=10, transfer=transfer, boundary=boundary)


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_the_plan_is_a_dag_of_staged_jobs_with_stable_names(profile):
    params = chapter_parameters("lz_ladder", profile)
    tasks = ladder.plan_tasks(params)
    plan = Plan(list(tasks))  # raises for a cycle, a duplicate or a missing prerequisite
    assert all(type(t.job) in STAGES for t in plan.tasks)
    assert [t.name for t in ladder.plan_tasks(chapter_parameters("lz_ladder", profile))] == [t.name for t in tasks]
    targets = len(params.ladder_targets) * len(params.datasets)
    # per target: 8 attacks, and the reference models LiRA and RMIA share (one task each)
    assert plan.counts() == {"target": targets, "attack": targets * len(ladder.ATTACKS),
                             "referencemodel": targets * params.reference_models}
    assert {t.name for t in tasks} <= {t.name for t in plan_for({"lz_ladder": params}).tasks}
    # the ladder's targets are part 1's, its part-1 and boundary runs lz_boundary's (one artefact in a whole build)
    assert ladder.same_targets(params)
    shared = {t.name for t in plan_for({"lz_boundary": chapter_parameters("lz_boundary", profile)}).tasks}
    attacks = [t for t in tasks if isinstance(t.job, AttackJob)]
    reused = {t.job.attack for t in attacks if t.name in shared}
    assert reused == {"baseline", "transfer", "boundary", "score_based"}


def test_part1_attacks_are_lz_boundarys_with_ml_leaks_named():
    from leakage.experiments import boundary

    assert list(ladder.PART1_ATTACKS) == ["baseline", "transfer", "ML-Leaks"]
    assert list(ladder.PART1_ATTACKS.values()) == list(boundary.PART1_ATTACKS.values())
    assert set(ladder.PART1_ATTACKS) <= set(ladder.ATTACKS)


def test_each_task_needs_what_it_loads():
    params = chapter_parameters("lz_ladder", "smoke")
    by_name = {t.name: t for t in ladder.plan_tasks(params)}
    for name, t in by_name.items():
        needs = [by_name[n].job for n in t.needs]
        if isinstance(t.job, ladder.ReferenceModelJob):
            assert needs == [TargetJob(t.job.target)]
        elif isinstance(t.job, AttackJob) and t.job.attack in ("lira", "rmia"):
            models = [j for j in needs if isinstance(j, ladder.ReferenceModelJob)]
            assert TargetJob(t.job.target) in needs and len(needs) == len(models) + 1
            assert sorted(j.index for j in models) == list(range(params.reference_models))
            assert {j.population for j in models} == {params.rmia_population}  # LiRA uses RMIA's models
            assert {j.shadow for j in models} == {t.job.config.shadow}
        elif isinstance(t.job, AttackJob):
            assert needs == [TargetJob(t.job.target)]
    with pytest.raises(ValueError, match="ladder_targets must be in 0..5"):
        ladder.ladder_targets(params.changed(ladder_targets=[6]))


def test_reference_models_mimic_the_target_and_a_larger_attack_reuses_the_first_ones():
    params = chapter_parameters("lz_ladder", "default")
    config = ladder.ladder_targets(params)[0]  # M-2: 1,500 members, 100 candidates per side
    shadow = ladder.reference_shadow(params, config)
    assert shadow.arch == config.arch and shadow.train == config.train
    assert shadow.size == 1500 - 100 and ladder.reference_shadow(params.changed(online=False), config).size == 1500
    names = lambda n: [t.name for t in ladder.plan_tasks(params.changed(reference_models=n))  # noqa: E731
                       if t.name.startswith("referencemodel")]
    assert set(names(4)) < set(names(6))  # model j does not depend on how many models the attack uses
    # the in-mask row of model j is the same for any number of models
    assert (reference_in_mask(6, 50, 3, online=True)[:4] == reference_in_mask(4, 50, 3, online=True)).all()


@pytest.fixture(scope="module")
def built(tmp_path_factory, one_thread):
    """The tiny build's plan executed in order on a fresh store, reference models before the attacks that use them
    (the order guarantees it); yields (params, store, time it finished, what the LiRA / RMIA tasks computed)."""
    store = Store(tmp_path_factory.mktemp("ladder-store"))
    params = tiny(chapter_parameters("lz_ladder", "smoke"))
    by_likelihood = []
    for t in Plan(ladder.plan_tasks(params)).tasks:
        since = time.time()
        execute(t.job, store)
        if isinstance(t.job, AttackJob) and t.job.attack in ("lira", "rmia"):
            by_likelihood += [e["kind"] for e in store.computed(since)]
    yield params, store, time.time(), by_likelihood


def test_the_attacks_find_their_reference_models_in_the_store(built):
    _, _, _, by_likelihood = built
    assert by_likelihood and set(by_likelihood) == {"attack"}  # no reference model trained by an attack


def test_after_the_plan_the_frames_compute_nothing(built):
    params, store, since, _ = built
    runs = ladder.results(params, store)
    table = ladder.ladder_table(runs)
    scores = ladder.ladder_scores(runs)
    queries = ladder.query_frame(runs)
    curves = ladder.roc_frame(runs, params.datasets[0], params.lowfpr_target)
    setup = ladder.setup_frame(params)
    evidence = chapter_claims(scores, reference_models=params.reference_models, n_boot=10)
    assert store.computed(since) == []
    assert all(isinstance(f, pd.DataFrame) and len(f) for f in (table, scores, queries, curves, setup))
    assert list(table.attack[:len(ladder.ATTACKS)]) == list(ladder.ATTACKS) and len(table) == 2 * len(ladder.ATTACKS)
    threats = list(table.threat[:len(ladder.ATTACKS)])
    assert threats == sorted(threats, key=lambda t: t != "label-only")  # label-only attacks first, then score-based
    assert tuple(scores.columns) == SCORE_COLUMNS
    # every attack of a target scores the same candidates
    for _, part in scores.groupby(["dataset", "model"]):
        sets = part.groupby("attack").candidate.apply(frozenset)
        assert sets.nunique() == 1
    # the AUC against queries at the last checkpoint is the final score's (one run, no extra ones)
    for (dataset, i, label), result in runs.items():
        if label in ladder.QUERY_ATTACKS:
            last = queries[(queries.model == f"M-{i}") & (queries.attack == label)].iloc[-1]
            assert last.queries == result.extras["checkpoints"][-1]
            if label != "boundary":  # the boundary attack's checkpoints record the distance, its score a norm of it
                assert last.auc == roc_auc(result.scores, result.is_member)
    assert set(queries.attack) == set(ladder.QUERY_ATTACKS)
    assert set(curves.attack) == set(ladder.ATTACKS) and curves.fpr.between(0, 1).all()
    assert [e.claim_id for e in evidence] == ["ladder-rmia-vs-lira", "ladder-rmia-vs-lira-tpr",
                                              "ladder-label-only-auc", "ladder-label-only-lowfpr"]
    assert {e.chapter for e in evidence} == {"lz_ladder"}
    with pytest.raises(ValueError, match="did not attack M-3"):
        ladder.roc_frame(runs, params.datasets[0], 3)
    assert np.isfinite(table.auc).all()
    # the notebook's figures: 6 non-members resolve neither 1% nor 0.1% FPR, both panels show the TPR at 0 FP
    panels = ladder.ladder_panels(table)
    assert len(panels) == 2 and all([c for c, _ in p] == ["auc", "tpr_at_0fp", "tpr_at_0fp"] for p in panels.values())
    assert set(ladder.ladder_columns()) <= set(table.columns) and len(ladder.cost_table(table)) == len(table)
    n_non = ladder.non_members(table, params.datasets[0], params.lowfpr_target)
    drawn = [figures.ladder_bars(table, panels, list(ladder.ATTACKS)),
             figures.query_curves(queries, *ladder.query_metric(table)),
             figures.low_fpr_roc(curves, n_non, list(ladder.ATTACKS), title="M-5")]
    assert all(isinstance(f, Figure) for f in drawn) and len(drawn[0].axes) == 2 * 3
    plt.close("all")
