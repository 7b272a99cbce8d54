"""The LM chapter's cached stages: documented configs, neighbours, one forward per text per model,
same config -> same numbers, and clear errors for impossible combinations."""

import dataclasses
import zlib

import numpy as np
import pytest
import torch

from leakage.config import field_docs
from leakage.experiments.llm import (LLMRunConfig, LMTargetConfig, StatsConfig, embedding_marks, eval_neighbours,
                                     load_model, mink_table, model_stats, pools_for, reference_config, run_llm, summary_table,
                                     target_config, train_lm_target)
from leakage.lm.attacks import AttackInputs, run_attacks
from leakage.lm.corpus import Passage, PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig
from leakage.lm.neighbours import NeighbourConfig, TagLexicon, is_content_tag, make_neighbours, neighbours_of
from leakage.lm.scoring import Scorer, TruncationWarning
from leakage.store import Store

CONFIGS = [PoolConfig, NeighbourConfig, ScratchConfig, FinetuneConfig, LMTargetConfig, StatsConfig, LLMRunConfig]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("config_type", CONFIGS, ids=lambda t: t.__name__)
def test_every_config_field_has_a_one_line_doc(config_type):
    docs = field_docs(config_type)
    assert set(docs) == {f.name for f in dataclasses.fields(config_type)}
    assert all("\n" not in doc for doc in docs.values())


def passage(words: str, tags: str, doc: str = "ca01") -> Passage:
    return Passage(doc, "news", 0, tuple(words.split()), tuple(tags.split()))


def test_neighbours_replace_content_words_by_same_tag_words_deterministically():
    lexicon = TagLexicon.from_passages([passage("dogs bark loudly at red cars", "nns vbz rb in jj nns"),
                                        passage("cats sleep quietly on blue mats", "nns vb rb in jj nns")])
    x = passage("Birds sing softly in green trees .", "nns vb rb in jj nns .", doc="ca02")
    config = NeighbourConfig(n=4, replace_fraction=0.3, seed=0)
    texts = neighbours_of(x, lexicon, config)
    assert texts == neighbours_of(x, lexicon, config) and len(texts) == 4
    for text in texts:
        words = text.rstrip(".").split()
        assert len(words) == 6 and text != "Birds sing softly in green trees."
        for new, old, tag in zip(words, x.words, x.tags):
            assert new == old or (is_content_tag(tag) and new.lower() in {w.lower() for w in lexicon.words[tag]})
    assert words[3] == "in" and sum(n != o for n, o in zip(words, x.words)) <= 2  # round(0.3 * 7) = 2 swaps
    none = passage("of the , .", "in at , .")
    assert make_neighbours([none], lexicon, NeighbourConfig(n=2)) == ["of the,."] * 2
    with pytest.raises(ValueError, match="at least 1 neighbour"):
        neighbours_of(x, lexicon, NeighbourConfig(n=0))


def tiny_run(epoch: int = 0) -> LLMRunConfig:
    target = target_config(model="gpt2-scratch", pools=PoolConfig(passage_words=16, docs_per_pool=3, passages_per_doc=2),
                           scratch=ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=96, vocab_size=300),
                           train=FinetuneConfig(epochs=3, lr=1e-2, batch_size=6, warmup_steps=1), checkpoints=(1,),
                           max_tokens=80)
    return LLMRunConfig(target=target, epoch=epoch, neighbours=NeighbourConfig(n=2), k_grid=(0.1, 0.5), batch_size=8)


def test_a_run_forwards_each_text_once_per_model_and_repeats_exactly(tmp_path):
    config = tiny_run()
    run = run_llm(config, Store(tmp_path / "a"))
    n = len(run.is_member)
    assert n == 12 and run.is_member.sum() == 6 and run.config.epoch == 3
    assert run.record["target_record"]["forward_texts"] == n * (1 + config.neighbours.n)
    assert run.record["reference_records"]["disjoint"]["forward_texts"] == n
    assert list(run.scores) == ["loss", "reference (disjoint)", "zlib", "neighbourhood", "min-k (20%)", "min-k++ (20%)"]
    again = run_llm(config, Store(tmp_path / "b"))  # recomputed from scratch in another store
    for label, scores in run.scores.items():
        np.testing.assert_allclose(again.scores[label], scores, rtol=1e-6, atol=1e-6)
    table = summary_table(run, "tiny", n_boot=50)
    assert len(table) == 6 and table["auc"].between(0, 1).all()
    assert set(mink_table(run, "tiny")["k"]) == {0.1, 0.5}
    early = run_llm(tiny_run(epoch=1), Store(tmp_path / "a"))
    assert not np.allclose(early.scores["loss"], run.scores["loss"])
    with pytest.raises(ValueError, match="epoch 2 was not kept"):
        run_llm(tiny_run(epoch=2), Store(tmp_path / "a"))


def test_impossible_combinations_are_clear_errors(tmp_path):
    target = tiny_run().target
    with pytest.raises(ValueError, match="no 'base'"):
        reference_config(target, "base")
    with pytest.raises(ValueError, match="unknown reference model"):
        reference_config(target, "oracle")
    with pytest.raises(ValueError, match="train.method='full'"):
        train_lm_target(dataclasses.replace(target, train=FinetuneConfig(method="lora")), Store(tmp_path))
    with pytest.raises(ValueError, match="not the one this config was made for"):
        pools_for(target.pools, "0000000000000000")


def test_a_truncated_texts_zlib_neighbours_and_reference_use_the_scored_prefix_through_the_cache(tmp_path):
    # 16-word passages scored as their first 8 tokens: every per-text statistic must be of that prefix.
    target = dataclasses.replace(tiny_run().target, max_tokens=8, checkpoints=(),
                                 train=FinetuneConfig(epochs=1, lr=1e-2, batch_size=6, warmup_steps=1))
    config = LLMRunConfig(target=target, neighbours=NeighbourConfig(n=2), k_grid=(0.5,), batch_size=8)
    store = Store(tmp_path)
    with pytest.warns(TruncationWarning):
        run = run_llm(config, store)
    pools = pools_for(target.pools, target.corpus_digest)
    model, tokenizer = load_model(target, 1, store)
    with pytest.warns(TruncationWarning):
        direct = Scorer(model, tokenizer, name="direct", max_tokens=8).stats(pools.eval_texts)
    assert direct.truncated.all() and (direct.n_tokens == 8).all()
    prefix_bytes = [t.encode("utf-8") for t in direct.texts]
    assert all(len(b) < len(p.text.encode()) for b, p in zip(prefix_bytes, pools.eval_passages))
    lengths = np.array([len(zlib.compress(b)) for b in prefix_bytes])
    assert (lengths < [len(zlib.compress(p.text.encode())) for p in pools.eval_passages]).all()
    np.testing.assert_array_equal(run.zlib_lengths, lengths)
    np.testing.assert_allclose(run.scores["zlib"], -direct.loss() / lengths, rtol=1e-5)
    direct_scores = run_attacks(AttackInputs(direct), [("zlib", {}), ("min-k", {"k": 0.2})])
    np.testing.assert_allclose(run.scores["zlib"], direct_scores["zlib"], rtol=1e-5)
    np.testing.assert_allclose(run.scores["min-k (20%)"], direct_scores["min-k (20%)"], rtol=1e-5, atol=1e-6)

    stats, neighbours, _ = model_stats(StatsConfig(target, 1, config.neighbours, 8), store)  # from the store
    assert stats.texts == direct.texts
    np.testing.assert_allclose(stats.loss(), direct.loss(), rtol=1e-5)
    made = eval_neighbours(target, config.neighbours, stats.texts)
    for i, scored in enumerate(stats.texts):  # a neighbour perturbs the scored prefix, not the full passage
        for text in made[2 * i:2 * i + 2]:
            assert len(text.split()) == len(scored.split()) and len(text) < len(pools.eval_texts[i])
    assert sum(t != stats.texts[i // 2] for i, t in enumerate(made)) > len(stats.texts)
    assert all(made[i].startswith(t[:-1]) for i, t in enumerate(neighbours.texts))  # (re-truncated) as scored
    reference, _, _ = model_stats(StatsConfig(reference_config(target, "disjoint")[0], 1, None, 8), store)
    assert reference.texts == stats.texts  # the reference scored the same prefixes

    # an artefact written before the scored texts were stored is recomputed, not trusted
    stale = {k: v for k, v in store.load("lm_scores", run.config).items() if k != "zlib_lengths"}
    stale["score_2"] = np.zeros(len(lengths))
    store.save("lm_scores", run.config, stale, seed=0)
    again = run_llm(config, store)
    np.testing.assert_allclose(again.scores["zlib"], run.scores["zlib"], rtol=1e-6)


def test_a_run_config_refuses_nan_or_out_of_range_k_before_any_model_runs():
    with pytest.raises(ValueError, match=r"LLMRunConfig.min_k: k must be a fraction, k in \(0, 1\].*nan"):
        LLMRunConfig(min_k=float("nan"))
    with pytest.raises(ValueError, match=r"LLMRunConfig.k_grid.*got 20"):
        LLMRunConfig(k_grid=(0.1, 20))
    with pytest.raises(ValueError, match="unknown reference model"):
        LLMRunConfig(references=("oracle",))


def test_a_scratch_model_has_vocab_size_rows_and_older_artefacts_of_another_size_are_recomputed(tmp_path):
    store = Store(tmp_path)
    roomy = dataclasses.replace(tiny_run().target, scratch=ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=96,
                                                                         vocab_size=4096),
                                train=FinetuneConfig(epochs=1, lr=1e-2, batch_size=6, warmup_steps=1), checkpoints=())
    assert embedding_marks(roomy, store) == ("embedding_rows",)  # the tiny pool's BPE learns fewer tokens
    assert embedding_marks(tiny_run().target, store) == ()
    payload = train_lm_target(roomy, store)
    assert payload["embedding_rows"] == 4096 and payload["ckpt_1"]["transformer.wte.weight"].shape[0] == 4096
    model, tokenizer = load_model(roomy, 1, store)
    assert model.config.vocab_size == 4096 > len(tokenizer)
    older = {k: v for k, v in payload.items() if k != "embedding_rows"}  # as written before vocab_size was honoured
    store.save("lm_target", roomy, older, seed=0)
    assert "embedding_rows" in train_lm_target(roomy, store)
