"""Juliet extraction: comments and literals, function finding, labels, label-leak scrubbing, de-duplication, sources."""

import re
import tarfile
import zipfile

import numpy as np
import pytest

from leakage.data.vision import DataUnavailableError
from leakage.vp import juliet
from leakage.vp.clex import extract_functions, lex
from leakage.vp.juliet import (EXTRACTOR_VERSION, LABEL_WORDS, SHIPPED_FILE, JulietConfig, build_records, dedupe,
                               STRING_PLACEHOLDER, drop_template_markers, label_of, read_meta, read_records,
                               resolve_source, scrub, select, group_of)

C_FILE = r'''/* TEMPLATE GENERATED TESTCASE FILE
Filename: CWE999_Fake_Flaw__char_copy_01.c */
#include "std_testcase.h"
#define BRACE "{"
static const char table[] = { 'a', '}' };
int helperPrototype(int x);
#ifndef OMITBAD
void CWE999_Fake_Flaw__char_copy_01_bad()
{
    char * data = "/* not a comment */ { bad }"; // FLAW: a comment with { a brace
    char c = '{';
    if (data != NULL) { printLine("CWE999 bad path"); }
    CWE999_Fake_Flaw__char_copy_01_badSink(data);
}
#endif /* OMITBAD */
#ifndef OMITGOOD
/* goodG2B uses the GoodSource with the BadSink */
static void goodG2B()
{
    char * data = "fixed";
    CWE999_Fake_Flaw__char_copy_01_goodG2BSink(data);
}
void CWE999_Fake_Flaw__char_copy_01_good()
{
    goodG2B();
}
#endif
int main(int argc, char * argv[])
{
    return 0;
}
'''

CPP_FILE = r'''#include "std_testcase.h"
namespace CWE999_Fake_Flaw__char_copy_33
{
void bad()
{
    int goodCount = 0; int badCount = 1;
    int x = goodCount + badCount;
}
static void good1()
{
    int y = 2;
}
void good()
{
    good1();
}
} /* close namespace */
'''


def test_extract_functions_ignores_braces_in_literals_comments_and_initialisers():
    names = [f.name for f in extract_functions(C_FILE, "c")]
    assert names == ["CWE999_Fake_Flaw__char_copy_01_bad", "goodG2B", "CWE999_Fake_Flaw__char_copy_01_good", "main"]
    bad = extract_functions(C_FILE, "c")[0].text
    assert bad.startswith("void CWE999") and bad.rstrip().endswith("}") and "FLAW" not in bad
    assert [f.name for f in extract_functions(CPP_FILE, "cpp")] == ["bad", "good1", "good"]


def test_labels_of_entry_points_and_helpers():
    assert label_of("CWE121_x__char_01_bad") == 1 and label_of("bad") == 1
    assert label_of("goodG2B") == 0 and label_of("good1") == 0 and label_of("goodB2G2") == 0
    for helper in ("good", "CWE121_x_01_good", "badSink", "CWE121_x_51b_goodG2BSink", "goodB2GSource", "main",
                   "CWE121_x_81_bad::action", "printLine"):
        assert label_of(helper) is None, helper


def test_test_case_groups_flow_variants_and_wide_twins_together():
    group = "CWE121_Stack__char_alloca_cpy"
    for name in ("CWE121_Stack__char_alloca_cpy_01.c", "CWE121_Stack__char_alloca_cpy_18.c",
                 "CWE121_Stack__char_alloca_cpy_51a.c", "CWE121_Stack__wchar_t_alloca_cpy_01.c",
                 "CWE121_Stack__char_alloca_cpy_81_bad.cpp", "dir/CWE121_Stack__char_alloca_cpy_84_goodG2B.cpp"):
        assert group_of(name) == group, name


def test_scrubbing_renames_label_words_consistently_and_blanks_every_string_literal():
    out = scrub('void CWE1_x_bad() { int goodCount = badCount + goodCount; puts("the bad path"); puts("ok"); }'
                ' if (0) { printLine("Benign, fixed string"); }',
                ["x_thing"])
    assert not LABEL_WORDS.search(out)
    assert out == 'void id0() { int id1 = id2 + id1; puts("STR"); puts("STR"); } if (0) { printLine("STR"); }'
    assert scrub("char c = 'x'; wchar_t * s = L\"any text\";") == "char c = 'x'; wchar_t * s = L\"STR\";"
    assert "id0" in scrub("int Fake_Flaw_count;", ["Fake_Flaw"])  # the CWE's name counts too
    assert scrub('auto s = u8"bad"; auto r = LR"x(good)x"; int goodG2B = -1;', language="cpp") == (
        'auto s = u8"STR"; auto r = L"STR"; int id0 = -1;')  # prefixes kept, a raw string's R dropped


def test_no_label_token_survives_in_a_file_and_static_is_dropped():
    records = juliet.functions_of_file("testcases/CWE999_Fake_Flaw/CWE999_Fake_Flaw__char_copy_01.c", C_FILE)
    records += juliet.functions_of_file("testcases/CWE999_Fake_Flaw/CWE999_Fake_Flaw__char_copy_33.cpp", CPP_FILE)
    assert [r["label"] for r in records] == [1, 0, 1, 0]
    for r in records:
        assert not LABEL_WORDS.search(r["code"]), r["code"]
        assert not re.search(r"(?i)fake_flaw|FLAW|FIX", r["code"].replace("fixed", ""))
        assert not r["code"].startswith("static")
        assert all(not t.lower().startswith(("bad", "good")) for t in lex(r["code"], "cpp"))
    assert {r["group"] for r in records} == {"CWE999_Fake_Flaw__char_copy"}


def test_dedupe_drops_copies_and_label_conflicts():
    records = [{"code": "a  b", "label": 1}, {"code": "a b", "label": 1}, {"code": "c", "label": 0},
               {"code": "c", "label": 1}, {"code": "d", "label": 0}]
    kept, stats = dedupe(records)
    assert [r["code"] for r in kept] == ["a  b", "d"]
    assert stats == {"extracted": 5, "duplicates_dropped": 1, "label_conflicts_dropped": 2, "kept": 2}


def write_suite(tmp_path):
    folder = tmp_path / "juliet" / "testcases" / "CWE999_Fake_Flaw"
    folder.mkdir(parents=True)
    for variant in ("01", "02"):
        (folder / f"CWE999_Fake_Flaw__char_copy_{variant}.c").write_text(C_FILE.replace("_01", f"_{variant}"))
    (folder / "CWE999_Fake_Flaw__char_copy_33.cpp").write_text(CPP_FILE)
    (folder / "CWE999_Fake_Flaw__char_copy_51b.c").write_text("void CWE999_x_51b_badSink(char * d) { d[0] = 1; }")
    other = tmp_path / "juliet" / "testcases" / "CWE998_Other"
    other.mkdir()
    (other / "CWE998_Other__int_add_01.c").write_text(
        "void CWE998_Other__int_add_01_bad()\n{\n    int x = 1 + 2;\n}\nstatic void good1()\n{\n    int x = 1;\n}\n")
    archive = tmp_path / "suite.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(tmp_path / "juliet" / "testcases", arcname="testcases")
    return tmp_path / "juliet", archive


def test_build_records_from_an_archive_and_a_folder_agree_and_select_filters(tmp_path):
    folder, archive = write_suite(tmp_path)
    from_folder, stats = build_records(folder)
    from_archive, _ = build_records(archive)
    assert from_folder == from_archive
    assert stats["files"] == 4 and stats["duplicates_dropped"] == 2  # flow variant 02 repeats 01 after scrubbing
    assert sorted({r["cwe"] for r in from_folder}) == ["CWE998", "CWE999"]
    assert {r["cwe"] for r in select(from_folder, JulietConfig(cwes=("CWE998",)))} == {"CWE998"}
    assert all(len(r["code"]) <= 40 for r in select(from_folder, JulietConfig(max_chars=40)))
    with pytest.raises(ValueError, match="CWE1234"):
        select(from_folder, JulietConfig(cwes=("CWE1234",)))


def test_sources_resolve_in_order_with_clear_errors(tmp_path, monkeypatch):
    folder, archive = write_suite(tmp_path)
    monkeypatch.delenv(juliet.ENV_VAR, raising=False)
    assert resolve_source(archive).archive == archive
    monkeypatch.setenv(juliet.ENV_VAR, str(folder))
    assert resolve_source().archive == folder
    monkeypatch.setenv(juliet.ENV_VAR, str(tmp_path / "missing.tar.xz"))
    with pytest.raises(DataUnavailableError, match="does not exist"):
        resolve_source()
    monkeypatch.delenv(juliet.ENV_VAR)
    monkeypatch.setattr(juliet, "shared_archive", lambda: tmp_path / "no-shared.tar.xz")
    assert resolve_source().derived == SHIPPED_FILE  # no shared data: the shipped derived file
    monkeypatch.setattr(juliet, "SHIPPED_FILE", tmp_path / "not-shipped.jsonl.gz")
    with pytest.raises(DataUnavailableError, match="download=True"):
        resolve_source()
    zipped = tmp_path / "nist.zip"  # online: NIST's zip, here served from a file:// URL
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in (folder / "testcases").rglob("*.c*"):
            archive.write(file, f"C/{file.relative_to(folder)}")
    monkeypatch.setattr(juliet, "NIST_URL", zipped.as_uri())
    downloaded = resolve_source(download=True, cache_dir=tmp_path / "cache")
    assert downloaded.archive.parent == tmp_path / "cache" / "juliet"
    assert build_records(downloaded.archive)[0] == build_records(folder)[0]


def test_the_shipped_file_is_current_and_leak_free():
    meta = read_meta(SHIPPED_FILE)
    assert meta["extractor_version"] == EXTRACTOR_VERSION and len(meta["archive_sha256"]) == 64
    assert SHIPPED_FILE.stat().st_size < 5e6
    records, _ = read_records(SHIPPED_FILE)
    assert len(records) == meta["stats"]["kept"] > 50_000
    text = "\n".join(r["code"] for r in records).lower()
    assert all(word not in text for word in ("bad", "good", "g2b", "b2g", "cwe", "benign"))  # as LABEL_WORDS
    labels = np.array([r["label"] for r in records])
    assert set(labels) == {0, 1} and 0.3 < labels.mean() < 0.6


DEAD_BRANCHES = """void id0()
{
    int data;
    if(staticFive!=5)
    {
        printLine("Benign, fixed string");
    }
    else
    {
        data = 1;
    }
    switch(5)
    {
    case 6:
        printLine("Benign, fixed string");
        break;
    default:
        data = 2;
        break;
    }
    if(globalReturnsTrueOrFalse())
    {
        printLine("Benign, fixed string");
    }
    else
    {
        data = 3;
    }
}"""


def test_template_markers_are_removed_by_dead_code_elimination():
    out = drop_template_markers(DEAD_BRANCHES)
    assert "Benign" not in out and "printLine" not in out
    assert "if(staticFive==5)\n    {\n        data = 1;\n    }\n    switch" in out  # the bad variant's shape
    assert "case 6" not in out and "default:\n        data = 2;" in out
    assert "if(globalReturnsTrueOrFalse())\n    {\n    }\n    else" in out  # not a constant: marker only
    for false, true in (("0", "1"), ("5!=5", "5==5"), ("GLOBAL_CONST_FALSE", "GLOBAL_CONST_TRUE"),
                        ("staticReturnsFalse()", "staticReturnsTrue()"), ("globalFalse", "globalTrue")):
        code = DEAD_BRANCHES.replace("staticFive!=5", false)
        assert f"if({true})\n    {{\n        data = 1;" in drop_template_markers(code), false


def test_no_frequent_literal_or_placeholder_of_the_shipped_corpus_carries_the_label():
    """A string or char literal (or the placeholder) in at least 1% of the functions has about the same rate
    in both classes (within 0.15): the scrub neither keeps nor introduces a template marker of the label."""
    records, _ = read_records(SHIPPED_FILE)
    labels = np.array([r["label"] for r in records])
    literal = re.compile(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'")
    counts: dict[str, np.ndarray] = {}
    for r in records:
        for text in set(literal.findall(r["code"])):
            counts.setdefault(text, np.zeros(2))[r["label"]] += 1
    n = np.bincount(labels, minlength=2)
    frequent = {t: c / n for t, c in counts.items() if c.sum() >= 0.01 * len(records)}
    assert STRING_PLACEHOLDER in frequent
    assert {t for t in counts if t.startswith('"')} == {STRING_PLACEHOLDER}  # no string literal survives as is
    leaking = {t: rates.round(3).tolist() for t, rates in frequent.items() if abs(rates[0] - rates[1]) > 0.15}
    assert not leaking, leaking
    for marker in ("printLine", "else"):  # the benign marker's call and branch: no longer class-dependent
        has = np.array([bool(re.search(rf"\b{marker}\b", r["code"])) for r in records])
        assert abs(has[labels == 0].mean() - has[labels == 1].mean()) < 0.15, marker
