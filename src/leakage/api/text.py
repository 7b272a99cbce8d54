"""Membership inference on your own causal language model and texts: :func:`attack_language_model`.

Hand in a causal LM (a Hugging Face model and its tokenizer, or a folder / Hub id / ``"smollm2-135m"``),
texts you know were in its training data (members) and texts you know were not (non-members); get the
six attacks of the book's LM chapter (Yeom et al.'s LOSS; Carlini et al. 2021's zlib and reference
model; Mattern et al. 2023's neighbourhood comparison; Shi et al. 2023's Min-k% Prob; Zhang et al.
2024's Min-k%++) as :class:`~leakage.membership.MembershipResult` objects: per-text scores (higher =
member) and AUC / TPR at 1% and 0.1% FPR (NaN below 1/(non-members)) / TPR at zero false positives with
bootstrap CIs.

This is the book's code path (:func:`leakage.experiments.llm.run_llm`): one
:class:`~leakage.lm.scoring.Scorer` forward pass per text and model, the same
:class:`~leakage.lm.attacks.AttackInputs`, attacks and :func:`~leakage.lm.attacks.attack_results`. Nothing
is cached between calls (no store): every call scores the weights the model holds at that moment.

Texts from a file are parsed by its extension (:mod:`leakage.lm.textfiles`): ``.txt`` one text per line
(a text with a line break inside needs JSONL or CSV), ``.jsonl`` a JSON object per line, ``.csv`` / ``.tsv``
a header and a column; the field / column is ``text_field`` (default ``"text"``); any other extension is
refused. Files are read one record at a time, as UTF-8 with or without a byte-order mark (or UTF-16 / 32
with one), with ``\n``, ``\r\n`` or ``\r`` line ends; invalid bytes become U+FFFD with a warning. Blank
texts (empty or only whitespace, Unicode spaces such as U+00A0 and U+3000 included) are skipped and their
count is logged (logger ``leakage.api.text``, level WARNING). An empty string in a list handed in is kept
and scored as a failure (no token: the lowest score, extras ``failed``), as :mod:`leakage.lm.scoring`
documents.
"""

from __future__ import annotations

import logging
import numbers
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from leakage.membership import MembershipResult
from leakage.caller_state import leaves_caller_state
from leakage.checks import check_disjoint
from leakage.lm.attacks import AttackInputs, attack_results, check_fraction, standard_specs
from leakage.lm.scoring import EmptyTextWarning, Scorer, StatsBatch, context_length, normalise_texts
from leakage.lm.textfiles import read_text_file

__all__ = ["attack_language_model", "read_texts"]

log = logging.getLogger(__name__)

TextSource = Sequence[str] | str | os.PathLike


def read_texts(source: TextSource, what: str = "texts", *, text_field: str = "text") -> list[str]:
    """The texts of ``source``: a sequence of strings (kept as they are), or a path (``str`` or ``Path``) of
    a ``.txt`` (one text per line), ``.jsonl`` (field ``text_field`` of one JSON object per line) or ``.csv``
    / ``.tsv`` file (column ``text_field`` under a header), read one record at a time
    (:mod:`leakage.lm.textfiles`: encodings, line ends and the rule for multi-line texts). Blank texts of a
    file (empty or Unicode whitespace only) are skipped and counted in a logged note. ``what`` names the
    input in messages (the caller's parameter, e.g. ``"members"``).

    Raises ``FileNotFoundError`` for a missing file, ``ValueError`` for a folder, a file of another
    extension, a record without the text field, no text at all or an entry that is not a string, and
    ``OSError`` for a file that cannot be read.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{what}: file {path} does not exist (pass a .txt, .jsonl or .csv file, or a "
                                    "list of strings)")
        if path.is_dir():
            raise ValueError(f"{what}: {path} is a folder; pass a .txt, .jsonl or .csv file")
        if not isinstance(text_field, str) or not text_field:
            raise ValueError(f"text_field must name the JSONL field / CSV column of the texts, got {text_field!r}")
        try:
            read = read_text_file(path, text_field=text_field, what=what)
        except OSError as err:
            raise type(err)(f"{what}: cannot read {path} ({err.strerror or err})") from None
        if read.blank:
            at = ", ".join(map(str, read.blank_at)) + (", ..." if read.blank > len(read.blank_at) else "")
            log.warning("%s: skipped %d blank line(s) of %s (empty or whitespace-only texts; line %s)", what,
                        read.blank, path, at)
        if not read.texts:
            raise ValueError(f"{what}: file {path} holds no text" + (f" (only {read.blank} blank one(s))"
                                                                       if read.blank else ""))
        return read.texts
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
        if isinstance(item, tuple) and len(item) == 2 and item[1] is None:
            item = item[0]  # (model, None): a model alone
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
                    device=scorer.device, context_token=scorer.context_token)
    again = longer.stats([scored.texts[i] for i in redo])
    items = [scorer.cache[t] for t in texts]
    for i, text in zip(redo, again.texts):
        items[i] = longer.cache[scored.texts[i]]
        if text != scored.texts[i]:
            raise ValueError(f"reference {scorer.name!r} cannot score text {i} as the target did: its tokens exceed "
                             f"the reference's context of {wide} tokens; lower max_tokens")
    return StatsBatch.from_stats(items)


def _neighbour_texts(neighbours: Any, n_texts: int) -> tuple[list[str], int]:
    """(flattened neighbour texts, n per text) of neighbours handed in as one list of texts per text.

    Raises ``ValueError`` naming ``neighbours=`` when they are not one list of n >= 1 texts (str or bytes)
    per text."""
    if isinstance(neighbours, (str, bytes, os.PathLike)) or not isinstance(neighbours, Iterable):
        raise ValueError(f"neighbours= must be a count (int >= 0) or one list of neighbour texts per text, got "
                         f"{type(neighbours).__name__}")
    groups = list(neighbours)
    if len(groups) != n_texts:
        raise ValueError(f"neighbours: expected one list of neighbour texts per text ({n_texts}), got {len(groups)}")
    if any(isinstance(g, (str, bytes)) for g in groups):
        raise ValueError("neighbours: expected one list of neighbour texts per text (members then non-members), "
                         "got a flat list of strings")
    if any(not isinstance(g, Iterable) for g in groups):
        i = next(i for i, g in enumerate(groups) if not isinstance(g, Iterable))
        raise ValueError(f"neighbours: entry {i} is a {type(groups[i]).__name__}, not a list of neighbour texts")
    groups = [list(g) for g in groups]
    sizes = {len(g) for g in groups}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"neighbours: every text needs the same number (>= 1) of neighbours, got {sorted(sizes)}")
    for i, group in enumerate(groups):
        for j, text in enumerate(group):
            if not isinstance(text, (str, bytes)):
                raise ValueError(f"neighbours: neighbour {j} of text {i} is a {type(text).__name__}; neighbour texts "
                                 "must be str or bytes")
    return normalise_texts([t for g in groups for t in g]), sizes.pop()


@leaves_caller_state
def attack_language_model(model: Any, members: TextSource, non_members: TextSource, *, tokenizer: Any = None,
                          reference: Any = None, reference_tokenizer: Any = None,
                          neighbours: int | Sequence[Sequence[str]] | None = 10, masked_lm: Any = None,
                          masked_lm_tokenizer: Any = None, neighbour_fraction: float = 0.1, min_k: float = 0.2,
                          max_tokens: int = 128, batch_size: int = 16, seed: int = 0,
                          device: torch.device | str | None = None, n_boot: int = 1000,
                          allow_overlap: bool = False, text_field: str = "text",
                          context_token: int | str | None = None) -> dict[str, MembershipResult]:
    """Every LM membership-inference attack against ``model`` on ``members`` and ``non_members``.

    - ``model``: a causal LM (``model(input_ids, attention_mask).logits`` of shape (B, L, V), e.g. any
      ``AutoModelForCausalLM``) with ``tokenizer=``, a ``(model, tokenizer)`` pair, or a string: a local
      ``save_pretrained`` folder, a Hugging Face id or ``"smollm2-135m"`` (:func:`leakage.lm.models.load_pretrained`);
    - ``members`` / ``non_members``: lists of texts, or paths of ``.txt`` (one text per line), ``.jsonl``
      or ``.csv`` files, whose texts are the field / column ``text_field`` (default ``"text"``; see
      :func:`read_texts`). The candidates are the members then the non-members: ``indices`` of every result
      are positions in that order;
    - ``reference``: a reference model for Carlini et al.'s calibrated attack (same forms as ``model``; a
      model object alone uses ``reference_tokenizer`` or else the target's tokenizer), or a mapping
      name -> reference for several; label ``"reference (<name>)"``. None: no reference attack;
    - ``neighbours``: n neighbours made per text (:mod:`leakage.lm.perturb`: with ``masked_lm`` (a masked LM
      as a ``(model, tokenizer)`` pair, a path / Hub id, or a model with ``masked_lm_tokenizer=``) by
      masked-LM word replacement (Mattern et al. 2023), else by word replacement from a fixed lexicon, the
      Brown corpus's word frequencies, :func:`~leakage.lm.perturb.brown_lexicon`), ``neighbour_fraction`` of
      the words replaced, seeded by ``seed``; or the neighbour texts themselves, one list of n per text; None
      or 0: no neighbourhood attack. Neighbours made here perturb each text *as scored* (its prefix when it has
      more than ``max_tokens`` tokens), and each text's depend only on that text and these settings, not on
      the other texts passed;
    - ``min_k``: k of Min-k% and Min-k%++ (a fraction); ``max_tokens``: tokens scored per text (longer
      texts are scored as their prefix: extras ``truncated``); ``batch_size``: texts per forward pass;
      ``device``: where the models run (default: where a model object is, or the package's device for a
      string); ``seed``: neighbours and bootstrap; ``n_boot``: bootstrap resamples of the CIs;
    - ``context_token``: the token put before every text so that its first token is scored (default: the
      tokenizer's ``<|endoftext|>``, else BOS, else EOS; needed for a tokenizer with none of them): a token id
      of the target's tokenizer (used by the references that share it), or a string every tokenizer reads as
      one token (used by every model, e.g. ``"\\n"``);
    - ``allow_overlap``: a text in both ``members`` and ``non_members`` (compared as the scorer normalises
      them, :func:`leakage.lm.scoring.normalise_texts`) is an error unless True (then a
      :class:`leakage.checks.OverlapWarning`); texts that differ only beyond ``max_tokens`` tokens are scored
      as the same prefix, and are refused (or warned about) likewise once the target has tokenised them.

    The caller's models come back as handed in (train/eval mode, device, dtype, ``requires_grad``) and the
    global random generators where they were (:func:`leakage.caller_state.caller_state`).

    Returns attack label -> :class:`MembershipResult` in table order (``loss``, ``reference (<name>)``,
    ``zlib``, ``neighbourhood``, ``min-k (20%)``, ``min-k++ (20%)``), each with scores (N,) higher =
    member and extras ``n_tokens``, ``truncated``, ``failed`` (an empty text: the lowest score, one
    :class:`~leakage.lm.scoring.EmptyTextWarning`). Raises ``FileNotFoundError`` for a missing text file or
    model folder, ``ValueError`` for no member or no non-member, a text file of another format or without the
    field ``text_field``, a k outside (0, 1], malformed neighbours, a ``neighbour_fraction`` outside (0, 1],
    ``max_tokens`` beyond a model's context, a tokenizer with no start token (pass ``context_token``) or token
    ids a model cannot embed (both checked before any forward pass), and ``DataUnavailableError`` for a model
    that cannot be loaded.
    """
    start = time.perf_counter()
    check_fraction("attack_language_model min_k", min_k)
    member_texts, non_member_texts = (read_texts(members, "members", text_field=text_field),
                                        read_texts(non_members, "non_members", text_field=text_field))
    if not allow_overlap:  # refused before any forward pass; texts that share their scored prefix: below
        check_disjoint("members", member_texts, "non_members", non_member_texts, what="texts")
    texts = member_texts + non_member_texts
    is_member = np.r_[np.ones(len(member_texts), bool), np.zeros(len(non_member_texts), bool)]
    lm, lm_tokenizer, name = _language_model(model, tokenizer, device, "model")
    scorer = Scorer(lm, lm_tokenizer, name=name, max_tokens=max_tokens, batch_size=batch_size,
                    context_token=context_token)
    target = scorer.stats(texts, desc=f"{name}: texts")
    scored = list(target.texts)  # as scored: identical texts, and texts that differ only beyond max_tokens
    check_disjoint("members", scored[:len(member_texts)], "non_members", scored[len(member_texts):],
                   allow=allow_overlap, what=f"texts (as scored: up to their first {max_tokens} tokens)")

    references = {}
    with warnings.catch_warnings():  # a failed text was named once, by the target's scorer
        warnings.simplefilter("ignore", EmptyTextWarning)
        for ref_name, (ref_model, ref_tokenizer) in _references(reference, reference_tokenizer, lm_tokenizer,
                                                                device).items():
            shared = isinstance(context_token, str) or ref_tokenizer is lm_tokenizer  # an id is the target's
            ref_scorer = Scorer(ref_model, ref_tokenizer, name=ref_name, max_tokens=max_tokens, batch_size=batch_size,
                                context_token=context_token if shared else None)
            wide = max(max_tokens, min(4 * max_tokens, _context(ref_model) - 1))
            references[ref_name] = _reference_stats(ref_scorer, wide, texts, target)

        neighbour_stats, n_neighbours, source = None, 0, "none"
        if neighbours is not None and not (isinstance(neighbours, numbers.Integral) and neighbours == 0):
            if isinstance(neighbours, numbers.Integral):
                flat, n_neighbours, source = _make_neighbours(list(target.texts), int(neighbours), masked_lm,
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


def _make_neighbours(scored: list[str], n: int, masked_lm: Any, masked_lm_tokenizer: Any, fraction: float,
                     seed: int, batch_size: int, device) -> tuple[list[str], int, str]:
    """(flattened neighbours of the scored texts, n, how they were made).

    Each text's neighbours depend only on that text, ``n``, ``fraction``, ``seed`` and the masked LM (or the
    fixed lexicon :func:`leakage.lm.perturb.brown_lexicon`), never on the other texts of the call. Errors
    name the parameters of :func:`attack_language_model`."""
    from leakage.lm import perturb

    if n < 0:
        raise ValueError(f"neighbours= must be a count >= 0 or the neighbour texts, got {n}")
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value <= 1:  # NaN too
        raise ValueError(f"neighbour_fraction= must be in (0, 1] (the fraction of a text's words replaced in each "
                         f"neighbour), got {fraction!r}")
    if masked_lm is None:
        made = perturb.lexicon_neighbours(scored, n, fraction=value, seed=seed)
        return made, n, "lexicon"
    if isinstance(masked_lm, (str, os.PathLike)):
        from leakage.device import get_device

        mlm, mlm_tokenizer = perturb.load_masked_lm(str(masked_lm), device if device is not None else get_device())
        label = str(masked_lm)
    else:
        mlm, mlm_tokenizer = masked_lm if isinstance(masked_lm, tuple) and len(masked_lm) == 2 else (masked_lm, None)
        if not isinstance(mlm, torch.nn.Module):
            raise ValueError(f"masked_lm= must be a masked LM (a torch module with masked_lm_tokenizer=), a (model, "
                             f"tokenizer) pair or a path / Hub id, got {type(masked_lm).__name__}")
        if device is not None:
            mlm = mlm.to(device)
        label = type(mlm).__name__
    mlm_tokenizer = masked_lm_tokenizer if masked_lm_tokenizer is not None else mlm_tokenizer
    if mlm_tokenizer is None:
        raise ValueError("masked_lm: a model object needs its tokenizer (pass masked_lm_tokenizer=, or masked_lm= "
                         "as a (model, tokenizer) pair)")
    try:
        made = perturb.masked_lm_neighbours(scored, mlm, mlm_tokenizer, n, fraction=value, seed=seed,
                                            batch_size=batch_size)
    except ValueError as err:
        raise ValueError(f"masked_lm= {label}: {err}") from None
    return made, n, f"masked LM {label}"
