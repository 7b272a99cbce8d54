"""Membership inference on your own causal language model and texts: :func:`attack_language_model`.

Hand in a causal LM (a Hugging Face model and its tokenizer, or a folder / Hub id / ``"smollm2-135m"``),
texts you know were in its training data (members) and texts you know were not (non-members); get the
six attacks of the book's LM chapter (Yeom et al.'s LOSS; Carlini et al. 2021's zlib and reference
model; Mattern et al. 2023's neighbourhood comparison; Shi et al. 2023's Min-k% Prob; Zhang et al.
2024's Min-k%++) as :class:`~leakage.api.result.MembershipResult` objects: per-text scores (higher =
member) and AUC / TPR at 1% and 0.1% FPR with bootstrap CIs.

This is the book's code path (:func:`leakage.experiments.llm.run_llm`): one
:class:`~leakage.lm.scoring.Scorer` forward pass per text and model, the same
:class:`~leakage.lm.attacks.AttackInputs`, attacks and :func:`~leakage.lm.attacks.attack_results`. Nothing
is cached between calls (no store): every call scores the weights the model holds at that moment.

Texts from a file: one text per line (UTF-8; invalid bytes become U+FFFD with a warning). Blank lines
(empty or whitespace only) are skipped and their count is logged (logger ``leakage.api.text``, level
WARNING). An empty string in a list handed in is kept and scored as a failure (no token: the lowest
score, extras ``failed``), as :mod:`leakage.lm.scoring` documents.
"""

from __future__ import annotations

import logging
import numbers
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from leakage.api.result import MembershipResult
from leakage.lm.attacks import AttackInputs, attack_results, check_fraction, standard_specs
from leakage.lm.scoring import EmptyTextWarning, Scorer, StatsBatch, context_length, normalise_texts

__all__ = ["attack_language_model", "read_texts"]

log = logging.getLogger(__name__)

TextSource = Sequence[str] | str | os.PathLike


def read_texts(source: TextSource, what: str = "texts") -> list[str]:
    """The texts of ``source``: a sequence of strings (kept as they are), or a path (``str`` or ``Path``) to
    a UTF-8 text file holding one text per line (blank lines skipped and counted in a logged note).

    Raises ``FileNotFoundError`` for a missing file, ``ValueError`` when no text is found or an entry is
    not a string.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{what}: file {path} does not exist (pass a text file, one text per line, "
                                    "or a list of strings)")
        lines = path.read_bytes().splitlines()  # \n, \r\n or \r: other separators stay inside a text
        texts = normalise_texts([line for line in lines if line.strip()])
        blank = len(lines) - len(texts)
        if blank:
            log.warning("%s: skipped %d blank line(s) of %s", what, blank, path)
        if not texts:
            raise ValueError(f"{what}: file {path} holds no text (one text per line)")
        return texts
    if isinstance(source, bytes):
        raise ValueError(f"{what}: expected a list of texts or a file path, got bytes")
    texts = normalise_texts(list(source))
    if not texts:
        raise ValueError(f"{what}: no text given")
    return texts


def _looks_like_path(source: str) -> bool:
    """A folder path rather than a Hub id (``org/name``): absolute, or starting with ``./``, ``../`` or ``~``."""
    return os.path.isabs(source) or source.startswith(("./", "../", "~", ".\\", "..\\"))


def _language_model(model: Any, tokenizer: Any, device: torch.device | str | None, what: str):
    """(model, tokenizer, name) from a model object (+ tokenizer), a (model, tokenizer) pair or a source string."""
    if isinstance(model, (str, os.PathLike)):
        from leakage.device import get_device
        from leakage.lm.models import load_pretrained

        source = str(model)
        if _looks_like_path(source) and not Path(source).expanduser().exists():
            raise FileNotFoundError(f"{what}: no model folder {source}")
        loaded, loaded_tokenizer = load_pretrained(source, device if device is not None else get_device())
        name = Path(source).name if Path(source).expanduser().exists() else source
        return loaded, tokenizer if tokenizer is not None else loaded_tokenizer, name
    if isinstance(model, tuple):
        if len(model) != 2:
            raise ValueError(f"{what}: expected a model, a (model, tokenizer) pair or a path, got a tuple of "
                             f"{len(model)}")
        model, tokenizer = model[0], tokenizer if tokenizer is not None else model[1]
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{what}: expected a torch causal LM, a (model, tokenizer) pair or a path / Hub id, got "
                         f"{type(model).__name__}")
    if tokenizer is None:
        raise ValueError(f"{what}: a model object needs its tokenizer (pass tokenizer=, or a (model, tokenizer) pair)")
    if device is not None:
        model = model.to(device)
    return model, tokenizer, type(model).__name__


def _references(reference: Any, reference_tokenizer: Any, default_tokenizer: Any, device) -> dict[str, tuple]:
    """name -> (model, tokenizer) of the reference model(s)."""
    if reference is None:
        return {}
    items = reference.items() if isinstance(reference, Mapping) else [(None, reference)]
    out = {}
    for name, item in items:
        tokenizer = reference_tokenizer
        if tokenizer is None and isinstance(item, torch.nn.Module):
            tokenizer = default_tokenizer  # a reference object alone shares the target's tokenizer
        model, tokenizer, default = _language_model(item, tokenizer, device, f"reference {name or ''}".strip())
        out[str(name) if name is not None else default] = (model, tokenizer)
    return out


def _reference_stats(scorer: Scorer, wide: int, texts: list[str], scored: StatsBatch) -> StatsBatch:
    """Statistics of the texts the target scored, under a reference: the given texts truncated as the
    target truncated them when the tokenizers agree, else the target's scored prefixes with room to spare."""
    first = scorer.stats(texts)
    if first.texts == scored.texts:
        return first
    redo = [i for i, (a, b) in enumerate(zip(first.texts, scored.texts)) if a != b]
    longer = Scorer(scorer.model, scorer.tokenizer, name=scorer.name, max_tokens=wide, batch_size=scorer.batch_size,
                    device=scorer.device)
    again = longer.stats([scored.texts[i] for i in redo])
    items = [scorer.cache[t] for t in texts]
    for i, text in zip(redo, again.texts):
        items[i] = longer.cache[scored.texts[i]]
        if text != scored.texts[i]:
            raise ValueError(f"reference {scorer.name!r} cannot score text {i} as the target did: its tokens exceed "
                             f"the reference's context of {wide} tokens; lower max_tokens")
    return StatsBatch.from_stats(items)


def _neighbour_texts(neighbours: Any, n_texts: int) -> tuple[list[str] | None, int]:
    """(flattened neighbour texts, n per text) of neighbours handed in as one list of texts per text."""
    groups = list(neighbours)
    if len(groups) != n_texts:
        raise ValueError(f"neighbours: expected one list of neighbour texts per text ({n_texts}), got {len(groups)}")
    if any(isinstance(g, (str, bytes)) for g in groups):
        raise ValueError("neighbours: expected one list of neighbour texts per text (members then non-members), "
                         "got a flat list of strings")
    sizes = {len(g) for g in groups}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"neighbours: every text needs the same number (>= 1) of neighbours, got {sorted(sizes)}")
    return normalise_texts([t for g in groups for t in g]), sizes.pop()


def attack_language_model(model: Any, members: TextSource, non_members: TextSource, *, tokenizer: Any = None,
                          reference: Any = None, reference_tokenizer: Any = None,
                          neighbours: int | Sequence[Sequence[str]] | None = 10, masked_lm: Any = None,
                          masked_lm_tokenizer: Any = None, neighbour_fraction: float = 0.1, min_k: float = 0.2,
                          max_tokens: int = 128, batch_size: int = 16, seed: int = 0,
                          device: torch.device | str | None = None, n_boot: int = 1000) -> dict[str, MembershipResult]:
    """Every LM membership-inference attack against ``model`` on ``members`` and ``non_members``.

    - ``model``: a causal LM (``model(input_ids, attention_mask).logits`` of shape (B, L, V), e.g. any
      ``AutoModelForCausalLM``) with ``tokenizer=``, a ``(model, tokenizer)`` pair, or a string: a local
      ``save_pretrained`` folder, a Hugging Face id or ``"smollm2-135m"`` (:func:`leakage.lm.models.load_pretrained`);
    - ``members`` / ``non_members``: lists of texts, or paths of text files (one text per line; see
      :func:`read_texts`). The candidates are the members then the non-members: ``indices`` of every result
      are positions in that order;
    - ``reference``: a reference model for Carlini et al.'s calibrated attack (same forms as ``model``; a
      model object alone uses ``reference_tokenizer`` or else the target's tokenizer), or a mapping
      name -> reference for several; label ``"reference (<name>)"``. None: no reference attack;
    - ``neighbours``: n neighbours made per text (:mod:`leakage.lm.perturb`: with ``masked_lm`` (a masked LM
      as a ``(model, tokenizer)`` pair, a path / Hub id, or a model with ``masked_lm_tokenizer=``) by
      masked-LM word replacement (Mattern et al. 2023), else by word replacement from a lexicon of the
      candidate texts), ``neighbour_fraction`` of the words replaced, seeded by ``seed``; or the neighbour
      texts themselves, one list of n per text; None or 0: no neighbourhood attack. Neighbours made here
      perturb each text *as scored* (its prefix when it has more than ``max_tokens`` tokens);
    - ``min_k``: k of Min-k% and Min-k%++ (a fraction); ``max_tokens``: tokens scored per text (longer
      texts are scored as their prefix: extras ``truncated``); ``batch_size``: texts per forward pass;
      ``device``: where the models run (default: where a model object is, or the package's device for a
      string); ``seed``: neighbours and bootstrap; ``n_boot``: bootstrap resamples of the CIs.

    Returns attack label -> :class:`MembershipResult` in table order (``loss``, ``reference (<name>)``,
    ``zlib``, ``neighbourhood``, ``min-k (20%)``, ``min-k++ (20%)``), each with scores (N,) higher =
    member and extras ``n_tokens``, ``truncated``, ``failed`` (an empty text: the lowest score, one
    :class:`~leakage.lm.scoring.EmptyTextWarning`). Raises ``FileNotFoundError`` for a missing text file or
    model folder, ``ValueError`` for no member or no non-member, a k outside (0, 1], malformed neighbours or
    ``max_tokens`` beyond the model's context, and ``DataUnavailableError`` for a model that cannot be loaded.
    """
    start = time.perf_counter()
    check_fraction("attack_language_model min_k", min_k)
    member_texts, non_member_texts = read_texts(members, "members"), read_texts(non_members, "non_members")
    texts = member_texts + non_member_texts
    is_member = np.r_[np.ones(len(member_texts), bool), np.zeros(len(non_member_texts), bool)]
    lm, lm_tokenizer, name = _language_model(model, tokenizer, device, "model")
    scorer = Scorer(lm, lm_tokenizer, name=name, max_tokens=max_tokens, batch_size=batch_size)
    target = scorer.stats(texts, desc=f"{name}: texts")

    references = {}
    with warnings.catch_warnings():  # a failed text was named once, by the target's scorer
        warnings.simplefilter("ignore", EmptyTextWarning)
        for ref_name, (ref_model, ref_tokenizer) in _references(reference, reference_tokenizer, lm_tokenizer,
                                                                device).items():
            ref_scorer = Scorer(ref_model, ref_tokenizer, name=ref_name, max_tokens=max_tokens, batch_size=batch_size)
            wide = max(max_tokens, min(4 * max_tokens, _context(ref_model) - 1))
            references[ref_name] = _reference_stats(ref_scorer, wide, texts, target)

        neighbour_stats, n_neighbours, source = None, 0, "none"
        if neighbours is not None and not (isinstance(neighbours, numbers.Integral) and neighbours == 0):
            if isinstance(neighbours, numbers.Integral):
                flat, n_neighbours, source = _make_neighbours(list(target.texts), texts, int(neighbours), masked_lm,
                                                              masked_lm_tokenizer, neighbour_fraction, seed,
                                                              batch_size, device)
            else:
                (flat, n_neighbours), source = _neighbour_texts(neighbours, len(texts)), "given"
            neighbour_stats = scorer.stats(flat, desc=f"{name}: neighbours")

    inputs = AttackInputs(target, references, neighbour_stats, n_neighbours)
    specs = standard_specs(list(references), neighbour_stats is not None, min_k)
    config = {"model": name, "references": list(references), "neighbours": n_neighbours,
              "neighbour_source": source, "neighbour_fraction": neighbour_fraction, "min_k": min_k,
              "max_tokens": max_tokens, "seed": seed, "n_members": len(member_texts),
              "n_non_members": len(non_member_texts)}
    cost = {"seconds": time.perf_counter() - start, "forward_texts": scorer.forward_texts}
    return attack_results(inputs, is_member, specs, config=config, seed=seed, n_boot=n_boot, cost=cost)


def _context(model: torch.nn.Module) -> int:
    limit = context_length(model)
    return limit if limit is not None else 1 << 30


def _make_neighbours(scored: list[str], texts: list[str], n: int, masked_lm: Any, masked_lm_tokenizer: Any,
                     fraction: float, seed: int, batch_size: int, device) -> tuple[list[str], int, str]:
    """(flattened neighbours of the scored texts, n, how they were made)."""
    from leakage.lm import perturb

    if n < 0:
        raise ValueError(f"neighbours must be a count >= 0 or the neighbour texts, got {n}")
    if masked_lm is None:
        lexicon = perturb.WordLexicon.from_texts(texts)
        return perturb.lexicon_neighbours(scored, n, fraction=fraction, lexicon=lexicon, seed=seed), n, "lexicon"
    if isinstance(masked_lm, (str, os.PathLike)):
        from leakage.device import get_device

        mlm, mlm_tokenizer = perturb.load_masked_lm(str(masked_lm), device if device is not None else get_device())
        label = str(masked_lm)
    else:
        mlm, mlm_tokenizer = masked_lm if isinstance(masked_lm, tuple) else (masked_lm, None)
        if device is not None:
            mlm = mlm.to(device)
        label = type(mlm).__name__
    mlm_tokenizer = masked_lm_tokenizer if masked_lm_tokenizer is not None else mlm_tokenizer
    if mlm_tokenizer is None:
        raise ValueError("masked_lm: a model object needs its tokenizer (masked_lm_tokenizer=, or a pair)")
    made = perturb.masked_lm_neighbours(scored, mlm, mlm_tokenizer, n, fraction=fraction, seed=seed,
                                        batch_size=batch_size)
    return made, n, f"masked LM {label}"
