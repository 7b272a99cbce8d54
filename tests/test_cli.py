"""Errors that arrive early and in one line (issue #27, item 5): every argument and input of every documented
command (score-texts, book, run) is checked before the work starts; each bad input is one line
``error: ...`` saying what to do, exit status non-zero, no traceback, and no forward pass (score-texts) or
Dask cluster (book, run) started."""

import contextlib
import csv
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import as_user

from leakage.cli import main
from leakage.lm import scoring
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")

MEMBERS = ["The jury said, \"it did find\" that many of the laws are outmoded.",
           "Only a handful of such reports was received by the office.",
           "It urged that the city take steps to remedy this problem."]
NON_MEMBERS = ["Prices rose sharply in the spring, said the Treasury.",
               "A new school opened near the river last September.",
               "She read the letter twice and put it away."]
TINY = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=320)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with a tiny GPT-2 (``target``) saved by save_pretrained, damaged copies of it, a tiny BERT
    masked LM cut in half, and the texts as .txt files."""
    import shutil

    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    root = tmp_path_factory.mktemp("cli")
    tokenizer = train_tokenizer((MEMBERS + NON_MEMBERS) * 2, 320)
    model = build_scratch(TINY, tokenizer, 0)
    model.save_pretrained(root / "target")
    tokenizer.save_pretrained(root / "target")
    for name in ("truncated", "bad-config", "unknown-type", "no-tokenizer", "no-weights"):
        shutil.copytree(root / "target", root / name)
    weights = (root / "truncated" / "model.safetensors").read_bytes()
    (root / "truncated" / "model.safetensors").write_bytes(weights[:len(weights) // 2])
    (root / "bad-config" / "config.json").write_text('{"model_type": "gpt2", "n_embd": ')
    config = json.loads((root / "unknown-type" / "config.json").read_text())
    (root / "unknown-type" / "config.json").write_text(json.dumps({**config, "model_type": "nonesuch"}))
    (root / "no-tokenizer" / "tokenizer.json").unlink()
    (root / "no-weights" / "model.safetensors").unlink()

    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "jury", "said", "city"]))
    bert = BertForMaskedLM(BertConfig(vocab_size=9, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=64))
    bert.save_pretrained(root / "mlm")
    BertTokenizer(str(vocab)).save_pretrained(root / "mlm")
    weights = (root / "mlm" / "model.safetensors").read_bytes()
    (root / "mlm" / "model.safetensors").write_bytes(weights[:len(weights) // 2])

    (root / "m.txt").write_text("\n".join(MEMBERS) + "\n")
    (root / "n.txt").write_text("\n".join(NON_MEMBERS) + "\n")
    return root


@contextlib.contextmanager
def no_forward_pass(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(scoring.Scorer, "stats", lambda *a, **k: pytest.fail("a forward pass started"))
        yield


@pytest.fixture
def no_work(monkeypatch):
    """Any forward pass or Dask cluster fails the test: the error must come before the work."""
    def work(*args, **kwargs):
        raise AssertionError("the work started before the error")

    monkeypatch.setattr(scoring.Scorer, "stats", work)
    monkeypatch.setattr("leakage.grid.make_client", work)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def one_error(capsys, *fragments: str) -> str:
    """The command's stderr: one line ``error: ...`` holding every fragment, no traceback (transformers'
    progress bars of a model loaded before may come first)."""
    lines = [line for line in capsys.readouterr().err.split("\n") if line and "\r" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    err = lines[0]
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def score_args(folder, *extra: str) -> list[str]:
    return ["score-texts", "--model", str(folder / "target"), "--members", str(folder / "m.txt"), "--non-members",
            str(folder / "n.txt"), "--max-tokens", "40", "--n-boot", "10", "--neighbours", "0", *extra]


# --------------------------------------------------------------------------- score-texts


@pytest.mark.parametrize("extra, message", [
    (["--max-tokens", "0"], "--max-tokens must be 1 or more, got 0"),
    (["--batch-size", "0"], "--batch-size must be 1 or more, got 0"),
    (["--n-boot", "0"], "--n-boot must be 1 or more, got 0"),
    (["--neighbours", "-1"], "--neighbours must be 0 or more, got -1"),
    (["--min-k", "0"], "--min-k must be a fraction in (0, 1]"),
    (["--min-k", "1.5"], "--min-k must be a fraction in (0, 1]"),
    (["--min-k", "nan"], "--min-k must be a fraction in (0, 1]"),
    (["--text-field", ""], "--text-field must name"),
])
def test_score_texts_numbers_out_of_range_are_refused_before_anything_is_read(folder, capsys, no_work, monkeypatch,
                                                                               extra, message):
    monkeypatch.setattr("leakage.lm.models.load_pretrained", lambda *a, **k: pytest.fail("a model was loaded"))
    assert main(score_args(folder, *extra)) == 1
    one_error(capsys, message)


def test_score_texts_out_that_cannot_be_written_is_refused_before_the_work(folder, tmp_path, capsys, no_work):
    (tmp_path / "a-file").write_text("")
    for out, message in ((tmp_path, "is a folder; name the CSV file"),
                         (tmp_path / "a-file" / "scores.csv", "is a file, not a folder"),
                         (tmp_path / "a-file" / "deeper" / "scores.csv", "is a file, not a folder"),
                         (folder / "m.txt", "is an input file")):
        assert main(score_args(folder, "--out", str(out))) == 1
        one_error(capsys, f"--out {out}", message)
    assert (folder / "m.txt").read_text() == "\n".join(MEMBERS) + "\n"


def _run_cli(args: list[str]) -> tuple[int, str]:
    """``main(args)``'s exit status and stderr (run in this process, or in a forked child as another user)."""
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(args)
    return status, err.getvalue()


def _as_another_user(args: list[str], *fragments: str) -> None:
    """Run the command as an unprivileged account (root reads and writes whatever the permissions): one line
    ``error: ...`` holding every fragment, exit status 1."""
    kind, (status, err) = ("ok", _run_cli(args)) if os.geteuid() != 0 else as_user(12345, 12345, _run_cli, args)
    assert kind == "ok", err
    lines = [line for line in err.split("\n") if line and "\r" not in line]
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), (status, lines)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def open_folder():
    """A folder every account may enter (pytest's tmp_path lies under a root-only folder)."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="leakage-cli-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def test_score_texts_out_in_a_read_only_folder_is_refused_before_the_work(folder, open_folder, no_work):
    locked = open_folder / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    _as_another_user(score_args(folder, "--out", str(locked / "scores.csv")), "cannot write in", "permission denied")


def test_score_texts_bad_text_files_are_refused_before_a_model_is_loaded(folder, tmp_path, capsys, no_work,
                                                                          monkeypatch):
    monkeypatch.setattr("leakage.lm.models.load_pretrained", lambda *a, **k: pytest.fail("a model was loaded"))
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.csv").write_text("text\n\u00a0\n\u3000\n")
    (tmp_path / "texts.json").write_text('["a", "b"]')
    (tmp_path / "body.jsonl").write_text('{"body": "a text"}\n')
    (tmp_path / "no-header.csv").write_text("1,a text\n2,another\n")
    (tmp_path / "broken.jsonl").write_text('{"text": "a text"\n')
    for flag, path, message in (("--members", tmp_path / "missing.txt", "--members: file"),
                                ("--members", tmp_path / "empty.txt", "holds no text"),
                                ("--non-members", tmp_path / "blank.csv", "holds no text (only 2 blank one(s))"),
                                ("--members", tmp_path, "is a folder"),
                                ("--non-members", tmp_path / "texts.json", "cannot tell the format"),
                                ("--members", tmp_path / "body.jsonl", "has no field 'text' (its fields: 'body')"),
                                ("--members", tmp_path / "no-header.csv", "has no column 'text'"),
                                ("--members", tmp_path / "broken.jsonl", "line 1 of")):
        args = score_args(folder)
        args[args.index(flag) + 1] = str(path)
        assert main(args) == 1
        one_error(capsys, message)


def test_score_texts_unreadable_text_file(folder, open_folder, no_work):
    locked = open_folder / "locked.txt"
    locked.write_text("a text\n")
    locked.chmod(0)
    args = score_args(folder)
    args[args.index("--members") + 1] = str(locked)
    _as_another_user(args, "--members: cannot read", "Permission denied")


@pytest.mark.parametrize("flag, name, message", [
    ("--model", "nothing-here", "no model folder"),
    ("--model", "truncated", "SafetensorError"),
    ("--model", "bad-config", "not a valid JSON file"),
    ("--model", "unknown-type", "nonesuch"),
    ("--model", "no-tokenizer", "cannot be loaded"),
    ("--model", "no-weights", "no file named model.safetensors"),
    ("--reference", "truncated", "SafetensorError"),
    ("--masked-lm", "mlm", "could not load masked LM"),
])
def test_score_texts_a_damaged_model_folder_is_one_line_before_any_forward_pass(folder, capsys, no_work, flag, name,
                                                                                 message):
    args = score_args(folder, "--neighbours", "2")
    if flag in args:
        args[args.index(flag) + 1] = str(folder / name)
    else:
        args += [flag, str(folder / name)]
    assert main(args) == 1
    err = one_error(capsys, message)
    if flag != "--masked-lm" and name != "nothing-here":
        assert "save the model again with model.save_pretrained(folder)" in err


def test_a_malformed_command_line_is_one_line_and_status_2(folder, capsys):
    for args, message in ((score_args(folder, "--max-tokens", "abc"), "argument --max-tokens: invalid int value"),
                          (["score-texts", "--members", "m.txt"], "the following arguments are required: --model"),
                          (["book", "--nonesuch"], "unrecognized arguments: --nonesuch"),
                          (["nonesuch"], "invalid choice: 'nonesuch'")):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        one_error(capsys, message, "--help")


def test_score_texts_reads_every_format_with_text_field_and_writes_the_same_scores(folder, tmp_path, capsys,
                                                                                    monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(score_args(folder, "--out", str(tmp_path / "from-txt.csv"))) == 0
    expected = pd.read_csv(tmp_path / "from-txt.csv")
    with open(tmp_path / "m.csv", "w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows([["id", "body"]] + [[i, t] for i, t in enumerate(MEMBERS)])
    (tmp_path / "n.jsonl").write_text("".join(json.dumps({"body": t}) + "\r\n" for t in NON_MEMBERS))
    args = score_args(folder, "--text-field", "body", "--out", str(tmp_path / "new" / "from-csv.csv"))
    args[args.index("--members") + 1], args[args.index("--non-members") + 1] = str(tmp_path / "m.csv"), str(
        tmp_path / "n.jsonl")
    assert main(args) == 0
    assert re.search(r"loss\s+\d\.\d{3} \[", capsys.readouterr().out)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "new" / "from-csv.csv"), expected)


# --------------------------------------------------------------------------- book and run: arguments only


@pytest.mark.parametrize("extra, message", [
    (["--profile", "huge"], "unknown profile 'huge'"),
    (["--only", "nonesuch"], "unknown notebook nonesuch"),
    (["--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--set", "epochs"], "--set takes NAME=VALUE"),
    (["--set", "nonesuch=1"], "no notebook of this run has a parameter nonesuch"),
    (["--set", "epochs=many"], "--set epochs='many'"),
])
def test_book_arguments_are_checked_before_a_cluster_starts(capsys, no_work, extra, message):
    assert main(["book", "--profile", "smoke", *extra]) == 1
    one_error(capsys, message)


@pytest.mark.parametrize("extra, message", [
    (["--profile", "huge"], "unknown profile 'huge'"),
    (["--only", "nonesuch"], "unknown notebook nonesuch"),
    (["--workers", "0"], "--workers must be 1 or more, got 0"),
    (["--threads", "0"], "--threads must be 1 or more, got 0"),
    (["--retries", "-1"], "--retries must be 0 or more, got -1"),
    (["--set", "epochs"], "--set takes NAME=VALUE"),
    (["--set", "nonesuch=1"], "no notebook of this run has a parameter nonesuch"),
    (["--set", "epochs=many"], "--set epochs='many'"),
    (["--cluster-option", "queue"], "--cluster-option takes KEY=VALUE, got 'queue'"),
    (["--cluster-option", "=gpu"], "--cluster-option takes KEY=VALUE"),
])
def test_run_arguments_are_checked_before_a_cluster_starts(capsys, no_work, extra, message):
    assert main(["run", "--profile", "smoke", "--only", "lz_targets", *extra]) == 1
    one_error(capsys, message)


def test_run_a_cluster_that_cannot_start_or_be_reached_is_one_line(capsys, monkeypatch):
    def refuse(scheduler, cluster, **kwargs):
        if scheduler:
            raise OSError(f"Timed out trying to connect to {scheduler} after 30 s")
        raise TypeError("__init__() got an unexpected keyword argument 'queue'")

    monkeypatch.setattr("leakage.grid.make_client", refuse)
    assert main(["run", "--profile", "smoke", "--only", "lz_targets", "--cluster-option", "queue=gpu"]) == 1
    one_error(capsys, "could not start or reach a local Dask cluster", "unexpected keyword argument 'queue'",
              "check --scheduler, --cluster and --cluster-option")
    assert main(["run", "--profile", "smoke", "--only", "lz_targets", "--scheduler", "tcp://127.0.0.1:8786"]) == 1
    one_error(capsys, "the Dask scheduler at tcp://127.0.0.1:8786", "Timed out")


def test_score_texts_refuses_a_text_on_both_sides_unless_allow_overlap(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "n.txt").write_text("\n".join(NON_MEMBERS + MEMBERS[:1]) + "\n")
    args = score_args(folder)
    args[args.index("--non-members") + 1] = str(tmp_path / "n.txt")
    with no_forward_pass(monkeypatch):
        assert main(args) == 1
    one_error(capsys, "1 of the 4 --non-members texts also occur in --members (--members[0] = --non-members[3])",
              "pass --allow-overlap=True")
    for allow in (["--allow-overlap"], ["--allow-overlap=True"]):
        with pytest.warns(UserWarning, match="scored anyway"):
            assert main(args + allow) == 0
        assert "3 + 4" in capsys.readouterr().out


def test_score_texts_errors_name_the_commands_options_not_the_apis_parameters():
    from leakage.cli import _subcommand, as_options

    command = _subcommand("score-texts")
    assert as_options("pass allow_overlap=True to score them anyway", command) == "pass --allow-overlap to score them anyway"
    assert as_options("max_tokens=128 plus the context token; pass `context_token=`", command) == \
        "--max-tokens 128 plus the context token; pass `--context-token`"
    assert as_options("pass tokenizer= with the model", command) == "pass tokenizer= with the model"  # not an option


def test_score_texts_a_prefix_on_both_sides_names_the_option(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "n.txt").write_text("\n".join(NON_MEMBERS + [MEMBERS[0] + " and more words after the prefix"]) + "\n")
    args = score_args(folder, "--max-tokens", "6")
    args[args.index("--non-members") + 1] = str(tmp_path / "n.txt")
    assert main(args) == 1
    one_error(capsys, "1 of the 4 non_members texts (as scored: up to their first 6 tokens)", "--allow-overlap")
