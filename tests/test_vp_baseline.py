"""The bag-of-tokens baseline: learns a token that carries the label, stays at chance without one, clear errors."""

import numpy as np
import pytest

from leakage.experiments.vp import VPBaselineRunConfig, VPDataConfig, run_vp_baseline
from leakage.store import Store
from leakage.vp.baseline import BaselineConfig, bag_of_tokens_baseline
from leakage.vp.splits import VPSplitConfig


def corpus(n: int, marker: bool, seed: int) -> tuple[list[str], np.ndarray]:
    """Random little functions; with ``marker`` the vulnerable ones call strcpy, the others strncpy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    code = []
    for y in labels:
        body = " ".join(f"v{rng.integers(30)} = v{rng.integers(30)} + {rng.integers(9)};" for _ in range(4))
        call = ("strcpy(a, b);" if y else "strncpy(a, b, n);") if marker else ""
        code.append(f"void f() {{ {body} {call} }}")
    return code, labels


def test_the_baseline_finds_a_label_token_and_stays_near_chance_without_one():
    train, test = corpus(200, True, 0), corpus(100, True, 1)
    result = bag_of_tokens_baseline(*train, *test)
    assert result["accuracy"] == 1.0 and result["f1"] == 1.0
    assert result["n_train"] == 200 and result["n_test"] == 100 and result["vocabulary"] > 30
    assert result["majority_rate"] == pytest.approx(max(np.mean(test[1]), 1 - np.mean(test[1])), abs=0.1)
    noise = bag_of_tokens_baseline(*corpus(200, False, 0), *corpus(400, False, 1))
    assert 0.35 < noise["accuracy"] < 0.65


def test_the_baseline_rejects_bad_labels_and_one_class_training_sets():
    code, labels = corpus(20, True, 0)
    with pytest.raises(ValueError, match="one class only"):
        bag_of_tokens_baseline(code, np.zeros(20, int), code, labels)
    with pytest.raises(ValueError, match="0 \\(not vulnerable\\) or 1"):
        bag_of_tokens_baseline(code, labels + 1, code, labels)
    with pytest.raises(ValueError, match="one label per function"):
        bag_of_tokens_baseline(code, labels[:5], code, labels)
    with pytest.raises(ValueError, match="c > 0"):
        BaselineConfig(c=0)


def test_the_baseline_stage_uses_the_targets_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    code, labels = corpus(120, True, 0)
    import json

    path = tmp_path / "function.json"
    path.write_text(json.dumps([{"commit_id": f"c{i}", "target": int(y), "func": c}
                                for i, (c, y) in enumerate(zip(code, labels))]))
    config = VPBaselineRunConfig(data=VPDataConfig(dataset="devign", path=str(path), split=VPSplitConfig(per_set=20)))
    result = run_vp_baseline(config, Store(tmp_path / "store"))
    assert result["n_train"] == result["n_test"] == 20 and result["majority_rate"] == 0.5
    assert result["accuracy"] == 1.0
