"""Measure the membership leakage of your own code model: the VP chapter's shadow-model attack under NMID.

A *code model* is any callable that maps a list of code strings (one function each) to

- logits, an array (N, K) with K >= 2 classes (a numpy array, a torch tensor or a nested list), or
- a pair ``(embedding (N, D), logits (N, K))`` when it exposes an embedding (the attack's gray-box
  feature sets use it).

:func:`attack_code_model` queries the target on its members and non-members and the attacker's shadow
model on the shadow's own members and non-members, passes both through NMID (Liao et al., arXiv
2512.08291; ``nmid=None`` is the undefended release), fits the attack classifier on the shadow's released
features (the shadow-model attack of Shokri et al., S&P 2017) and scores the target's candidates. The
computation is :func:`leakage.vp.attack.shadow_attack`, the one the book's VP chapter runs
(:func:`leakage.experiments.vp.run_vp_attack`), so a model handed in is attacked exactly as the book's.

Nothing is cached: the results are always those of the callables handed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from leakage.membership import MembershipResult
from leakage.caller_state import leaves_caller_state
from leakage.checks import check_disjoint, check_finite, check_labels
from leakage.inputs import bytes_digest
from leakage.vp.attack import AttackConfig, attack_label, shadow_attack
from leakage.vp.features import FEATURE_SETS, WITHOUT_EMBEDDING, RawOutputs, check_feature_sets
from leakage.vp.nmid import NMIDConfig

__all__ = ["CodeModel", "attack_code_model"]

#: A code model: code strings -> logits (N, K), or -> (embedding (N, D), logits (N, K)).
CodeModel = Callable[[list[str]], Any]
#: Labelled code: (code strings (n,), their true labels (n,) as integer class indices).
LabelledCode = tuple[Sequence[str], Sequence[int]]


@leaves_caller_state
def attack_code_model(
    target: CodeModel,
    members: LabelledCode,
    non_members: LabelledCode,
    *,
    shadow_members: LabelledCode,
    shadow_non_members: LabelledCode,
    shadow: CodeModel | None = None,
    train_shadow: Callable[[list[str], np.ndarray], CodeModel] | None = None,
    nmid: NMIDConfig | None = None,
    feature_sets: Sequence[str] | None = None,
    attack: AttackConfig = AttackConfig(),
    batch_size: int = 256,
    n_boot: int = 1000,
    seed: int = 0,
    allow_overlap: bool = False,
) -> dict[str, MembershipResult]:
    """The shadow-model membership attack (Shokri et al. 2017) on a code model, under NMID (Liao et al.).

    Parameters
    ----------
    target:
        The attacked code model: ``target(codes: list[str])`` returns logits (N, K), K >= 2, or
        ``(embedding (N, D), logits (N, K))``; numpy arrays, torch tensors or nested lists; finite.
    members, non_members:
        ``(codes, labels)``: the target's candidates, code strings (n,) with their true labels (n,), integer
        class indices in [0, K) (bool allowed). Members are the functions the target was trained on.
    shadow_members, shadow_non_members:
        ``(codes, labels)`` the attacker's own data: what its shadow was trained on, and functions it was not.
    shadow:
        The attacker's shadow model, already trained on ``shadow_members`` (same output form as ``target``).
    train_shadow:
        Instead of ``shadow``: ``train_shadow(codes, labels) -> code model`` is called once on
        ``shadow_members`` (codes a list of strings, labels (n,) int64) to train it. Give exactly one of the two.
    nmid:
        The defence both releases go through (the target's with noise stream "target", the shadow's with
        "shadow", as in the book); ``None`` = the undefended release (``NMIDConfig()``: level "none", sigma 0).
    feature_sets:
        Names from :data:`leakage.vp.features.FEATURE_SETS`; ``None`` = every one the model's outputs allow:
        all eight with an embedding, else the six of :data:`~leakage.vp.features.WITHOUT_EMBEDDING`
        (logits, loss, confidence, logits+loss, loss+confidence, logits+loss+confidence).
    attack:
        The attack classifier (MLP or gradient boosting, its size and seed).
    batch_size:
        Strings per call of a model: each side (members, non-members, ...) is queried in batches of this size.
    n_boot, seed:
        Bootstrap resamples and seed of the metrics' 95% CIs (the same resamples for every feature set).
    allow_overlap:
        A code string in both ``members`` and ``non_members`` (or in both ``shadow_members`` and
        ``shadow_non_members``) is an error unless True (then a :class:`leakage.checks.OverlapWarning`).

    The models handed in (torch modules, or bound methods of modules) come back as they were (train/eval mode,
    device, dtype, ``requires_grad``), and so do the global random generators
    (:func:`leakage.caller_state.caller_state`).

    Returns
    -------
    ``{feature set: MembershipResult}`` in the order asked. Each result: ``scores`` (n_members +
    n_non_members,) the attack classifier's member probability in [0, 1], **higher = member**, members
    first; ``is_member``; ``indices`` the position in members then non-members; ``extras``
    ``released_prediction`` / ``raw_prediction`` / ``true_label`` (n,) int (see :data:`leakage.api.EXTRAS`);
    ``cost`` ``queries_per_candidate`` (1), ``shadow_queries`` and ``seconds`` (the whole call, every
    feature set); ``config`` the feature set, NMID and attack settings and content digests of the data.

    Raises
    ------
    ValueError
        A code that is not a string; labels that are not integers in [0, K) or not one per code; an empty
        side; a model whose output is not logits (N, K >= 2) or a pair (embedding (N, D), logits (N, K)), has
        the wrong number of rows, changes form or width between calls, or holds a NaN or infinity; target and
        shadow of different widths; an unknown feature set, or one that needs an embedding when a model gives
        none; both or neither of ``shadow`` and ``train_shadow``; ``batch_size`` < 1.
    """
    start = time.perf_counter()
    nmid = NMIDConfig() if nmid is None else nmid
    if not isinstance(nmid, NMIDConfig) or not isinstance(attack, AttackConfig):
        raise ValueError(f"nmid must be an NMIDConfig (or None) and attack an AttackConfig, got "
                         f"{type(nmid).__name__} and {type(attack).__name__}")
    if feature_sets is not None:
        check_feature_sets(feature_sets)  # names, before any model is run
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not callable(target):
        raise ValueError(f"target must be a callable on a list of code strings, got {type(target).__name__}")
    sides = {name: _labelled(name, value) for name, value in (
        ("members", members), ("non_members", non_members), ("shadow_members", shadow_members),
        ("shadow_non_members", shadow_non_members))}
    for first, second in (("members", "non_members"), ("shadow_members", "shadow_non_members")):
        check_disjoint(first, sides[first][0], second, sides[second][0], allow=allow_overlap, what="codes")
    if (shadow is None) == (train_shadow is None):
        raise ValueError("give exactly one of shadow (a trained shadow code model) and train_shadow "
                         "(codes, labels -> code model)")
    if shadow is None:
        if not callable(train_shadow):
            raise ValueError(f"train_shadow must be a callable (codes, labels) -> code model, got "
                             f"{type(train_shadow).__name__}")
        shadow = train_shadow(*sides["shadow_members"])
    if not callable(shadow):
        raise ValueError(f"the shadow must be a callable on a list of code strings, got {type(shadow).__name__}")

    target_out = _query(target, "target", sides, ("members", "non_members"), batch_size)
    shadow_out = _query(shadow, "shadow", sides, ("shadow_members", "shadow_non_members"), batch_size)
    if feature_sets is None:
        both = target_out.has_embedding and shadow_out.has_embedding
        feature_sets = tuple(FEATURE_SETS) if both else WITHOUT_EMBEDDING
    outcome = shadow_attack(target_out, shadow_out, nmid, attack, feature_sets)
    seconds = time.perf_counter() - start

    release, is_member = outcome.target_release, target_out.is_member
    extras = {"released_prediction": release.prediction.astype(np.int64),
              "raw_prediction": target_out.logits.argmax(1).astype(np.int64), "true_label": target_out.labels}
    cost = {"queries_per_candidate": 1.0, "shadow_queries": float(len(shadow_out)), "seconds": seconds}
    data = {"candidates": _digest(sides["members"], sides["non_members"]),
            "shadow_data": _digest(sides["shadow_members"], sides["shadow_non_members"])}
    return {feature_set: MembershipResult(
                attack=attack_label(feature_set, attack, nmid), scores=scores, is_member=is_member,
                cost=dict(cost), extras={k: v.copy() for k, v in extras.items()},
                config={"feature_set": feature_set, "nmid": nmid, "attack": attack, **data},
                seed=seed, n_boot=n_boot)
            for feature_set, scores in outcome.scores.items()}


def _labelled(name: str, value: Any) -> tuple[list[str], np.ndarray]:
    """(codes as a list of str, labels (n,) int64) of a ``(codes, labels)`` pair; ``ValueError`` when bad."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (codes, labels), got {type(value).__name__}"
                         f"{' of length ' + str(len(value)) if isinstance(value, (tuple, list)) else ''}")
    codes, labels = value
    if isinstance(codes, (str, bytes)):
        raise ValueError(f"{name}: codes must be a sequence of code strings, got a single {type(codes).__name__}")
    codes = list(codes)
    bad = next((i for i, c in enumerate(codes) if not isinstance(c, str)), None)
    if bad is not None:
        raise ValueError(f"{name}: every code must be a string; code {bad} is a {type(codes[bad]).__name__}")
    if not codes:
        raise ValueError(f"{name} is empty: the attack needs at least one function on each side")
    return codes, check_labels(f"{name} labels", labels, n=len(codes))


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # torch (bfloat16 has no numpy dtype)
        value = value.detach().cpu().float().numpy()
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError
    return array.astype(np.float64)


def _call(model: CodeModel, who: str, codes: list[str], where: str) -> tuple[np.ndarray | None, np.ndarray]:
    """(embedding (b, D) or None, logits (b, K)) of one batch, checked."""
    form = ("must return logits (N, K) with K >= 2, or a pair (embedding (N, D), logits (N, K))")
    out = model(codes)
    try:
        if isinstance(out, (tuple, list)) and len(out) == 2 and not np.isscalar(out[0]) and np.ndim(out[0]) == 2 \
                and np.ndim(out[1]) == 2:
            embedding, logits = _as_array(out[0]), _as_array(out[1])
        else:
            embedding, logits = None, _as_array(out)
    except (TypeError, ValueError):
        raise ValueError(f"the {who} model {form}; on {where} it returned a {type(out).__name__}") from None
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"the {who} model {form}; on {where} it returned logits of shape {logits.shape}")
    if len(logits) != len(codes) or (embedding is not None and len(embedding) != len(codes)):
        raise ValueError(f"the {who} model returned {len(logits)} logit rows"
                         f"{'' if embedding is None else f' and {len(embedding)} embedding rows'} for the "
                         f"{len(codes)} codes of {where}: it must return one row per code")
    check_finite(f"the {who} model's logits on {where} (log-probabilities are -inf where the model is certain: "
                 "return finite logits, e.g. [0, decision_function] for a binary scikit-learn model)", logits)
    if embedding is not None:
        check_finite(f"the {who} model's embedding on {where}", embedding)
    return embedding, logits


def _query(model: CodeModel, who: str, sides: dict[str, tuple[list[str], np.ndarray]], names: tuple[str, str],
           batch_size: int) -> RawOutputs:
    """The model's raw outputs on the two sides (members first), each queried in batches of ``batch_size``."""
    embeddings: list[np.ndarray | None] = []
    logits: list[np.ndarray] = []
    for name in names:
        codes = sides[name][0]
        for begin in range(0, len(codes), batch_size):
            stop = min(begin + batch_size, len(codes))
            e, z = _call(model, who, codes[begin:stop], f"{name}[{begin}:{stop}]")
            if logits and ((e is None) != (embeddings[0] is None) or z.shape[1] != logits[0].shape[1]
                           or (e is not None and e.shape[1] != embeddings[0].shape[1])):
                raise ValueError(f"the {who} model changed its output's form or width between calls (on "
                                 f"{name}[{begin}:{stop}]): every call must return the same kind and widths")
            embeddings.append(e)
            logits.append(z)
    z = np.concatenate(logits)
    e = None if embeddings[0] is None else np.concatenate(embeddings)  # type: ignore[arg-type]
    labels = np.concatenate([sides[n][1] for n in names])
    if labels.max() >= z.shape[1]:
        name = next(n for n in names if sides[n][1].max() >= z.shape[1])
        raise ValueError(f"{name}: labels must be class indices in [0, {z.shape[1]}) (the {who} model gives "
                         f"{z.shape[1]} logits), got a label {sides[name][1].max()}")
    member = np.r_[np.ones(len(sides[names[0]][0]), bool), np.zeros(len(sides[names[1]][0]), bool)]
    return RawOutputs(e, z, labels, member, name=who)


def _digest(*sides: tuple[list[str], np.ndarray]) -> str:
    """16-hex-digit content digest of labelled code sets (codes and labels, in order)."""
    chunks: list[bytes] = []
    for codes, labels in sides:
        chunks += [str(len(codes)).encode(), *(c.encode("utf-8", "surrogatepass") for c in codes), labels.tobytes()]
    return bytes_digest(*chunks)
