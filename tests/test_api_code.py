"""attack_code_model: a leaking toy code model, NMID's label level, the book's scores on the book's models, errors."""

import json
import re
import zlib

import numpy as np
import pytest
import torch

from leakage.api import MembershipResult, attack_code_model
from leakage.membership import EXTRAS
from leakage.experiments.vp import (VPAttackRunConfig, VPDataConfig, VPModelRunConfig, load_tokenizer, prepare,
                                    run_vp_attack, shadow_of, train_vp_model, vp_results)
from leakage.store import Store
from leakage.train import TrainConfig
from leakage.vp.attack import AttackConfig
from leakage.vp.features import FEATURE_SETS, WITHOUT_EMBEDDING, model_outputs
from leakage.vp.juliet import JulietConfig
from leakage.vp.models import VPModelConfig, build_vp_model
from leakage.vp.nmid import NMIDConfig
from leakage.vp.splits import VPSplitConfig
from leakage.vp.tokenizer import TokenizerConfig


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: torch and BLAS on one thread


# --------------------------------------------------------------------------- a toy code model in numpy


def toy_code(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Functions whose label is a rule (strcpy = vulnerable), each with its own identifiers to memorise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    codes = [f"void f{seed}_{i}(char *d, char *s) {{ int v{rng.integers(10**6)} = {rng.integers(100)}; "
             f"{'strcpy(d, s);' if y else 'strncpy(d, s, 8);'} }}" for i, y in enumerate(labels)]
    return codes, labels


class BagOfTokens:
    """Logistic regression on hashed token counts, fit by gradient descent: it learns the rule and memorises
    each training function's identifiers, so it is correct on every function but surer on its members."""

    def __init__(self, embedding_dim: int = 0, dim: int = 2048):
        self.dim, self.embedding_dim = dim, embedding_dim
        self.projection = np.random.default_rng(0).normal(size=(dim, embedding_dim))
        self.calls: list[int] = []

    def featurize(self, codes: list[str]) -> np.ndarray:
        x = np.zeros((len(codes), self.dim))
        for row, code in enumerate(codes):
            for token in re.findall(r"\w+", code):
                x[row, zlib.crc32(token.encode()) % self.dim] += 1.0
        return x

    def fit(self, codes: list[str], labels: np.ndarray) -> "BagOfTokens":
        x, y = self.featurize(codes), np.eye(2)[labels]
        self.weights = np.zeros((self.dim, 2))
        for _ in range(300):
            z = x @ self.weights
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            self.weights -= 0.05 * x.T @ (p - y)
        return self

    def __call__(self, codes: list[str]):
        self.calls.append(len(codes))
        x = self.featurize(codes)
        logits = x @ self.weights
        return (x @ self.projection, logits) if self.embedding_dim else logits


@pytest.fixture(scope="module")
def toy():
    """(target, members, non-members, shadow members, shadow non-members): 60 functions per set."""
    sets = [toy_code(60, seed) for seed in range(4)]
    target = BagOfTokens(embedding_dim=8).fit(*sets[0])
    return target, *sets


def fit_shadow(codes, labels):
    assert isinstance(codes, list) and labels.dtype == np.int64
    return BagOfTokens(embedding_dim=8).fit(codes, labels)


def test_a_memorising_code_model_leaks_and_nmid_label_level_drops_the_attack_to_chance(toy):
    target, members, non_members, shadow_in, shadow_out = toy
    target.calls.clear()
    results = attack_code_model(target, members, non_members, train_shadow=fit_shadow, shadow_members=shadow_in,
                                shadow_non_members=shadow_out, feature_sets=("loss", "logits+loss+confidence", "all"),
                                attack=AttackConfig(max_iter=100), batch_size=32, n_boot=200)
    assert list(results) == ["loss", "logits+loss+confidence", "all"]
    assert target.calls == [32, 28, 32, 28]  # each side in batches, never one string at a time
    loss = results["loss"]
    assert isinstance(loss, MembershipResult) and len(loss) == 120 and loss.is_member[:60].all()
    assert loss.metrics["auc"] > 0.85 and loss.metrics["auc_lo"] > 0.7  # members: lower loss
    assert loss.scores[:60].mean() > loss.scores[60:].mean() and ((0 <= loss.scores) & (loss.scores <= 1)).all()
    assert set(loss.extras) <= set(EXTRAS) and loss.attack == "shadow-mlp (loss)"
    assert (loss.extras["raw_prediction"] == loss.extras["true_label"]).mean() > 0.95  # it generalises the rule
    assert loss.cost["queries_per_candidate"] == 1 and loss.cost["shadow_queries"] == 120
    assert loss.config["nmid"] == NMIDConfig() and len(loss.config["candidates"]) == 16

    labelled = attack_code_model(target, members, non_members, train_shadow=fit_shadow, shadow_members=shadow_in,
                                 shadow_non_members=shadow_out, nmid=NMIDConfig(level="label"),
                                 feature_sets=("loss", "logits+loss+confidence", "all"),
                                 attack=AttackConfig(max_iter=100), n_boot=200)
    for result in labelled.values():  # only the (correct) label is released: nothing tells members apart
        assert result.metrics["auc_lo"] <= 0.5 <= result.metrics["auc_hi"], result.summary()
        assert np.array_equal(result.extras["released_prediction"], result.extras["raw_prediction"])
        assert result.attack.endswith("vs NMID label-0")


def test_a_model_without_embedding_gets_the_six_logit_feature_sets_and_a_clear_error_for_the_others(toy):
    _, members, non_members, shadow_in, shadow_out = toy
    target, shadow = BagOfTokens().fit(*members), BagOfTokens().fit(*shadow_in)
    results = attack_code_model(target, members, non_members, shadow=shadow, shadow_members=shadow_in,
                                shadow_non_members=shadow_out, attack=AttackConfig(max_iter=50), n_boot=20)
    assert tuple(results) == WITHOUT_EMBEDDING and len(WITHOUT_EMBEDDING) == 6
    with pytest.raises(ValueError, match=r"embedding, all need an embedding.*none from the target model.*"
                                         r"use logits, loss, confidence"):
        attack_code_model(target, members, non_members, shadow=shadow, shadow_members=shadow_in,
                          shadow_non_members=shadow_out, feature_sets=("loss", "embedding", "all"))


def test_bad_inputs_are_clear_errors(toy):
    target, members, non_members, shadow_in, shadow_out = toy
    shadow = BagOfTokens(embedding_dim=8).fit(*shadow_in)

    def attack(model=target, m=members, n=non_members, **kwargs):
        kwargs = {"shadow": shadow, "shadow_members": shadow_in, "shadow_non_members": shadow_out, **kwargs}
        return attack_code_model(model, m, n, attack=AttackConfig(max_iter=5), n_boot=5, **kwargs)

    codes, labels = members
    cases = [
        ({"m": (codes[:2] + [b"int f();"], labels[:3])}, r"members: every code must be a string; code 2 is a bytes"),
        ({"m": ("int f();", [0])}, "a single str"),
        ({"m": (codes, labels.astype(float))}, "members labels must be integer class indices.*got floats"),
        ({"m": (codes, np.array(["good", "bad"])[labels])}, "members labels must be integer class indices.*got strings"),
        ({"m": (codes, labels[:-1])}, r"members labels must have shape \(60,\), one per example"),
        ({"n": (["int unseen(void);"], [2])}, r"non_members: labels must be class indices in \[0, 2\).*got a label 2"),
        ({"m": (codes[:1], [-1])}, r"members labels must be class indices >= 0, got values in \[-1, -1\]"),
        ({"n": (codes[:3], labels[:3])}, r"3 of the 3 non_members codes also occur in members \(members\[0\] = "
                                         r"non_members\[0\].*allow_overlap=True"),
        ({"n": ([], [])}, "non_members is empty"),
        ({"m": codes}, "members must be a pair"),
        ({"model": lambda c: np.zeros(len(c))}, r"target model must return logits \(N, K\).*shape \(60,\)"),
        ({"model": lambda c: np.zeros((len(c) + 1, 2))}, "61 logit rows.*one row per code"),
        ({"model": lambda c: np.full((len(c), 2), np.nan)}, "target model's logits on members.*NaN"),
        ({"model": lambda c: (np.zeros((len(c), 3)), np.r_[np.zeros((len(c) - 1, 2)), [[np.inf, 0]]])},
         r"logits on members\[0:60\].*infinite"),
        ({"model": lambda c: "vulnerable"}, "must return logits.*returned a str"),
        ({"model": lambda c: np.zeros((len(c), 3))}, "shadow's outputs must have the target's widths"),
        ({"train_shadow": fit_shadow}, "exactly one of shadow"),
        ({"shadow": None}, "exactly one of shadow"),
        ({"feature_sets": ("loss", "entropy")}, "unknown feature set.*'entropy'"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"nmid": "label"}, "nmid must be an NMIDConfig"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            attack(**kwargs)
    calls = iter([np.zeros((32, 2)), (np.zeros((28, 4)), np.zeros((28, 2)))])
    with pytest.raises(ValueError, match="changed its output's form"):
        attack(model=lambda c: next(calls), batch_size=32)


# --------------------------------------------------------------------------- the book's pipeline, same scores

OPS = ["+", "-", "*", "^", "|", "&"]


@pytest.fixture(scope="module")
def devign_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        body = " ".join(f"x = x {OPS[rng.integers(6)]} {rng.integers(100)};" for _ in range(rng.integers(3, 7)))
        rows.append({"project": "toy", "commit_id": f"c{i // 4}", "target": int(rng.integers(2)),
                     "func": f"int f(int x) {{ /* comment {i} */ {body} return x; }}"})
    path = tmp_path_factory.mktemp("devign") / "function.json"
    path.write_text(json.dumps(rows))
    return path


def as_code_model(run, store):
    """A trained book model as a code model: the book's tokenizer, then the model's (embedding, logits)."""
    config = run.config
    tokenizer = load_tokenizer(config.data, config.model, store)
    model = build_vp_model(config.model, tokenizer.vocab_size, tokenizer.pad_id, config.data.tokenizer.max_len)
    model.load_state_dict(run.payload["model"])
    return lambda codes: model_outputs(model, tokenizer.encode(codes))


def test_the_api_gives_the_books_scores_on_the_books_target_and_shadow(devign_file, tmp_path):
    data = VPDataConfig(dataset="devign", path=str(devign_file), juliet=JulietConfig(max_chars=2000),
                        split=VPSplitConfig(per_set=20, seed=0), tokenizer=TokenizerConfig(vocab_size=150, max_len=32))
    target = VPModelRunConfig(data=data, model=VPModelConfig(arch="bilstm", embed_dim=8, hidden=8, dropout=0.0),
                              train=TrainConfig(epochs=10, lr=1e-2, batch_size=10), role="target", seed=0)
    store = Store(tmp_path)
    corpus, splits = prepare(data)
    sets = {name: ([corpus.code[i] for i in splits[name]], corpus.label[splits[name]])
            for name in ("target_in", "target_out", "shadow_in", "shadow_out")}
    target_model = as_code_model(train_vp_model(target, store), store)
    shadow_model = as_code_model(train_vp_model(shadow_of(target), store), store)
    attack = AttackConfig(max_iter=60, seed=2)
    for nmid in (NMIDConfig(), NMIDConfig(level="coarse", sigma=0.5, emb_keep=0.5, seed=3)):
        config = VPAttackRunConfig(target=target, shadow=shadow_of(target), nmid=nmid, attack=attack,
                                   feature_sets=("loss", "all"), n_boot=50, tpr_boot=50)
        book = run_vp_attack(config, store)
        mine = attack_code_model(target_model, sets["target_in"], sets["target_out"], shadow=shadow_model,
                                 shadow_members=sets["shadow_in"], shadow_non_members=sets["shadow_out"], nmid=nmid,
                                 feature_sets=config.feature_sets, attack=attack, n_boot=50)
        book_results = vp_results(config, book)
        for i, feature_set in enumerate(config.feature_sets):
            assert np.array_equal(mine[feature_set].scores, book[f"scores_{i}"]), (nmid, feature_set)
            assert np.array_equal(mine[feature_set].is_member, book["is_member"])
            assert mine[feature_set].attack == book_results[feature_set].attack
            metrics = book_results[feature_set].metrics
            assert metrics["auc"] == book["metrics"][feature_set]["auc"] == mine[feature_set].metrics["auc"]
            assert (metrics["auc_lo"], metrics["auc_hi"]) == (book["metrics"][feature_set]["auc_lo"],
                                                              book["metrics"][feature_set]["auc_hi"])
        assert np.ptp(mine["all"].scores) > 0  # not a degenerate attack
        released = mine["loss"].extras["released_prediction"]
        assert book["utility"]["accuracy"] == np.mean(released[20:] == sets["target_out"][1])
    assert set(FEATURE_SETS) >= set(book_results)
