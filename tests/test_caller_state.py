"""Every public entry point leaves the caller's objects as it found them (issue #27, item 1), and refuses the
same example on both sides unless asked (item 2)."""

import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from leakage.api import attack_classifier, attack_code_model, attack_language_model
from leakage.caller_state import caller_state, modules_of
from leakage.checks import OverlapWarning, check_disjoint, check_labels
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm, train_tokenizer
from leakage.seed import seed_everything
from leakage.vp.attack import AttackConfig

pytestmark = pytest.mark.usefixtures("one_thread")

TEXTS = ["The jury said it did find that many of the laws are outmoded.",
         "Only a handful of such reports was received by the office.",
         "It urged that the city take steps to remedy this problem.",
         "Prices rose sharply in the spring, said the Treasury.",
         "A new school opened near the river last September.",
         "She read the letter twice and put it away."]


def draws() -> tuple:
    """One draw from each global generator."""
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()


def seed_globals(seed: int = 5) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


class Classifier(nn.Module):
    """A small image classifier with dropout (train mode differs from eval mode) and one frozen layer."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(32, 3)
        self.features[1].requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def snapshot(model: nn.Module) -> dict:
    """What a caller can observe of a model besides its weights' values."""
    return {"training": [m.training for m in model.modules()],
            "requires_grad": [p.requires_grad for p in model.parameters()],
            "dtype": [p.dtype for p in model.parameters()], "device": [p.device for p in model.parameters()],
            "grad": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            "params": [p for p in model.parameters()]}


def assert_same(before: dict, after: dict) -> None:
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["dtype"] == before["dtype"] and after["device"] == before["device"]
    assert all(a is b for a, b in zip(after["params"], before["params"]))  # the caller's references stay valid
    for a, b in zip(after["grad"], before["grad"]):
        assert (a is None and b is None) or torch.equal(a, b)


# --------------------------------------------------------------------------- the guard itself


def test_the_guard_restores_mode_flags_dtype_gradients_and_generators_also_on_error():
    model = Classifier().train()
    model(torch.rand(2, 1, 8, 8)).sum().backward()
    before = snapshot(model)
    seed_globals()
    expected = draws()
    seed_globals()
    deterministic = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(RuntimeError, match="inside"):
        with caller_state(model):
            model.eval().double().requires_grad_(True)
            for p in model.parameters():
                p.grad = None
            seed_everything(123)
            draws()
            raise RuntimeError("inside")
    assert_same(before, snapshot(model))
    assert draws() == expected
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    # the weights are usable as before: a training step runs (float32, gradients where they were)
    model(torch.rand(2, 1, 8, 8)).sum().backward()


def test_modules_are_found_in_pairs_mappings_and_bound_methods():
    a, b, c = nn.Linear(1, 1), nn.Linear(1, 1), nn.Linear(1, 1)
    assert modules_of(a, (b, "tokenizer"), {"x": c}, a.forward, "path", None) == [a, b, c]


# --------------------------------------------------------------------------- every entry point


def test_attack_classifier_leaves_the_model_and_the_generators_as_it_found_them():
    torch.manual_seed(0)
    model = Classifier().train()
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    before = snapshot(model)
    seed_globals()
    expected = draws()
    seed_globals()
    for attack in ("baseline", "boundary"):
        config = None if attack == "baseline" else __import__("leakage.attacks.boundary", fromlist=["x"]) \
            .BoundaryAttack.Config(budget=30, init_size=5, checkpoints=(0, 30))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attack_classifier(model, (x[:8], y[:8]), (x[8:], y[8:]), attack, config, n_boot=5)
        assert_same(before, snapshot(model))
    assert model.training and model.features[3].training  # dropout still on for the caller's next epoch
    assert draws() == expected


@pytest.fixture(scope="module")
def tiny_lm():
    tokenizer = train_tokenizer(TEXTS * 2, 300)
    model = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=160, vocab_size=300), tokenizer, 0)
    train_lm(model, tokenizer, TEXTS[:3], FinetuneConfig(epochs=3, lr=1e-2, batch_size=3, warmup_steps=1),
             max_tokens=40, seed=0)
    return model, tokenizer


def test_attack_language_model_leaves_target_and_reference_as_it_found_them(tiny_lm):
    model, tokenizer = tiny_lm
    model.train()
    model.transformer.wte.requires_grad_(False)  # a frozen embedding, as in adapter fine-tuning
    reference = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=160, vocab_size=300),
                              tokenizer, 1).train()
    before, before_ref = snapshot(model), snapshot(reference)
    seed_globals()
    expected = draws()
    seed_globals()
    attack_language_model(model, TEXTS[:3], TEXTS[3:], tokenizer=tokenizer, reference=reference, neighbours=2,
                          n_boot=5, device="cpu")
    assert_same(before, snapshot(model))
    assert_same(before_ref, snapshot(reference))
    assert model.training and reference.training
    assert draws() == expected
    model.transformer.wte.requires_grad_(True)
    model.eval()


class CodeModel(nn.Module):
    """A code classifier as a torch module: bag of characters -> logits; dropout so that modes differ."""

    def __init__(self) -> None:
        super().__init__()
        self.layer, self.dropout = nn.Linear(128, 2), nn.Dropout(0.5)

    def forward(self, codes: list[str]) -> torch.Tensor:
        counts = torch.zeros(len(codes), 128)
        for i, code in enumerate(codes):
            for ch in code.encode()[:200]:
                counts[i, ch % 128] += 1
        return self.layer(self.dropout(counts))


def test_attack_code_model_leaves_a_module_target_as_it_found_it():
    target, shadow = CodeModel().train(), CodeModel().train()
    codes = [f"int f{i}(int x) {{ return x * {i}; }}" for i in range(40)]
    labels = np.arange(40) % 2
    before = snapshot(target)
    seed_globals()
    expected = draws()
    seed_globals()
    attack_code_model(target, (codes[:10], labels[:10]), (codes[10:20], labels[10:20]), shadow=shadow.forward,
                      shadow_members=(codes[20:30], labels[20:30]), shadow_non_members=(codes[30:], labels[30:]),
                      attack=AttackConfig(max_iter=5), n_boot=5)
    assert_same(before, snapshot(target))
    assert target.training and shadow.training
    assert draws() == expected


# --------------------------------------------------------------------------- the same example on both sides


def test_overlap_is_an_error_naming_how_many_and_where_or_a_warning_when_allowed():
    with pytest.raises(ValueError, match=r"2 of the 3 non_members texts also occur in members \(members\[1\] = "
                                         r"non_members\[0\], members\[0\] = non_members\[2\]\).*allow_overlap=True"):
        check_disjoint("members", ["a", "b"], "non_members", ["b", "c", "a"], what="texts")
    with pytest.warns(OverlapWarning, match="1 of the 1"):
        assert check_disjoint("members", ["a"], "non_members", ["a"], allow=True) == 1
    assert check_disjoint("members", ["a"], "non_members", ["b"]) == 0


def test_identical_image_sets_are_refused_and_scored_with_a_warning_when_allowed():
    torch.manual_seed(0)
    model = Classifier().eval()
    x, y = torch.rand(10, 1, 8, 8), torch.randint(0, 3, (10,))
    with pytest.raises(ValueError, match=r"10 of the 10 non_members images also occur in members"):
        attack_classifier(model, (x, y), (x.clone(), y.clone()), n_boot=5)
    attacker = (torch.cat([torch.rand(3, 1, 8, 8), x[6:7]]), torch.tensor([0, 1, 2, int(y[6])]))
    with pytest.raises(ValueError, match=r"1 of the 4 attacker_data images also occur in candidates \(candidates\[6\] "
                                         r"= attacker_data\[3\]\): the attacker's data \(D_shadow\) must be disjoint"):
        attack_classifier(model, (x[:5], y[:5]), (x[5:], y[5:]), "transfer", attacker_data=attacker)
    with pytest.warns(OverlapWarning, match="10 of the 10 non_members images"):
        result = attack_classifier(model, (x, y), (x.clone(), y.clone()), n_boot=5, allow_overlap=True)
    assert result.metrics["auc"] == 0.5  # the same images on both sides: no attack can tell them apart


def test_overlapping_texts_are_refused_after_normalisation_and_as_scored(tiny_lm):
    model, tokenizer = tiny_lm
    model.eval()
    same = TEXTS[0].encode()  # bytes: the scorer decodes them to the same text
    with pytest.raises(ValueError, match=r"1 of the 3 non_members texts also occur in members \(members\[0\] = "
                                         r"non_members\[2\]\)"):
        attack_language_model(model, TEXTS[:3], TEXTS[3:5] + [same], tokenizer=tokenizer, neighbours=0, n_boot=5)
    # two texts that differ only beyond max_tokens are scored as the same prefix
    longer = TEXTS[1] + " And then some more words that come after the scored prefix."
    with pytest.raises(ValueError, match=r"1 of the 3 non_members texts \(as scored: up to their first 8 tokens\)"):
        attack_language_model(model, TEXTS[:3], TEXTS[3:5] + [longer], tokenizer=tokenizer, neighbours=0,
                              max_tokens=8, n_boot=5)
    with pytest.warns(OverlapWarning):
        results = attack_language_model(model, TEXTS[:3], TEXTS[:3], tokenizer=tokenizer, neighbours=0, n_boot=5,
                                         allow_overlap=True)
    assert results["loss"].metrics["auc"] == 0.5


# --------------------------------------------------------------------------- the one label checker


@pytest.mark.parametrize("labels,message", [
    (np.array(["cat", "dog"]), "got strings .*LabelEncoder"),
    (np.array([0.0, 1.0]), "got floats"),
    (torch.tensor([0.0, 1.0]), "got a torch.float32 tensor"),
    (np.array([[0, 1]]), r"have shape \(2,\), one per example, got shape \(1, 2\)"),
    (np.array([0, 3]), r"\[0, 3\).*got values in \[0, 3\]"),
    (np.array([-1, 0]), r"\[0, 3\).*got values in \[-1, 0\]"),
    ([object(), 1], "got Python objects"),
    ("01", "a single str"),
])
def test_labels_of_another_type_are_clear_errors(labels, message):
    with pytest.raises(ValueError, match="members labels must.*" + message):
        check_labels("members labels", labels, n=2, num_classes=3)


def test_labels_in_every_accepted_form_give_the_same_int64_array():
    expected = np.array([0, 2, 1], dtype=np.int64)
    for labels in ([0, 2, 1], np.array([0, 2, 1], dtype=np.uint8), torch.tensor([0, 2, 1]), (0, 2, 1)):
        got = check_labels("labels", labels, n=3, num_classes=3)
        assert got.dtype == np.int64 and np.array_equal(got, expected)
    assert np.array_equal(check_labels("labels", np.array([True, False])), [1, 0])


@pytest.mark.parametrize("is_member,message", [
    (np.array(["True", "False", "False"]), "got strings"),
    (np.array([0.3, 0.0, 1.0]), r"got values \[0.0, 0.3, 1.0\]"),
    ([object(), 0, 1], "got Python objects"),
])
def test_membership_of_another_type_is_an_error_not_a_member(is_member, message):
    """``"False"`` and 0.3 would both count as members under ``astype(bool)``: every place that reads membership
    labels goes through the one checker."""
    from leakage.api import MembershipResult
    from leakage.audit.bounds import epsilon_lower_bound
    from leakage.metrics import roc_auc, tpr_at_zero_fp

    scores = np.array([0.9, 0.1, 0.5])
    with pytest.raises(ValueError, match="is_member of loss must be booleans.*" + message):
        MembershipResult("loss", scores, is_member)
    for metric in (roc_auc, tpr_at_zero_fp):
        with pytest.raises(ValueError, match="is_member must be booleans.*" + message):
            metric(scores, is_member)
    with pytest.raises(ValueError, match="included must be booleans.*" + message):
        epsilon_lower_bound(scores, is_member)


def test_membership_as_bools_or_zero_one_numbers_gives_the_same_metrics():
    from leakage.api import MembershipResult

    scores = np.array([0.9, 0.1, 0.5, 0.7])
    expected = MembershipResult("loss", scores, [True, False, False, True], n_boot=5).metrics["auc"]
    for is_member in ([1, 0, 0, 1], np.array([1.0, 0.0, 0.0, 1.0]), torch.tensor([True, False, False, True])):
        assert MembershipResult("loss", scores, is_member, n_boot=5).metrics["auc"] == expected == 1.0
