"""Texts from a file, parsed by its format and read as the ecosystem writes them, one record at a time.

The format is the file's extension (case-insensitive):

- ``.txt`` / ``.text``: one text per line. A line ends at ``\\n``, ``\\r\\n`` or ``\\r`` (Unix, Windows, old
  Mac); other characters that some tools treat as line breaks (U+2028, U+0085, form feed, ...) stay inside
  the text. A text that holds a line break cannot be written in this format: use JSONL or CSV;
- ``.jsonl`` / ``.ndjson``: one JSON object per line; the text is its field ``text_field`` (default
  ``"text"``), a JSON string (line breaks inside it escaped as JSON writes them);
- ``.csv`` / ``.tsv``: comma- / tab-separated values as Python's :mod:`csv` (and pandas, Excel, R) write
  them: a header row naming the columns, the text in column ``text_field``; quoted fields keep their
  commas, doubled quotes and line breaks.

Any other extension is refused (``ValueError`` listing these). Every format:

- is decoded as UTF-8, with or without a byte-order mark (the BOM is not part of the first text); a file
  that starts with a UTF-16 or UTF-32 BOM (as Windows PowerShell 5 writes) is decoded as such; bytes that
  are not valid in the encoding become U+FFFD with one
  :class:`~leakage.lm.scoring.NonUTF8Warning` (:func:`leakage.lm.scoring.normalise_texts`);
- skips *blank* texts (empty, or only whitespace: ``str.isspace()``, so U+00A0, U+3000 and the other
  Unicode spaces count) and counts them (:attr:`TextFile.blank`); the texts themselves are kept as written
  (no stripping);
- is read one line / record at a time: :func:`iter_texts` holds one record in memory, never the whole
  file, so reading needs memory bounded by the longest record, not by the file (about twice the longest
  line; the csv module builds a field in a buffer of 4-byte characters, up to 8 bytes per character of
  the longest field). ``benchmarks/bench_read_texts.py`` prints the peak against the file's size.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakage.lm.scoring import normalise_texts

__all__ = ["FORMATS", "TextFile", "iter_texts", "read_text_file", "text_format"]

#: extension -> format (``"lines"``, ``"jsonl"``, ``"csv"`` or ``"tsv"``)
FORMATS = {".txt": "lines", ".text": "lines", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}

#: byte-order marks other than UTF-8's (which ``utf-8-sig`` strips) -> the codec that reads them (and strips them)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass
class TextFile:
    """The texts of one file (:func:`read_text_file`): ``texts`` in file order, ``blank`` the number of blank
    texts skipped and ``blank_at`` the line numbers (1-based; for CSV the row's first line) of the first ten."""

    path: Path
    texts: list[str] = field(default_factory=list)
    blank: int = 0
    blank_at: list[int] = field(default_factory=list)


def text_format(path: str | os.PathLike, what: str = "texts") -> str:
    """The format of ``path`` by its extension (see :data:`FORMATS`); ``ValueError`` for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        accepted = ", ".join(FORMATS)
        raise ValueError(f"{what}: cannot tell the format of {path} (extension {suffix or 'none'!r}); accepted: "
                         f"{accepted} (one text per line; JSON lines with a text field; a CSV / TSV with a header "
                         "and a text column). Rename the file to the extension of its format")
    return FORMATS[suffix]


def _encoding(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4)
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), "utf-8-sig")


@contextlib.contextmanager
def _csv_fields_of_any_size() -> Iterator[None]:
    """The csv module refuses fields over 131,072 characters by default: lift the limit while reading."""
    old = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def iter_texts(path: str | os.PathLike, *, text_field: str = "text", what: str = "texts") -> Iterator[tuple[int, str]]:
    """(line number, text) of every record of ``path``, blank ones included, one at a time (module docstring).

    Line numbers are 1-based (a CSV record's first line). Texts are returned as decoded: invalid bytes are
    lone surrogates here (``surrogateescape``), which :func:`~leakage.lm.scoring.normalise_texts` turns into
    U+FFFD. Raises ``ValueError`` for an unknown extension, a JSONL line that is not a JSON object with a
    string field ``text_field``, or a CSV / TSV without a column ``text_field`` or with a row too short to
    hold it; ``OSError`` (as ``open`` raises it) for a file that cannot be read.
    """
    path = Path(path)
    fmt = text_format(path, what)
    # newline=None: universal newlines for text and JSONL; newline="" lets csv see line breaks inside quotes
    newline = "" if fmt in ("csv", "tsv") else None
    with open(path, encoding=_encoding(path), errors="surrogateescape", newline=newline) as handle:
        if fmt == "lines":
            for number, line in enumerate(handle, 1):
                yield number, line[:-1] if line.endswith("\n") else line
        elif fmt == "jsonl":
            yield from _jsonl(handle, path, text_field, what)
        else:
            with _csv_fields_of_any_size():
                yield from _csv(handle, path, text_field, "\t" if fmt == "tsv" else ",", what)


def _jsonl(handle, path: Path, text_field: str, what: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, 1):
        if not line or line.isspace():
            yield number, ""  # a blank line: counted as a blank text
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{what}: line {number} of {path} is not JSON ({err.msg} at column {err.colno}); a "
                             ".jsonl file holds one JSON object per line") from None
        if not isinstance(record, dict):
            raise ValueError(f"{what}: line {number} of {path} is a JSON {type(record).__name__}, not an object "
                             f"with a text field {text_field!r}")
        if text_field not in record:
            raise ValueError(f"{what}: line {number} of {path} has no field {text_field!r} (its fields: "
                             f"{', '.join(map(repr, list(record)[:10])) or 'none'}); name the field that holds "
                             "the texts (text_field= / --text-field)")
        text = record[text_field]
        if not isinstance(text, str):
            raise ValueError(f"{what}: field {text_field!r} on line {number} of {path} is a JSON "
                             f"{type(text).__name__}, not a string")
        yield number, text


def _csv(handle, path: Path, text_field: str, delimiter: str, what: str) -> Iterator[tuple[int, str]]:
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        if text_field not in header:
            raise ValueError(f"{what}: the header of {path} has no column {text_field!r} (its columns: "
                             f"{', '.join(map(repr, header[:10]))}); name the column that holds the texts "
                             "(text_field= / --text-field), and give the file a header row")
        column = header.index(text_field)
        number = reader.line_num + 1
        for row in reader:
            if not row:
                yield number, ""  # a blank line
            elif len(row) <= column:
                raise ValueError(f"{what}: the row on line {number} of {path} has {len(row)} field(s), too few for "
                                 f"column {text_field!r} (column {column + 1} of the header)")
            else:
                yield number, row[column]
            number = reader.line_num + 1
    except csv.Error as err:
        raise ValueError(f"{what}: {path} is not valid CSV near line {reader.line_num} ({err})") from None


def read_text_file(path: str | os.PathLike, *, text_field: str = "text", what: str = "texts") -> TextFile:
    """The non-blank texts of ``path`` and the count of blank ones (:class:`TextFile`), read one record at a
    time by :func:`iter_texts`; texts as valid Unicode (:func:`~leakage.lm.scoring.normalise_texts`).

    Raises what :func:`iter_texts` raises.
    """
    out = TextFile(Path(path))
    for number, text in iter_texts(path, text_field=text_field, what=what):
        if not text or text.isspace():
            out.blank += 1
            if len(out.blank_at) < 10:
                out.blank_at.append(number)
        else:
            out.texts.append(text)
    out.texts = normalise_texts(out.texts)
    return out
