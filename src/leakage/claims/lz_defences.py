"""The defence chapter's claims (``lz_defences``; Li & Zhang, Fig. 13 and Table 6) as tested hypotheses on
its published per-candidate frames.

Frames, as the chapter publishes them:

- ``scores`` (``lz-fig13-scores``): one row per (defence setting, attack, candidate) against the defended
  target: ``dataset``, ``model``, ``defence`` (``none`` = undefended, ``L2``, ``L1``, ``dropout``,
  ``augmentation``, ``DP-SGD``, ``adv. reg.``), ``strength`` (as the chapter writes it: ``0.05``,
  ``flip_crop``, ``noise 1.1``, ``eps 8``, ...), ``attack``, ``candidate``, ``is_member``, ``score``;
- ``accuracy`` (``lz-fig13-accuracy``): one row per (defence setting, held-out example of D_test):
  ``dataset``, ``model``, ``defence``, ``strength``, ``example``, ``correct``;
- ``memguard`` (``lz-tab6-scores``): ``dataset``, ``model``, ``attack``, ``memguard`` (``without`` /
  ``with``), ``candidate``, ``is_member``, ``score``.

Every defended target is attacked on the same candidates as the undefended one (same D_train and D_test,
same candidate draw), so defended vs undefended is a **paired** bootstrap over candidates (members and
non-members resampled separately, one resample per attack serving both targets); accuracies are paired
over D_test's examples. "Leakage" is the strongest label-only attack's AUC (the attacker picks the best),
the maximum taken inside each resample. A claim on each of several settings ("the strongest L2, L1 and DP",
"every augmentation policy") gets one CI per setting and is shown on the deciding one
(:func:`leakage.claims.lz_transfer.deciding`: reproduced only if every setting's CI lies on the paper's side).
The CIs do not cover the noise of training each target once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakage.claims.core import (PAPER_TOLERANCE, Evidence, equivalence, hypothesis, not_comparable, require_columns,
                                 sizes)
from leakage.claims.lz_transfer import deciding, paired_aucs
from leakage.claims.paper import paper_entry
from leakage.claims.stats import percentile_ci
from leakage.seed import seeded_rng

CHAPTER = "lz_defences"
SCORE_COLUMNS = ("dataset", "model", "defence", "strength", "attack", "candidate", "is_member", "score")
ACCURACY_COLUMNS = ("dataset", "model", "defence", "strength", "example", "correct")
MEMGUARD_COLUMNS = ("dataset", "model", "attack", "memguard", "candidate", "is_member", "score")
LABEL_ONLY: tuple[str, ...] = ("baseline", "transfer", "boundary")
SCORE_BASED = "score-based"
UNDEFENDED = "none"
UNIT = "candidates per side"
SMALLEST_ATTACK = "the smallest of the label-only attacks"  # several attacks' candidate sets enter one CI
STRONG: tuple[str, ...] = ("L2", "L1", "DP-SGD")  # the paper's defences that cut leakage at their strongest
AUGMENTATION = "augmentation"
# "Unchanged by MemGuard" (Table 6: identical AUCs to four decimals): every label-only AUC moves by less
# than 0.01. MemGuard keeps every label, so a label-only attack sees the same answers and any change is a
# bug; 0.01 is a fifth of PAPER_TOLERANCE, far below any effect the paper reads off a defence (tenths in
# Fig. 13), so "unchanged" cannot pass for a change the scorecard would call real.
UNCHANGED_BAND = 0.01
# "Does not reduce leakage" (augmentation): the strongest label-only AUC drops by less than NO_CUT_MARGIN.
# The paper gives no margin; this is the scorecard's tolerance for a published AUC (PAPER_TOLERANCE).
NO_CUT_MARGIN = PAPER_TOLERANCE
# "A significant degradation in accuracy" (strong L2/L1/DP): held-out accuracy drops by more than
# LARGE_DROP. The paper gives no number; PAPER_TOLERANCE is the smallest difference of two numbers on
# [0, 1] the scorecard treats as real.
LARGE_DROP = PAPER_TOLERANCE


# --------------------------------------------------------------------------- settings and resampling


def strongest(frame: pd.DataFrame, defence: str) -> str | None:
    """The strongest ``strength`` of ``defence`` in ``frame``: the largest number (penalties, dropout, adv.
    reg.), for DP-SGD the largest noise multiplier (``noise x``), else the smallest epsilon (``eps x``);
    None when the frame has no such defence."""
    strengths = list(frame.loc[frame["defence"] == defence, "strength"].astype(str).unique())
    if not strengths:
        return None
    noise = [s for s in strengths if s.startswith("noise ")]
    eps = [s for s in strengths if s.startswith("eps ")]
    if noise:
        return max(noise, key=lambda s: float(s.split()[1]))
    if eps:
        return min(eps, key=lambda s: float(s.split()[1]))
    try:
        return max(strengths, key=float)
    except ValueError:
        return strengths[-1]  # named policies (augmentation): the last swept


def _setting(frame: pd.DataFrame, dataset: str, defence: str, strength: str) -> pd.DataFrame:
    return frame[(frame["dataset"] == dataset) & (frame["defence"] == defence)
                 & (frame["strength"].astype(str) == strength)]


def _leakage_boot(scores: pd.DataFrame, dataset: str, settings: list[tuple[str, str]], *, n_boot: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict, int, int]:
    """The strongest label-only attack's AUC of each setting (S,), bootstrapped (B, S), the per-attack AUCs
    {attack: (S,)}, and the smallest sides. Each attack's candidates are resampled once for all settings."""
    points, boots, per_attack, members, non = [], [], {}, [], []
    for attack in LABEL_ONLY:
        cells = [_setting(scores, dataset, d, s) for d, s in settings]
        cells = [c[c["attack"] == attack] for c in cells]
        if all(c.empty for c in cells):
            continue
        if any(c.empty for c in cells):
            raise ValueError(f"the {attack} attack ran against some of the settings {settings} only")
        point, boot, m, n = paired_aucs(cells, n_boot=n_boot, rng=rng)
        points.append(point)
        boots.append(boot)
        per_attack[attack] = point
        members.append(m)
        non.append(n)
    if not points:
        raise ValueError(f"no label-only attack against {settings} of {dataset}")
    return np.max(points, 0), np.max(boots, 0), per_attack, min(members), min(non)


def _name(defence: str, strength: str) -> str:
    return f"{defence} {strength}"


def _each_setting(claim_id: str, per: dict, *, claim: str, statistic: str, null: float, n: dict, note: str,
                  ours_prefix: str) -> Evidence:
    """The Evidence of a claim on each of several settings, from per-setting (effect, low, high), shown on the
    deciding setting (named in the claim and statistic)."""
    chosen = deciding(per, null, 1)
    effect, low, high = per[chosen]
    return hypothesis(
        claim_id, chapter=CHAPTER, claim=f"{claim}; shown: the deciding one, {chosen}",
        statistic=f"{statistic}, {chosen}", effect=effect, ci=(low, high), null=null, direction=1, **n,
        ours=ours_prefix + "; ".join(f"{k} {e:+.3f} [{lo:+.3f}, {hi:+.3f}]" for k, (e, lo, hi) in per.items()),
        note=note + "; one CI per setting: reproduced if all lie on the paper's side, contradicted if one lies "
                    "wholly off it", extra={"per_setting": per})


# --------------------------------------------------------------------------- Fig. 13


def strong_defences_cut(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig13-strong-defences, one Evidence per data set: the strongest L2, L1 and DP-SGD settings each
    lower the strongest label-only AUC. Statistic per defence: leakage(undefended) - leakage(defended),
    paired over candidates; shown on the deciding defence."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    out = []
    for dataset in scores["dataset"].unique():
        part = scores[scores["dataset"] == dataset]
        chosen = [(d, strongest(part, d)) for d in STRONG if strongest(part, d) is not None]
        claim = "the strongest " + ", ".join(_name(*c) for c in chosen) + f" lower label-only leakage ({dataset})"
        if not chosen or strongest(part, UNDEFENDED) is None:
            out.append(not_comparable("lz-fig13-strong-defences", chapter=CHAPTER,
                                      claim=f"the strongest L2, L1, DP lower label-only leakage ({dataset})",
                                      reason="this build has no undefended target or none of L2, L1, DP-SGD"))
            continue
        settings = [(UNDEFENDED, strongest(part, UNDEFENDED)), *chosen]
        point, boot, _, members, non = _leakage_boot(scores, dataset, settings, n_boot=n_boot,
                                                     rng=seeded_rng(seed))
        per = {_name(*c): (float(point[0] - point[i + 1]), *percentile_ci(boot[:, 0] - boot[:, i + 1]))
               for i, c in enumerate(chosen)}
        out.append(_each_setting(
            "lz-fig13-strong-defences", per, claim=claim,
            statistic="max label-only AUC(undefended) - max label-only AUC(defended)", null=0.0,
            n=sizes(members, non, UNIT, detail=SMALLEST_ATTACK), note="leakage = the strongest label-only attack's AUC",
            ours_prefix=f"undefended {point[0]:.3f}; cut by "))
    return out


def strong_defences_cost(accuracy: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig13-accuracy-cost, one Evidence per data set: the strongest L2, L1 and DP-SGD settings each cost
    more than :data:`LARGE_DROP` held-out accuracy. Statistic per defence: accuracy(undefended) -
    accuracy(defended) on D_test, examples resampled (one resample for every setting); shown on the deciding
    defence."""
    require_columns(accuracy, ACCURACY_COLUMNS, "accuracy")
    out = []
    for dataset in accuracy["dataset"].unique():
        part = accuracy[accuracy["dataset"] == dataset]
        chosen = [(d, strongest(part, d)) for d in STRONG if strongest(part, d) is not None]
        claim = ("the strongest " + ", ".join(_name(*c) for c in chosen)
                 + f" each cost more than {LARGE_DROP:g} held-out accuracy ({dataset})")
        if not chosen or strongest(part, UNDEFENDED) is None:
            out.append(not_comparable("lz-fig13-accuracy-cost", chapter=CHAPTER, claim=claim,
                                      reason="this build has no undefended target or none of L2, L1, DP-SGD"))
            continue
        settings = [(UNDEFENDED, strongest(part, UNDEFENDED)), *chosen]
        wide = pd.concat([_setting(part, dataset, d, s).set_index("example")["correct"].rename(i)
                          for i, (d, s) in enumerate(settings)], axis=1)
        if wide.isna().any().any():
            raise ValueError("every setting must be evaluated on the same held-out examples")
        correct = wide.to_numpy(float)  # (N, S)
        pick = seeded_rng(seed).integers(0, len(correct), (n_boot, len(correct)))
        boot = correct[pick].mean(1)  # (B, S)
        acc = correct.mean(0)
        per = {_name(*c): (float(acc[0] - acc[i + 1]), *percentile_ci(boot[:, 0] - boot[:, i + 1]))
               for i, c in enumerate(chosen)}
        out.append(_each_setting(
            "lz-fig13-accuracy-cost", per, claim=claim,
            statistic="accuracy(undefended) - accuracy(defended) on D_test", null=LARGE_DROP,
            n={"n": f"{len(correct)} held-out examples", "unit": "held-out examples", "n_unit": len(correct)},
            note=f"'significant degradation' read as a drop above {LARGE_DROP:g}",
            ours_prefix=f"undefended accuracy {acc[0]:.3f}; drop "))
    return out


def augmentation_does_not_cut(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig13-augmentation, one Evidence per data set: every augmentation policy leaves the strongest
    label-only AUC within :data:`NO_CUT_MARGIN` of the undefended one or above (non-inferiority). Statistic
    per policy: leakage(augmented) - leakage(undefended), paired over candidates; shown on the deciding
    policy."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    out = []
    for dataset in scores["dataset"].unique():
        part = scores[scores["dataset"] == dataset]
        policies = list(part.loc[part["defence"] == AUGMENTATION, "strength"].astype(str).unique())
        claim = f"every augmented target stays as attackable by label-only attacks ({dataset})"
        if not policies or strongest(part, UNDEFENDED) is None:
            out.append(not_comparable("lz-fig13-augmentation", chapter=CHAPTER, claim=claim,
                                      reason="this build has no undefended or no augmented target"))
            continue
        settings = [(UNDEFENDED, strongest(part, UNDEFENDED)), *((AUGMENTATION, p) for p in policies)]
        point, boot, _, members, non = _leakage_boot(scores, dataset, settings, n_boot=n_boot,
                                                     rng=seeded_rng(seed))
        per = {f"{AUGMENTATION} {p}": (float(point[i + 1] - point[0]), *percentile_ci(boot[:, i + 1] - boot[:, 0]))
               for i, p in enumerate(policies)}
        out.append(_each_setting(
            "lz-fig13-augmentation", per, claim=claim,
            statistic="max label-only AUC(augmented) - max label-only AUC(undefended)", null=-NO_CUT_MARGIN,
            n=sizes(members, non, UNIT, detail=SMALLEST_ATTACK),
            note=f"'does not reduce leakage' read as a drop below {NO_CUT_MARGIN:g}",
            ours_prefix=f"undefended {point[0]:.3f}; change "))
    return out


# --------------------------------------------------------------------------- Table 6


def _memguard_cells(memguard: pd.DataFrame, dataset: str, attack: str) -> list[pd.DataFrame]:
    part = memguard[(memguard["dataset"] == dataset) & (memguard["attack"] == attack)]
    cells = [part[part["memguard"] == side] for side in ("without", "with")]
    if any(c.empty for c in cells):
        raise ValueError(f"{attack} against {dataset} lacks the scores without or with MemGuard")
    return cells


def memguard_chance(memguard: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-tab6-memguard-chance, one Evidence per data set: behind MemGuard the score-based attack's AUC is
    within PAPER_TOLERANCE of chance (0.5)."""
    require_columns(memguard, MEMGUARD_COLUMNS, "MemGuard")
    out = []
    for dataset in memguard["dataset"].unique():
        point, boot, members, non = paired_aucs(_memguard_cells(memguard, dataset, SCORE_BASED), n_boot=n_boot,
                                                rng=seeded_rng(seed))
        low, high = percentile_ci(boot[:, 1])
        out.append(equivalence(
            "lz-tab6-memguard-chance", chapter=CHAPTER,
            claim=f"MemGuard drives the score-based attack to about chance ({dataset})",
            statistic="score-based AUC behind MemGuard", estimate=float(point[1]), ci=(low, high),
            **sizes(members, non, UNIT), ours=f"{point[0]:.3f} -> {point[1]:.3f} [{low:.3f}, {high:.3f}]"))
    return out


def memguard_published(memguard: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-tab6-memguard-score (CIFAR-10) and lz-tab6-memguard-score-face (Face): the score-based AUC behind
    MemGuard against the paper's number, within PAPER_TOLERANCE; not comparable on another data set."""
    require_columns(memguard, MEMGUARD_COLUMNS, "MemGuard")
    out = []
    datasets = list(memguard["dataset"].unique())
    for claim_id in ("lz-tab6-memguard-score", "lz-tab6-memguard-score-face"):
        wanted = paper_entry(claim_id).dataset
        dataset, comparable = (wanted, True) if wanted in datasets else (datasets[0], False)
        point, boot, members, non = paired_aucs(_memguard_cells(memguard, dataset, SCORE_BASED), n_boot=n_boot,
                                                rng=seeded_rng(seed))
        low, high = percentile_ci(boot[:, 1])
        out.append(equivalence(
            claim_id, chapter=CHAPTER, claim=f"score-based AUC behind MemGuard matches the paper's ({wanted}, M-2)",
            statistic=f"score-based AUC behind MemGuard ({dataset})", estimate=float(point[1]), ci=(low, high),
            **sizes(members, non, UNIT), comparable=comparable,
            reason="" if comparable else f"this build's MemGuard targets are {', '.join(datasets)}, not {wanted}",
            ours=f"{dataset}: {point[0]:.3f} -> {point[1]:.3f} [{low:.3f}, {high:.3f}]"))
    return out


def memguard_label_only_unchanged(memguard: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-tab6-memguard-label-only, one Evidence per data set: no label-only AUC moves by
    :data:`UNCHANGED_BAND` or more behind MemGuard. Statistic: max over label-only attacks of
    |AUC(with) - AUC(without)|, each attack's candidates resampled once for both (paired)."""
    require_columns(memguard, MEMGUARD_COLUMNS, "MemGuard")
    out = []
    rng = seeded_rng(seed)
    for dataset in memguard["dataset"].unique():
        attacks = [a for a in LABEL_ONLY if (memguard.loc[memguard["dataset"] == dataset, "attack"] == a).any()]
        claim = f"MemGuard leaves the label-only AUCs unchanged, worst attack ({dataset})"
        if not attacks:
            out.append(not_comparable("lz-tab6-memguard-label-only", chapter=CHAPTER, claim=claim,
                                      reason="no label-only attack ran behind MemGuard"))
            continue
        changes, boots, members, non = {}, [], [], []
        for attack in attacks:
            point, boot, m, n = paired_aucs(_memguard_cells(memguard, dataset, attack), n_boot=n_boot, rng=rng)
            changes[attack] = float(point[1] - point[0])
            boots.append(np.abs(boot[:, 1] - boot[:, 0]))
            members.append(m)
            non.append(n)
        effect = max(abs(c) for c in changes.values())
        low, high = percentile_ci(np.max(boots, 0))
        out.append(hypothesis(
            "lz-tab6-memguard-label-only", chapter=CHAPTER, claim=claim,
            statistic="max over label-only attacks of |AUC(with MemGuard) - AUC(without)|", effect=effect,
            ci=(low, high), null=UNCHANGED_BAND, direction=-1,
            **sizes(min(members), min(non), UNIT, detail=SMALLEST_ATTACK),
            ours=f"{effect:.3f} [{low:.3f}, {high:.3f}]; " + "; ".join(f"{a} {c:+.4f}" for a, c in changes.items()),
            note=f"'unchanged' read as a change below {UNCHANGED_BAND:g}", extra={"change": changes}))
    return out


def defence_claims(scores: pd.DataFrame, accuracy: pd.DataFrame, memguard: pd.DataFrame, *, n_boot: int = 1000,
                   seed: int = 0) -> list[Evidence]:
    """Every claim of the defence chapter, in the scorecard's order."""
    kw = {"n_boot": n_boot, "seed": seed}
    return [*memguard_chance(memguard, **kw), *memguard_published(memguard, **kw),
            *memguard_label_only_unchanged(memguard, **kw), *strong_defences_cut(scores, **kw),
            *strong_defences_cost(accuracy, **kw), *augmentation_does_not_cut(scores, **kw)]
