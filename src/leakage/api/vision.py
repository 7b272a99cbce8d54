"""Bring your own image classifier: the book's label-only and score-based attacks on any torch model.

:func:`attack_classifier` runs one registered attack (``baseline``, ``transfer``, ``score_based``,
``boundary`` with its aliases ``hopskipjump`` / ``hsj`` / ``qeba``; :mod:`leakage.attacks`) on members and
non-members handed in, and returns a :class:`~leakage.api.result.MembershipResult` (scores, higher = member).

The book's ``run_attack`` (:mod:`leakage.experiments.label_only`) goes through the same core,
:func:`attack_candidates`: it only chooses its candidates from a trained target's split and its own keys, so
the same model, candidates, D_shadow and seed give the same scores by either door.

Caching. With a ``store``, the attack's artefact is keyed by the digest of the model's weights and buffers
(:func:`leakage.inputs.module_digest`), the content digests of members, non-members and attacker data, the
number of classes, the attack's resolved config and the seed (:class:`ClassifierRun`); shadow models by the
attacker data's digest, the labelling model's weights digest and the shadow config. Another model, or the
same model retrained, never gets cached scores. What the digest cannot see is a model whose outputs depend on
something other than its weights and buffers (a plain Python attribute, a global): give such models their own
store, or ``store=None``. Without a store nothing is cached: shadows live in a temporary folder deleted after.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from leakage.api.result import MembershipResult
from leakage.attacks import AttackContext, LabelOnlyOracle, PosteriorOracle, make_attack
from leakage.checks import check_finite
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.inputs import array_digest, module_digest
from leakage.seed import seed_everything
from leakage.store import Store

__all__ = ["AttackerView", "ClassifierRun", "DataKey", "attack_candidates", "attack_classifier", "build_context",
           "model_device"]


@dataclass(frozen=True)
class DataKey:
    """Identity of attacker data handed in, for the shadows trained on it: content and number of classes."""

    digest: str = doc_field("", "content digest of the images and labels (leakage.inputs.array_digest)")
    num_classes: int = doc_field(0, "K, the classifier's output width (a shadow has K outputs)")


@dataclass(frozen=True)
class ClassifierRun:
    """One attack on a classifier handed in: everything that determines its scores (its store key)."""

    model: str = doc_field("", "digest of the model's weights and buffers (leakage.inputs.module_digest)")
    members: str = doc_field("", "content digest of the member images and labels")
    non_members: str = doc_field("", "content digest of the non-member images and labels")
    attacker_data: str = doc_field("", "content digest of the attacker's own data ('' = none)")
    num_classes: int = doc_field(0, "K, the model's output width")
    attack: str = doc_field("baseline", "registered attack name (aliases resolved)")
    config: Any = doc_field(None, "the attack's resolved Config")
    seed: int = doc_field(0, "seed of the attack's randomness (starts, probes, the score-based MLP)")


@dataclass
class AttackerView:
    """What an attacker holds about one target: the candidates, its own data, and the keys of what it builds.

    ``candidates`` (n, C, H, W) float in [0, 1] with true labels ``candidate_labels`` (n,) int64; ``shadow_x``
    (m, C, H, W) and ``shadow_y`` (m,): D_shadow (m may be 0); ``num_classes`` K; ``target_key``, ``data_key``,
    ``label_key``: see :class:`leakage.attacks.AttackContext`. Membership is not in it.
    """

    candidates: Tensor
    candidate_labels: Tensor
    shadow_x: Tensor
    shadow_y: Tensor
    num_classes: int
    target_key: Any
    data_key: Any
    label_key: Any


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter. Raises ``ValueError`` for a model without parameters."""
    for parameter in model.parameters():
        return parameter.device
    raise ValueError(f"the model ({type(model).__name__}) has no parameters: the attacks' oracles need a torch "
                     "module with at least one parameter (they query it on that parameter's device)")


def build_context(model: nn.Module, view: AttackerView, store: Store, *, seed: int, budget: int | None = None,
                  with_posteriors: bool = False) -> AttackContext:
    """The :class:`AttackContext` of ``view`` against ``model``: a label-only oracle charging each of the n
    candidates (``budget`` label queries each at most; None = unlimited), a posterior oracle when
    ``with_posteriors`` (score-based threat model), the view's tensors on the model's device.

    Raises ``ValueError`` (from the context) for images or labels no attack can score.
    """
    device = model_device(model)
    n = len(view.candidates)
    return AttackContext(
        oracle=LabelOnlyOracle(model, num_owners=n, budget=budget),
        candidates=view.candidates.to(device), candidate_labels=view.candidate_labels.to(device),
        shadow_x=view.shadow_x.to(device), shadow_y=view.shadow_y.to(device), num_classes=view.num_classes,
        seed=seed, store=store, target_key=view.target_key, data_key=view.data_key, label_key=view.label_key,
        posterior_oracle=PosteriorOracle(model, num_owners=n) if with_posteriors else None)


def attack_candidates(attack: Any, model: nn.Module, view: Callable[[], AttackerView], *, is_member: np.ndarray,
                      indices: np.ndarray | None, seed: int, store: Store | None, key: Any, kind: str, label: str,
                      n_boot: int = 1000) -> MembershipResult:
    """The one core of every vision attack: run ``attack`` (an instance, :func:`leakage.attacks.make_attack`)
    against ``model`` on the candidates of ``view()`` and return their scores (n,), higher = member.

    ``view`` is called only when the scores are computed (not on a cache hit). ``is_member`` (n,) bool is used
    to evaluate only; ``indices`` (n,) names the candidates (None = 0..n-1). With a ``store`` the result is
    the artefact (``kind``, ``key``), computed once; with None it is computed every time, its shadows in a
    temporary store deleted after. The global RNGs are seeded with ``seed`` before the attack runs.

    The cost holds the attack's own (``shadow_queries``, ``shadow_epochs``, ...) plus the measured
    ``queries_per_candidate`` (mean) and ``max_queries_per_candidate``. Raises ``RuntimeError`` if the attack
    returns a wrong number of scores or a NaN / infinite one.
    """
    device = model_device(model)
    is_member = np.asarray(is_member, dtype=bool)
    indices = np.arange(len(is_member), dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64)

    def compute(shadow_store: Store) -> dict[str, Any]:
        seed_everything(seed)
        context = build_context(model, view(), shadow_store, seed=seed, budget=getattr(attack.config, "budget", None),
                                with_posteriors=getattr(attack, "needs_posteriors", False))
        output = attack.run(context)
        n = len(context.candidates)
        if output.scores.shape != (n,) or not np.isfinite(output.scores).all():
            raise RuntimeError(f"attack {attack.name} returned {output.scores.shape} scores (NaN or infinite: "
                               f"{int((~np.isfinite(output.scores)).sum())}) for {n} candidates")
        per_candidate = context.oracle.per_owner + (context.posterior_oracle.per_owner if context.posterior_oracle
                                                    else 0)
        measured = {"queries_per_candidate": per_candidate.double().mean().item(),
                    "max_queries_per_candidate": int(per_candidate.max())}
        return {"scores": output.scores.astype(np.float64), "is_member": is_member, "indices": indices,
                "cost": {**output.cost, **measured}, **{f"extra_{k}": v for k, v in output.extras.items()}}

    if store is None:
        with tempfile.TemporaryDirectory(prefix="leakage-shadows-") as folder:
            values = compute(Store(folder))
    else:
        values = store.cached(kind, key, lambda: compute(store), seed=seed, device=describe_device(device))
    extras = {k.removeprefix("extra_"): np.asarray(v) for k, v in values.items() if k.startswith("extra_")}
    return MembershipResult(attack=label, scores=values["scores"], is_member=values["is_member"],
                            indices=values["indices"], cost=dict(values["cost"]), extras=extras, config=key,
                            seed=seed, n_boot=n_boot)


# --------------------------------------------------------------------------- the entry point


def attack_classifier(model: nn.Module, members: tuple[Tensor, Tensor], non_members: tuple[Tensor, Tensor],
                      attack: str = "baseline", config: Any = None, *,
                      attacker_data: tuple[Tensor, Tensor] | None = None, num_classes: int | None = None,
                      seed: int = 0, store: Store | None = None, n_boot: int = 1000) -> MembershipResult:
    """Measure how much ``model`` leaks the membership of ``members`` against ``non_members``.

    - ``model``: a torch module mapping images (N, C, H, W) float in [0, 1] to logits (N, K) (any K >= 2);
      it is put in eval mode and only queried, through the attack's oracles (labels only, or confidence
      vectors for ``score_based``), on its own device;
    - ``members`` / ``non_members``: (images (n, C, H, W) float in [0, 1], labels (n,) integer in [0, K)),
      tensors or NumPy arrays, any device; the labels are the true ones;
    - ``attack``: a registered attack or alias: ``baseline`` (1 query each), ``transfer`` and ``score_based``
      (train a shadow model on ``attacker_data``), ``boundary`` / ``hopskipjump`` / ``hsj`` / ``qeba``
      (decision-boundary distance; ``attacker_data`` optional, as fallback starts); ``config`` its
      ``Config`` (None = defaults, e.g. ``BoundaryAttack.Config(budget=1000)``);
    - ``attacker_data``: (images, labels) the attacker holds from the same distribution (D_shadow), disjoint
      from the candidates; required by ``transfer`` and ``score_based``;
    - ``num_classes``: K, the model's output width (None: read from one forward pass; a different value is
      an error); ``seed``: the attack's randomness; ``store``: cache (see the module docstring), None = none;
      ``n_boot``: bootstrap resamples behind the confidence intervals of ``result.metrics``.

    Returns a :class:`MembershipResult`: ``scores`` (n_members + n_non_members,) float64, members first,
    **higher = member**; ``indices`` the positions in members-then-non-members; ``extras`` per candidate
    (:data:`leakage.api.EXTRAS`); ``cost`` the measured label queries per candidate.

    Raises ``ValueError``, naming the argument, what was wrong and what is expected, for: images that are not
    4-D float (N, C, H, W) in [0, 1] or hold a NaN / infinity; labels that are not integers (n,) or lie outside
    [0, K); image shapes that differ between the sets; a model that rejects the images or whose output is not
    finite logits (1, K) on a one-image probe (its own error is chained); an empty side; a missing
    ``attacker_data`` for an attack that needs it; an unknown attack or a config of another attack.

    Sources: Yeom et al. (CSF 2018, baseline); Li & Zhang (CCS 2021, transfer and boundary attacks, with
    HopSkipJump by Chen et al., S&P 2020, and QEBA by Li et al., CVPR 2020); Salem et al. (NDSS 2019,
    score-based).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module mapping images (N, C, H, W) to logits (N, K), got "
                         f"{type(model).__name__}")
    device = model_device(model)
    member_x, member_y = _pair("members", members)
    other_x, other_y = _pair("non_members", non_members)
    sets = {"members": (member_x, member_y), "non_members": (other_x, other_y)}
    if attacker_data is not None:
        sets["attacker_data"] = _pair("attacker_data", attacker_data)
    for name in ("members", "non_members"):
        if len(sets[name][0]) == 0:
            raise ValueError(f"{name} is empty: membership inference needs at least one member and one non-member")
    shape = tuple(member_x.shape[1:])
    for name, (x, _) in sets.items():
        if tuple(x.shape[1:]) != shape:
            raise ValueError(f"{name} images are {tuple(x.shape[1:])} (C, H, W) but members images are {shape}: "
                             "every set must have the model's input shape")
    width = _probe(model, member_x[:1].to(device))
    if num_classes is None:
        num_classes = width
    elif num_classes != width:
        raise ValueError(f"num_classes={num_classes}, but the model outputs {width} logits per image: leave "
                         "num_classes=None or give the model's output width")
    for name, (_, y) in sets.items():
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise ValueError(f"{name} labels must lie in [0, {num_classes}) (the model's {num_classes} classes), "
                             f"got values in [{int(y.min())}, {int(y.max())}]")

    attacker = make_attack(attack, config)
    if attacker_data is None and getattr(attacker, "needs_attacker_data", False):
        raise ValueError(f"attack {attack!r} trains a shadow model on the attacker's own data: pass "
                         "attacker_data=(images (m, C, H, W) in [0, 1], labels (m,)) from the model's data "
                         "distribution, disjoint from members and non-members")
    shadow_x, shadow_y = sets.get("attacker_data", (member_x[:0], member_y[:0]))
    weights = module_digest(model)
    attacker_digest = array_digest(shadow_x, shadow_y) if attacker_data is not None else ""
    key = ClassifierRun(model=weights, members=array_digest(member_x, member_y),
                        non_members=array_digest(other_x, other_y), attacker_data=attacker_digest,
                        num_classes=num_classes, attack=attacker.name, config=attacker.config, seed=seed)
    data_key = DataKey(digest=attacker_digest, num_classes=num_classes)

    def view() -> AttackerView:
        return AttackerView(candidates=torch.cat([member_x, other_x.to(member_x.device)]),
                            candidate_labels=torch.cat([member_y, other_y.to(member_y.device)]),
                            shadow_x=shadow_x, shadow_y=shadow_y, num_classes=num_classes, target_key=weights,
                            data_key=data_key, label_key=module_digest(getattr(model, "label_model", model)))

    is_member = np.repeat([True, False], [len(member_x), len(other_x)])
    return attack_candidates(attacker, model, view, is_member=is_member, indices=None, seed=seed, store=store,
                             key=key, kind="classifier_attack", label=attack, n_boot=n_boot)


def _pair(name: str, pair: Any) -> tuple[Tensor, Tensor]:
    """(images float (n, C, H, W) in [0, 1], labels int64 (n,)) from a pair of tensors or arrays, checked."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (images (n, C, H, W) float in [0, 1], labels (n,) int), got "
                         f"{type(pair).__name__}{f' of length {len(pair)}' if isinstance(pair, (tuple, list)) else ''}")
    x, y = (torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for v in pair)  # a writable copy
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = f"{x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        hint = " (divide uint8 images by 255)" if isinstance(x, Tensor) and x.dtype == torch.uint8 else ""
        raise ValueError(f"{name} images must be a float tensor (n, C, H, W) in [0, 1], got {got}{hint}")
    if x.ndim != 4:
        hint = " (a one-channel batch (n, H, W) needs images.unsqueeze(1))" if x.ndim == 3 else ""
        raise ValueError(f"{name} images must have 4 dimensions (n, C, H, W), got shape {tuple(x.shape)}{hint}")
    check_finite(f"{name} images", x)
    if len(x) and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(f"{name} images must lie in [0, 1], got values in [{float(x.min()):.4g}, "
                         f"{float(x.max()):.4g}] (scale them to [0, 1]; normalise inside the model)")
    if not isinstance(y, Tensor) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        got = f"{y.dtype}" if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"{name} labels must be an integer tensor (n,) of class indices, got {got}")
    if tuple(y.shape) != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},) (one per image), got {tuple(y.shape)}")
    return x, y.long()


def _probe(model: nn.Module, x: Tensor) -> int:
    """K, the model's output width on one image x (1, C, H, W); ``ValueError`` if it fails or is not logits."""
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as error:  # the model's own error (a shape mismatch, a dtype) says where, not what to hand in
        raise ValueError(f"the model rejected one members image of shape {tuple(x.shape)} ({x.dtype}): "
                         f"{type(error).__name__}: {error}. Expected: images (n, C, H, W) float in [0, 1] with the "
                         "channels and size the model was built for") from error
    if not isinstance(out, Tensor) or out.ndim != 2 or out.shape[0] != 1 or out.shape[1] < 2:
        got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"the model must map images (n, C, H, W) to logits (n, K) with K >= 2 classes; on one "
                         f"image it returned {got}")
    if not out.is_floating_point():
        raise ValueError(f"the model must return float logits (n, K), got {out.dtype}")
    check_finite("the model's logits on one members image", out)
    return int(out.shape[1])
