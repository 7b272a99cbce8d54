"""Bring your own classifier: the book's label-only and score-based attacks on any torch model, of images,
feature vectors (tabular data) or other inputs.

:func:`attack_classifier` runs one registered attack (``baseline``, ``transfer``, ``score_based``,
``boundary`` with its aliases ``hopskipjump`` / ``hsj`` / ``qeba``; :mod:`leakage.attacks`) on members and
non-members handed in, and returns a :class:`~leakage.membership.MembershipResult` (scores, higher = member).

Inputs. Images (n, C, H, W) float in [0, 1] go to every attack as they are. Other inputs (feature vectors
(n, F), or any (n, ...) the model takes) are float and finite in any range: attacks that need image geometry
(augmentation, QEBA, LiRA's ``augment``; :func:`leakage.attacks.image_only`) refuse them; attacks that search
inside the box [0, 1]^d (HopSkipJump, noise; :func:`leakage.attacks.searches_unit_box`) attack the model through
an affine map of ``input_range`` onto that box; shadow and reference models come from ``shadow_model`` (default:
the book's CNN for images, an MLP for feature vectors).

The book's ``run_attack`` (:mod:`leakage.experiments.label_only`) goes through the same core,
:func:`attack_candidates`: it only chooses its candidates from a trained target's split and its own keys, so
the same model, candidates, D_shadow and seed give the same scores by either door.

Caching. With a ``store``, the attack's artefact is keyed by the digest of what determines the model's outputs
(:func:`leakage.inputs.model_behaviour_digest`: its weights and buffers, its architecture (every submodule's
class, the code of its methods, its settings and plain attributes) and its outputs on a fixed probe batch of
the members' input shape), the content digests of members, non-members and attacker data, the number of
classes, the attack's resolved config and the seed (:class:`ClassifierRun`); shadow models by the attacker
data's digest, the labelling model's digest (the same) and the shadow config. Another model, the same weights
in another architecture (Tanh for ReLU), or the same model retrained never gets cached scores. What the key
cannot be sure of is a forward that reads a global, or a plain attribute of a type it cannot describe (an
:class:`~leakage.inputs.UncertainKeyWarning` names those), and changes the outputs only off the probe batch:
give such models their own store, or ``store=None``. Without a store nothing is cached: shadows live in a
temporary folder deleted after.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from leakage.membership import MembershipResult
from leakage.attacks import (AttackContext, LabelOnlyOracle, PosteriorOracle, image_only, make_attack,
                             searches_unit_box)
from leakage.attacks.shadow import ShadowConfig, ShadowFactory, build_shadow
from leakage.caller_state import leaves_caller_state
from leakage.checks import check_disjoint, check_finite, check_inputs, check_labels, row_keys
from leakage.config import doc_field
from leakage.device import describe_device
from leakage.inputs import array_digest, model_behaviour_digest, probe_batch
from leakage.seed import seed_everything
from leakage.store import Store

__all__ = ["AttackerView", "ClassifierRun", "DataKey", "attack_candidates", "attack_classifier", "build_context",
           "model_device"]


@dataclass(frozen=True)
class DataKey:
    """Identity of attacker data handed in, for the shadows trained on it: content, number of classes and the
    shadows' architecture."""

    digest: str = doc_field("", "content digest of the inputs and labels (leakage.inputs.array_digest)")
    num_classes: int = doc_field(0, "K, the classifier's output width (a shadow has K outputs)")
    shadow_model: str = doc_field("", "digest of the shadow_model factory's module (structure, initial weights, "
                                      "outputs on a fixed probe); '' = the default (CNN for images, MLP for vectors)")


@dataclass(frozen=True)
class ClassifierRun:
    """One attack on a classifier handed in: everything that determines its scores (its store key)."""

    model: str = doc_field("", "digest of the model's weights, buffers, architecture and outputs on a probe batch "
                               "(leakage.inputs.model_behaviour_digest)")
    members: str = doc_field("", "content digest of the member images and labels")
    non_members: str = doc_field("", "content digest of the non-member images and labels")
    attacker_data: str = doc_field("", "content digest of the attacker's own data ('' = none)")
    num_classes: int = doc_field(0, "K, the model's output width")
    attack: str = doc_field("baseline", "registered attack name (aliases resolved)")
    config: Any = doc_field(None, "the attack's resolved Config")
    seed: int = doc_field(0, "seed of the attack's randomness (starts, probes, the score-based MLP)")
    shadow_model: str = doc_field("", "digest of the shadow_model factory, for attacks that train shadows ('' = "
                                      "the default, or no shadows)")
    input_range: Any = doc_field(None, "(low, high) mapped onto [0, 1]^d for a unit-box attack on inputs that are "
                                       "not images (None = not used)")


@dataclass
class AttackerView:
    """What an attacker holds about one target: the candidates, its own data, and the keys of what it builds.

    ``candidates`` (n, C, H, W) float in [0, 1] (``images``) or (n, ...) float (not ``images``) with true labels
    ``candidate_labels`` (n,) int64; ``shadow_x`` (m, ...) and ``shadow_y`` (m,): D_shadow (m may be 0);
    ``num_classes`` K; ``target_key``, ``data_key``, ``label_key``, ``shadow_model``: see
    :class:`leakage.attacks.AttackContext`. Membership is not in it.
    """

    candidates: Tensor
    candidate_labels: Tensor
    shadow_x: Tensor
    shadow_y: Tensor
    num_classes: int
    target_key: Any
    data_key: Any
    label_key: Any
    images: bool = True
    shadow_model: ShadowFactory | None = None


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

    Raises ``ValueError`` (from the context) for inputs or labels no attack can score.
    """
    device = model_device(model)
    n = len(view.candidates)
    return AttackContext(
        oracle=LabelOnlyOracle(model, num_owners=n, budget=budget),
        candidates=view.candidates.to(device), candidate_labels=view.candidate_labels.to(device),
        shadow_x=view.shadow_x.to(device), shadow_y=view.shadow_y.to(device), num_classes=view.num_classes,
        seed=seed, store=store, target_key=view.target_key, data_key=view.data_key, label_key=view.label_key,
        posterior_oracle=PosteriorOracle(model, num_owners=n) if with_posteriors else None, images=view.images,
        shadow_model=view.shadow_model)


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
    ``queries_per_candidate`` (mean) and ``max_queries_per_candidate``. Raises ``ValueError`` when the view's
    inputs are not images and the attack needs them (:func:`leakage.attacks.image_only`, or inputs not scaled into
    the unit box for :func:`leakage.attacks.searches_unit_box`), ``RuntimeError`` if the attack returns a wrong
    number of scores or a NaN / infinite one.
    """
    device = model_device(model)
    is_member = np.asarray(is_member, dtype=bool)
    indices = np.arange(len(is_member), dtype=np.int64) if indices is None else np.asarray(indices, dtype=np.int64)

    def compute(shadow_store: Store) -> dict[str, Any]:
        seed_everything(seed)
        context = build_context(model, view(), shadow_store, seed=seed, budget=getattr(attack.config, "budget", None),
                                with_posteriors=getattr(attack, "needs_posteriors", False))
        if not context.images and (image_only(attack) or searches_unit_box(attack)):
            why = image_only(attack) or "it searches the box [0, 1]^d: scale the inputs into it first"
            raise ValueError(f"attack {attack.name!r} needs images (n, C, H, W) in [0, 1]: {why}")
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


@leaves_caller_state
def attack_classifier(model: nn.Module, members: tuple[Tensor, Tensor], non_members: tuple[Tensor, Tensor],
                      attack: str = "baseline", config: Any = None, *,
                      attacker_data: tuple[Tensor, Tensor] | None = None, num_classes: int | None = None,
                      seed: int = 0, store: Store | None = None, n_boot: int = 1000,
                      allow_overlap: bool = False, shadow_model: ShadowFactory | None = None,
                      input_range: tuple[float, float] | None = None) -> MembershipResult:
    """Measure how much ``model`` leaks the membership of ``members`` against ``non_members``.

    - ``model``: a torch module mapping inputs (N, ...) to logits (N, K) (any K >= 2): images (N, C, H, W)
      float in [0, 1], feature vectors (N, F) float, or any other shape it takes; it is put in eval mode and only
      queried, through the attack's oracles (labels only, or confidence vectors for ``score_based``), on its
      own device;
    - ``members`` / ``non_members``: (inputs, labels (n,) integer in [0, K)), inputs tensors or NumPy arrays on
      any device, labels also a sequence of ints; the labels are the true ones. Inputs with 4 dimensions are
      images (n, C, H, W) and must lie in [0, 1]; others ((n, F) feature vectors, (n, ...)) may take any finite
      value;
    - ``attack``: a registered attack or alias: ``baseline`` (1 query each), ``transfer`` and ``score_based``
      (train a shadow model on ``attacker_data``), ``boundary`` / ``hopskipjump`` / ``hsj`` / ``qeba``
      (decision-boundary distance; ``attacker_data`` optional, as fallback starts); ``config`` its
      ``Config`` (None = defaults, e.g. ``BoundaryAttack.Config(budget=1000)``);
    - ``attacker_data``: (inputs, labels) the attacker holds from the same distribution (D_shadow), disjoint
      from the candidates; required by ``transfer``, ``score_based``, ``lira`` and ``rmia``;
    - ``num_classes``: K, the model's output width (None: read from one forward pass; a different value is
      an error); ``seed``: the attack's randomness; ``store``: cache (see the module docstring), None = none;
      ``n_boot``: bootstrap resamples behind the confidence intervals of ``result.metrics``;
    - ``allow_overlap``: an image found both in ``members`` and ``non_members`` (or in ``attacker_data`` and
      the candidates) is an error unless True (then a :class:`leakage.checks.OverlapWarning`);
    - ``shadow_model``: for the attacks that train shadow or reference models (``transfer``, ``score_based``,
      ``lira``, ``rmia``; others do not use it), a factory ``shadow_model(input_shape, num_classes)`` called with
      the shape of one input (``(C, H, W)``, ``(F,)``, ...) and K, returning a fresh untrained
      ``torch.nn.Module`` that maps (n, *input_shape) to logits (n, K); it is called once per model trained (and
      once up front, on a fixed seed, to check it and key the cache by its structure, initial weights and
      outputs), after the global torch generator is seeded, and trained with the attack config's
      ``shadow.train`` (Adam, cross-entropy). None: the book's CNN (``shadow.arch``) for images, an MLP with two
      hidden layers of ``shadow.arch.hidden`` units for feature vectors (n, F); other shapes need a factory;
    - ``input_range``: for inputs that are not images, (low, high) bounding every input value (None = the
      smallest and largest value of members, non-members and attacker data). Only attacks that search inside a
      box use it (``boundary`` / ``hopskipjump``, ``noise``): they attack the model through the affine map of
      [low, high] onto [0, 1] (the inputs flattened), so their random starts and clipping stay in that range and
      their scores (distances, noise ``sigma``) are in units of (high - low).

    Image-only attacks (``augmentation``: flips and translations; ``qeba``: an image-plane subspace; ``lira`` with
    ``augment=True``: flips) refuse inputs that are not images (:func:`leakage.attacks.image_only`).

    The caller's model comes back as handed in (train/eval mode, device, dtype, ``requires_grad``) and the
    global random generators where they were (:func:`leakage.caller_state.caller_state`).

    Returns a :class:`MembershipResult`: ``scores`` (n_members + n_non_members,) float64, members first,
    **higher = member**; ``indices`` the positions in members-then-non-members; ``extras`` per candidate
    (:data:`leakage.api.EXTRAS`); ``cost`` the measured label queries per candidate.

    Raises ``ValueError``, naming the argument, what was wrong and what is expected, for: inputs that are not
    float tensors or arrays (n, ...) or hold a NaN / infinity, images (4-D) outside [0, 1]; labels
    (:func:`leakage.checks.check_labels`) that are not integers (strings, objects, floats, bools are 0/1) of
    shape (n,) in [0, K); input shapes that differ between the sets; a model that rejects the inputs or whose
    output is not finite logits (1, K) on a one-input probe (its own error is chained); an empty side; a missing
    ``attacker_data`` for an attack that needs it; an unknown attack or a config of another attack; an
    image-only attack on other inputs; a shadow-training attack on inputs with no default shadow and no
    ``shadow_model``, or a ``shadow_model`` whose module fails on a probe; an ``input_range`` that is not
    (low, high) with low < high containing every input (or, for images, other than (0, 1)).

    Sources: Yeom et al. (CSF 2018, baseline); Li & Zhang (CCS 2021, transfer and boundary attacks, with
    HopSkipJump by Chen et al., S&P 2020, and QEBA by Li et al., CVPR 2020); Salem et al. (NDSS 2019,
    score-based).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module mapping inputs (N, ...) (images (N, C, H, W), feature "
                         f"vectors (N, F)) to logits (N, K), got {type(model).__name__}")
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
            noun, dims = ("images", " (C, H, W)") if len(shape) == 3 else ("inputs", "")
            raise ValueError(f"{name} {noun} are {tuple(x.shape[1:])}{dims} but members {noun} are {shape}: "
                             f"every set must have the model's input shape{_channel_hint(member_x, x)}")
    noun = "images" if member_x.ndim == 4 else "inputs"
    candidate_keys = row_keys(member_x) + row_keys(other_x)
    check_disjoint("members", candidate_keys[:len(member_x)], "non_members", candidate_keys[len(member_x):],
                   allow=allow_overlap, what=noun)
    if attacker_data is not None:
        check_disjoint("candidates", candidate_keys, "attacker_data", row_keys(sets["attacker_data"][0]),
                       allow=allow_overlap, what=noun,
                       reason="the attacker's data (D_shadow) must be disjoint from the candidates (members, then "
                              "non-members)")
    width = _probe(model, member_x[:1].to(device))
    if num_classes is None:
        num_classes = width
    elif num_classes != width:
        raise ValueError(f"num_classes={num_classes}, but the model outputs {width} logits per input: leave "
                         "num_classes=None or give the model's output width")
    for name, (_, y) in sets.items():  # the model's K classes
        check_labels(f"{name} labels", y, num_classes=num_classes)

    attacker = make_attack(attack, config)
    if attacker_data is None and getattr(attacker, "needs_attacker_data", False):
        raise ValueError(f"attack {attack!r} trains a shadow model on the attacker's own data: pass "
                         "attacker_data=(inputs (m, ...) like the members', labels (m,)) from the model's data "
                         "distribution, disjoint from members and non-members")
    prepared = _prepare(attacker, attack, model, sets, num_classes, shadow_model=shadow_model,
                        input_range=input_range)
    shadow_x, shadow_y = sets.get("attacker_data", (member_x[:0], member_y[:0]))
    probe = probe_batch(shape, dtype=member_x.dtype, device=device)  # weights, architecture and outputs on it:
    weights = model_behaviour_digest(model, probe)
    label_model = getattr(model, "label_model", model)
    label_key = (weights if label_model is model
                 else model_behaviour_digest(label_model, probe.to(model_device(label_model))))
    attacker_digest = array_digest(shadow_x, shadow_y) if attacker_data is not None else ""
    key = ClassifierRun(model=weights, members=array_digest(member_x, member_y),
                        non_members=array_digest(other_x, other_y), attacker_data=attacker_digest,
                        num_classes=num_classes, attack=attacker.name, config=attacker.config, seed=seed,
                        shadow_model=prepared.shadow_digest, input_range=prepared.box)
    data_key = DataKey(digest=attacker_digest, num_classes=num_classes, shadow_model=prepared.shadow_digest)
    seen = prepared.inputs  # as the attack sees them (the unit box's coordinates for a box attack on vectors)

    def view() -> AttackerView:
        return AttackerView(candidates=torch.cat([seen["members"], seen["non_members"].to(seen["members"].device)]),
                            candidate_labels=torch.cat([member_y, other_y.to(member_y.device)]),
                            shadow_x=seen.get("attacker_data", seen["members"][:0]), shadow_y=shadow_y,
                            num_classes=num_classes, target_key=weights,
                            data_key=data_key, label_key=label_key,
                            images=prepared.images, shadow_model=shadow_model)

    is_member = np.repeat([True, False], [len(member_x), len(other_x)])
    return attack_candidates(attacker, prepared.target, view, is_member=is_member, indices=None, seed=seed,
                             store=store, key=key, kind="classifier_attack", label=attack, n_boot=n_boot)


def _pair(name: str, pair: Any) -> tuple[Tensor, Tensor]:
    """(inputs (n, ...) float, labels int64 (n,) on the CPU) from a pair (tensor or array, labels also a sequence
    of ints), checked: images (n, C, H, W) finite in [0, 1]; other inputs (n, ...) finite in any range; labels by
    :func:`leakage.checks.check_labels`. ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (inputs, labels): inputs images (n, C, H, W) float in [0, 1] or "
                         f"(n, ...) float (feature vectors (n, F)), labels (n,) int; got "
                         f"{type(pair).__name__}{f' of length {len(pair)}' if isinstance(pair, (tuple, list)) else ''}")
    x, y = pair
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{name} inputs must be a float tensor or array (n, ...), got a NumPy array of "
                             f"{x.dtype}")
        x = torch.from_numpy(np.array(x))  # a writable copy
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = f"{x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        hint = (" (divide uint8 images by 255)" if isinstance(x, Tensor) and x.dtype == torch.uint8 and x.ndim == 4
                else " (cast them with .float())" if isinstance(x, Tensor) else "")
        if getattr(x, "ndim", 0) == 4:
            raise ValueError(f"{name} images must be a float tensor (n, C, H, W) in [0, 1], got {got}{hint}")
        raise ValueError(f"{name} inputs must be a float tensor or array (n, ...) (images (n, C, H, W) in [0, 1], "
                         f"feature vectors (n, F)), got {got}{hint}")
    if x.ndim < 2:
        raise ValueError(f"{name} inputs must have one row per example (n, ...), got shape {tuple(x.shape)} (one "
                         "feature per example: x[:, None])")
    if x.ndim == 4:
        check_finite(f"{name} images", x)
        if len(x) and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
            raise ValueError(f"{name} images must lie in [0, 1], got values in [{float(x.min()):.4g}, "
                             f"{float(x.max()):.4g}] (scale them to [0, 1]; normalise inside the model)")
    else:
        check_inputs(f"{name} inputs", x)
    return x, torch.from_numpy(check_labels(f"{name} labels", y, n=len(x)))


def _channel_hint(*inputs: Tensor) -> str:
    """A hint for a one-channel image batch (n, H, W) handed in without its channel axis, if any input is 3-D."""
    if any(x.ndim == 3 for x in inputs):
        return " (a one-channel image batch (n, H, W) needs images.unsqueeze(1))"
    return ""


def _probe(model: nn.Module, x: Tensor) -> int:
    """K, the model's output width on one input x (1, ...); ``ValueError`` if it fails or is not logits."""
    noun = "image" if x.ndim == 4 else "input"
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as error:  # the model's own error (a shape mismatch, a dtype) says where, not what to hand in
        expected = ("images (n, C, H, W) float in [0, 1] with the channels and size the model was built for"
                    if x.ndim == 4 else "inputs (n, ...) float of the shape and dtype the model was built for "
                    "(feature vectors (n, F), images (n, C, H, W) in [0, 1])")
        raise ValueError(f"the model rejected one members {noun} of shape {tuple(x.shape)} ({x.dtype}): "
                         f"{type(error).__name__}: {error}. Expected: {expected}{_channel_hint(x)}") from error
    if not isinstance(out, Tensor) or out.ndim != 2 or out.shape[0] != 1 or out.shape[1] < 2:
        got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"the model must map inputs (n, ...) to logits (n, K) with K >= 2 classes; on one "
                         f"{noun} it returned {got}{_channel_hint(x)}")
    if not out.is_floating_point():
        raise ValueError(f"the model must return float logits (n, K), got {out.dtype}")
    check_finite(f"the model's logits on one members {noun}", out)
    return int(out.shape[1])


# --------------------------------------------------------------------------- inputs that are not images


class _UnitBox(nn.Module):
    """``model`` seen from the unit box: u (n, 1, 1, d) in [0, 1] is the input low + u * (high - low) of the
    caller's model, reshaped to (n, *shape) in its dtype. What a unit-box attack searches in for inputs that are not
    images; a ``label_model`` of ``model`` (MemGuard) is seen the same way."""

    def __init__(self, model: nn.Module, low: float, high: float, shape: tuple[int, ...], dtype: torch.dtype):
        super().__init__()
        self.model = model
        self.low, self.span, self.shape, self.input_dtype = low, high - low, shape, dtype
        if hasattr(model, "label_model"):
            self.label_model = _UnitBox(model.label_model, low, high, shape, dtype)

    def forward(self, u: Tensor) -> Tensor:
        x = self.low + u.reshape(len(u), -1).to(self.input_dtype) * self.span
        return self.model(x.reshape(len(u), *self.shape))


@dataclass
class _Prepared:
    """What an attack sees of checked inputs: the model its oracles query (the caller's, or the caller's behind the
    unit box), each set's inputs, whether they are images, the (low, high) mapped onto [0, 1]^d (None: none) and the
    digest of the shadow factory ('' = the default, or none used)."""

    target: nn.Module
    inputs: dict[str, Tensor]
    images: bool
    box: tuple[float, float] | None
    shadow_digest: str


def _prepare(attacker: Any, name: str, model: nn.Module, sets: dict[str, tuple[Tensor, Tensor]], num_classes: int,
             *, shadow_model: ShadowFactory | None, input_range: Any) -> _Prepared:
    """Check that attack ``name`` (instance ``attacker``) can score the checked ``sets`` (members' inputs decide the
    kind: 4-D = images), and how: ``ValueError`` naming the argument for an image-only attack on other inputs, a
    shadow-training attack on inputs with no default shadow and no ``shadow_model``, a bad ``shadow_model`` or a
    bad ``input_range``."""
    x = sets["members"][0]
    images, shape = x.ndim == 4, tuple(x.shape[1:])
    reason = image_only(attacker)
    if not images and reason:
        raise ValueError(f"attack {name!r} only scores images (n, C, H, W) in [0, 1], but members inputs have shape "
                         f"{tuple(x.shape)}: {reason}. Attacks for other inputs: baseline, transfer, score_based, "
                         "hopskipjump, noise, lira (augment=False), rmia")
    if shadow_model is not None and not callable(shadow_model):
        raise ValueError(f"shadow_model must be a callable factory(input_shape, num_classes) -> torch.nn.Module, got "
                         f"{type(shadow_model).__name__}")
    digest = ""
    if getattr(attacker, "needs_attacker_data", False):  # trains shadow or reference models
        if shadow_model is None and len(shape) not in (1, 3):
            raise ValueError(f"attack {name!r} trains shadow models, and inputs of shape {tuple(x.shape)} have no "
                             "default (the book's CNN for images (n, C, H, W), an MLP for feature vectors (n, F)): "
                             "pass shadow_model=factory, a callable factory(input_shape, num_classes) -> an untrained "
                             "torch.nn.Module mapping (n, *input_shape) to logits (n, num_classes)")
        if shadow_model is not None:
            digest = _shadow_digest(shadow_model, shape, num_classes, x.dtype)
    unit_box = not images and searches_unit_box(attacker)
    box = _input_range(input_range, sets, images) if unit_box or input_range is not None else None  # checks it
    inputs = {key: value[0] for key, value in sets.items()}
    if not unit_box:
        return _Prepared(target=model, inputs=inputs, images=images, box=None, shadow_digest=digest)
    low, high = box
    inputs = {key: ((v.double() - low) / (high - low)).clamp(0.0, 1.0).float().reshape(len(v), 1, 1, -1)
              for key, v in inputs.items()}
    return _Prepared(target=_UnitBox(model, low, high, shape, x.dtype), inputs=inputs, images=True, box=box,
                     shadow_digest=digest)


def _input_range(input_range: Any, sets: dict[str, tuple[Tensor, Tensor]], images: bool) -> tuple[float, float]:
    """(low, high): ``input_range`` checked against the inputs of ``sets``, or their smallest and largest value
    (None). Images: (0, 1), and an ``input_range`` other than that is an error."""
    if input_range is not None:
        try:
            low, high = (float(v) for v in input_range)
        except (TypeError, ValueError):
            raise ValueError(f"input_range must be a pair (low, high) of numbers, got {input_range!r}") from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"input_range must be (low, high) finite with low < high, got {input_range!r}")
    if images:
        if input_range is not None and (low, high) != (0.0, 1.0):
            raise ValueError(f"input_range={input_range!r}, but images (n, C, H, W) lie in [0, 1]: leave "
                             "input_range=None (it is for inputs that are not images)")
        return 0.0, 1.0
    values = [(float(x.min()), float(x.max())) for x, _ in sets.values() if len(x)]
    seen = (min(v[0] for v in values), max(v[1] for v in values))
    if input_range is None:
        if seen[0] == seen[1]:
            raise ValueError(f"every input value is {seen[0]:.6g}: a box around the inputs needs "
                             "input_range=(low, high) with low < high")
        return seen
    if seen[0] < low or seen[1] > high:
        raise ValueError(f"input_range={input_range!r} must contain every input, but the inputs lie in "
                         f"[{seen[0]:.6g}, {seen[1]:.6g}]: widen it (None = that range)")
    return low, high


def _shadow_digest(factory: ShadowFactory, shape: tuple[int, ...], num_classes: int, dtype: torch.dtype) -> str:
    """Digest of the module ``factory(shape, num_classes)`` builds from a fixed seed
    (:func:`leakage.inputs.model_behaviour_digest`: weights, buffers, architecture and outputs on a fixed probe
    batch), so another architecture, activation or initialisation gets another digest. ``ValueError`` naming
    ``shadow_model`` when the module is not one, rejects inputs of ``shape`` or does not return finite logits
    (4, num_classes)."""
    module = build_shadow(shape, num_classes, ShadowConfig(), factory).eval()
    probe = probe_batch(shape, dtype=dtype, device=next(module.parameters()).device)
    expected = f"an untrained torch.nn.Module mapping inputs (n, *{shape}) {dtype} to logits (n, {num_classes})"
    try:
        with torch.no_grad():
            out = module(probe)
    except Exception as error:
        raise ValueError(f"shadow_model{(shape, num_classes)} built a {type(module).__name__} that rejects "
                         f"{len(probe)} inputs of shape {shape}: {type(error).__name__}: {error}. Expected: "
                         f"{expected}") from error
    if not isinstance(out, Tensor) or tuple(out.shape) != (len(probe), num_classes) or not out.is_floating_point():
        got = f"{tuple(out.shape)} {out.dtype}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"shadow_model{(shape, num_classes)} built a module that returns {got} for {len(probe)} "
                         f"inputs. Expected: {expected}")
    check_finite(f"shadow_model{(shape, num_classes)}'s logits on a probe", out)
    return model_behaviour_digest(module, probe)
