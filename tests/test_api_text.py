"""Bring your own language model: attack_language_model gives the book's numbers on the book's target,
takes models and texts in every documented form, makes neighbours of plain strings (masked LM or lexicon),
and the score-texts command prints a table and writes a per-text CSV, with clear errors for bad input."""

import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_bert as make_tiny_bert

from leakage.api import MembershipResult, attack_language_model
from leakage.api.text import read_texts
from leakage.cli import main
from leakage.experiments.llm import (LLMRunConfig, eval_neighbours, load_model, model_stats, pools_for,
                                     reference_config, run_llm, StatsConfig, target_config)
from leakage.lm.attacks import FAILED_SCORE
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm, train_tokenizer
from leakage.lm.neighbours import NeighbourConfig
from leakage.lm.perturb import (WordLexicon, lexicon_neighbours, masked_lm_neighbours, replacement_count,
                                word_spans)
from leakage.lm.scoring import EmptyTextWarning
from leakage.store import Store

pytestmark = pytest.mark.usefixtures("one_thread")

MEMBERS = ["The jury said it did find that many of the laws are outmoded.",
           "Only a handful of such reports was received by the office.",
           "It urged that the city take steps to remedy this problem.",
           "The grand jury commented on a number of other topics."]
NON_MEMBERS = ["Prices rose sharply in the spring, said the Treasury.",
               "A new school opened near the river last September.",
               "She read the letter twice and put it away.",
               "The committee will meet again on Monday morning."]
TINY = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=320)


@pytest.fixture(scope="module")
def tiny_lm():
    """A tiny GPT-2 over-trained on MEMBERS, its tokenizer, and an untrained reference."""
    tokenizer = train_tokenizer((MEMBERS + NON_MEMBERS) * 2, 320)
    model = build_scratch(TINY, tokenizer, 0)
    train_lm(model, tokenizer, MEMBERS, FinetuneConfig(epochs=15, lr=2e-2, batch_size=4, warmup_steps=1),
             max_tokens=40, seed=0)
    return model.eval(), tokenizer, build_scratch(TINY, tokenizer, 1)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A tiny random BertForMaskedLM and its WordPiece tokenizer (vocabulary: the test texts' words)."""
    return make_tiny_bert(tmp_path_factory.mktemp("bert"), MEMBERS + NON_MEMBERS)


# --------------------------------------------------------------------------- the book's pipeline


def test_same_scores_as_the_books_pipeline_on_the_same_target(tmp_path):
    target = target_config(model="gpt2-scratch", pools=PoolConfig(passage_words=16, docs_per_pool=3, passages_per_doc=2),
                           scratch=ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=96, vocab_size=300),
                           train=FinetuneConfig(epochs=2, lr=1e-2, batch_size=6, warmup_steps=1), max_tokens=80)
    config = LLMRunConfig(target=target, neighbours=NeighbourConfig(n=2), k_grid=(0.5,), batch_size=8)
    store = Store(tmp_path)
    book = run_llm(config, store)
    epoch = book.config.epoch
    texts = pools_for(target.pools, target.corpus_digest).eval_texts
    stats, _, _ = model_stats(StatsConfig(target, epoch, config.neighbours, 8), store)
    flat = eval_neighbours(target, config.neighbours, stats.texts)
    order = np.r_[np.flatnonzero(book.is_member), np.flatnonzero(~book.is_member)]
    ref_config, ref_epoch = reference_config(target, "disjoint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one text is longer than max_tokens (a TruncationWarning)
        ours = attack_language_model(load_model(target, epoch, store), [texts[i] for i in order[:6]],
                                     [texts[i] for i in order[6:]],
                                     reference={"disjoint": load_model(ref_config, ref_epoch, store)},
                                     neighbours=[flat[2 * i:2 * i + 2] for i in order], max_tokens=80, batch_size=8,
                                     n_boot=50)
    assert list(ours) == list(book.scores) and book.truncated.any()
    results = book.results(n_boot=50)
    for label, scores in book.scores.items():
        assert isinstance(ours[label], MembershipResult)
        np.testing.assert_allclose(ours[label].scores, scores[order], rtol=1e-5, atol=1e-6, err_msg=label)
        np.testing.assert_array_equal(ours[label].extras["truncated"], book.truncated[order])
        np.testing.assert_array_equal(ours[label].extras["n_tokens"], results[label].extras["n_tokens"][order])
        assert ours[label].metrics["auc"] == pytest.approx(results[label].metrics["auc"], abs=1e-9)


# --------------------------------------------------------------------------- the entry point


def test_a_model_object_pair_or_folder_gives_the_same_scores(tiny_lm, tmp_path):
    model, tokenizer, reference = tiny_lm
    as_pair = attack_language_model((model, tokenizer), MEMBERS, NON_MEMBERS, reference=reference, neighbours=3,
                                    max_tokens=40, n_boot=50)
    assert list(as_pair) == ["loss", "reference (GPT2LMHeadModel)", "zlib", "neighbourhood", "min-k (20%)",
                             "min-k++ (20%)"]
    assert as_pair["loss"].metrics["auc"] == 1.0  # over-trained on its members
    assert all(r.scores.shape == (8,) and list(r.indices) == list(range(8)) for r in as_pair.values())
    assert as_pair["loss"].config["neighbour_source"] == "lexicon"
    assert 8 < as_pair["loss"].cost["forward_texts"] <= 8 * 4  # each distinct text once (texts + neighbours)
    model.save_pretrained(tmp_path / "target")
    tokenizer.save_pretrained(tmp_path / "target")
    (tmp_path / "members.txt").write_text("\n".join(MEMBERS[:2]) + "\n\n   \n" + "\n".join(MEMBERS[2:]) + "\n")
    (tmp_path / "non_members.txt").write_text("\n".join(NON_MEMBERS) + "\n")
    from_files = attack_language_model(str(tmp_path / "target"), tmp_path / "members.txt",
                                       str(tmp_path / "non_members.txt"), neighbours=3, max_tokens=40, n_boot=50,
                                       device="cpu")
    as_object = attack_language_model(model, MEMBERS, NON_MEMBERS, tokenizer=tokenizer, neighbours=3, max_tokens=40,
                                      n_boot=50)
    for label, result in from_files.items():
        np.testing.assert_allclose(result.scores, as_pair[label].scores, rtol=1e-6)
        np.testing.assert_allclose(as_object[label].scores, as_pair[label].scores, rtol=1e-6)


def test_text_files_skip_blank_lines_with_a_note_and_bad_input_is_a_clear_error(tmp_path, caplog, tiny_lm):
    path = tmp_path / "texts.txt"
    path.write_bytes(b"first text\r\n\r\n  \nsecond caf\xc3\xa9\n")
    with caplog.at_level(logging.WARNING, logger="leakage.api.text"):
        assert read_texts(path, "members") == ["first text", "second caf\u00e9"]
    assert "skipped 2 blank line(s)" in caplog.text
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(ValueError, match="holds no text"):
        read_texts(tmp_path / "blank.txt", "members")
    with pytest.raises(FileNotFoundError, match="members: file .*missing.txt does not exist"):
        read_texts(str(tmp_path / "missing.txt"), "members")
    with pytest.raises(ValueError, match="non_members: no text given"):
        read_texts([], "non_members")
    model, tokenizer, _ = tiny_lm
    with pytest.raises(ValueError, match="needs its tokenizer"):
        attack_language_model(model, MEMBERS, NON_MEMBERS, max_tokens=40)
    with pytest.raises(ValueError, match="flat list of strings"):
        attack_language_model((model, tokenizer), MEMBERS, NON_MEMBERS, neighbours=[MEMBERS[0]] * 8, max_tokens=40)
    with pytest.raises(ValueError, match="same number"):
        attack_language_model((model, tokenizer), MEMBERS, NON_MEMBERS, neighbours=[["a"]] * 7 + [["a", "b"]],
                              max_tokens=40)
    with pytest.raises(FileNotFoundError, match="no model folder"):
        attack_language_model(str(tmp_path / "no-model"), MEMBERS, NON_MEMBERS)
    with pytest.raises(ValueError, match="exceeds the model's context of 64"):
        attack_language_model((model, tokenizer), MEMBERS, NON_MEMBERS)  # max_tokens=128


def test_an_empty_text_fails_alone_with_one_warning(tiny_lm):
    model, tokenizer, reference = tiny_lm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = attack_language_model((model, tokenizer), MEMBERS + [""], NON_MEMBERS, reference=reference,
                                        neighbours=2, max_tokens=40, n_boot=20)
    assert [type(w.message) for w in caught] == [EmptyTextWarning] and "index [4]" in str(caught[0].message)
    for result in results.values():
        assert result.scores[4] == FAILED_SCORE and result.extras["failed"].tolist() == [False] * 4 + [True] + [False] * 4
        assert result.extras["n_tokens"][4] == 0 and np.isfinite(result.scores[np.arange(9) != 4]).all()


def test_masked_lm_neighbours_through_the_entry_point(tiny_lm, tiny_bert):
    model, tokenizer, _ = tiny_lm
    results = attack_language_model((model, tokenizer), MEMBERS, NON_MEMBERS, neighbours=2, masked_lm=tiny_bert,
                                    neighbour_fraction=0.3, max_tokens=40, n_boot=20)
    assert results["neighbourhood"].config["neighbour_source"] == "masked LM BertForMaskedLM"
    assert np.isfinite(results["neighbourhood"].scores).all() and (results["neighbourhood"].scores != 0).all()


# --------------------------------------------------------------------------- neighbours of plain strings


def changed_words(text: str, neighbour: str) -> int:
    """Words that differ, for a neighbour with the same word layout (same non-word characters)."""
    a = [text[s:e] for s, e in word_spans(text)]
    b = [neighbour[s:e] for s, e in word_spans(neighbour)]
    assert len(a) == len(b) and re.sub(r"[^\W\d_]+", "", text) == re.sub(r"[^\W\d_]+", "", neighbour)
    return sum(x.lower() != y.lower() for x, y in zip(a, b))


def test_masked_lm_neighbours_replace_the_chosen_fraction_of_words_reproducibly(tiny_bert):
    model, tokenizer = tiny_bert
    texts = MEMBERS[:3] + ["", "1961 -- 42."]
    made = masked_lm_neighbours(texts, model, tokenizer, 4, fraction=0.25, seed=0, batch_size=5)
    assert len(made) == 4 * len(texts)
    assert made == masked_lm_neighbours(texts, model, tokenizer, 4, fraction=0.25, seed=0, batch_size=3)
    assert made != masked_lm_neighbours(texts, model, tokenizer, 4, fraction=0.25, seed=1)
    assert masked_lm_neighbours(texts[1:2], model, tokenizer, 4, fraction=0.25)[:4] == made[4:8]  # per-text seed
    for i, text in enumerate(texts[:3]):
        m = replacement_count(len(word_spans(text)), 0.25)
        assert m >= 2
        for neighbour in made[4 * i:4 * i + 4]:
            assert changed_words(text, neighbour) == m  # the original word is never drawn
            assert neighbour[0].isupper()  # capitalisation kept
        assert len(set(made[4 * i:4 * i + 4])) > 1
    assert made[12:] == [""] * 4 + ["1961 -- 42."] * 4  # nothing to replace: the text itself
    with pytest.raises(ValueError, match="at least 1 neighbour"):
        masked_lm_neighbours(texts, model, tokenizer, 0)


def test_lexicon_neighbours_draw_other_words_and_keep_case_and_punctuation():
    lexicon = WordLexicon.from_texts(NON_MEMBERS)
    texts = ["The JURY said, it did: find that many laws are outmoded!", "Hello"]
    made = lexicon_neighbours(texts, 5, fraction=0.3, lexicon=lexicon, seed=3)
    assert len(made) == 10 and made == lexicon_neighbours(texts, 5, fraction=0.3, lexicon=lexicon, seed=3)
    vocabulary = set(lexicon.words)
    for neighbour in made[:5]:
        assert changed_words(texts[0], neighbour) == 3  # round(0.3 * 11)
        old = [texts[0][s:e] for s, e in word_spans(texts[0])]
        new = [(neighbour[s:e], o) for (s, e), o in zip(word_spans(neighbour), old) if neighbour[s:e] != o]
        assert len(new) == 3 and all(w.lower() in vocabulary for w, _ in new)
        assert all(w.isupper() for w, o in new if o == "JURY") and all(w.islower() for w, o in new if o.islower())
        assert neighbour.endswith("!") and ", " in neighbour and ": " in neighbour
    for neighbour in made[5:]:
        assert neighbour != "Hello" and neighbour[0].isupper() and neighbour[1:].islower()
    own = lexicon_neighbours(MEMBERS, 2, seed=0)  # default lexicon: the texts themselves
    assert all(changed_words(t, n) == 1 for t, n in zip(np.repeat(MEMBERS, 2), own))
    with pytest.raises(ValueError, match="no word"):
        WordLexicon.from_texts(["123 456"])
    with pytest.raises(ValueError, match=r"fraction .* \(0, 1\]"):
        lexicon_neighbours(texts, 2, fraction=0)


# --------------------------------------------------------------------------- the command line


def test_score_texts_prints_a_table_and_writes_a_per_text_csv(tiny_lm, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer, reference = tiny_lm
    for name, lm in (("target", model), ("reference", reference)):
        lm.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    (tmp_path / "m.txt").write_text("\n".join(MEMBERS) + "\n")
    (tmp_path / "n.txt").write_text("\n".join(NON_MEMBERS) + "\n")
    out = tmp_path / "out" / "scores.csv"
    args = ["score-texts", "--model", str(tmp_path / "target"), "--members", str(tmp_path / "m.txt"),
            "--non-members", str(tmp_path / "n.txt"), "--max-tokens", "40", "--n-boot", "20", "--neighbours", "2"]
    assert main(args + ["--reference", str(tmp_path / "reference"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "AUC [95% CI]" in printed and "TPR@0.1%FPR" in printed and "reference (reference)" in printed
    assert re.search(r"loss\s+1\.000 \[", printed) and "4 + 4" in printed
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["attack", "index", "is_member", "score", "n_tokens", "truncated", "failed"]
    assert len(frame) == 6 * 8 and frame["is_member"].sum() == 6 * 4 and not frame["failed"].any()
    assert [p.name for p in out.parent.iterdir()] == ["scores.csv"]  # written atomically: no temporary left

    (tmp_path / "empty.txt").write_text("")
    for bad, message in ((["--members", str(tmp_path / "missing.txt")], "does not exist"),
                         (["--members", str(tmp_path / "empty.txt")], "holds no text"),
                         (["--model", str(tmp_path / "nothing-here")], "no model folder"),
                         (["--neighbours", "-1"], "--neighbours must be 0 or more")):
        assert main(args + bad) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main(["score-texts", "--members", "m.txt"])  # --model, --non-members missing
    assert exit_.value.code == 2


def test_a_literal_mask_token_in_a_text_is_text(tiny_bert):
    model, tokenizer = tiny_bert
    text = "The [MASK] jury said it did find that many laws are outmoded."
    made = masked_lm_neighbours([text], model, tokenizer, 6, fraction=0.2, seed=0)
    assert all(changed_words(text, n) == replacement_count(len(word_spans(text)), 0.2) for n in made)
