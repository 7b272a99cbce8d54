"""Readers' conveniences of the book's pages: the parameters table of each page, CSV links in captions, and the
runner's time estimate."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from dataclasses import dataclass
from typing import ClassVar

import nbformat
import pytest

from leakage.book import BookError, NotebookProgress, present_parameters
from leakage.parameters import ChapterParameters, parameter_field
from leakage.progress import estimate_left, format_duration
from leakage.results import TIMINGS_FILE, notebook_timings, record_notebook_timing
from leakage.sphinx_csv_links import item_csv, notebook_profile


@dataclass(frozen=True)
class PageParameters(ChapterParameters):
    """A page's parameters, as a chapter declares them."""

    CHAPTER: ClassVar[str] = "page"
    PROFILE_CHANGES: ClassVar = {"default": {"epochs": 200}}
    epochs: int = parameter_field(30, "training epochs (paper: 200)")
    datasets: list[str] = parameter_field(["digits"], "data sets | each with its targets")
    memguard_sets: list[tuple[str, float]] = parameter_field([["digits", 0.1]], "(data set, scale) pairs")
    seed: int = parameter_field(0, "seed of everything")


CELL = 'profile = "smoke"  # the profile\noverrides = {}  # the --set values\n'


def executed_notebook(injected: str | None = '# Parameters\nprofile = "default"\noverrides = {}\n'
                      ) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: title, the parameters cell, the injected cell, a result cell."""
    cells = [nbformat.v4.new_markdown_cell("# A chapter\n\nIntro."), nbformat.v4.new_code_cell(CELL)]
    cells[1].metadata["tags"] = ["parameters", "remove-cell"]
    if injected is not None:
        cells.append(nbformat.v4.new_code_cell(injected))
        cells[-1].metadata["tags"] = ["injected-parameters"]
    cells.append(nbformat.v4.new_code_cell("print(params.epochs)"))
    return nbformat.v4.new_notebook(cells=cells)


def test_the_parameters_table_replaces_the_parameter_cells_and_marks_changed_defaults():
    notebook = present_parameters(executed_notebook(), PageParameters.resolve("default", {"datasets": ["a", "b"]}))
    tags = [c.metadata.get("tags", []) for c in notebook.cells]
    assert "remove-cell" in tags[1] and tags[2] == ["injected-parameters", "remove-cell"]
    assert "remove-cell" not in tags[4]  # the page's own cells stay
    table = notebook.cells[3]
    assert table.cell_type == "markdown" and tags[3] == ["leakage-parameters"]
    lines = table.source.splitlines()
    assert lines[0] == "```{dropdown} Parameters of this build (profile default)" and lines[-1] == "```"
    assert "the 2 in bold differ from the defaults, the smoke profile's" in table.source
    rows = [line for line in lines if line.startswith("| ")][2:]
    assert [re.match(r"\| \**`(\w+)`", row).group(1) for row in rows] == [
        "epochs", "datasets", "memguard_sets", "seed"]  # the declared order
    assert rows[0] == "| **`epochs`** | **`200`** | `30` | training epochs (paper: 200) |"
    assert rows[1] == "| **`datasets`** | **`['a', 'b']`** | `['digits']` | data sets \\| each with its targets |"
    assert rows[2].startswith("| `memguard_sets` | `[('digits', 0.1)]` | |")  # a tuple equals its JSON list
    assert rows[3] == "| `seed` | `0` | | seed of everything |"
    again = present_parameters(notebook, PageParameters.resolve("default"))  # once per notebook, however often
    assert sum("leakage-parameters" in c.metadata.get("tags", []) for c in again.cells) == 1


def test_with_the_defaults_the_table_has_no_comparison_and_a_parameters_cell_is_required():
    notebook = present_parameters(executed_notebook(injected=None), PageParameters.resolve("smoke"))
    table = notebook.cells[2].source
    assert "(profile smoke)" in table and "all of them the defaults, the smoke profile's" in table
    assert "**" not in table and "Smoke default" not in table  # nothing to compare: no such column
    assert "| `epochs` | `30` | training epochs (paper: 200) |" in table
    broken = executed_notebook()
    broken.cells[1].metadata["tags"] = []
    with pytest.raises(BookError, match="exactly one cell tagged 'parameters', found 0"):
        present_parameters(broken, PageParameters.resolve("smoke"))


def test_estimate_left_schedules_queued_jobs_on_free_workers_and_waits_between_stages():
    # two workers, one busy for 10 s more; 30, 20 and 5 s queued, then a 7 s job that waits for all of them
    assert estimate_left([10.0], [[30.0, 20.0, 5.0], [7.0]], workers=2) == 42.0
    assert estimate_left([], [[60.0, 60.0, 60.0]], workers=3) == 60.0
    assert estimate_left([5.0], [[], [1.0]], workers=1) == 6.0
    assert estimate_left([], [], workers=1) == 0.0
    with pytest.raises(ValueError, match="workers must be at least 1"):
        estimate_left([], [[1.0]], workers=0)
    with pytest.raises(ValueError, match="2 running jobs"):
        estimate_left([1.0, 1.0], [], workers=1)
    with pytest.raises(ValueError, match=">= 0"):
        estimate_left([], [[-1.0]], workers=1)


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (32.4, "32 s"), (89, "89 s"), (110, "2 min"),
                                           (89 * 60, "89 min"), (125 * 60, "2 h 5 min")])
def test_durations_read_naturally(seconds, text):
    assert format_duration(seconds) == text


def test_format_duration_refuses_negative_time():
    with pytest.raises(ValueError, match="finite number of seconds"):
        format_duration(-1)


def test_the_progress_line_names_running_notebooks_and_estimates_from_the_last_build():
    tracker = NotebookProgress([["a", "b", "c"], ["summary"]], {"a": 60, "b": 120, "c": 30, "summary": 10},
                               workers=2)
    tracker.started = {"a": 1000.0, "b": 1000.0}
    # at t=20: a has 40 s left, b 100 s; c starts on a's worker at 40 and ends at 70; the summary at 100..110
    assert tracker.left(1020.0) == pytest.approx(110.0)
    assert tracker.line(1020.0) == ("notebooks: 0/4 done, running a (20 s), b (20 s), "
                                    "~2 min left (from the last build's timings)")
    tracker.finished["a"] = 61.0
    tracker.started["c"] = 1061.0
    # at t=70: b has 50 s left, c 21 s; the summary waits for both: 50 + 10
    assert tracker.left(1070.0) == pytest.approx(60.0)
    assert tracker.left(1130.0) == pytest.approx(10.0)  # b and c overran: about to finish; then the summary
    assert tracker.line(1070.0) == ("notebooks: 1/4 done, running b (70 s), c (9 s), "
                                    "~60 s left (from the last build's timings)")
    tracker.failed.append("b")
    assert tracker.line(1070.0).startswith("notebooks: 1/4 done, 1 failed, running c (9 s)")
    unknown = NotebookProgress([["a", "b"], []], {"a": 60}, workers=1)
    assert tracker.left(1070.0) is not None and unknown.left(0.0) is None
    assert unknown.line(0.0) == "notebooks: 0/2 done, no estimate (b not timed in an earlier build)"


def test_notebook_timings_are_merged_and_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path))
    assert notebook_timings("smoke") == {}
    record_notebook_timing("smoke", "lz_transfer", 12.3456)
    path = record_notebook_timing("smoke", "intro", 3)
    assert path == tmp_path / "smoke" / TIMINGS_FILE
    assert notebook_timings("smoke") == {"intro": 3.0, "lz_transfer": 12.346}
    assert [p.name for p in path.parent.iterdir()] == [TIMINGS_FILE]  # no temporary file left behind
    assert notebook_timings("default") == {}
    with pytest.raises(ValueError, match="notebook intro: seconds must be a finite number >= 0"):
        record_notebook_timing("smoke", "intro", float("nan"))
    path.write_text("{half a file")
    assert notebook_timings("smoke") == {}  # only an estimate is lost; the next record rewrites it
    record_notebook_timing("smoke", "intro", 4)
    assert json.loads(path.read_text()) == {"intro": 4.0}


def test_a_caption_names_its_item_or_the_items_table(tmp_path):
    (tmp_path / "lz-fig2.csv").write_text("x\n1\n")
    (tmp_path / "audit-eps.csv").write_text("x\n1\n")
    assert item_csv("lz-fig2", tmp_path) == tmp_path / "lz-fig2.csv"
    assert item_csv("audit-eps-table", tmp_path) == tmp_path / "audit-eps.csv"
    assert item_csv("lz-fig3", tmp_path) is None and item_csv("Not An ID", tmp_path) is None


PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")


def glued_notebook(profile: str) -> nbformat.NotebookNode:
    """An executed page with a glued figure (lz-fig2), a glued table (lz-tab2-table, captioned as lz-tab2) and a
    figure whose item has no CSV (lz-fig3), as ``leakage.publish.publish`` and papermill leave it."""
    notebook = executed_notebook(injected=f'# Parameters\nprofile = "{profile}"\noverrides = {{}}\n')
    glue = nbformat.v4.new_code_cell("publish(...)")
    glue.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1x1, "text/plain": "<Figure>"},
                               metadata={"scrapbook": {"name": key, "mime_prefix": ""}})
        for key in ("lz-fig2", "lz-fig3")] + [
        nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>",
                                                     "text/plain": "table"},
                               metadata={"scrapbook": {"name": "lz-tab2-table", "mime_prefix": ""}})]
    captions = ("```{glue:figure} lz-fig2\n:name: lz-fig2\n\nFigure two.\n```\n\n"
                "```{glue:figure} lz-fig3\n:name: lz-fig3\n\nFigure three.\n```\n\n"
                "```{glue:figure} lz-tab2-table\n:name: lz-tab2\n\nTable two.\n```")
    notebook.cells += [glue, nbformat.v4.new_markdown_cell(captions)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["papermill"] = {"parameters": {"profile": profile, "overrides": {}}}
    return present_parameters(notebook, PageParameters.resolve(profile))


def test_a_built_page_links_captions_to_csvs_and_shows_the_parameters(tmp_path):
    source, results = tmp_path / "src", tmp_path / "results"
    source.mkdir()
    for profile in ("default", "smoke"):
        (results / profile).mkdir(parents=True)
        (results / profile / "lz-tab2.csv").write_text(f"profile\n{profile}\n")
    (results / "default" / "lz-fig2.csv").write_text("auc\n0.75\n")
    nbformat.write(glued_notebook("default"), source / "chapter.ipynb")
    (source / "conf.py").write_text(
        'extensions = ["myst_nb", "sphinx_design", "leakage.sphinx_csv_links"]\n'
        f'leakage_results_root = {str(results)!r}\nleakage_results_profile = "smoke"\n'
        'nb_execution_mode = "off"\nroot_doc = "chapter"\nsuppress_warnings = ["mystnb.unknown_mime_type"]\n')
    command = [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(source), str(tmp_path / "html")]
    done = subprocess.run(["nice", "-n", "19", *command], capture_output=True, text=True,
                          env={**os.environ, "LEAKAGE_BOOK_PROFILE": "smoke"})
    assert done.returncode == 0, done.stdout + done.stderr
    html_dir = tmp_path / "html"
    html = (html_dir / "chapter.html").read_text()
    found = {name: href for href, name in re.findall(r'href="(_downloads/[0-9a-f]+/([\w-]+\.csv))"', html)}
    assert set(found) == {"lz-fig2.csv", "lz-tab2.csv"}  # lz-fig3 has no CSV: no link
    # the page's own profile (default, from papermill's metadata) wins over the build's (smoke)
    assert (html_dir / found["lz-tab2.csv"]).read_text() == "profile\ndefault\n"
    assert (html_dir / found["lz-fig2.csv"]).read_text() == "auc\n0.75\n"
    for caption in ("Figure two.", "Table two."):
        assert re.search(re.escape(caption) + r".{0,200}\(data: <a ", html, re.S), caption
    assert not re.search(r"Figure three\..{0,200}\(data:", html, re.S)
    # the parameters: a collapsed dropdown with the table; the parameter cells' code is gone
    dropdown = re.search(r"<details[^>]*sd-dropdown.*?</details>", html, re.S)
    assert dropdown and "Parameters of this build (profile default)" in dropdown.group(0)
    assert "<table" in dropdown.group(0) and "<strong><code" in dropdown.group(0)
    assert "# Parameters" not in html and "training epochs (paper: 200)" in html


def test_an_executed_notebooks_profile_is_read_from_papermills_metadata(tmp_path):
    path = tmp_path / "page.ipynb"
    nbformat.write(glued_notebook("paper"), path)
    assert notebook_profile(path) == "paper"
    assert notebook_profile(tmp_path / "page.md") is None
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert notebook_profile(path) is None
    assert notebook_profile(Path(tmp_path / "missing.ipynb")) is None
