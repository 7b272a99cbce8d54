"""Neighbours of plain strings for the neighbourhood attack: no corpus, no part-of-speech tags.

The neighbourhood attack (Mattern et al., "Membership Inference Attacks against Language Models via
Neighbourhood Comparison", ACL Findings 2023) compares the loss of a text x with the mean loss of
near-copies of x. :mod:`leakage.lm.neighbours` makes them for Brown passages from the corpus's tags;
this module makes them for any text, in one of two ways:

- :func:`masked_lm_neighbours` (a masked LM given: any Hugging Face ``AutoModelForMaskedLM`` and its
  tokenizer): in each neighbour, ``max(1, round(fraction * W))`` of the text's W words, chosen at
  random, are replaced by the mask token and the masked LM predicts them all in one forward pass; each
  replacement is *drawn* from the masked LM's distribution at that mask, restricted to whole-word
  tokens and excluding the original word (any case). Mattern et al. instead score the substitutes of
  each word with BERT (dropout on the word's embedding rather than a mask) and keep the best swaps;
  drawing at random positions follows mimir's span-filling neighbours. A word the masked LM's tokens
  split into several pieces becomes one mask and one token;
- :func:`lexicon_neighbours` (no masked LM): the same ``max(1, round(fraction * W))`` random words are
  replaced by words drawn from a frequency lexicon (:class:`WordLexicon`), each different from the
  original word. The default lexicon is fixed (:func:`brown_lexicon`: the word frequencies of the Brown
  corpus shipped with the package), so a text's neighbours never depend on the other texts perturbed
  with it; it is English, so the replacements in a text of another language are English words (pass a
  ``lexicon=`` of texts the attacker owns in that language, or use a masked LM). Cheaper and less fluent
  than a masked LM: a replacement ignores its context.

Both keep everything that is not a replaced word (spacing, punctuation, digits) and the replaced word's
capitalisation (``Jury`` -> ``Court``, ``JURY`` -> ``COURT``). A *word* is a run of letters with
internal apostrophes (``don't``); numbers are never replaced. Neighbour j of a text is drawn from a
generator seeded by ``derive_seed(seed, <kind>, <digest of the text>)``: the same text gets the same
neighbours wherever it is in the list. A text with no word gets neighbours identical to itself (its
neighbourhood score is then 0). Outputs are flattened: text i's n neighbours are rows ``i*n .. i*n + n - 1``.

Independence from the other texts: a text's neighbours depend only on the text, ``n``, the fraction,
the seed and the lexicon or masked LM (and, for a masked LM, ``batch_size`` when ``n`` exceeds it), never
on the other texts in the call or their order: the lexicon is fixed, every text draws from its own
generator, and a masked LM forwards the masked copies of one text at a time (a batch never mixes texts,
so not even float rounding depends on another text). Ids the masked LM cannot embed (a tokenizer larger
than its embedding) are a ``ValueError`` before any forward pass; batches are right-padded by this module
with an id the model embeds (the tokenizer's pad token and ``padding_side`` are not used).
"""

from __future__ import annotations

import functools
import lzma
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from leakage.inputs import bytes_digest
from leakage.lm.scoring import check_token_ids, embedding_rows
from leakage.seed import numpy_rng

__all__ = ["WORD", "WordLexicon", "brown_lexicon", "choose_words", "lexicon_neighbours", "load_masked_lm",
           "masked_lm_neighbours", "match_case", "replacement_count", "word_spans"]

WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
"""A word: letters, with apostrophes inside (``don't``, ``o'clock``); digits and underscores are not letters."""


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of every word of ``text`` (see :data:`WORD`), in order."""
    return [m.span() for m in WORD.finditer(text)]


def replacement_count(n_words: int, fraction: float) -> int:
    """Words replaced in a neighbour of a text of ``n_words`` words: ``max(1, round(fraction * n_words))``,
    at most ``n_words`` (0 for a text with no word)."""
    return min(n_words, max(1, round(fraction * n_words))) if n_words else 0


def match_case(new: str, old: str) -> str:
    """``new`` with the capitalisation of ``old``: all capitals (two letters or more), a capital first
    letter, or as it is."""
    if len(old) > 1 and old.isupper():
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _check(n: int, fraction: float) -> None:
    if n < 1:
        raise ValueError(f"the neighbourhood attack needs at least 1 neighbour per text, got n={n}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction= (the fraction of words replaced) must be in (0, 1], got {fraction}")


def _rng(seed: int, kind: str, text: str) -> np.random.Generator:
    return numpy_rng(seed, kind, bytes_digest(text.encode("utf-8", errors="surrogatepass")))


def choose_words(rng: np.random.Generator, n_words: int, n: int, m: int) -> np.ndarray:
    """(n, m) distinct word positions per neighbour, ascending within a row (uniform without replacement)."""
    if m == 0:
        return np.zeros((n, 0), np.int64)
    return np.sort(np.argsort(rng.random((n, n_words)), axis=1)[:, :m], axis=1)


def _splice(text: str, spans: list[tuple[int, int]], positions: Iterable[int], words: Iterable[str]) -> str:
    """``text`` with the words at ``positions`` (ascending indices into ``spans``) replaced by ``words``."""
    out, last = [], 0
    for p, word in zip(positions, words):
        start, end = spans[p]
        out += [text[last:start], word]
        last = end
    out.append(text[last:])
    return "".join(out)


def _masked_input(text: str, spans: list[tuple[int, int]], positions: Iterable[int], tokenizer) -> str:
    """The masked LM's input: ``text`` with the chosen words replaced by the mask token, and any mask-token
    string the text itself holds (e.g. a literal ``[MASK]``) replaced by the unknown token (or a space), so
    that every mask in the input is one this module placed."""
    mask, other = tokenizer.mask_token, getattr(tokenizer, "unk_token", None) or " "
    out, last = [], 0
    for p in positions:
        start, end = spans[p]
        out += [text[last:start].replace(mask, other), mask]
        last = end
    out.append(text[last:].replace(mask, other))
    return "".join(out)


class WordLexicon:
    """Lower-cased words and their frequencies, for drawing replacement words.

    ``words`` (V,) sorted; ``cumulative`` (V,) their cumulative relative frequencies (last = 1).
    """

    def __init__(self, counts: Counter):
        if not counts:
            raise ValueError("the lexicon texts hold no word (a run of letters) to draw replacements from")
        words, freq = zip(*sorted(counts.items()))
        self.words = np.array(words, dtype=object)
        self.cumulative = np.cumsum(np.array(freq, dtype=np.float64)) / sum(freq)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "WordLexicon":
        """Word counts (lower-cased) of ``texts``. Raises ``ValueError`` when they hold no word."""
        return cls(Counter(m.group().lower() for text in texts for m in WORD.finditer(text)))

    def __len__(self) -> int:
        return len(self.words)

    def draw(self, u: np.ndarray) -> np.ndarray:
        """The words at quantiles ``u`` (any shape, values in [0, 1)) of the frequency distribution."""
        i = np.searchsorted(self.cumulative, np.asarray(u), side="right")
        return self.words[np.minimum(i, len(self.words) - 1)]


@functools.lru_cache(maxsize=1)
def brown_lexicon() -> WordLexicon:
    """The default lexicon of :func:`lexicon_neighbours`: every word (:data:`WORD`, lower-cased) of the Brown
    corpus shipped with the package (``leakage/lm/data/brown_tagged.tsv.xz``; about 43,000 words, 1.0M
    occurrences) with its frequency. Fixed: it does not depend on the texts perturbed. Read once per process.
    Raises ``DataUnavailableError`` when the shipped file is unreadable."""
    from leakage.data.vision import DataUnavailableError
    from leakage.lm.corpus import SHIPPED_FILE

    try:
        text = lzma.decompress(SHIPPED_FILE.read_bytes()).decode("utf-8")
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as err:
        raise DataUnavailableError(f"{SHIPPED_FILE}: unreadable ({err}); reinstall the package") from None
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    if not rows or any(len(row) != 4 for row in rows):
        raise DataUnavailableError(f"{SHIPPED_FILE}: not the derived Brown file (id, genre, words, tags a line)")
    return WordLexicon(Counter(w.lower() for row in rows for w in WORD.findall(row[2])))


def lexicon_neighbours(texts: Sequence[str], n: int = 10, *, fraction: float = 0.1,
                       lexicon: WordLexicon | None = None, seed: int = 0, tries: int = 3) -> list[str]:
    """``n`` neighbours of each text by word replacement from a frequency lexicon (module docstring).

    ``texts`` (N,); ``lexicon``: where replacements come from (default: :func:`brown_lexicon`, fixed; a
    lexicon built from the texts themselves would make each text's neighbours depend on the others);
    ``tries``: draws per replaced word to find one that differs from it (the word is kept when all
    ``tries`` draws equal it). Returns N * n texts, text i's at rows ``i*n .. i*n + n - 1``. Raises
    ``ValueError`` for n < 1, a fraction outside (0, 1], or a lexicon with no word.
    """
    _check(n, fraction)
    lexicon = lexicon if lexicon is not None else brown_lexicon()
    out: list[str] = []
    for text in texts:
        spans = word_spans(text)
        m = replacement_count(len(spans), fraction)
        if m == 0:
            out += [text] * n
            continue
        rng = _rng(seed, "lexicon-neighbours", text)
        positions = choose_words(rng, len(spans), n, m)                      # (n, m)
        old = np.array([text[s:e] for s, e in spans], dtype=object)[positions]
        drawn = lexicon.draw(rng.random((n, m, tries)))                      # (n, m, tries)
        differs = drawn != np.char.lower(old.astype(str)).astype(object)[..., None]
        first = differs.argmax(-1)
        new = np.where(differs.any(-1), np.take_along_axis(drawn, first[..., None], -1)[..., 0], old)
        for row in range(n):
            words = [w if w == o else match_case(w, o) for w, o in zip(new[row], old[row])]
            out.append(_splice(text, spans, positions[row], words))
    return out


# --------------------------------------------------------------------------- masked LM


def load_masked_lm(source: str, device: torch.device | str = "cpu"):
    """(model, tokenizer) of a masked LM: a local ``save_pretrained`` folder or a Hugging Face id (read from
    the Hugging Face cache; see :func:`leakage.lm.models.resolve_pretrained`). Raises
    ``DataUnavailableError`` when it cannot be found or read, ``ValueError`` when its tokenizer has no mask token."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from leakage.data.vision import DataUnavailableError
    from leakage.lm.models import load_errors, resolve_pretrained

    where = resolve_pretrained(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
        model = AutoModelForMaskedLM.from_pretrained(where, local_files_only=True)
    except load_errors() as err:  # missing, truncated or corrupt files (a cut model.safetensors too)
        raise DataUnavailableError(f"could not load masked LM {source!r} ({' '.join(str(err).split())[:300]}); use "
                                   "a local save_pretrained folder (save it again if a file is damaged) or a cached "
                                   "Hugging Face id") from None
    if tokenizer.mask_token_id is None:
        raise ValueError(f"the tokenizer of {source!r} has no mask token; a masked LM's tokenizer is needed")
    return model.to(device).eval(), tokenizer


class _Vocabulary:
    """Which output ids of a masked LM are whole words, their text, and a class per lower-cased word."""

    def __init__(self, tokenizer, size: int):
        n = min(size, len(tokenizer))
        pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
        decoded = tokenizer.batch_decode([[i] for i in range(n)])
        words = [d.strip() for d in decoded]
        marked = [p for p in pieces if isinstance(p, str) and p[:1] in ("\u0120", "\u2581")]
        starts_word = ((lambda p: p[:1] in ("\u0120", "\u2581")) if len(marked) >= 0.1 * n  # BPE / SentencePiece
                       else (lambda p: not p.startswith("##")))                              # WordPiece
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        valid = np.zeros(size, bool)
        valid[:n] = [i not in special and isinstance(p, str) and starts_word(p) and WORD.fullmatch(w) is not None
                     for i, (p, w) in enumerate(zip(pieces, words))]
        if not valid.any():
            raise ValueError("the masked LM's vocabulary holds no whole-word token to draw replacements from")
        self.words = np.array(words + [""] * (size - n), dtype=object)
        lowered = np.array([w.lower() for w in self.words], dtype=object)
        uniques, classes = np.unique(np.where(valid, lowered, ""), return_inverse=True)
        self.index = {w: i for i, w in enumerate(uniques)}
        self.classes = torch.as_tensor(classes.astype(np.int64))
        self.valid = torch.as_tensor(valid)

    def class_of(self, words: Sequence[str]) -> torch.Tensor:
        """(k,) class of each lower-cased word (-1: not a word of the vocabulary)."""
        return torch.tensor([self.index.get(w.lower(), -1) for w in words], dtype=torch.long)


def _max_length(model, tokenizer) -> int:
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None) or 512
    model_max = getattr(tokenizer, "model_max_length", None) or limit
    return int(min(limit, model_max))


def _right_padded(ids: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), each (B, L_max): ``ids`` right-padded with ``pad`` (masked positions)."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    attention = torch.zeros((len(ids), width), dtype=torch.long)
    for r, x in enumerate(ids):
        input_ids[r, :len(x)] = torch.tensor(x, dtype=torch.long)
        attention[r, :len(x)] = 1
    return input_ids.to(device), attention.to(device)


@torch.inference_mode()
def masked_lm_neighbours(texts: Sequence[str], model, tokenizer, n: int = 10, *, fraction: float = 0.1,
                         seed: int = 0, batch_size: int = 32, top_k: int | None = None,
                         device: torch.device | str | None = None) -> list[str]:
    """``n`` neighbours of each text by masked-LM word replacement (module docstring; Mattern et al. 2023).

    ``texts`` (N,); ``model``: a Hugging Face masked LM (``AutoModelForMaskedLM``: ``model(input_ids,
    attention_mask).logits`` of shape (B, L, V)) and its ``tokenizer`` (with a mask token);
    ``batch_size``: masked copies per forward pass, all of one text (a text's n copies take
    ``ceil(n / batch_size)`` passes); ``top_k``: draw among the k most likely whole-word tokens only (None:
    the whole distribution). Each replacement is drawn by inverse-CDF sampling with one uniform from the
    text's own generator. A masked copy longer than the model's positions is truncated, and the words whose
    masks fell off keep their original form. Returns N * n texts, text i's at rows ``i*n .. i*n + n - 1``.
    Raises ``ValueError`` for n < 1, a fraction outside (0, 1], a tokenizer without a mask token, a
    vocabulary without whole-word tokens, or token ids the model cannot embed.
    """
    _check(n, fraction)
    if batch_size < 1:
        raise ValueError(f"batch_size= must be at least 1, got {batch_size}")
    mask_id = getattr(tokenizer, "mask_token_id", None)
    if mask_id is None:
        raise ValueError("the masked LM's tokenizer has no mask token")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.eval()
    vocab = _Vocabulary(tokenizer, int(model.get_output_embeddings().weight.shape[0])
                        if hasattr(model, "get_output_embeddings") and model.get_output_embeddings() is not None
                        else len(tokenizer))
    rows_embedded = embedding_rows(model)
    pad = getattr(tokenizer, "pad_token_id", None)
    pad = int(pad) if pad is not None and (rows_embedded is None or pad < rows_embedded) else 0
    # 1. per text: the chosen words and one uniform per replacement, from the text's own generator
    rows: list[tuple[int, int, list[tuple[int, int]], np.ndarray, np.ndarray]] = []  # (text, j, spans, positions, u)
    chunks: list[range] = []  # row ranges forwarded together: copies of one text only
    out: list[str] = []
    for i, text in enumerate(texts):
        spans = word_spans(text)
        m = replacement_count(len(spans), fraction)
        out += [text] * n
        if m:
            rng = _rng(seed, "masked-lm-neighbours", text)
            positions, u = choose_words(rng, len(spans), n, m), rng.random((n, m))
            chunks += [range(len(rows) + a, len(rows) + min(a + batch_size, n)) for a in range(0, n, batch_size)]
            rows += [(i, j, spans, positions[j], u[j]) for j in range(n)]
    if not rows:
        return out
    masked = [_masked_input(texts[i], spans, pos, tokenizer) for i, _, spans, pos, _ in rows]
    originals = [[texts[i][spans[p][0]:spans[p][1]] for p in pos] for i, _, spans, pos, _ in rows]
    max_length = _max_length(model, tokenizer)
    classes, valid = vocab.classes.to(device), vocab.valid.to(device)
    # 2. the masked copies of one text at a time through the model; one draw per mask
    for chunk in chunks:
        encoded = [list(x) for x in tokenizer([masked[r] for r in chunk], truncation=True,
                                              max_length=max_length)["input_ids"]]
        check_token_ids(model, tokenizer, encoded, "masked LM")
        ids, attention = _right_padded(encoded, pad, device)
        logits = model(input_ids=ids, attention_mask=attention).logits
        at_mask = (ids == mask_id) & (attention == 1)                          # (B, L)
        found = [min(k, len(originals[r])) for r, k in zip(chunk, at_mask.sum(1).tolist())]  # masks kept per row
        olds = [w for r, k in zip(chunk, found) for w in originals[r][:k]]
        us = torch.tensor(np.concatenate([rows[r][4][:k] for r, k in zip(chunk, found)]), dtype=torch.float64,
                          device=device)
        keep = at_mask & (at_mask.cumsum(1) <= torch.tensor(found, device=device)[:, None])
        scores = logits[keep].float()                                           # (K, V) in row, position order
        allowed = valid[None, :] & (classes[None, :] != vocab.class_of(olds).to(device)[:, None])
        scores = scores.masked_fill(~allowed, float("-inf"))
        if top_k is not None:
            kth = scores.topk(min(top_k, scores.shape[1]), dim=1).values[:, -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        possible = allowed.any(1)
        probs = torch.softmax(torch.where(possible[:, None], scores, 0.0).double(), dim=1)
        cdf = probs.cumsum(1)
        drawn = torch.searchsorted(cdf, (us * cdf[:, -1]).unsqueeze(1)).squeeze(1).clamp_(max=scores.shape[1] - 1)
        drawn = drawn.cpu().numpy()
        possible = possible.cpu().numpy()
        k = 0
        for r, kept in zip(chunk, found):
            i, j, spans, pos, _ = rows[r]
            words = list(originals[r])
            for w in range(kept):
                if possible[k + w]:
                    words[w] = match_case(str(vocab.words[drawn[k + w]]), words[w])
            k += kept
            out[i * n + j] = _splice(texts[i], spans, pos, words)
    return out
