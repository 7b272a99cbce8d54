"""Juliet C/C++ 1.3 (NIST SARD) as a vulnerability-prediction corpus: labelled, scrubbed, de-duplicated functions.

Labels. Each Juliet file holds the entry points of one *test case*: ``..._bad()`` (C) or ``bad()``
(C++ namespace) is vulnerable (label 1); ``goodG2B()``, ``goodB2G()``, ``good1()``, ... are fixed
(label 0). The ``good()`` dispatcher, ``main``, class methods and the ``*Sink``/``*Source`` helpers
of multi-file variants are not used (a helper's code can be identical under both labels).

Scrubbing (what would give the label away): comments are removed (``/* FLAW */``, ``/* FIX */``);
every identifier containing ``bad``, ``good``, ``G2B``, ``B2G``, ``CWE<n>``, the CWE's name or the
test case's name (case-insensitive) is renamed ``id0``, ``id1``, ... in order of first use within the
function (the same name gets the same replacement); *every* string literal becomes ``"STR"``,
whatever it says (a literal's content is a template marker far more often than it is code: the
fixed error messages of the fixes, file names, the words above); the ``static``/``inline`` of the
header is dropped (Juliet declares only good functions static). Exact duplicates (after collapsing
whitespace) are dropped; code that occurs under both labels is dropped entirely.

Template markers (what Juliet's generator adds to one class only, so a model could learn it instead
of the flaw): the good variants of the flow templates put ``printLine("Benign, fixed string");`` in
a dead branch, ``if(<constant false>) { <marker> } else { <fix> }`` (variants 02-14) or a dead
``case``/``default`` of a ``switch`` (variant 15); that statement is in about 41% of the good
functions and 6% of the bad ones, and the ``else`` it brings in 52% against 18%. Dead-code
elimination removes it: such an ``if``/``else`` becomes ``if(<the constant true twin>) { <fix> }``
(exactly the shape of the bad variant: ``0`` -> ``1``, ``!=5`` -> ``==5``, ``...FALSE`` ->
``...TRUE``, ``...False`` -> ``...True``), a dead ``case`` holding only the marker is dropped, and
any other marker statement is deleted (see :func:`drop_template_markers`).

Test case (the grouping unit of the splits): the file name without its flow-variant suffix
(``_01``.. ``_84``, ``a``/``b`` parts, ``_bad``/``_good*`` class files), with ``wchar_t`` read as
``char``. All flow variants of one functional variant (near-copies of each other that differ in
control flow only), and its char/wchar_t twins, are thus one group and never straddle splits.

The corpus is the *whole* suite so processed (about 65,500 functions); a :class:`JulietConfig`
then selects from it (CWEs, test cases per CWE, length), the same way whatever the source.

Where the suite comes from, in this order: the ``path`` argument or ``$LEAKAGE_JULIET`` (the
archive ``.tar.xz``/``.zip``, or an extracted folder holding ``testcases/``); the project's
``../shared/data/juliet-c-cpp-1.3/juliet-c-cpp-1.3.tar.xz``; the derived file shipped in
``leakage/vp/data/`` (the output of this module on that archive, written by
``scripts/build_juliet_subset.py``, 1.2 MB); NIST's download when ``download=True``. Processing
the whole archive takes minutes, so when the shared archive's SHA-256 and this module's
:data:`EXTRACTOR_VERSION` are the ones the shipped file records, its functions are read from the
shipped file (a verified derivative of exactly that archive) and the provenance says so; any
other archive, or an explicit ``path``, is processed from scratch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from leakage.config import doc_field
from leakage.data.vision import DataUnavailableError
from leakage.paths import project_root
from leakage.permissions import honour_umask
from leakage.vp.clex import CORPUS_LANGUAGE, Lexeme, extract_functions, language_of, substitute

ENV_VAR = "LEAKAGE_JULIET"
ARCHIVE_NAME = "juliet-c-cpp-1.3.tar.xz"
NIST_URL = "https://samate.nist.gov/SARD/downloads/test-suites/2017-10-01-juliet-test-suite-for-c-cplusplus-v1-3.zip"
SHIPPED_FILE = Path(__file__).parent / "data" / "juliet_vp_functions.jsonl.gz"
# bump when extraction, scrubbing or lexing changes what a record holds or how it is tokenized (4: tree-sitter
# parsing and lexing; the records equal version 3's, the BPE tokenizer's and the baseline's lexemes do not)
EXTRACTOR_VERSION = 4

LABEL_WORDS = re.compile(r"bad|good|g2b|b2g|cwe\d*", re.IGNORECASE)
STRING_PLACEHOLDER = '"STR"'  # every string literal of a scrubbed function, whatever its content
_MARKER = r'print\w*\(\s*L?"Benign, fixed string"\s*\);'  # Juliet's dead-branch template marker
_DEAD_IF = re.compile(r"^(?P<ind> *)if ?\((?P<cond>[^\n]*)\)\n(?P=ind)\{\n(?P=ind) +" + _MARKER +
                      r"\n(?P=ind)\}\n(?P=ind)else\n(?P=ind)\{\n", re.MULTILINE)
_DEAD_CASE = re.compile(r"^(?P<ind> *)(?:case [^\n:]+|default):\n(?P=ind) +" + _MARKER + r"\n(?P=ind) +break;\n",
                        re.MULTILINE)
_MARKER_LINE = re.compile(r"^ *" + _MARKER + r" *(?:\n|\Z)", re.MULTILINE)
# Juliet's constant-false conditions of the flow variants 02-14 (each has a constant-true twin)
_CONSTANT_FALSE = re.compile(r"\A(?:0|5 ?!= ?5|(?:GLOBAL|STATIC)_CONST_FALSE|(?:static|global)False|"
                             r"(?:GLOBAL_CONST_FIVE|STATIC_CONST_FIVE|staticFive|globalFive) ?!= ?5|"
                             r"(?:static|global)ReturnsFalse\(\))\Z")
_BAD_NAME = re.compile(r"(?:^|_)bad\Z")
_GOOD_NAME = re.compile(r"(?:^|_)good[A-Z0-9]\w*\Z")
_HELPER_NAME = re.compile(r"sink|source", re.IGNORECASE)
_VARIANT_SUFFIX = re.compile(r"_\d+[a-z]?(?:_(?:bad|good\w*))?\Z")
_STORAGE = re.compile(r"^\s*(?:(?:static|inline)\s+)+")
_SOURCE_SUFFIXES = (".c", ".cpp")
_HELPER_FILE = re.compile(r"_\d+[b-z]\Z|_\d+_(?:bad|good\w*)\Z")


@dataclass(frozen=True)
class JulietConfig:
    """Which functions of the processed suite a corpus keeps (a deterministic selection, no seed needed)."""

    cwes: tuple[str, ...] = doc_field((), "CWE ids to keep, e.g. ('CWE121', 'CWE190'); empty = all")
    max_groups_per_cwe: int = doc_field(0, "at most this many test cases (groups) per CWE, the first by a "
                                           "SHA-256 of their name; 0 = all")
    max_chars: int = doc_field(2000, "functions longer than this many characters (after scrubbing) are left out")


@dataclass(frozen=True, eq=False)
class VPCorpus:
    """Labelled functions: ``code`` (N strings), ``label`` (N,) int64 1 = vulnerable, ``group`` (N,) test case
    names (str), ``cwe`` (N,) CWE ids (str); ``source`` says where they came from."""

    code: tuple[str, ...]
    label: np.ndarray
    group: np.ndarray
    cwe: np.ndarray
    source: str
    name: str = "juliet"

    def __post_init__(self) -> None:
        n = len(self.code)
        if not (self.label.shape == self.group.shape == self.cwe.shape == (n,)):
            raise ValueError(f"corpus fields must all have length {n}")
        if not np.isin(self.label, (0, 1)).all():
            raise ValueError("labels must be 0 (not vulnerable) or 1 (vulnerable)")

    def __len__(self) -> int:
        return len(self.code)

    def subset(self, index: np.ndarray) -> VPCorpus:
        """The functions at ``index`` (N',) as a corpus of their own."""
        index = np.asarray(index, dtype=np.int64)
        return VPCorpus(tuple(self.code[i] for i in index), self.label[index], self.group[index], self.cwe[index],
                        self.source, self.name)


# --------------------------------------------------------------------------- labels, groups, scrubbing


def label_of(name: str) -> int | None:
    """1 for a ``bad`` entry point, 0 for a ``good<X>`` one, None for anything else (helpers, main, good())."""
    if "::" in name or _HELPER_NAME.search(name):
        return None
    if _BAD_NAME.search(name):
        return 1
    if _GOOD_NAME.search(name):
        return 0
    return None


def group_of(file_name: str) -> str:
    """The test case (group) of a Juliet file: its stem without the flow-variant suffix, wchar_t read as char."""
    stem = PurePosixPath(file_name).name.rsplit(".", 1)[0]
    return _VARIANT_SUFFIX.sub("", stem).replace("wchar_t", "char")


def cwe_of(file_name: str) -> str:
    """``'CWE121'`` for ``.../CWE121_Stack_Based_Buffer_Overflow__....c``."""
    found = re.match(r"CWE\d+", PurePosixPath(file_name).name)
    if not found:
        raise ValueError(f"{file_name!r} is not a Juliet test case file (its name does not start with CWE<n>)")
    return found.group()


def _literal_prefix(text: str) -> str:
    """The encoding prefix of a string/char literal (``L``, ``u8``, ...; a raw string's ``R`` dropped)."""
    return text[:min(i for i in (text.find('"'), text.find("'")) if i >= 0)].rstrip("R")


def scrub(code: str, names: Iterable[str] = (), language: str = CORPUS_LANGUAGE) -> str:
    """Rename label-carrying identifiers to ``id0, id1, ...`` (consistently) and blank every string literal.

    ``code`` is lexed by tree-sitter in ``language`` (``"c"`` or ``"cpp"``, :mod:`leakage.vp.clex`); layout and
    everything between lexemes is kept. An identifier carries the label if it contains bad/good/G2B/B2G/CWE<n>
    or one of ``names`` (case-insensitive). Every string literal becomes :data:`STRING_PLACEHOLDER` (``"STR"``,
    its prefix such as ``L`` kept) whatever its content, so no literal can carry the label (Juliet's fixes print
    fixed messages, its dead branches "Benign, fixed string"); a char literal is kept unless it carries a label
    word (then ``'?'``), a number likewise (then ``0``).
    """
    extra = [n.lower() for n in names if n]
    mapping: dict[str, str] = {}
    memo: dict[str, bool] = {}

    def carries(text: str) -> bool:
        if text not in memo:
            low = text.lower()
            memo[text] = bool(LABEL_WORDS.search(text)) or any(n in low for n in extra)
        return memo[text]

    def replace(lexeme: Lexeme) -> str | None:
        text = lexeme.text
        if lexeme.kind in ("string_literal", "raw_string_literal"):
            return _literal_prefix(text) + STRING_PLACEHOLDER
        if not carries(text):
            return None
        if lexeme.kind == "char_literal":
            return _literal_prefix(text) + "'?'"
        if lexeme.kind == "number_literal":
            return "0"
        if text.isidentifier():  # identifiers of every kind (field, type, namespace, label); no keyword carries
            return mapping.setdefault(text, f"id{len(mapping)}")
        return None

    return substitute(code, replace, language)


def _negate_constant(match: re.Match) -> str:
    condition = match.group("cond").strip()
    if not _CONSTANT_FALSE.match(condition):  # not one of the known dead conditions: only drop the marker
        return _MARKER_LINE.sub("", match.group())
    twin = "1" if condition == "0" else re.sub(r"!=", "==", condition).replace("FALSE", "TRUE").replace(
        "False", "True")
    return f"{match.group('ind')}if({twin})\n{match.group('ind')}{{\n"


def drop_template_markers(code: str) -> str:
    """Dead-code elimination of Juliet's template marker ``printLine("Benign, fixed string");``.

    ``code``: a function with comments removed, tabs expanded and blank lines dropped (one statement
    per line, as Juliet writes them). ``if(<constant false>) { <marker> } else {`` becomes
    ``if(<constant true>) {`` (the bad variant's shape, same behaviour); a ``case``/``default`` holding
    only the marker and ``break;`` is dropped (it never runs); any other marker statement is deleted.
    Returns the code with no marker left.
    """
    code = _DEAD_IF.sub(_negate_constant, code if code.endswith("\n") else code + "\n")
    code = _DEAD_CASE.sub("", code)
    return _MARKER_LINE.sub("", code).rstrip("\n")


def _tidy_lines(text: str) -> str:
    lines = [line.rstrip().replace("\t", "    ") for line in text.splitlines()]
    return "\n".join(line for line in lines if line.strip())


def normalise_function(text: str, cwe_name: str, testcase: str, language: str = CORPUS_LANGUAGE) -> str:
    """A function as the models see it: storage class dropped, template markers removed, label words and
    literals scrubbed (lexed in ``language``, ``"c"`` or ``"cpp"``), blank lines removed."""
    text = drop_template_markers(_tidy_lines(_STORAGE.sub("", text, count=1)))
    cwe_words = cwe_name.split("_", 1)[1] if "_" in cwe_name else ""
    return _tidy_lines(scrub(text, [cwe_words, testcase], language))


def functions_of_file(file_name: str, source: str) -> list[dict]:
    """The labelled, scrubbed entry points of one Juliet file, as records {cwe, group, file, label, code}.

    The file is parsed with tree-sitter's C grammar for a ``.c`` file, its C++ grammar for a ``.cpp`` one."""
    records = []
    cwe_folder = PurePosixPath(file_name).name.split("__", 1)[0]
    group = group_of(file_name)
    language = language_of(file_name)
    for function in extract_functions(source, language):
        label = label_of(function.name)
        if label is None:
            continue
        records.append({"cwe": cwe_of(file_name), "group": group, "file": PurePosixPath(file_name).name,
                        "label": label, "code": normalise_function(function.text, cwe_folder, group, language)})
    return records


def dedupe(records: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Drop exact duplicates (whitespace-insensitive, first kept); drop all copies of code seen under both labels."""
    labels: dict[str, set[int]] = {}
    for r in records:
        labels.setdefault(" ".join(r["code"].split()), set()).add(r["label"])
    kept, seen = [], set()
    conflicting = duplicates = 0
    for r in records:
        key = " ".join(r["code"].split())
        if len(labels[key]) > 1:
            conflicting += 1
        elif key in seen:
            duplicates += 1
        else:
            seen.add(key)
            kept.append(r)
    return kept, {"extracted": len(records), "duplicates_dropped": duplicates,
                  "label_conflicts_dropped": conflicting, "kept": len(kept)}


# --------------------------------------------------------------------------- reading the suite


def is_entry_file(name: str) -> bool:
    """Whether a Juliet file can hold test case entry points (not a helper part like ``_51b.c`` or a class file)."""
    base = PurePosixPath(name).name
    if not base.endswith(_SOURCE_SUFFIXES) or not base.startswith("CWE") or "testcases/" not in f"/{name}":
        return False
    return _HELPER_FILE.search(base.rsplit(".", 1)[0]) is None


def _iter_suite(path: Path) -> Iterator[tuple[str, str]]:
    """(file name, text) of every entry-point file of a Juliet .tar.xz/.tar.gz/.zip or extracted folder."""
    if path.is_dir():
        for file in sorted(path.rglob("CWE*")):
            name = file.relative_to(path).as_posix()
            if file.is_file() and is_entry_file(name):
                yield name, file.read_text(errors="replace")
        return
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    if is_entry_file(name):
                        yield name, archive.read(name).decode(errors="replace")
            return
        with tarfile.open(path, "r|*") as archive:  # streaming: one decompression pass
            for member in archive:
                if member.isfile() and is_entry_file(member.name):
                    handle = archive.extractfile(member)
                    yield member.name, handle.read().decode(errors="replace") if handle else ""
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataUnavailableError(f"cannot read the Juliet suite at {path}: {err}. Point ${ENV_VAR} at an "
                                   f"intact {ARCHIVE_NAME} (or NIST's zip, or an extracted folder holding "
                                   f"testcases/)") from err


def build_records(path: str | os.PathLike, *, progress_every: int = 0) -> tuple[list[dict], dict[str, int]]:
    """Extract, label, scrub and de-duplicate every test case entry point of a Juliet archive or folder.

    Slow on the whole suite (about 65,000 files: minutes); the result is what the shipped derived file holds.
    """
    path = Path(path)
    if not path.exists():
        raise DataUnavailableError(f"no Juliet suite at {path}")
    records: list[dict] = []
    files = 0
    for name, text in _iter_suite(path):
        files += 1
        records += functions_of_file(name, text)
        if progress_every and files % progress_every == 0:
            print(f"{files} files, {len(records)} functions", flush=True)
    if not records:
        raise DataUnavailableError(f"{path} holds no Juliet test case functions; is it the Juliet C/C++ 1.3 suite "
                                   f"(testcases/CWE*/...)?")
    records.sort(key=lambda r: (r["cwe"], r["group"], r["file"], -r["label"], r["code"]))
    kept, stats = dedupe(records)
    return kept, {"files": files, **stats}


def _group_rank(group: str) -> str:
    return hashlib.sha256(group.encode()).hexdigest()


def select(records: list[dict], config: JulietConfig) -> list[dict]:
    """The records ``config`` keeps: its CWEs, the first groups per CWE by a hash of their name, short functions."""
    wanted = set(config.cwes)
    groups: dict[str, set[str]] = {}
    for r in records:
        if not wanted or r["cwe"] in wanted:
            groups.setdefault(r["cwe"], set()).add(r["group"])
    if wanted - set(groups):
        raise ValueError(f"no Juliet functions for {', '.join(sorted(wanted - set(groups)))}; CWE ids look like "
                         f"'CWE121' (known: {len(groups)} of the asked)")
    keep = set()
    for names in groups.values():
        ranked = sorted(names, key=_group_rank)
        keep |= set(ranked[:config.max_groups_per_cwe] if config.max_groups_per_cwe > 0 else ranked)
    return [r for r in records if r["group"] in keep and len(r["code"]) <= config.max_chars]


# --------------------------------------------------------------------------- the shipped derived file


def write_records(path: str | os.PathLike, records: list[dict], meta: dict) -> None:
    """Write a gzip'd JSON-lines file: a header line ``{"meta": ...}`` then one record per line (atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with gzip.GzipFile(tmp, "wb", compresslevel=9, mtime=0) as raw, io.TextIOWrapper(raw, "utf-8") as out:
            out.write(json.dumps({"meta": meta}, sort_keys=True) + "\n")
            for r in records:
                out.write(json.dumps(r, sort_keys=True) + "\n")
        honour_umask(tmp)  # mkstemp's 0600 would make the shared file private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_records(path: str | os.PathLike) -> tuple[list[dict], dict]:
    """(records, meta) of a file written by :func:`write_records`."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            meta = json.loads(handle.readline())["meta"]
            records = [json.loads(line) for line in handle if line.strip()]
    except (OSError, EOFError, ValueError, KeyError) as err:
        raise DataUnavailableError(f"{path} is not a readable VP corpus file ({err}); rebuild it with "
                                   f"scripts/build_juliet_subset.py") from err
    return records, meta


def corpus_from_records(records: list[dict], source: str, name: str = "juliet") -> VPCorpus:
    """Records {code, label, group, cwe} -> a :class:`VPCorpus`."""
    return VPCorpus(code=tuple(r["code"] for r in records),
                    label=np.array([r["label"] for r in records], dtype=np.int64),
                    group=np.array([r["group"] for r in records], dtype=object),
                    cwe=np.array([r["cwe"] for r in records], dtype=object), source=source, name=name)


# --------------------------------------------------------------------------- where the corpus comes from


def shared_archive() -> Path:
    """``<project root>/../shared/data/juliet-c-cpp-1.3/juliet-c-cpp-1.3.tar.xz`` (may not exist)."""
    return project_root().parent / "shared" / "data" / "juliet-c-cpp-1.3" / ARCHIVE_NAME


_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (memoised per process by resolved path, size and modification time)."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _SHA256_MEMO[key] = digest.hexdigest()
    return _SHA256_MEMO[key]


def read_meta(path: str | os.PathLike) -> dict:
    """Only the header (meta) of a corpus file; {} if unreadable."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return json.loads(handle.readline())["meta"]
    except (OSError, EOFError, ValueError, KeyError):
        return {}


def shipped_matches(archive: Path) -> bool:
    """Whether the shipped file was built from exactly ``archive`` by this extractor version."""
    meta = read_meta(SHIPPED_FILE) if SHIPPED_FILE.exists() else {}
    return (meta.get("extractor_version") == EXTRACTOR_VERSION and archive.is_file()
            and meta.get("archive_sha256") == file_sha256(archive))


def download_suite(cache_dir: str | os.PathLike | None = None) -> Path:
    """NIST's Juliet C/C++ 1.3 zip, downloaded once into ``<cache_dir>/juliet/`` (default ``~/.cache/leakage/data``)."""
    folder = Path(cache_dir or Path.home() / ".cache" / "leakage" / "data") / "juliet"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "juliet-c-cpp-1.3.zip"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(prefix=".juliet.", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(NIST_URL, timeout=120) as response:
                shutil.copyfileobj(response, out)
            honour_umask(tmp)  # mkstemp's 0600 would make the shared cache private
            os.replace(tmp, target)
        except OSError as err:
            raise DataUnavailableError(f"could not download Juliet from {NIST_URL}: {err}") from err
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


@dataclass(frozen=True)
class SuiteSource:
    """Where the processed suite is read from: ``archive`` (processed from scratch) or the shipped derivative."""

    archive: Path | None
    derived: Path | None
    description: str


def resolve_source(path: str | os.PathLike | None = None, *, download: bool = False,
                   cache_dir: str | os.PathLike | None = None) -> SuiteSource:
    """The source of the processed suite, in the module docstring's order; a clear error if there is none."""
    given = path or os.environ.get(ENV_VAR)
    if given:
        if not Path(given).exists():
            raise DataUnavailableError(f"the Juliet source {given} (path argument or ${ENV_VAR}) does not exist")
        return SuiteSource(Path(given), None, f"Juliet C/C++ 1.3 (NIST SARD, public domain) from {given}")
    shared = shared_archive()
    if shared.is_file():
        if shipped_matches(shared):
            return SuiteSource(None, SHIPPED_FILE, f"Juliet C/C++ 1.3 (NIST SARD, public domain) from {shared.name} "
                               f"in ../shared/data (SHA-256 {file_sha256(shared)[:12]}...), functions read from its "
                               f"verified derivative {SHIPPED_FILE.name}")
        return SuiteSource(shared, None,
                           f"Juliet C/C++ 1.3 (NIST SARD, public domain) from ../shared/data/{shared.name}")
    if SHIPPED_FILE.exists():
        meta = read_meta(SHIPPED_FILE)
        return SuiteSource(None, SHIPPED_FILE, f"Juliet C/C++ 1.3 (NIST SARD, public domain): functions shipped "
                           f"with the package ({SHIPPED_FILE.name}, derived from archive SHA-256 "
                           f"{str(meta.get('archive_sha256', '?'))[:12]}... by scripts/build_juliet_subset.py)")
    if download:
        return SuiteSource(download_suite(cache_dir), None, f"Juliet C/C++ 1.3 (NIST SARD, public domain), "
                           f"downloaded from {NIST_URL}")
    raise DataUnavailableError(
        f"no Juliet C/C++ 1.3 suite found: pass a path (or set ${ENV_VAR}) to {ARCHIVE_NAME}, NIST's zip or an "
        f"extracted folder holding testcases/; or put it at {shared}; or reinstall the package (its derived file "
        f"{SHIPPED_FILE.name} is missing); or load with download=True (from {NIST_URL}).")


def source_path(path: str | os.PathLike | None = None) -> Path:
    """The file or folder :func:`load_juliet` reads for ``path`` (``$LEAKAGE_JULIET`` included): the archive or
    folder processed from scratch, or the shipped derived file. Its content digest belongs in every key of
    an artefact computed from the corpus. Raises ``DataUnavailableError`` as :func:`resolve_source` does."""
    source = resolve_source(path)
    found = source.derived if source.derived is not None else source.archive
    assert found is not None
    return found


def suite_records(source: SuiteSource) -> tuple[list[dict], dict[str, int]]:
    """(records, statistics) of the whole processed suite from ``source``."""
    if source.derived is not None:
        records, meta = read_records(source.derived)
        return records, dict(meta.get("stats", {}))
    assert source.archive is not None
    return build_records(source.archive)


def load_juliet(config: JulietConfig = JulietConfig(), path: str | os.PathLike | None = None, *,
                download: bool = False) -> tuple[VPCorpus, dict[str, int]]:
    """The functions ``config`` selects, and the suite's extraction statistics, from the first source found."""
    source = resolve_source(path, download=download)
    records, stats = suite_records(source)
    return corpus_from_records(select(records, config), source.description), stats
