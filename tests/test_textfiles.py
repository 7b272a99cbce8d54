"""Text files as people have them (issue #27, items 3 and 10): every format is parsed by its extension
(.txt lines, .jsonl field, .csv / .tsv column), read one record at a time, as UTF-8 with or without a BOM,
with any line end, blank (Unicode whitespace) texts skipped and counted; the same texts give the same scores
from a list and from every format; an unknown format or a missing field is a clear error."""

import codecs
import csv
import json
import logging
import tracemalloc
import warnings

import numpy as np
import pytest

from leakage.api import attack_language_model
from leakage.api.text import read_texts
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer
from leakage.lm.scoring import NonUTF8Warning
from leakage.lm.textfiles import FORMATS, iter_texts, read_text_file

pytestmark = pytest.mark.usefixtures("one_thread")

# commas, quotes (single, double, doubled), a tab, a backslash, JSON-looking text, non-ASCII
TEXTS = ['The jury said, "it did find" that many of the laws are outmoded.',
         "Only a handful of such reports was received by the office's clerk.",
         'She wrote "" and, then, {"text": "not a record"} \\ and a\ttab.',
         "Prices rose sharply in the spring \u2014 caf\u00e9, na\u00efve, \u6771\u4eac.",
         "A new school opened near the river last September.",
         "text,with,only,commas"]
MULTILINE = TEXTS[:2] + ["A text over\ntwo lines, with a \"quote\".", "Windows line\r\nend kept inside quotes."]


def write(path, texts, fmt=None, field="text", bom=False, newline="\n"):
    """``texts`` in the format of ``path``'s extension, as the usual writers write them."""
    fmt = fmt or FORMATS[path.suffix.lower()]
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        if fmt == "lines":
            handle.write("".join(t + newline for t in texts))
        elif fmt == "jsonl":
            handle.write("".join(json.dumps({"id": i, field: t}) + newline for i, t in enumerate(texts)))
        else:  # what pandas' and Excel's writers do: quote what needs it, \r\n between rows
            writer = csv.writer(handle, delimiter="\t" if fmt == "tsv" else ",", lineterminator=newline)
            writer.writerow(["id", field, "source"])
            writer.writerows([i, t, "web, 2024"] for i, t in enumerate(texts))
    return path


@pytest.mark.parametrize("name", ["t.txt", "t.TEXT", "t.jsonl", "t.ndjson", "t.csv", "t.tsv"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_format_gives_the_texts_back_with_any_bom_and_line_end(tmp_path, name, bom, newline):
    path = write(tmp_path / name, TEXTS, bom=bom, newline=newline)
    assert read_texts(path, "members") == TEXTS  # no U+FEFF on the first text, no \r on any


@pytest.mark.parametrize("name", ["t.jsonl", "t.csv", "t.tsv"])
def test_a_text_with_line_breaks_survives_jsonl_and_csv(tmp_path, name):
    assert read_texts(write(tmp_path / name, MULTILINE), "members") == MULTILINE
    assert read_texts(write(tmp_path / ("crlf" + name[1:]), MULTILINE, newline="\r\n"), "members") == MULTILINE


def test_utf16_with_a_bom_as_powershell_writes_it(tmp_path):
    for codec, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                       ("utf-32-le", codecs.BOM_UTF32_LE)):
        path = tmp_path / f"{codec}.txt"
        path.write_bytes(bom + "\r\n".join(TEXTS).encode(codec) + "\r\n".encode(codec))
        assert read_texts(path, "members") == TEXTS


def test_unicode_whitespace_lines_are_blank_skipped_and_counted(tmp_path, caplog):
    blank = ["", " ", "\t", "\u00a0", "\u3000", "\u2003\u00a0 ", "\u200a"]  # all str.isspace()
    assert all(b.isspace() or not b for b in blank)
    lines = [TEXTS[0]] + blank + [TEXTS[1], "\u00a0" + TEXTS[2] + "\u3000"]  # a text's own spaces are kept
    for name in ("b.txt", "b.jsonl", "b.csv"):
        path = write(tmp_path / name, lines)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="leakage.api.text"):
            assert read_texts(path, "members") == [TEXTS[0], TEXTS[1], "\u00a0" + TEXTS[2] + "\u3000"]
        assert f"members: skipped {len(blank)} blank line(s) of {path}" in caplog.text
        first = 3 if name.endswith(".csv") else 2  # the file's line numbers (a CSV has a header line)
        assert f"line {', '.join(str(first + i) for i in range(len(blank)))})" in caplog.text
    read = read_text_file(write(tmp_path / "c.txt", lines))
    assert read.blank == len(blank) and read.blank_at == [2, 3, 4, 5, 6, 7, 8]
    path = tmp_path / "jsonl-blank-lines.jsonl"  # blank lines between records
    path.write_text('{"text": "one"}\n\n \u00a0\n{"text": "two"}\n')
    assert read_texts(path) == ["one", "two"]
    write(tmp_path / "only.csv", ["\u3000", " "])
    with pytest.raises(ValueError, match=r"members: file .*only.csv holds no text \(only 2 blank one\(s\)\)"):
        read_texts(tmp_path / "only.csv", "members")


def test_other_line_separators_stay_inside_a_text_line(tmp_path):
    text = "one\u2028two\x85three\x0cfour\x1cfive"  # str.splitlines would cut this into five
    path = tmp_path / "sep.txt"
    path.write_text(text + "\n" + TEXTS[0] + "\n", encoding="utf-8", newline="")
    assert read_texts(path) == [text, TEXTS[0]]


def test_invalid_utf8_becomes_replacement_characters_with_one_warning(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 au lait\nfine\n")
    with pytest.warns(NonUTF8Warning, match="1 text"):
        assert read_texts(path) == ["caf\ufffd au lait", "fine"]


def test_a_field_of_another_name_and_clear_errors_for_what_is_not_there(tmp_path):
    assert read_texts(write(tmp_path / "f.jsonl", TEXTS, field="body"), text_field="body") == TEXTS
    assert read_texts(write(tmp_path / "f.csv", TEXTS, field="body"), text_field="body") == TEXTS
    with pytest.raises(ValueError, match=r"members: line 1 of .*f.jsonl has no field 'text' \(its fields: 'id', "
                                         r"'body'\); name the field .*text_field= / --text-field"):
        read_texts(tmp_path / "f.jsonl", "members")
    with pytest.raises(ValueError, match=r"the header of .*f.csv has no column 'text' \(its columns: 'id', 'body', "
                                         r"'source'\)"):
        read_texts(tmp_path / "f.csv", "members")
    (tmp_path / "g.jsonl").write_text('{"text": "fine"}\n{"text": 3}\n')
    with pytest.raises(ValueError, match="field 'text' on line 2 of .*g.jsonl is a JSON int, not a string"):
        read_texts(tmp_path / "g.jsonl")
    (tmp_path / "h.jsonl").write_text('{"text": "fine"}\n{"text": "cut\n')
    with pytest.raises(ValueError, match="line 2 of .*h.jsonl is not JSON"):
        read_texts(tmp_path / "h.jsonl")
    (tmp_path / "i.jsonl").write_text('"a bare string"\n')
    with pytest.raises(ValueError, match="line 1 of .*i.jsonl is a JSON str, not an object"):
        read_texts(tmp_path / "i.jsonl")
    (tmp_path / "j.csv").write_text("id,text\n1,fine\n2\n")
    with pytest.raises(ValueError, match="the row on line 3 of .*j.csv has 1 field"):
        read_texts(tmp_path / "j.csv")
    for name in ("texts.json", "texts.parquet", "texts", "texts.txt.gz"):
        (tmp_path / name).write_text("a text\n")
        with pytest.raises(ValueError, match=r"non_members: cannot tell the format of .* accepted: \.txt, \.text, "
                                             r"\.jsonl, \.ndjson, \.csv, \.tsv"):
            read_texts(tmp_path / name, "non_members")
    with pytest.raises(ValueError, match="is a folder"):
        read_texts(tmp_path, "members")
    with pytest.raises(FileNotFoundError, match="members: file .*nope.csv does not exist"):
        read_texts(tmp_path / "nope.csv", "members")
    with pytest.raises(ValueError, match="text_field must name"):
        read_texts(tmp_path / "f.csv", text_field="")


def test_a_csv_field_larger_than_the_csv_modules_default_limit(tmp_path):
    import csv as csv_module

    limit = csv_module.field_size_limit()
    long = "word " * 60_000  # 300,000 characters: over csv's default 131,072
    assert read_texts(write(tmp_path / "long.csv", [long, TEXTS[0]])) == [long, TEXTS[0]]
    assert csv_module.field_size_limit() == limit  # the caller's setting is restored


# --------------------------------------------------------------------------- the same scores from every format


@pytest.fixture(scope="module")
def tiny_lm():
    tokenizer = train_tokenizer((TEXTS + MULTILINE) * 2, 320)
    config = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=320)
    return build_scratch(config, tokenizer, 0), tokenizer


def _scores(tiny_lm, members, non_members, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation of the long texts: the same for every format
        results = attack_language_model(tiny_lm, members, non_members, neighbours=0, max_tokens=40, n_boot=10,
                                        **kwargs)
    return {label: r.scores for label, r in results.items()}


def test_identical_scores_from_a_list_and_every_file_format(tiny_lm, tmp_path):
    members, non_members = TEXTS[:3], TEXTS[3:]
    expected = _scores(tiny_lm, members, non_members)
    assert list(expected) == ["loss", "zlib", "min-k (20%)", "min-k++ (20%)"]
    for suffix in (".txt", ".jsonl", ".csv", ".tsv"):
        m = write(tmp_path / f"m{suffix}", members, bom=True, newline="\r\n")
        n = write(tmp_path / f"n{suffix}", non_members)
        got = _scores(tiny_lm, m, n)
        for label in expected:
            np.testing.assert_array_equal(got[label], expected[label], err_msg=f"{label} from {suffix}")
    m, n = write(tmp_path / "mf.csv", members, field="body"), write(tmp_path / "nf.jsonl", non_members, field="body")
    got = _scores(tiny_lm, m, n, text_field="body")
    np.testing.assert_array_equal(got["loss"], expected["loss"])


def test_identical_scores_for_texts_with_line_breaks_from_jsonl_and_csv(tiny_lm, tmp_path):
    members, non_members = MULTILINE[2:], MULTILINE[:2]
    expected = _scores(tiny_lm, members, non_members)
    for suffix in (".jsonl", ".csv"):
        got = _scores(tiny_lm, write(tmp_path / f"m{suffix}", members), write(tmp_path / f"n{suffix}", non_members))
        for label in expected:
            np.testing.assert_array_equal(got[label], expected[label], err_msg=f"{label} from {suffix}")


# --------------------------------------------------------------------------- memory flat in the file's size


def _peak(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


#: transient memory of reading, per byte of the longest record: the line in flight (a whole-file read adds 2 or more);
#: the csv module builds a field in a buffer of 4-byte characters that doubles as it grows
TRANSIENT = {".txt": 1.5, ".jsonl": 1.5, ".csv": 9.0}


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".csv"])
def test_reading_a_large_file_holds_one_record_at_a_time(tmp_path, suffix):
    """One 5 MB line among 4000 normal ones: reading keeps the texts and one record in flight, never the whole
    file (a whole-file read would add at least the file's size again); iterating keeps one record."""
    huge = "x" * 5_000_000
    path = write(tmp_path / f"big{suffix}", [TEXTS[0]] * 2000 + [huge] + [TEXTS[1]] * 2000)
    texts = []
    peak = _peak(lambda: texts.extend(read_texts(path)))
    assert len(texts) == 4001 and texts[2000] == huge
    kept = sum(len(t) for t in texts) + 4001 * 50  # the texts (ASCII: a byte per character) and their objects
    assert peak - kept < TRANSIENT[suffix] * len(huge), f"reading {path.stat().st_size} bytes peaked at {peak}"
    small = write(tmp_path / f"many{suffix}", [TEXTS[0]] * 40_000)  # 2.6 MB of short records
    peak = _peak(lambda: sum(1 for _ in iter_texts(small)))
    assert peak < 200_000, f"iterating {small.stat().st_size} bytes peaked at {peak} bytes"
