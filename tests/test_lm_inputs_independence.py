"""Tokenizers as people have them (issue 27, item 4) and scores that depend only on their own text (item 12).

- Padding never feeds an id the model cannot embed: a tokenizer without a pad token, one with an added
  ``[PAD]`` the model was not resized for, left or right ``padding_side``, batch sizes 1 and > 1 all give
  the scores of batch size 1; a real token id the model cannot embed is a clear ``ValueError`` before
  any forward pass.
- A text's neighbours (lexicon or masked LM) and every LM attack's score depend only on the text, the
  model, the settings and the seed: scoring a set, then subsets and permutations of it, gives the shared
  texts the same neighbours and scores (exactly with ``batch_size=1``; to float32 rounding otherwise).
"""

import contextlib
import copy

import numpy as np
import pytest
from conftest import tiny_bert as make_tiny_bert

from leakage.api import attack_language_model
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer
from leakage.lm.perturb import brown_lexicon, lexicon_neighbours, masked_lm_neighbours
from leakage.lm.scoring import Scorer

pytestmark = pytest.mark.usefixtures("one_thread")

TEXTS = ["The jury said it did find that many of the laws are outmoded.",
         "Only a handful of such reports was received by the office.",
         "It urged that the city take steps to remedy this problem.",
         "The grand jury commented on a number of other topics.",
         "Prices rose sharply in the spring, said the Treasury.",
         "A new school opened near the river last September.",
         "She read the letter twice and put it away.",
         "The committee will meet again on Monday morning, they said."]


@pytest.fixture(scope="module")
def lm():
    """A tiny GPT-2 whose embedding has exactly as many rows as its tokenizer has tokens, and a reference."""
    tokenizer = train_tokenizer(TEXTS * 2, 300)
    config = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=len(tokenizer))
    model = build_scratch(config, tokenizer, 0).eval()
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    return model, tokenizer, build_scratch(config, tokenizer, 1).eval()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("bert"), TEXTS)


@contextlib.contextmanager
def forwards(model):
    """A list that grows by one at every forward call of ``model`` inside the ``with`` block."""
    calls: list[int] = []
    handle = model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        yield calls
    finally:
        handle.remove()


# --------------------------------------------------------------------------- item 4: tokenizers as people have them


def variants(tokenizer) -> dict[str, object]:
    no_pad = copy.deepcopy(tokenizer)
    no_pad.pad_token = None
    added = copy.deepcopy(tokenizer)
    added.add_special_tokens({"pad_token": "[PAD]"})  # id 300: one past the model's embedding, not resized
    left = copy.deepcopy(added)
    left.padding_side = "left"
    return {"no pad token": no_pad, "added [PAD]": added, "added [PAD], left padding": left,
            "as trained": tokenizer}


def test_padding_never_feeds_an_id_the_model_cannot_embed(lm):
    model, tokenizer, _ = lm
    reference = Scorer(model, tokenizer, name="alone", max_tokens=40, batch_size=1).stats(TEXTS)
    for label, tok in variants(tokenizer).items():
        assert tok.pad_token_id is None or label == "as trained" or tok.pad_token_id == len(tokenizer)
        for batch_size in (1, 3, 8):
            batch = Scorer(model, tok, name=label, max_tokens=40, batch_size=batch_size).stats(TEXTS)
            np.testing.assert_array_equal(batch.n_tokens, reference.n_tokens)
            np.testing.assert_allclose(batch.logprobs, reference.logprobs, rtol=0, atol=2e-6, err_msg=label)
            np.testing.assert_allclose(batch.loss(), reference.loss(), rtol=1e-6, err_msg=label)


def test_an_added_pad_token_through_the_entry_point_gives_the_same_scores(lm):
    model, tokenizer, _ = lm
    added = variants(tokenizer)["added [PAD], left padding"]
    kw = dict(neighbours=2, max_tokens=40, n_boot=10, batch_size=4)
    plain = attack_language_model((model, tokenizer), TEXTS[:4], TEXTS[4:], **kw)
    padded = attack_language_model((model, added), TEXTS[:4], TEXTS[4:], **kw)
    for label in plain:
        np.testing.assert_allclose(padded[label].scores, plain[label].scores, rtol=1e-6, atol=1e-7)


def test_a_token_the_model_cannot_embed_is_a_clear_error_before_any_forward_pass(lm):
    model, tokenizer, _ = lm
    grown = copy.deepcopy(tokenizer)
    grown.add_tokens(["zqxword"])  # a real token of the texts, id 300, model not resized
    texts = ["a zqxword here", "no new token"]
    with forwards(model) as calls:
        with pytest.raises(ValueError, match=r"embeds token ids 0\.\.299.*1 text\(s\) \(first: text 0, id 300 "
                                             r"'zqxword'\).*resize_token_embeddings\(len\(tokenizer\)\)"):
            Scorer(model, grown, name="m", max_tokens=40).stats(texts)
        with pytest.raises(ValueError, match="id 300 'zqxword'"):
            attack_language_model((model, grown), texts[:1], texts[1:], neighbours=0, max_tokens=40, n_boot=10)
    assert calls == []  # refused before any forward pass
    # a tokenizer larger than the model's vocabulary (another model's tokenizer)
    from transformers import GPT2Config, GPT2LMHeadModel

    small = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=260,
                                       bos_token_id=0, eos_token_id=0)).eval()
    with forwards(small) as calls, pytest.raises(ValueError, match=r"embeds token ids 0\.\.259.*resize_token_emb"):
        Scorer(small, tokenizer, name="small", max_tokens=40).stats(TEXTS)
    assert calls == []
    with pytest.raises(ValueError, match=r"context token of model 'm' is id 500.*`context_token=` an id below 300"):
        Scorer(model, tokenizer, name="m", max_tokens=40, context_token=500)


# --------------------------------------------------------------------------- item 12: the other inputs


def subsets_and_permutations(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(n), rng.permutation(n)[:3], np.arange(n)[::-1][:5], rng.permutation(n)[:2]]


def test_lexicon_neighbours_of_a_text_do_not_depend_on_the_other_texts():
    full = lexicon_neighbours(TEXTS, 4, fraction=0.3, seed=5)
    for order in subsets_and_permutations(len(TEXTS)):
        part = lexicon_neighbours([TEXTS[i] for i in order], 4, fraction=0.3, seed=5)
        for k, i in enumerate(order):
            assert part[4 * k:4 * k + 4] == full[4 * i:4 * i + 4]
    lexicon = brown_lexicon()
    assert lexicon is brown_lexicon() and len(lexicon) > 40000  # fixed, read once
    assert {"jury", "treasury", "september"} <= set(lexicon.words)


def test_masked_lm_neighbours_of_a_text_do_not_depend_on_the_other_texts(tiny_bert):
    model, tokenizer = tiny_bert
    full = masked_lm_neighbours(TEXTS, model, tokenizer, 3, fraction=0.3, seed=2, batch_size=2)
    for order in subsets_and_permutations(len(TEXTS)):
        part = masked_lm_neighbours([TEXTS[i] for i in order], model, tokenizer, 3, fraction=0.3, seed=2,
                                    batch_size=2)
        for k, i in enumerate(order):
            assert part[3 * k:3 * k + 3] == full[3 * i:3 * i + 3]


def test_masked_lm_neighbours_ignore_the_tokenizers_pad_token_and_padding_side(tiny_bert):
    model, tokenizer = tiny_bert
    expected = masked_lm_neighbours(TEXTS, model, tokenizer, 3, fraction=0.3, seed=2)
    left = copy.deepcopy(tokenizer)
    left.padding_side = "left"  # BERT's positions are absolute: left padding would move every token
    assert masked_lm_neighbours(TEXTS, model, left, 3, fraction=0.3, seed=2) == expected
    added = copy.deepcopy(tokenizer)
    added.add_special_tokens({"pad_token": "[NEWPAD]"})  # an id past the embedding, model not resized
    assert masked_lm_neighbours(TEXTS, model, added, 3, fraction=0.3, seed=2) == expected


def scores_by_text(results: dict, texts: list[str]) -> dict[str, dict[str, float]]:
    return {label: dict(zip(texts, r.scores.tolist())) for label, r in results.items()}


@pytest.mark.parametrize("batch_size", [1, 4])
def test_every_lm_attack_score_depends_only_on_its_own_text(lm, tiny_bert, batch_size):
    model, tokenizer, ref = lm
    kw = dict(reference=ref, max_tokens=40, n_boot=10, batch_size=batch_size, seed=3)
    for neighbour_kw in ({"neighbours": 3}, {"neighbours": 2, "masked_lm": tiny_bert}):
        full = scores_by_text(attack_language_model((model, tokenizer), TEXTS[:4], TEXTS[4:], **kw, **neighbour_kw),
                              TEXTS)
        for order in subsets_and_permutations(len(TEXTS), seed=1):
            if len(order) < 2:
                continue
            texts = [TEXTS[i] for i in order]
            half = len(texts) // 2  # membership labels do not enter a score: any split will do
            part = scores_by_text(attack_language_model((model, tokenizer), texts[:half], texts[half:], **kw,
                                                        **neighbour_kw), texts)
            for label, scores in part.items():
                got = np.array([scores[t] for t in texts])
                want = np.array([full[label][t] for t in texts])
                if batch_size == 1:  # no batch companion at all: exactly equal
                    np.testing.assert_array_equal(got, want, err_msg=label)
                else:  # companions change float32 rounding only (measured: < 1e-6)
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=label)
