"""The ONE batched forward pass per text and model that every token-level attack shares.

:class:`Scorer` wraps a causal LM and its tokenizer. ``scorer.stats(texts)`` returns, for each text,
the per-token statistics every attack needs, computed in one batched forward pass and cached per
text (a second request for the same text is served from the cache):

- ``logprobs[t] = log p(x_t | x_<t)`` for every token of the text (T tokens);
- ``mu[t]    = E_{z ~ p(.|x_<t)} [log p(z | x_<t)]``        (mean log-prob under the model's own distribution);
- ``sigma[t] = sqrt(Var_{z ~ p(.|x_<t)} [log p(z | x_<t)])`` (Min-K%++'s normaliser).

Tokenisation: the text's tokens without special tokens, preceded by one *context token* (the
tokenizer's ``<|endoftext|>`` when it has one, else its BOS, else its EOS, else the ``context_token`` the
caller names) so that the first token of the text is scored too. A special token's string inside a text (``"<|endoftext|>"``, ``"<|im_start|>"``)
is ordinary text: it is split into ordinary tokens (``split_special_tokens=True``, which the fast and
slow Hugging Face tokenizers honour), never read as the special token. Log-probs are floored at
``LOGPROB_FLOOR`` so that no score is infinite.

Statistics are cached per text *and per version of the weights*: loading another checkpoint into the
same model object (``load_state_dict``), an optimiser step or swapped parameters drop the cache
(:func:`weights_version`), so a reused scorer never serves numbers of other weights.

Padding: a batch is right-padded by the scorer itself (the tokenizer's ``pad_token`` and ``padding_side``
are not used) with the context token, an id the model embeds; padded positions are masked and come after
every real token, so their id never changes a statistic. Before any forward pass, every id (the texts'
and the context token) is checked against the model's input-embedding rows: a tokenizer that gives an id
the model cannot embed (a token added to the tokenizer without ``model.resize_token_embeddings``, or a
tokenizer larger than the model's vocabulary) is a ``ValueError`` naming the first such id and text.

Independence from the other texts: a text's statistics depend on the text, the model and ``max_tokens``
only, up to float32 rounding: batched matrix products round differently for another batch shape, so a
text scored beside other texts can differ from the same text scored alone in the last bits (measured:
at most 5e-7 in a log-prob on a tiny GPT-2 on CPU). ``batch_size=1`` makes them exactly independent.

Long texts cost what ``max_tokens`` costs: only a character prefix of a text is tokenised, grown until its
first ``max_tokens + 1`` tokens are settled (:func:`encode_texts`), so a multi-megabyte line is never
tokenised whole.

Edge cases (tested):

- an empty text, or one that tokenises to no token, is a *failed* text: it gets zero tokens
  (``StatsBatch.failed``), one :class:`EmptyTextWarning` per ``stats`` call names the indices, and
  every attack scores it ``FAILED_SCORE`` (the lowest float: "least likely member"); the other texts
  are scored as usual;
- a text longer than ``max_tokens`` tokens is truncated to its first ``max_tokens`` tokens, with a
  :class:`TruncationWarning`; ``TokenStats.text`` is then the decoded prefix that was scored;
- a model whose logits hold a NaN (non-finite weights) is a ``ValueError`` naming the texts, not a
  silently meaningless score (``-inf`` logits, a masked vocabulary entry, are fine);
- ``bytes`` are decoded as UTF-8; bytes that are not valid UTF-8 (and ``str`` holding lone surrogates)
  become U+FFFD replacement characters, with a :class:`NonUTF8Warning`; other types are an error.

Counters: ``forward_texts`` (texts run through the model) and ``forward_calls`` (batched calls) prove
that each text is forwarded once per model, whatever number of attacks reads it.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from leakage.checks import check_finite
from leakage.progress import progress

__all__ = ["LOGPROB_FLOOR", "EmptyTextWarning", "NonUTF8Warning", "Scorer", "SpecialTokenWarning", "StatsBatch",
           "TokenStats", "TruncationWarning", "check_context", "check_token_ids", "context_length", "context_token_id",
           "decode_prefix", "embedding_rows", "encode_texts", "normalise_texts", "prefix_chars", "resolve_context_token",
           "tokenize_plain", "weights_version"]

LOGPROB_FLOOR = -1e4
_SURROGATE = re.compile("[\ud800-\udfff]")


class TruncationWarning(UserWarning):
    """A text had more tokens than the scorer's ``max_tokens`` and was truncated."""


class NonUTF8Warning(UserWarning):
    """A text was not valid UTF-8; the invalid bytes became U+FFFD."""


class EmptyTextWarning(UserWarning):
    """A text had no token to score (it is empty): every attack gives it the lowest score."""


class SpecialTokenWarning(UserWarning):
    """A tokenizer read a special token's string inside a text as the special token."""


def normalise_texts(texts: Sequence[str | bytes]) -> list[str]:
    """Texts as valid Unicode strings (see the module docstring); empty texts are kept (they fail at scoring).

    Raises ``ValueError`` for a single text (not a sequence) or an entry that is neither str nor bytes.
    """
    if isinstance(texts, (str, bytes)):
        raise ValueError("expected a sequence of texts, got a single text; wrap it in a list")
    out, repaired = [], []
    for i, text in enumerate(texts):
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                text = text.decode("utf-8", errors="replace")
                repaired.append(i)
        elif isinstance(text, str):
            try:
                if _SURROGATE.search(text):  # no copy of a long text: only lone surrogates fail to encode
                    text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates, e.g. from errors="surrogateescape"
                try:
                    text = text.encode("utf-8", "surrogateescape").decode("utf-8", errors="replace")
                except UnicodeEncodeError:
                    text = text.encode("utf-8", errors="replace").decode("utf-8")
                repaired.append(i)
        else:
            raise ValueError(f"text {i} is a {type(text).__name__}; texts must be str or bytes")
        out.append(text)
    if repaired:
        warnings.warn(f"{len(repaired)} text(s) (index {repaired[:10]}) were not valid UTF-8; invalid bytes were "
                      "replaced by U+FFFD", NonUTF8Warning, stacklevel=3)
    return out


def context_token_id(tokenizer) -> int:
    """The token that precedes every text: ``<|endoftext|>`` if in the vocabulary, else BOS, else EOS.

    Raises ``ValueError`` when the tokenizer has none of them (the caller says which of its parameters
    names one: :class:`Scorer` and :func:`leakage.api.attack_language_model` take ``context_token=``).
    """
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    if "<|endoftext|>" in vocab:
        return int(vocab["<|endoftext|>"])
    for name in ("bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise ValueError(f"the tokenizer {type(tokenizer).__name__} has no <|endoftext|>, BOS or EOS token to start a "
                     "text with")


def resolve_context_token(tokenizer, context_token: int | str | None) -> int:
    """The id of the context token: ``context_token`` as an id (int), as a token string the tokenizer reads as
    exactly one token (e.g. ``"\\n"``), or None for :func:`context_token_id`. Raises ``ValueError`` naming
    ``context_token=`` when it is none of these or the tokenizer has no default."""
    if context_token is None:
        try:
            return context_token_id(tokenizer)
        except ValueError as err:
            raise ValueError(f"{err}; pass `context_token=` (a token id, or a string the tokenizer reads as one "
                             "token, e.g. context_token=\"\\n\") to name the token put before every text") from None
    if isinstance(context_token, str):
        (ids,) = tokenize_plain(tokenizer, [context_token])
        if len(ids) != 1:
            raise ValueError(f"context_token={context_token!r} is {len(ids)} tokens for tokenizer "
                             f"{type(tokenizer).__name__}; pass a string it reads as one token, or a token id")
        return int(ids[0])
    if isinstance(context_token, (bool, np.bool_)) or not isinstance(context_token, (int, np.integer)) \
            or context_token < 0:
        raise ValueError(f"context_token= must be a token id (int >= 0) or a token string, got {context_token!r}")
    return int(context_token)


def embedding_rows(model: torch.nn.Module) -> int | None:
    """Rows of the model's input embedding (the ids it can embed are 0 .. rows - 1), None when unknown (a
    model without ``get_input_embeddings``)."""
    getter = getattr(model, "get_input_embeddings", None)
    try:
        embedding = getter() if callable(getter) else None
    except (NotImplementedError, AttributeError):
        embedding = None
    if embedding is None:
        return None
    rows = getattr(embedding, "num_embeddings", None)
    if rows is None and isinstance(getattr(embedding, "weight", None), torch.Tensor):
        rows = embedding.weight.shape[0]
    return int(rows) if rows is not None else None


def check_token_ids(model: torch.nn.Module, tokenizer, ids: Sequence[Sequence[int]], name: str) -> None:
    """``ValueError`` before any forward pass when a token id of ``ids`` (one list per text) is at least the
    rows of ``model``'s input embedding: the tokenizer does not belong to the model (or gained tokens the
    model was not resized for). The message names how many texts, the first id, its text and the fix."""
    rows = embedding_rows(model)
    if rows is None:
        return
    bad = [i for i, x in enumerate(ids) if x and max(x) >= rows]
    if not bad:
        return
    first = bad[0]
    token = next(t for t in ids[first] if t >= rows)
    try:
        piece = tokenizer.convert_ids_to_tokens(int(token))
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):  # a minimal tokenizer
        piece = "?"
    size = f"{len(tokenizer)} tokens" if hasattr(tokenizer, "__len__") else "more tokens"
    raise ValueError(f"model {name!r} embeds token ids 0..{rows - 1}, but its tokenizer ({size}) gives larger ids "
                     f"in {len(bad)} text(s) (first: text {first}, id {token} {piece!r}); use the tokenizer the model "
                     "was trained with, or resize the model to the tokenizer (model.resize_token_embeddings("
                     "len(tokenizer)), then train the new rows)")


def _plain_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text as plain text (see :func:`tokenize_plain`), without the special-token check."""
    if not texts:
        return []
    try:
        ids = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    except TypeError:
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [list(x) for x in ids]


def _special_read(tokenizer, texts: list[str], ids: list[list[int]]) -> list[int]:
    """Indices of the texts whose special-token strings the tokenizer read as special tokens."""
    special = {str(t): int(i) for t, i in zip(getattr(tokenizer, "all_special_tokens", []) or [],
                                              getattr(tokenizer, "all_special_ids", []) or [])}
    if not special:
        return []
    special_ids = set(special.values()) - {getattr(tokenizer, "unk_token_id", None)}
    return [i for i, t in enumerate(texts) if any(s in t for s in special) and set(ids[i]) & special_ids]


def _warn_special(tokenizer, kept: list[int]) -> None:
    if kept:
        warnings.warn(f"tokenizer {type(tokenizer).__name__} read special-token strings in text(s) at index "
                      f"{kept[:10]} as special tokens (it ignores split_special_tokens)", SpecialTokenWarning,
                      stacklevel=4)


def tokenize_plain(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text as plain text: no special token added, and a special token's string inside a
    text (``"<|endoftext|>"``) split into ordinary tokens (``split_special_tokens=True``).

    A tokenizer whose call does not take ``split_special_tokens`` (a minimal one) is called without it; if
    it then reads a special token's string as the special token, a :class:`SpecialTokenWarning` says so.
    An empty text gives an empty list. The whole of every text is tokenised: to cut texts to a number of
    tokens, use :func:`encode_texts`, which tokenises a prefix only.
    """
    ids = _plain_ids(tokenizer, list(texts))
    _warn_special(tokenizer, _special_read(tokenizer, list(texts), ids))
    return ids


def prefix_chars(max_tokens: int) -> int:
    """Characters of the first prefix :func:`encode_texts` tokenises for a cut at ``max_tokens`` tokens."""
    return max(256, 8 * (max_tokens + 1))


def encode_texts(tokenizer, texts: list[str], max_tokens: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of each text (:func:`tokenize_plain`), truncated to ``max_tokens``; returns (ids, truncated (N,)
    bool: the text has more than ``max_tokens`` tokens). An empty text (or one with no token) gives an empty
    list: the caller decides what that means.

    A text is cut before it is tokenised: a text longer than :func:`prefix_chars` characters is tokenised as a
    character prefix of that length, doubled until two successive prefixes agree on their first
    ``max_tokens + 1`` tokens (the tokens near a cut may differ from the whole text's; those far from it do
    not) or the prefix is the whole text. Time and memory are then bounded by ``max_tokens``, not by the
    text's length, and the ids and flags equal those of tokenising each whole text and cutting it (tested on
    byte-level BPE, unigram, WordPiece and character tokenizers). A text whose prefixes never reach
    ``max_tokens + 1`` tokens (e.g. one long word that a WordPiece tokenizer reads as a single ``[UNK]``) is
    tokenised whole in the end.
    """
    texts = list(texts)
    need = max_tokens + 1
    out: list[list[int]] = [[] for _ in texts]
    truncated = np.zeros(len(texts), bool)
    settled: dict[int, list[int]] = {}   # text -> its first `need` tokens at the previous prefix
    special: set[int] = set()
    pending, size = list(range(len(texts))), prefix_chars(max_tokens)
    while pending:
        pieces = [texts[i][:size] for i in pending]
        ids = _plain_ids(tokenizer, pieces)
        special.update(pending[j] for j in _special_read(tokenizer, pieces, ids))
        later = []
        for i, piece, x in zip(pending, pieces, ids):
            whole = len(piece) == len(texts[i])
            if whole or (len(x) >= need and settled.get(i) == x[:need]):
                out[i], truncated[i] = x[:max_tokens], len(x) > max_tokens
            else:
                if len(x) >= need:
                    settled[i] = x[:need]
                later.append(i)
        pending, size = later, 2 * size
    _warn_special(tokenizer, sorted(special))
    return out, truncated


def decode_prefix(tokenizer, ids: list[int]) -> str:
    """The text of the token ids a truncated text was scored as (no clean-up of spaces, so the prefix of
    a text decodes to a prefix of that text for byte-level BPE tokenizers)."""
    try:
        return tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    except TypeError:  # a minimal tokenizer whose decode takes only the ids
        return tokenizer.decode(ids)


@dataclass(frozen=True, eq=False)
class TokenStats:
    """Statistics of one text under one model; each array has shape (T,), T = tokens scored."""

    logprobs: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    text: str
    truncated: bool

    @property
    def loss(self) -> float:
        """Mean negative log-likelihood per token (the LOSS attack's L(x; M)); 0 for a text with no token."""
        return float(-self.logprobs.mean()) if len(self.logprobs) else 0.0


@dataclass(frozen=True, eq=False)
class StatsBatch:
    """Statistics of N texts, right-padded to (N, T_max); ``mask`` marks the real tokens."""

    logprobs: np.ndarray  # (N, T) float64, 0 where padded
    mu: np.ndarray        # (N, T)
    sigma: np.ndarray     # (N, T)
    mask: np.ndarray      # (N, T) bool
    texts: tuple[str, ...]
    truncated: np.ndarray  # (N,) bool

    @classmethod
    def from_stats(cls, items: Sequence[TokenStats]) -> "StatsBatch":
        n, t = len(items), max((len(s.logprobs) for s in items), default=0)
        arrays = {name: np.zeros((n, t)) for name in ("logprobs", "mu", "sigma")}
        mask = np.zeros((n, t), bool)
        for i, s in enumerate(items):
            k = len(s.logprobs)
            arrays["logprobs"][i, :k], arrays["mu"][i, :k], arrays["sigma"][i, :k] = s.logprobs, s.mu, s.sigma
            mask[i, :k] = True
        return cls(**arrays, mask=mask, texts=tuple(s.text for s in items),
                   truncated=np.array([s.truncated for s in items], bool))

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_tokens(self) -> np.ndarray:
        """(N,) tokens scored per text."""
        return self.mask.sum(1)

    @property
    def failed(self) -> np.ndarray:
        """(N,) bool: texts with no token to score (empty); every attack gives them ``FAILED_SCORE``."""
        return self.n_tokens == 0

    def loss(self) -> np.ndarray:
        """(N,) mean negative log-likelihood per token of each text (0 for a failed text: see ``failed``)."""
        return -(self.logprobs * self.mask).sum(1) / np.maximum(self.n_tokens, 1)

    def to_payload(self, prefix: str, given: Sequence[str] | None = None) -> dict:
        """Entries for the store: the (N, T) arrays, and the texts *as scored* (what the attacks read).

        ``given``: the N texts the caller passed to :meth:`Scorer.stats` (which its config re-creates);
        only the rows whose scored text differs from it (a truncated text: its decoded prefix) are stored,
        under ``{prefix}_scored_texts`` as {row index (str): scored text}. None: every row is stored.
        """
        if given is not None and len(given) != len(self):
            raise ValueError(f"got {len(given)} given texts for statistics of {len(self)} texts")
        scored = {str(i): t for i, t in enumerate(self.texts) if given is None or t != given[i]}
        return {f"{prefix}_logprobs": self.logprobs.astype(np.float32), f"{prefix}_mu": self.mu.astype(np.float32),
                f"{prefix}_sigma": self.sigma.astype(np.float32), f"{prefix}_mask": self.mask,
                f"{prefix}_truncated": self.truncated, f"{prefix}_scored_texts": scored}

    @classmethod
    def from_payload(cls, payload: dict, prefix: str, given: Sequence[str]) -> "StatsBatch":
        """The batch stored by :meth:`to_payload` with the same ``given`` texts (N); its ``texts`` are the
        texts as scored. Raises ``ValueError`` when the payload holds no scored texts (written by an older
        version: recompute it) or its row count differs from ``len(given)``."""
        if f"{prefix}_scored_texts" not in payload:
            raise ValueError(f"the stored statistics '{prefix}' do not say which texts were scored (an artefact "
                             "from an older version); recompute them")
        mask = payload[f"{prefix}_mask"].astype(bool)
        if len(mask) != len(given):
            raise ValueError(f"the stored statistics '{prefix}' hold {len(mask)} texts, but {len(given)} were given")
        texts = list(given)
        for i, text in payload[f"{prefix}_scored_texts"].items():
            texts[int(i)] = text
        return cls(*(payload[f"{prefix}_{k}"].astype(np.float64) for k in ("logprobs", "mu", "sigma")),
                   mask=mask, texts=tuple(texts), truncated=payload[f"{prefix}_truncated"].astype(bool))


def _safe_statistics(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The slow, guarded path of :func:`token_statistics` (rows whose logits hold -inf)."""
    logp = F.log_softmax(logits.float(), dim=-1).clamp_(min=LOGPROB_FLOOR)
    token_lp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    weighted = logp.exp().mul_(logp)  # p * log p
    mu = weighted.sum(-1)
    second = weighted.mul_(logp).sum(-1)  # p * (log p)^2
    return token_lp, mu, (second - mu * mu).clamp_(min=0).sqrt_()


def token_statistics(logits: torch.Tensor, targets: torch.Tensor, chunk: int = 64
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """From logits (B, L, V) predicting ``targets`` (B, L): log p(target), mu and sigma, each (B, L) float32.

    mu and sigma are the mean and standard deviation of log p(z) for z drawn from the model's own
    distribution p(.) at that position (Min-K%++'s definition). With c = logits - max and
    Z = sum exp(c): log p(z) = c_z - log Z, mu = E_p[c] - log Z and sigma^2 = Var_p[c] (a shift does not
    change a variance). Positions are processed ``chunk`` at a time so the (chunk, V) temporaries stay in
    cache; rows whose result is not finite (logits holding -inf) are redone by a guarded path.
    """
    shape, vocab = targets.shape, logits.shape[-1]
    flat, goal = logits.reshape(-1, vocab), targets.reshape(-1)
    token_lp, mu, sigma = (torch.empty(goal.shape[0], device=logits.device) for _ in range(3))
    for s in range(0, goal.shape[0], chunk):
        centred = flat[s:s + chunk].float()
        centred = centred - centred.amax(-1, keepdim=True)
        e = centred.exp()
        z = e.sum(-1)
        log_z = z.log()
        mean_c = torch.linalg.vecdot(e, centred) / z
        mean_c2 = torch.linalg.vecdot(e.mul_(centred), centred) / z
        mu[s:s + chunk] = mean_c - log_z
        sigma[s:s + chunk] = (mean_c2 - mean_c * mean_c).clamp_(min=0).sqrt_()
        token_lp[s:s + chunk] = centred.gather(-1, goal[s:s + chunk, None]).squeeze(-1) - log_z
    token_lp.clamp_(min=LOGPROB_FLOOR)
    bad = ~(torch.isfinite(mu) & torch.isfinite(sigma))
    if bad.any():
        token_lp[bad], mu[bad], sigma[bad] = _safe_statistics(flat[bad], goal[bad])
    return token_lp.view(shape), mu.view(shape), sigma.view(shape)


def weights_version(model: torch.nn.Module) -> tuple:
    """A cheap token that changes whenever the weights of ``model`` may have changed.

    ``(id, data_ptr, _version)`` of every parameter and buffer: ``load_state_dict``, an optimiser step and
    any in-place update bump a tensor's ``_version``; swapped or re-assigned tensors change its id or
    data pointer. A model holding inference tensors (created under ``torch.inference_mode``, which keeps
    no version counter) gets a fresh token on every call, so nothing is ever served from a cache for it.
    """
    token = []
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        try:
            version = tensor._version
        except RuntimeError:  # an inference tensor: its changes cannot be seen
            return (object(),)
        token.append((id(tensor), tensor.data_ptr(), version))
    return tuple(token)


class Scorer:
    """One model + tokenizer; ``stats(texts)`` runs each new text through the model once, in batches.

    ``max_tokens``: tokens scored per text (longer texts are truncated); ``batch_size``: texts per forward
    pass (1: each text's statistics exactly independent of the other texts; see the module docstring);
    ``device``: where the batches go (default: the device of the model's first parameter);
    ``context_token``: the token that precedes every text, as an id or as a string the tokenizer reads as one
    token (default :func:`context_token_id`); it also pads batches (padded positions are masked).
    Raises ``ValueError`` when ``max_tokens`` or ``batch_size`` is below 1, ``max_tokens`` does not fit the
    model's context, the tokenizer has no default context token and none is given, or the context token is
    an id the model cannot embed.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, *, name: str, max_tokens: int, batch_size: int = 16,
                 device: torch.device | str | None = None, context_token: int | str | None = None):
        if max_tokens < 1 or batch_size < 1:
            raise ValueError(f"max_tokens= and batch_size= must be at least 1, got {max_tokens} and {batch_size}")
        check_context(model, max_tokens, f"model {name!r}")
        try:
            context = resolve_context_token(tokenizer, context_token)
        except ValueError as err:
            raise ValueError(f"model {name!r}: {err}") from None
        rows = embedding_rows(model)
        if rows is not None and context >= rows:
            raise ValueError(f"the context token of model {name!r} is id {context}, but the model embeds ids "
                             f"0..{rows - 1} (its tokenizer has tokens the model was not resized for); pass "
                             f"`context_token=` an id below {rows}, or resize the model "
                             "(model.resize_token_embeddings(len(tokenizer)))")
        self.model = model.eval()  # validated first: a refused model is left as it was
        self.tokenizer = tokenizer
        self.name = name
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.context_token = context
        self.pad_token = self.context_token  # any id the model embeds: padded positions are masked
        self.cache: dict[str, TokenStats] = {}
        self._weights = weights_version(model)
        self.forward_texts = 0
        self.forward_calls = 0

    def _check_weights(self) -> None:
        """Drop the cache when the model's weights changed since it was filled."""
        version = weights_version(self.model)
        if version != self._weights:
            self.cache.clear()
            self._weights = version

    def stats(self, texts: Sequence[str | bytes], desc: str | None = None) -> StatsBatch:
        """Statistics of every text (N rows, in the given order) under the model's current weights; only texts
        not cached for these weights are forwarded.

        A text with no token (empty) gets a row of zero tokens (``StatsBatch.failed``) and one
        :class:`EmptyTextWarning` per call names such rows. Raises ``ValueError`` for a non-text entry, a token
        id the model cannot embed (before any forward pass: see :func:`check_token_ids`), or when the model's
        logits hold a NaN.
        """
        texts = normalise_texts(texts)
        self._check_weights()
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            ids, truncated = encode_texts(self.tokenizer, todo, self.max_tokens)
            check_token_ids(self.model, self.tokenizer, ids, self.name)
            if truncated.any():
                warnings.warn(f"{int(truncated.sum())} text(s) have more than max_tokens={self.max_tokens} tokens "
                              f"and were truncated to their first {self.max_tokens} tokens", TruncationWarning,
                              stacklevel=2)
            empty = np.zeros(0)
            for text in (t for t, x in zip(todo, ids) if not x):  # nothing to forward: a failed text
                self.cache[text] = TokenStats(empty, empty, empty, text, False)
            scored = [i for i, x in enumerate(ids) if x]
            if scored:
                items = self._forward([ids[i] for i in scored], truncated[scored], [todo[i] for i in scored],
                                      stats=True, desc=desc or self.name)
                for i, item in zip(scored, items):
                    self.cache[todo[i]] = item
        batch = StatsBatch.from_stats([self.cache[t] for t in texts])
        if batch.failed.any():
            where = np.flatnonzero(batch.failed).tolist()
            warnings.warn(f"{len(where)} text(s) (index {where[:10]}{' ...' if len(where) > 10 else ''}) have no "
                          f"token to score (empty) under model {self.name!r}; every attack gives them the lowest "
                          "score (least likely member)", EmptyTextWarning, stacklevel=2)
        return batch

    def plain_forward(self, texts: Sequence[str]) -> int:
        """One forward pass over ``texts`` that keeps only the logits (the benchmark's baseline); returns tokens.
        Texts with no token are skipped."""
        texts = normalise_texts(texts)
        ids, truncated = encode_texts(self.tokenizer, texts, self.max_tokens)
        check_token_ids(self.model, self.tokenizer, ids, self.name)
        keep = [i for i, x in enumerate(ids) if x]
        if keep:
            self._forward([ids[i] for i in keep], truncated[keep], [texts[i] for i in keep], stats=False,
                          desc=f"{self.name} (plain)")
        return sum(len(x) for x in ids)

    @torch.inference_mode()
    def _forward(self, ids: list[list[int]], truncated: np.ndarray, texts: list[str], *, stats: bool,
                 desc: str) -> list[TokenStats]:
        order = np.argsort([len(x) for x in ids], kind="stable")  # similar lengths share a batch: less padding
        out: list[TokenStats | None] = [None] * len(ids)
        starts = range(0, len(ids), self.batch_size)
        for start in progress(starts, desc=desc, total=len(starts)):
            rows = order[start:start + self.batch_size]
            seqs = [[self.context_token] + ids[i] for i in rows]
            width = max(len(s) for s in seqs)
            input_ids = torch.full((len(seqs), width), self.pad_token, dtype=torch.long)
            attention = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):
                input_ids[r, :len(s)] = torch.tensor(s)
                attention[r, :len(s)] = 1
            input_ids, attention = input_ids.to(self.device), attention.to(self.device)
            logits = self.model(input_ids=input_ids, attention_mask=attention).logits
            self.forward_calls += 1
            check_finite(f"logits of model {self.name!r} (are its weights finite?) for the batch of "
                         f"{len(rows)} text(s) starting {texts[rows[0]][:40]!r}", logits, allow_inf=True)
            if int(input_ids.max()) >= logits.shape[-1]:
                raise ValueError(f"model {self.name!r} predicts {logits.shape[-1]} token ids, but its tokenizer gives "
                                 f"id {int(input_ids.max())}; use the tokenizer the model was trained with, or resize "
                                 "the model to the tokenizer (model.resize_token_embeddings(len(tokenizer)))")
            if not stats:
                continue
            self.forward_texts += len(seqs)
            lp, mu, sigma = (x.double().cpu().numpy() for x in token_statistics(logits[:, :-1], input_ids[:, 1:]))
            for r, i in enumerate(rows):
                k = len(seqs[r]) - 1
                text = decode_prefix(self.tokenizer, ids[i]) if truncated[i] else texts[i]
                out[i] = TokenStats(lp[r, :k], mu[r, :k], sigma[r, :k], text, bool(truncated[i]))
        return out  # type: ignore[return-value]


def check_context(model: torch.nn.Module, max_tokens: int, what: str = "the model") -> None:
    """ValueError when ``max_tokens`` plus the context token do not fit the model's positions (``what`` names
    the model in the message)."""
    limit = context_length(model)
    if limit is not None and max_tokens + 1 > limit:
        raise ValueError(f"max_tokens={max_tokens} plus the context token exceeds the model's context of "
                         f"{limit} positions ({what}); lower max_tokens to at most {limit - 1}")


def context_length(model: torch.nn.Module) -> int | None:
    """Positions of the model (``config.n_positions`` or ``max_position_embeddings``), None when unknown."""
    config = getattr(model, "config", None)
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None
