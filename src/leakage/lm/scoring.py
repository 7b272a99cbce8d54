"""The ONE batched forward pass per text and model that every token-level attack shares.

:class:`Scorer` wraps a causal LM and its tokenizer. ``scorer.stats(texts)`` returns, for each text,
the per-token statistics every attack needs, computed in one batched forward pass and cached per
text (a second request for the same text is served from the cache):

- ``logprobs[t] = log p(x_t | x_<t)`` for every token of the text (T tokens);
- ``mu[t]    = E_{z ~ p(.|x_<t)} [log p(z | x_<t)]``        (mean log-prob under the model's own distribution);
- ``sigma[t] = sqrt(Var_{z ~ p(.|x_<t)} [log p(z | x_<t)])`` (Min-K%++'s normaliser).

Tokenisation: the text's tokens without special tokens, preceded by one *context token* (the
tokenizer's ``<|endoftext|>`` when it has one, else its BOS, else its EOS) so that the first token of
the text is scored too. A special token's string inside a text (``"<|endoftext|>"``, ``"<|im_start|>"``)
is ordinary text: it is split into ordinary tokens (``split_special_tokens=True``, which the fast and
slow Hugging Face tokenizers honour), never read as the special token. Log-probs are floored at
``LOGPROB_FLOOR`` so that no score is infinite.

Statistics are cached per text *and per version of the weights*: loading another checkpoint into the
same model object (``load_state_dict``), an optimiser step or swapped parameters drop the cache
(:func:`weights_version`), so a reused scorer never serves numbers of other weights.

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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from leakage.checks import check_finite
from leakage.progress import progress

__all__ = ["LOGPROB_FLOOR", "EmptyTextWarning", "NonUTF8Warning", "Scorer", "SpecialTokenWarning", "StatsBatch",
           "TokenStats", "TruncationWarning", "check_context", "context_length", "context_token_id", "decode_prefix",
           "encode_texts", "normalise_texts", "tokenize_plain", "weights_version"]

LOGPROB_FLOOR = -1e4


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
    """The token that precedes every text: ``<|endoftext|>`` if in the vocabulary, else BOS, else EOS."""
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    if "<|endoftext|>" in vocab:
        return int(vocab["<|endoftext|>"])
    for name in ("bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise ValueError("the tokenizer has no <|endoftext|>, BOS or EOS token to start a text with; "
                     "pass context_token_id= to the Scorer")


def tokenize_plain(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text as plain text: no special token added, and a special token's string inside a
    text (``"<|endoftext|>"``) split into ordinary tokens (``split_special_tokens=True``).

    A tokenizer whose call does not take ``split_special_tokens`` (a minimal one) is called without it; if
    it then reads a special token's string as the special token, a :class:`SpecialTokenWarning` says so.
    An empty text gives an empty list.
    """
    try:
        ids = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    except TypeError:
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    special = {str(t): int(i) for t, i in zip(getattr(tokenizer, "all_special_tokens", []) or [],
                                              getattr(tokenizer, "all_special_ids", []) or [])}
    if special:
        suspicious = [i for i, t in enumerate(texts) if any(s in t for s in special)]
        special_ids = set(special.values()) - {getattr(tokenizer, "unk_token_id", None)}
        kept = [i for i in suspicious if set(ids[i]) & special_ids]
        if kept:
            warnings.warn(f"tokenizer {type(tokenizer).__name__} read special-token strings in text(s) at index "
                          f"{kept[:10]} as special tokens (it ignores split_special_tokens)", SpecialTokenWarning,
                          stacklevel=3)
    return [list(x) for x in ids]


def encode_texts(tokenizer, texts: list[str], max_tokens: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of each text (:func:`tokenize_plain`), truncated to ``max_tokens``; returns (ids, truncated (N,)
    bool). An empty text (or one with no token) gives an empty list: the caller decides what that means."""
    ids = tokenize_plain(tokenizer, texts)
    truncated = np.array([len(x) > max_tokens for x in ids], bool)
    return [list(x[:max_tokens]) for x in ids], truncated


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
    pass; ``device``: where the batches go (default: the device of the model's first parameter);
    ``context_token``: the id that precedes every text (default :func:`context_token_id`).
    Raises ``ValueError`` when ``max_tokens`` or ``batch_size`` is below 1 or ``max_tokens`` does not fit the
    model's context.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, *, name: str, max_tokens: int, batch_size: int = 16,
                 device: torch.device | str | None = None, context_token: int | None = None):
        if max_tokens < 1 or batch_size < 1:
            raise ValueError(f"max_tokens and batch_size must be at least 1, got {max_tokens} and {batch_size}")
        check_context(model, max_tokens)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.context_token = context_token if context_token is not None else context_token_id(tokenizer)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token = int(pad) if pad is not None else self.context_token
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
        :class:`EmptyTextWarning` per call names such rows. Raises ``ValueError`` for a non-text entry, or
        when the model's logits hold a NaN.
        """
        texts = normalise_texts(texts)
        self._check_weights()
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            ids, truncated = encode_texts(self.tokenizer, todo, self.max_tokens)
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
            if not stats:
                continue
            self.forward_texts += len(seqs)
            lp, mu, sigma = (x.double().cpu().numpy() for x in token_statistics(logits[:, :-1], input_ids[:, 1:]))
            for r, i in enumerate(rows):
                k = len(seqs[r]) - 1
                text = decode_prefix(self.tokenizer, ids[i]) if truncated[i] else texts[i]
                out[i] = TokenStats(lp[r, :k], mu[r, :k], sigma[r, :k], text, bool(truncated[i]))
        return out  # type: ignore[return-value]


def check_context(model: torch.nn.Module, max_tokens: int) -> None:
    """ValueError when ``max_tokens`` plus the context token do not fit the model's positions."""
    limit = context_length(model)
    if limit is not None and max_tokens + 1 > limit:
        raise ValueError(f"max_tokens={max_tokens} plus the context token exceeds the model's context of "
                         f"{limit} positions; lower max_tokens to at most {limit - 1}")


def context_length(model: torch.nn.Module) -> int | None:
    """Positions of the model (``config.n_positions`` or ``max_position_embeddings``), None when unknown."""
    config = getattr(model, "config", None)
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None
