"""VP artefact keys cover the *content* of every external input: a data file rewritten in place, a Juliet
source chosen by $LEAKAGE_JULIET, a CodeBERT checkpoint folder. None may return a stale artefact, neither
from the store nor from the per-process corpus caches."""

import json
import os

import pytest

from leakage.config import config_hash
from leakage.experiments import vp
from leakage.experiments.vp import (VPDataConfig, VPModelRunConfig, load_corpus, load_tokenizer,
                                    prepare)
from leakage.store import Store
from leakage.vp import juliet
from leakage.vp.models import VPModelConfig
from leakage.vp.splits import VPSplitConfig
from leakage.vp.tokenizer import TokenizerConfig


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    """The digest cache (``<store>/.digests``) lives in the test's own folder."""
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv(juliet.ENV_VAR, raising=False)


def rewrite(path, text: str) -> None:
    """Write ``text`` over ``path`` and move its mtime on by a second (a later edit; the digest cache is keyed
    by size and mtime, and a same-size rewrite within one clock tick would keep both)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(later, later))


def devign_json(prefix: str, n: int = 40) -> str:
    rows = [{"project": "toy", "commit_id": f"c{i}", "target": i % 2,
             "func": f"int {prefix}_{i}(int {prefix}_arg) {{ return {prefix}_arg + {i}; }}"} for i in range(n)]
    return json.dumps(rows)


def devign_config(path) -> VPDataConfig:
    return VPDataConfig(dataset="devign", path=str(path), split=VPSplitConfig(per_set=2, seed=0),
                        tokenizer=TokenizerConfig(vocab_size=120, max_len=16, train_size=40))


def test_a_devign_file_rewritten_in_place_is_read_again_and_keys_new_artefacts(tmp_path):
    path = tmp_path / "function.json"
    rewrite(path, devign_json("alpha"))
    data = devign_config(path)
    store = Store(tmp_path / "store")
    first_key = config_hash("vp_tokenizer", data)
    tokenizer = load_tokenizer(data, VPModelConfig(), store)
    assert any("alpha" in t for t in tokenizer.tokenizer.get_vocab())
    assert "alpha" in prepare(data)[0].code[0]

    rewrite(path, devign_json("omega"))  # same path, same config, new content
    assert config_hash("vp_tokenizer", data) != first_key
    model_run = VPModelRunConfig(data=data)
    assert store.folder("vp_model", model_run).name == config_hash("vp_model", model_run)
    assert "omega" in load_corpus(data.dataset, data.path, data.juliet)[0].code[0]  # not the cached alpha corpus
    assert all("alpha" not in code for code in prepare(data)[0].code)
    tokenizer = load_tokenizer(data, VPModelConfig(), store)  # same store: must be trained anew
    vocab = tokenizer.tokenizer.get_vocab()
    assert any("omega" in t for t in vocab) and not any("alpha" in t for t in vocab)
    assert len(list((tmp_path / "store" / "vp_tokenizer").iterdir())) == 2


def test_a_bigvul_file_rewritten_in_place_changes_the_key(tmp_path):
    path = tmp_path / "MSR_data_cleaned.csv"
    rewrite(path, "func_before,vul,commit_id\n" + "".join(f'"int a{i}() {{ return {i}; }}",{i % 2},c{i}\n'
                                                           for i in range(12)))
    data = VPDataConfig(dataset="bigvul", path=str(path), split=VPSplitConfig(per_set=2))
    key = config_hash("vp_model", VPModelRunConfig(data=data))
    assert len(load_corpus("bigvul", str(path), data.juliet)[0]) == 12
    rewrite(path, "func_before,vul,commit_id\n" + "".join(f'"int b{i}() {{ return {i}; }}",{i % 2},c{i}\n'
                                                           for i in range(10)))
    assert config_hash("vp_model", VPModelRunConfig(data=data)) != key
    assert len(load_corpus("bigvul", str(path), data.juliet)[0]) == 10


def write_suite(folder, value: int, groups: int = 6):
    """A tiny Juliet-shaped suite: ``groups`` test cases, each one bad and one good entry point."""
    cases = folder / "testcases" / "CWE999_Fake_Flaw"
    cases.mkdir(parents=True, exist_ok=True)
    for g in range(groups):
        name = f"CWE999_Fake_Flaw__case{g}_01"
        (cases / f"{name}.c").write_text(
            f"void {name}_bad()\n{{\n    int m{value} = {g};\n    m{value} = m{value} * 2;\n}}\n"
            f"static void good1()\n{{\n    int m{value} = {g};\n}}\n")
    return folder


def test_leakage_juliet_pointing_elsewhere_or_rewritten_changes_keys_and_corpus(tmp_path, monkeypatch):
    first, second = write_suite(tmp_path / "one", 7), write_suite(tmp_path / "two", 9)
    data = VPDataConfig(dataset="juliet", split=VPSplitConfig(per_set=2))
    monkeypatch.setenv(juliet.ENV_VAR, str(first))
    key_one = config_hash("vp_tokenizer", data)
    assert all("m7" in code for code in prepare(data)[0].code)
    monkeypatch.setenv(juliet.ENV_VAR, str(second))  # same config, another suite
    assert config_hash("vp_tokenizer", data) != key_one
    assert all("m9" in code and "m7" not in code for code in prepare(data)[0].code)
    key_two = config_hash("vp_tokenizer", data)
    rewrite(second / "testcases" / "CWE999_Fake_Flaw" / "CWE999_Fake_Flaw__case0_01.c",
            "void CWE999_Fake_Flaw__case0_01_bad()\n{\n    int z = 3;\n}\nstatic void good1()\n{\n    int w = 4;\n}\n")
    assert config_hash("vp_tokenizer", data) != key_two  # a file of the folder rewritten in place
    assert any("z = 3" in code for code in load_corpus("juliet", None, data.juliet)[0].code)
    monkeypatch.setenv(juliet.ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(juliet.DataUnavailableError, match="does not exist"):
        config_hash("vp_tokenizer", data)


def test_the_default_juliet_source_is_keyed_by_the_file_actually_read():
    source = juliet.source_path(None)
    assert source.exists()
    assert VPDataConfig().input_digests() == {"source": vp.source_digest("juliet", None)}


def test_a_codebert_checkpoint_folder_is_keyed_by_its_content(tmp_path):
    folder = tmp_path / "codebert"
    folder.mkdir()
    rewrite(folder / "config.json", '{"hidden_size": 8}')
    rewrite(folder / "model.safetensors", "weights v1")
    model = VPModelConfig(arch="codebert", codebert_path=str(folder))
    run = VPModelRunConfig(data=VPDataConfig(), model=model)
    key = config_hash("vp_model", run)
    assert set(model.input_digests()) == {"codebert_path"}
    rewrite(folder / "model.safetensors", "weights v2")  # same size, new content
    assert config_hash("vp_model", run) != key
    assert VPModelConfig().input_digests() == {}  # no checkpoint: nothing read from outside
    assert VPModelConfig(arch="codebert", codebert_path="no/such-hub-id").input_digests() == {}  # not downloaded
