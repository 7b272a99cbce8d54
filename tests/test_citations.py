"""Citations: every ``{cite...}`` key in the chapters is in the book's BibTeX file, every entry is cited, every entry
has an author, a title and a year, and the References page closes the table of contents."""

from __future__ import annotations

import re
from pathlib import Path

import pybtex.database
import pytest
import yaml

from leakage.paths import project_root

#: A MyST citation role (``{cite}``, ``{cite:p}``, ``{cite:t}``, ``{cite:yearpar}``, ...) and its comma-separated keys.
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
#: Fields every entry needs for an author-year citation and a bibliography line.
REQUIRED_FIELDS = ("author", "title", "year")


def book_dir() -> Path:
    """``book/``: Sphinx's source and configuration folder, to which ``bibtex_bibfiles`` are relative."""
    return project_root() / "book"


def config() -> dict:
    """The book's ``_config.yml`` (at the project root; Jupyter Book finds it from ``book/``)."""
    return yaml.safe_load((project_root() / "_config.yml").read_text())


def bib_files() -> list[Path]:
    """The BibTeX files ``_config.yml`` names, resolved as sphinxcontrib-bibtex resolves them (from ``book/``)."""
    names = config().get("bibtex_bibfiles")
    if not names:
        raise ValueError("_config.yml has no bibtex_bibfiles: expected a list of .bib paths relative to book/")
    return [book_dir() / name for name in ([names] if isinstance(names, str) else names)]


def citing_files() -> list[Path]:
    """Every page source that can cite: the notebooks (``notebooks/*.py``) and the book's own pages (``book/*.md``)."""
    return sorted((project_root() / "notebooks").glob("*.py")) + sorted(book_dir().glob("*.md"))


def cited_keys(paths: list[Path]) -> dict[str, list[str]]:
    """Key -> the places (``file:line``) that cite it, from every citation role in ``paths``.

    Raises ValueError for a role with an empty key (``{cite:p}`a,,b```), which Sphinx would reject too.
    """
    places: dict[str, list[str]] = {}
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in CITE_ROLE.finditer(line):
                keys = [key.strip() for key in match.group(1).split(",")]
                if not all(keys):
                    raise ValueError(f"{path.name}:{number}: empty key in {match.group(0)!r}; "
                                     "expected comma-separated BibTeX keys")
                for key in keys:
                    places.setdefault(key, []).append(f"{path.name}:{number}")
    return places


def bib_entries(paths: list[Path]) -> dict[str, pybtex.database.Entry]:
    """Key -> entry over every BibTeX file in ``paths`` (pybtex rejects a key defined twice)."""
    entries: dict[str, pybtex.database.Entry] = {}
    for path in paths:
        entries.update(pybtex.database.parse_file(str(path), bib_format="bibtex").entries)
    return entries


def missing_keys(cited: dict[str, list[str]], entries: dict) -> dict[str, list[str]]:
    """Cited keys with no entry, each with where it is cited."""
    return {key: where for key, where in sorted(cited.items()) if key not in entries}


def uncited_keys(cited: dict[str, list[str]], entries: dict) -> list[str]:
    """Entries no page cites."""
    return sorted(set(entries) - set(cited))


def incomplete_entries(entries: dict[str, pybtex.database.Entry]) -> dict[str, list[str]]:
    """Key -> what it lacks of an author, a title and a four-digit year."""
    lacking: dict[str, list[str]] = {}
    for key, entry in entries.items():
        gaps = [f for f in ("title", "year") if not entry.fields.get(f, "").strip()]
        if not entry.persons.get("author"):
            gaps.insert(0, "author")
        year = entry.fields.get("year", "")
        if year.strip() and not re.fullmatch(r"\d{4}", year.strip()):
            gaps.append(f"year {year!r} is not four digits")
        if gaps:
            lacking[key] = gaps
    return lacking


def test_the_config_names_a_bib_file_that_exists_and_cites_author_year():
    for path in bib_files():
        assert path.is_file(), f"bibtex_bibfiles names {path}, which does not exist (paths are relative to book/)"
    assert config()["sphinx"]["config"].get("bibtex_reference_style") == "author_year"


def test_every_cited_key_is_in_the_bib():
    cited = cited_keys(citing_files())
    assert cited, "no {cite} role found in notebooks/*.py or book/*.md"
    missing = missing_keys(cited, bib_entries(bib_files()))
    assert not missing, "cited but not in the .bib: " + "; ".join(f"{k} ({', '.join(w)})" for k, w in missing.items())


def test_every_bib_entry_is_cited():
    uncited = uncited_keys(cited_keys(citing_files()), bib_entries(bib_files()))
    assert not uncited, f"entries no page cites (cite them where the work is named, or remove them): {uncited}"


def test_every_bib_entry_has_author_title_and_year():
    lacking = incomplete_entries(bib_entries(bib_files()))
    assert not lacking, f"incomplete entries: {lacking}"


def test_the_references_page_is_the_last_chapter_and_holds_the_bibliography():
    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    assert toc["parts"][-1]["chapters"][-1]["file"] == "references"
    page = (book_dir() / "references.md").read_text()
    assert re.search(r"^```\{bibliography\}", page, flags=re.M), "book/references.md has no {bibliography} directive"


def test_the_checks_catch_a_wrong_key_an_uncited_entry_and_a_missing_field(tmp_path):
    notebook = tmp_path / "chapter.py"
    notebook.write_text("# %% [markdown]\n# As shown {cite:p}`real2020,wrnog2021` and by {cite:t}`real2020`.\n")
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{real2020, author = {A. Author}, title = {A Title}, year = {2020}}\n"
                   "@misc{spare2019, title = {No Author}, year = {19}}\n")
    cited, entries = cited_keys([notebook]), bib_entries([bib])
    assert cited == {"real2020": ["chapter.py:2", "chapter.py:2"], "wrnog2021": ["chapter.py:2"]}
    assert missing_keys(cited, entries) == {"wrnog2021": ["chapter.py:2"]}
    assert uncited_keys(cited, entries) == ["spare2019"]
    assert incomplete_entries(entries) == {"spare2019": ["author", "year '19' is not four digits"]}
    notebook.write_text("# {cite:p}`real2020,,other`\n")
    with pytest.raises(ValueError, match="chapter.py:1: empty key"):
        cited_keys([notebook])
