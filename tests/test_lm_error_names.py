"""Errors that name what exists (issue 27, item 15): every parameter an error of the LM scoring and attack path
names (``name=`` or a backticked name) is a parameter of the entry point the user called, and a tokenizer
without a start token can be fixed from :func:`attack_language_model` (``context_token=``)."""

import copy
import inspect
import re
from collections.abc import Callable

import numpy as np
import pytest
import torch

from leakage.api import attack_language_model
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer
from leakage.lm.perturb import lexicon_neighbours, masked_lm_neighbours
from leakage.lm.scoring import Scorer

pytestmark = pytest.mark.usefixtures("one_thread")

MEMBERS = ["The jury said it did find that many of the laws are outmoded.",
           "Only a handful of such reports was received by the office."]
NON_MEMBERS = ["Prices rose sharply in the spring, said the Treasury.",
               "She read the letter twice and put it away."]
NAMED = re.compile(r"`(\w+)=?`|(?<![\w.`])(\w+)=(?!=)")


def named_parameters(message: str) -> set[str]:
    """The parameter names a message tells the user to pass: ``name=`` and backticked names."""
    return {a or b for a, b in NAMED.findall(message)}


def test_named_parameters_finds_both_forms():
    assert named_parameters("pass `context_token=` or max_tokens=3; model.resize_token_embeddings(len(t))") == \
        {"context_token", "max_tokens"}
    assert named_parameters("pass context_token_id= to the Scorer") == {"context_token_id"}  # the old fault


@pytest.fixture(scope="module")
def models():
    from tokenizers import Tokenizer, decoders, models as tok_models, pre_tokenizers, trainers
    from transformers import (BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast)

    tokenizer = train_tokenizer((MEMBERS + NON_MEMBERS) * 2, 300)
    config = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=len(tokenizer))
    model = build_scratch(config, tokenizer, 0).eval()
    bpe = Tokenizer(tok_models.BPE())  # no <|endoftext|>, BOS or EOS token
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(MEMBERS + NON_MEMBERS, trainers.BpeTrainer(
        vocab_size=280, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bare = PreTrainedTokenizerFast(tokenizer_object=bpe)
    bare_model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=280,
                                            bos_token_id=None, eos_token_id=None)).eval()
    short = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=16, vocab_size=300,
                                       bos_token_id=0, eos_token_id=0)).eval()
    grown = copy.deepcopy(tokenizer)
    grown.add_tokens(["jury"])  # a token of the texts the model was not resized for
    torch.manual_seed(0)
    bert = BertForMaskedLM(BertConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=64)).eval()
    return {"model": model, "tokenizer": tokenizer, "bare": bare, "bare_model": bare_model, "short": short,
            "grown": grown, "bert": bert}


def error_of(call: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_a_tokenizer_without_a_start_token_is_fixed_by_the_parameter_the_error_names(models):
    model, bare = models["bare_model"], models["bare"]
    message = error_of(lambda: attack_language_model((model, bare), MEMBERS, NON_MEMBERS, neighbours=0, n_boot=10,
                                                     max_tokens=40))
    assert "no <|endoftext|>, BOS or EOS token" in message and "context_token" in named_parameters(message)
    assert "context_token" in inspect.signature(attack_language_model).parameters
    by_id = attack_language_model((model, bare), MEMBERS, NON_MEMBERS, neighbours=0, n_boot=10, max_tokens=40,
                                  context_token=0)
    by_text = attack_language_model((model, bare), MEMBERS, NON_MEMBERS, neighbours=0, n_boot=10, max_tokens=40,
                                    context_token=bare.convert_ids_to_tokens(0))  # the same token, as a string
    direct = Scorer(model, bare, name="s", max_tokens=40, context_token=0).stats(MEMBERS + NON_MEMBERS)
    np.testing.assert_allclose(by_id["loss"].scores, -direct.loss(), rtol=1e-6)
    np.testing.assert_array_equal(by_text["loss"].scores, by_id["loss"].scores)
    assert list(by_id["loss"].extras["n_tokens"]) == list(direct.n_tokens)  # the first token is scored too


def entry_point_errors(m: dict) -> list[tuple[Callable, str]]:
    """(entry point, message) of every error of the LM scoring / attack path these inputs reach."""
    model, tok = m["model"], m["tokenizer"]

    def attack(**kw):
        base = dict(neighbours=0, n_boot=10, max_tokens=40)
        return attack_language_model((kw.pop("model", model), kw.pop("tokenizer", tok)), MEMBERS, NON_MEMBERS,
                                     **{**base, **kw})

    calls = {
        attack_language_model: [
            lambda: attack(model=m["bare_model"], tokenizer=m["bare"]),
            lambda: attack(context_token="the jury said"),
            lambda: attack(context_token=10 ** 6),
            lambda: attack(context_token=-1),
            lambda: attack(tokenizer=m["grown"]),
            lambda: attack(max_tokens=10 ** 4),
            lambda: attack(batch_size=0),
            lambda: attack(neighbours=2, neighbour_fraction=0),
            lambda: attack(neighbours=2, neighbour_fraction=float("nan")),
            lambda: attack(neighbours=-1),
            lambda: attack(neighbours=2.5),
            lambda: attack(neighbours="neighbours.txt"),
            lambda: attack(neighbours=[["a"]] * 3),
            lambda: attack(neighbours=[[1, 2]] * 4),
            lambda: attack(neighbours=[["a"], ["a", "b"], ["c"], ["d"]]),
            lambda: attack(neighbours=2, masked_lm=42),
            lambda: attack(neighbours=2, masked_lm=m["bert"]),
            lambda: attack(neighbours=2, masked_lm=(m["bert"], tok)),  # a tokenizer with no mask token
            lambda: attack(reference=m["short"]),
            lambda: attack(reference=(m["bare_model"], m["bare"])),  # a reference without a start token
            lambda: attack(min_k=2),
        ],
        Scorer: [
            lambda: Scorer(m["bare_model"], m["bare"], name="s", max_tokens=40),
            lambda: Scorer(model, tok, name="s", max_tokens=40, context_token=10 ** 6),
            lambda: Scorer(model, tok, name="s", max_tokens=40, context_token="the jury said"),
            lambda: Scorer(model, tok, name="s", max_tokens=0),
            lambda: Scorer(model, tok, name="s", max_tokens=40, batch_size=0),
            lambda: Scorer(model, tok, name="s", max_tokens=10 ** 4),
            lambda: Scorer(model, m["grown"], name="s", max_tokens=40).stats(MEMBERS),
        ],
        lexicon_neighbours: [lambda: lexicon_neighbours(MEMBERS, 0), lambda: lexicon_neighbours(MEMBERS, fraction=2)],
        masked_lm_neighbours: [lambda: masked_lm_neighbours(MEMBERS, m["bert"], tok),
                               lambda: masked_lm_neighbours(MEMBERS, m["bert"], tok, 0),
                               lambda: masked_lm_neighbours(MEMBERS, m["bert"], tok, batch_size=0)],
    }
    return [(entry, error_of(call)) for entry, fns in calls.items() for call in fns]


def test_every_error_names_only_parameters_of_the_entry_point_called(models):
    errors = entry_point_errors(models)
    assert len(errors) == 33
    named = 0
    for entry, message in errors:
        accepted = set(inspect.signature(entry).parameters)
        unknown = named_parameters(message) - accepted
        assert not unknown, f"{entry.__qualname__}: the error {message!r} names {unknown}, not parameters of it"
        named += bool(named_parameters(message))
    assert named >= 20  # most errors say which parameter to change
