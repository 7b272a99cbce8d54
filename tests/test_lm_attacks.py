"""Each LM attack against a hand computation on fixed-weight toy models; sign convention; registry;
one forward per text per model for all six attacks; AUC sanity on a tiny GPT-2 over-trained on its members."""

import dataclasses
import math
import warnings
import zlib

import numpy as np
import pytest
import torch

from leakage.lm.attacks import (ATTACKS, FAILED_SCORE, AttackInputs, attack_results, finite_scores, lowest_k_mean,
                                make_attack, run_attacks, standard_specs, standardised_logprobs)
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm, train_tokenizer
from leakage.lm.scoring import EmptyTextWarning, Scorer
from leakage.lm.toys import REF_TABLE, TABLE, Bigram, CharTokenizer, hand_loss, hand_stats
from leakage.metrics import roc_auc
from leakage.seed import numpy_rng


pytestmark = pytest.mark.usefixtures("one_thread")

TEXTS = ["abca", "dcbad", "bb"]
NEIGHBOURS = [["abcb", "dbca"], ["dcbaa", "acbad"], ["ba", "bd"]]
ALL_SIX = [("loss", {}), ("reference", {"reference": "ref"}), ("zlib", {}), ("neighbourhood", {}),
           ("min-k", {"k": 0.5}), ("min-k++", {"k": 0.5})]


def toy_inputs() -> tuple[AttackInputs, Scorer, Scorer]:
    target = Scorer(Bigram(TABLE), CharTokenizer(), name="target", max_tokens=12, batch_size=2)
    reference = Scorer(Bigram(REF_TABLE), CharTokenizer(), name="ref", max_tokens=12, batch_size=2)
    flat = [t for group in NEIGHBOURS for t in group]
    inputs = AttackInputs(target.stats(TEXTS), {"ref": reference.stats(TEXTS)}, target.stats(flat), 2)
    return inputs, target, reference


def hand_min_k(values: list[float], k: float) -> float:
    count = max(1, math.floor(k * len(values)))
    return sum(sorted(values)[:count]) / count


def test_the_registry_holds_the_six_attacks_and_rejects_unknown_ones():
    assert set(ATTACKS) == {"loss", "reference", "zlib", "neighbourhood", "min-k", "min-k++"}
    with pytest.raises(ValueError, match="unknown attack 'gap'"):
        make_attack("gap")
    with pytest.raises(ValueError, match="does not take parameters"):
        make_attack("loss", k=0.2)
    with pytest.raises(ValueError, match=r"k in \(0, 1\]"):
        make_attack("min-k", k=20)


def test_every_score_equals_its_hand_computed_value():
    inputs, _, _ = toy_inputs()
    scores = run_attacks(inputs, ALL_SIX)
    for i, text in enumerate(TEXTS):
        loss = hand_loss(TABLE, text)
        stats = hand_stats(TABLE, text)
        expected = {
            "loss": -loss,
            "reference (ref)": -(loss - hand_loss(REF_TABLE, text)),
            "zlib": -loss / len(zlib.compress(text.encode())),
            "neighbourhood": -(loss - sum(hand_loss(TABLE, n) for n in NEIGHBOURS[i]) / 2),
            "min-k (50%)": hand_min_k([s[0] for s in stats], 0.5),
            "min-k++ (50%)": hand_min_k([(lp - mu) / sigma for lp, mu, sigma in stats], 0.5),
        }
        for label, value in expected.items():
            assert scores[label][i] == pytest.approx(value, abs=1e-5), (label, text)


def test_higher_score_means_more_member_like():
    # "abca" follows the toy model's likeliest transitions, "dadb" its unlikeliest: every attack that
    # reads only the target must rank the likely text higher.
    target = Scorer(Bigram(TABLE), CharTokenizer(), name="t", max_tokens=12)
    likely, unlikely = "acda", "dadb"
    assert hand_loss(TABLE, likely) < hand_loss(TABLE, unlikely)
    inputs = AttackInputs(target.stats([likely, unlikely]))
    for name, params in [("loss", {}), ("zlib", {}), ("min-k", {"k": 0.5}), ("min-k++", {"k": 0.5})]:
        scores = make_attack(name, **params)(inputs)
        assert scores[0] > scores[1], name


def test_all_six_attacks_share_one_forward_per_text_and_model():
    inputs, target, reference = toy_inputs()
    n_neighbour_texts = len({t for group in NEIGHBOURS for t in group})
    assert target.forward_texts == len(TEXTS) + n_neighbour_texts and reference.forward_texts == len(TEXTS)
    calls = (target.forward_calls, reference.forward_calls)
    run_attacks(inputs, ALL_SIX)
    run_attacks(inputs, [("min-k", {"k": k}) for k in (0.1, 0.3, 1.0)])
    target.stats(TEXTS)  # asking again is served from the cache
    assert target.forward_texts == len(TEXTS) + n_neighbour_texts and (target.forward_calls, reference.forward_calls) == calls


def test_attacks_that_need_more_inputs_say_so():
    inputs = AttackInputs(Scorer(Bigram(TABLE), CharTokenizer(), name="t", max_tokens=12).stats(TEXTS))
    with pytest.raises(ValueError, match="reference model 'disjoint'"):
        make_attack("reference")(inputs)
    with pytest.raises(ValueError, match="neighbour statistics"):
        make_attack("neighbourhood")(inputs)
    with pytest.raises(ValueError, match="neighbour rows"):
        AttackInputs(inputs.target, neighbours=inputs.target, n_neighbours=2)


def test_lowest_k_mean_takes_at_least_one_token_and_ignores_padding():
    values = np.array([[-1.0, -3.0, -2.0, 0.0], [-5.0, -4.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    np.testing.assert_allclose(lowest_k_mean(values, mask, 0.5), [-2.5, -5.0])
    np.testing.assert_allclose(lowest_k_mean(values, mask, 0.1), [-3.0, -5.0])
    np.testing.assert_allclose(lowest_k_mean(values, mask, 1.0), [-1.5, -4.5])


def test_a_failed_score_is_the_lowest_score_not_a_dropped_sample():
    with pytest.warns(RuntimeWarning, match="not finite"):
        scores = finite_scores(np.array([0.5, np.nan, -np.inf]), "demo")
    assert len(scores) == 3 and scores[1] == scores[2] == FAILED_SCORE and roc_auc(scores, np.array([1, 0, 0])) == 1.0


def random_sentences(n: int, seed: int) -> list[str]:
    rng = numpy_rng(seed, "sentences")
    words = np.array([f"{a}{b}" for a in "bcdfgklmnprst" for b in "aeiou"])
    return [" ".join(rng.choice(words, 10)) + "." for _ in range(n)]


def test_auc_is_high_on_a_tiny_model_over_trained_on_its_members():
    members, nonmembers, reference = random_sentences(24, 1), random_sentences(24, 2), random_sentences(24, 3)
    tokenizer = train_tokenizer(reference * 2, 400)
    config = ScratchConfig(n_layer=1, n_head=2, n_embd=32, n_positions=64, vocab_size=400)
    recipe = FinetuneConfig(epochs=20, lr=2e-2, batch_size=24, warmup_steps=1)
    models = {}
    for name, texts in (("target", members), ("ref", reference)):
        models[name] = build_scratch(config, tokenizer, 0)
        train_lm(models[name], tokenizer, texts, recipe, max_tokens=48, seed=0)
    target, ref = (Scorer(models[n], tokenizer, name=n, max_tokens=48, batch_size=48) for n in ("target", "ref"))
    texts = members + nonmembers
    is_member = np.r_[np.ones(24, bool), np.zeros(24, bool)]
    rng = numpy_rng(0, "swaps")
    neighbours = []
    for text in texts:  # neighbours: swap two random words
        words = text.split()
        for _ in range(2):
            w = list(words)
            i, j = rng.choice(len(w), 2, replace=False)
            w[i], w[j] = w[j], w[i]
            neighbours.append(" ".join(w))
    inputs = AttackInputs(target.stats(texts), {"ref": ref.stats(texts)}, target.stats(neighbours), 2)
    aucs = {label: roc_auc(s, is_member) for label, s in run_attacks(inputs, ALL_SIX).items()}
    print(aucs)
    assert aucs["loss"] > 0.95, aucs
    assert all(auc > 0.7 for auc in aucs.values()), aucs


def test_nan_statistics_and_k_are_refused_with_clear_errors():
    inputs, _, _ = toy_inputs()
    broken = dataclasses.replace(inputs.target, logprobs=np.where(inputs.target.mask, np.nan, 0.0))
    with pytest.raises(ValueError, match="logprobs of the target statistics.*NaN"):
        AttackInputs(broken)
    with pytest.raises(ValueError, match="reference 'ref' scored another text than the target at row 1"):
        AttackInputs(inputs.target, {"ref": dataclasses.replace(inputs.target, texts=("abca", "dcba", "bb"))})
    values, mask = np.array([[-1.0, np.nan, 7.0]]), np.array([[True, True, False]])
    with pytest.raises(ValueError, match="per-token values of Min-k%: 1 value"):
        lowest_k_mean(values, mask, 0.5)  # a NaN would otherwise be sorted last and silently dropped
    np.testing.assert_allclose(lowest_k_mean(np.array([[-1.0, -2.0, np.nan]]), mask, 1.0), [-1.5])  # padding: fine
    with pytest.raises(ValueError, match=r"k in \(0, 1\].*got nan"):
        make_attack("min-k++", k=float("nan"))
    with pytest.raises(ValueError, match=r"lowest_k_mean: k must be a fraction"):
        lowest_k_mean(values[:, :1], mask[:, :1], 0.0)
    with pytest.raises(ValueError, match="mu of Min-k%\\+\\+"):
        standardised_logprobs(np.zeros(2), np.array([0.0, np.nan]), np.ones(2))


def test_every_attack_gives_an_empty_text_the_failed_score_and_leaves_the_others_alone():
    target = Scorer(Bigram(TABLE), CharTokenizer(), name="target", max_tokens=12, batch_size=2)
    reference = Scorer(Bigram(REF_TABLE), CharTokenizer(), name="ref", max_tokens=12, batch_size=2)
    texts = TEXTS[:2] + [""] + TEXTS[2:]
    groups = NEIGHBOURS[:2] + [["", ""]] + [["", "bd"]]  # the last text keeps one scored neighbour
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = target.stats(texts)
        inputs = AttackInputs(stats, {"ref": reference.stats(texts)}, target.stats([t for g in groups for t in g]), 2)
        scores = run_attacks(inputs, ALL_SIX)
    assert {type(w.message) for w in caught} == {EmptyTextWarning}  # no numpy warning
    assert "index [2]" in str(caught[0].message)
    alone = run_attacks(toy_inputs()[0], ALL_SIX)
    for label, values in scores.items():
        assert values[2] == FAILED_SCORE, label
        expected = alone[label][[0, 1, 2]]
        if label == "neighbourhood":  # text 3's empty neighbour is left out of its mean
            expected[2] = -(hand_loss(TABLE, "bb") - hand_loss(TABLE, "bd"))
        np.testing.assert_allclose(values[[0, 1, 3]], expected, atol=1e-9, err_msg=label)
    with pytest.warns(EmptyTextWarning):
        every = AttackInputs(stats, neighbours=target.stats([""] * 8), n_neighbours=2)
    assert (make_attack("neighbourhood")(every) == FAILED_SCORE).all()  # no neighbour scored: failed


def test_attack_results_carry_n_tokens_truncated_and_failed():
    target = Scorer(Bigram(TABLE), CharTokenizer(), name="target", max_tokens=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = AttackInputs(target.stats(["abcabc", "", "dd", "ba"]))
    results = attack_results(inputs, np.array([1, 1, 0, 0], bool), standard_specs(neighbours=False, min_k=0.5),
                             n_boot=20)
    assert list(results) == ["loss", "zlib", "min-k (50%)", "min-k++ (50%)"]
    for result in results.values():
        assert list(result.extras["n_tokens"]) == [4, 0, 2, 2]
        assert list(result.extras["truncated"]) == [True, False, False, False]
        assert list(result.extras["failed"]) == [False, True, False, False]
        assert 0 <= result.metrics["auc"] <= 1 and result.metrics["n_members"] == 2
    with pytest.raises(ValueError, match="is_member holds 3 entries for 4 texts"):
        attack_results(inputs, np.ones(3, bool), standard_specs(neighbours=False))


def test_each_attack_scores_a_text_from_its_own_rows_only():
    """Issue 27, item 12: no attack normalises across texts; a subset or permutation of the texts (and of their
    neighbour rows) gives each text the same score, to the bit (the toy model has no batch rounding)."""
    full = run_attacks(toy_inputs()[0], ALL_SIX)
    for order in ([2, 0, 1], [1], [2, 0]):
        target = Scorer(Bigram(TABLE), CharTokenizer(), name="target", max_tokens=12, batch_size=2)
        reference = Scorer(Bigram(REF_TABLE), CharTokenizer(), name="ref", max_tokens=12, batch_size=2)
        texts = [TEXTS[i] for i in order]
        flat = [t for i in order for t in NEIGHBOURS[i]]
        part = run_attacks(AttackInputs(target.stats(texts), {"ref": reference.stats(texts)}, target.stats(flat), 2),
                           ALL_SIX)
        for label, scores in part.items():
            np.testing.assert_array_equal(scores, full[label][order], err_msg=label)
