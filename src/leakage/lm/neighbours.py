"""Offline neighbours for the neighbourhood attack: POS-conditioned word replacement.

Mattern et al. (2023) and mimir make a neighbour of x by masking a few spans and letting a masked
LM (T5 / BERT) fill them in, so the neighbour is a fluent near-copy of x. The book ships no masked LM
offline, so for its Brown passages this module uses the corpus's own part-of-speech tags instead (for
plain strings, with a masked LM or without, see :mod:`leakage.lm.perturb`):

1. the *lexicon* is the unigram distribution of words per full Brown tag (``nn``, ``vbd``, ``jj-tl``,
   ...), counted on the **reference pool** (same-distribution text the attacker owns, never a member);
2. a neighbour of a passage replaces ``max(1, round(replace_fraction * T))`` of its content words
   (tags ``nn*``, ``np*``, ``vb*``, ``jj*``, ``rb*``; T = corpus tokens of the passage), chosen at
   random, each by a word drawn from the lexicon for the *same tag* (so plurals stay plural, past
   tenses past, title-case nouns title-case); a capitalised word gets a capitalised replacement;
3. neighbour i of passage p is drawn from ``derive_seed(seed, "neighbours", p.key)``: the same
   passage always gets the same neighbours;
4. a passage the scorer truncated (more than ``max_tokens`` tokens) gets neighbours of the prefix that
   was scored, not of the full passage: a neighbour is compared with the text it perturbs.

Limits: replacements ignore the context beyond the tag (a masked LM would pick plausible words),
so neighbours are less fluent than mimir's and their loss is higher under any model; the attack
compares x with its own neighbours, which offsets part of that. A passage with no content word
gets neighbours identical to itself (score 0).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from leakage.config import doc_field
from leakage.lm.corpus import Passage, detokenize, word_ends
from leakage.seed import numpy_rng

CONTENT_PREFIXES = ("nn", "np", "vb", "jj", "rb")


@dataclass(frozen=True)
class NeighbourConfig:
    """How neighbour texts are made (see the module docstring)."""

    n: int = doc_field(10, "neighbours per text (mimir: 25)")
    replace_fraction: float = doc_field(0.1, "fraction of a passage's tokens replaced in each neighbour")
    seed: int = doc_field(0, "seed of the replaced positions and the replacement words")


def is_content_tag(tag: str) -> bool:
    """Nouns, proper nouns, verbs, adjectives and adverbs (Brown tags, any suffix such as -tl or -hl)."""
    return tag.startswith(CONTENT_PREFIXES)


class TagLexicon:
    """Words and their frequencies per POS tag, for drawing same-tag replacements."""

    def __init__(self, counts: dict[str, Counter]):
        self.words: dict[str, np.ndarray] = {}
        self.cumulative: dict[str, np.ndarray] = {}
        for tag, counter in counts.items():
            words, freq = zip(*sorted(counter.items()))
            self.words[tag] = np.array(words, dtype=object)
            self.cumulative[tag] = np.cumsum(np.array(freq, dtype=np.float64)) / sum(freq)

    @classmethod
    def from_passages(cls, passages: Iterable[Passage]) -> "TagLexicon":
        counts: dict[str, Counter] = defaultdict(Counter)
        for p in passages:
            for word, tag in zip(p.words, p.tags):
                if is_content_tag(tag):
                    counts[tag][word] += 1
        if not counts:
            raise ValueError("the lexicon passages hold no content word (noun, verb, adjective, adverb)")
        return cls(dict(counts))

    def draw(self, tag: str, u: float) -> str | None:
        """The word at quantile ``u`` in [0, 1) of ``tag``'s distribution, or None for an unseen tag."""
        if tag not in self.words:
            return None
        i = int(np.searchsorted(self.cumulative[tag], u, side="right"))
        return str(self.words[tag][min(i, len(self.words[tag]) - 1)])


def _match_case(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() and new[:1].islower() else new


def scored_words(passage: Passage, scored_text: str | None) -> tuple[int, str]:
    """(m, tail) of a passage scored as ``scored_text`` (its text, or a prefix of it when the scorer truncated).

    ``m`` is the number of the passage's words that lie wholly inside the scored text and ``tail`` the
    scored text after them (a part of the next word, or ""), so that
    ``detokenize(passage.words[:m]) + tail == scored_text`` whenever ``scored_text`` is a prefix of
    ``passage.text``. ``scored_text`` None (or the whole text) gives ``(len(passage.words), "")``.
    """
    text = passage.text
    if scored_text is None or scored_text == text:
        return len(passage.words), ""
    common = len(os.path.commonprefix([text, scored_text]))
    m = int(np.searchsorted(word_ends(passage.words), common, side="right"))
    head = int(word_ends(passage.words)[m - 1]) if m else 0
    return m, scored_text[head:]


def neighbours_of(passage: Passage, lexicon: TagLexicon, config: NeighbourConfig,
                  scored_text: str | None = None) -> list[str]:
    """``config.n`` neighbour texts of ``passage`` (see the module docstring).

    ``scored_text``: the text the model scored for this passage when that is only a prefix of
    ``passage.text`` (the scorer truncated it to ``max_tokens``); the neighbours are then neighbours of
    that prefix: only the words wholly inside it are replaced (``max(1, round(replace_fraction * m))`` of
    its m words), and the rest of the prefix is kept verbatim, so a neighbour perturbs exactly what was
    scored. None (or the full text): neighbours of the whole passage.
    Raises ``ValueError`` for ``n < 1`` or ``replace_fraction`` outside (0, 1].
    """
    if config.n < 1:
        raise ValueError(f"the neighbourhood attack needs at least 1 neighbour, got n={config.n}")
    if not 0 < config.replace_fraction <= 1:
        raise ValueError(f"replace_fraction must be in (0, 1], got {config.replace_fraction}")
    n_words, tail = scored_words(passage, scored_text)
    rng = numpy_rng(config.seed, "neighbours", passage.key)
    slots = np.array([i for i, tag in enumerate(passage.tags[:n_words])
                      if is_content_tag(tag) and tag in lexicon.words])
    m = min(len(slots), max(1, round(config.replace_fraction * n_words)))
    texts = []
    for _ in range(config.n):
        words = list(passage.words[:n_words])
        if m:
            for i, u in zip(rng.choice(slots, m, replace=False), rng.random((m, 3))):
                old = words[i]
                for draw in u:  # up to three draws to get a word different from the original
                    new = lexicon.draw(passage.tags[i], draw)
                    if new is not None and new.lower() != old.lower():
                        words[i] = _match_case(new, old)
                        break
        texts.append(detokenize(words) + tail)
    return texts


def make_neighbours(passages: Sequence[Passage], lexicon: TagLexicon, config: NeighbourConfig,
                    scored_texts: Sequence[str] | None = None) -> list[str]:
    """The neighbours of every passage, flattened: passage i's are at ``i*n .. i*n + n - 1``.

    ``scored_texts``: (len(passages),) the texts as the model scored them (see :func:`neighbours_of`);
    None: the passages' full texts. Raises ``ValueError`` when its length differs from the passages'.
    """
    if scored_texts is None:
        scored_texts = [None] * len(passages)
    elif len(scored_texts) != len(passages):
        raise ValueError(f"got {len(scored_texts)} scored texts for {len(passages)} passages; expected one each")
    return [text for p, scored in zip(passages, scored_texts) for text in neighbours_of(p, lexicon, config, scored)]
