"""The ``lz_boundary`` chapter's configs, built from its parameters (:class:`BoundaryParameters`).

The boundary attack configs (HopSkipJump per norm, QEBA), the candidates, the randomized-smoothing settings,
part 1's attacks of Fig. 10 (configured from ``params.transfer``, the ``lz_transfer`` chapter's parameters, so
they name that chapter's shadow models) and the targets M-i of one data set; the set-up table of the notebook.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from leakage.attacks.boundary import BoundaryAttack, RandomReferenceRun, query_checkpoints
from leakage.certify import CertifyConfig
from leakage.config import describe
from leakage.experiments import part1
from leakage.experiments.label_only import CandidateConfig
from leakage.experiments.parameters import BoundaryParameters, TargetModelParameters
from leakage.experiments.targets import TargetConfig

#: Perturbation measures of the boundary attack's extras -> their names in the book.
NORM_NAMES: dict[str, str] = {"l0": "L0", "l1": "L1", "l2": "L2", "linf": "L∞"}
#: Algorithm 3's sweep: the top-t percentiles (%) a threshold is taken at (Fig. 11's x-axis).
PERCENTILES: tuple[int, ...] = tuple(range(0, 101, 5))
#: Fig. 10's attacks from part 1: label in the book -> key of :func:`leakage.experiments.part1.transfer_runs`.
PART1_ATTACKS: dict[str, tuple[str, str]] = {"baseline": ("baseline", "-"), "transfer": ("transfer", "loss, lowest"),
                                             "score-based": ("score-based", "top-3 MLP")}


def candidates(params: BoundaryParameters) -> CandidateConfig:
    """The attacked candidates of every target (``max_per_side`` members and non-members, ``seed``)."""
    return CandidateConfig(max_per_side=params.max_per_side, seed=params.seed)


def attack_configs(params: BoundaryParameters) -> dict[tuple[str, str], BoundaryAttack.Config]:
    """(method, attack norm) -> boundary attack config: HopSkipJump for every norm of ``attack_norms``, then
    QEBA (L2, subspace ``resize`` at ``qeba_ratio``); budgets ``hsj_budget`` / ``qeba_budget`` label queries
    per candidate; query checkpoints include 131 and 2,500 (the paper quotes both)."""
    common = dict(max_iter=params.max_iter, init_eval=min(params.init_eval, params.max_eval),
                  max_eval=params.max_eval, seed=params.seed)
    budget = params.hsj_budget
    configs: dict[tuple[str, str], BoundaryAttack.Config] = {
        ("HopSkipJump", norm): BoundaryAttack.Config(method="hopskipjump", norm=norm, budget=budget,
                                                     checkpoints=query_checkpoints(budget, include=(131, 2500)),
                                                     **common)
        for norm in params.attack_norms}
    budget = params.qeba_budget
    configs["QEBA", "l2"] = BoundaryAttack.Config(method="qeba", norm="l2", budget=budget, subspace="resize",
                                                  subspace_ratio=params.qeba_ratio,
                                                  checkpoints=query_checkpoints(budget, include=(131, 2500)), **common)
    return configs


def l2_method(params: BoundaryParameters) -> str:
    """The L2 boundary attack Figs. 10 and 11 use: ``"HopSkipJump"``, or ``"QEBA"`` when ``attack_norms`` lacks
    ``"l2"``."""
    return "HopSkipJump" if "l2" in params.attack_norms else "QEBA"


def certify_config(params: BoundaryParameters) -> CertifyConfig:
    """Randomized-smoothing settings of Tables 3 and 5 (``certify_sigma``, ``_n0``, ``_n``, ``_alpha``, ``seed``)."""
    return CertifyConfig(sigma=params.certify_sigma, n0=params.certify_n0, n=params.certify_n,
                         alpha=params.certify_alpha, seed=params.seed)


def part1_runs(params: BoundaryParameters) -> dict[str, tuple[str, Any]]:
    """Fig. 10's part-1 attacks: label -> (registered attack name, config), configured from ``params.transfer``
    (the ``lz_transfer`` chapter's parameters in this build) as that chapter does, so they name its artefacts."""
    runs = part1.transfer_runs(params.transfer)
    return {label: runs[key] for label, key in PART1_ATTACKS.items()}


def same_targets(params: BoundaryParameters) -> bool:
    """Whether this build's targets are the ``lz_transfer`` chapter's (same data sets, sizes, training, seed)."""
    return all(getattr(params.transfer, k) == getattr(params, k) for k in TargetModelParameters.declared())


def target_of(params: BoundaryParameters, dataset: str, index: int) -> TargetConfig:
    """M-``index`` of ``dataset`` as this build configures it; ``ValueError`` for an index that is no target."""
    found = [c for c in part1.targets(params.changed(datasets=[dataset])) if c.model_index == index]
    if not found:
        raise ValueError(f"there is no target M-{index} (targets are M-0..M-5)")
    return found[0]


def reference_run(params: BoundaryParameters, config: TargetConfig) -> RandomReferenceRun:
    """Algorithm 3's run on target ``config``: ``reference_samples`` uniform inputs, the L2 boundary attack."""
    return RandomReferenceRun(target=config, attack=attack_configs(params)[l2_method(params), "l2"],
                        num_samples=params.reference_samples, seed=params.seed)


def setup_frame(params: BoundaryParameters) -> pd.DataFrame:
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
