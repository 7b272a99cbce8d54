"""Sphinx extension: every published figure's and table's caption links the CSV of its data.

:func:`leakage.publish.publish` writes each item's tidy data to ``results/<profile>/<ID>.csv`` and glues its
figure as ``<ID>`` (its table as ``<ID>-table``); the page's caption names the figure ``:name: <ID>`` (or
``<ID>-table``). For every figure or table node of a page whose name is such an item ID, or the ID followed
by ``-table``, and whose CSV exists in the page's results folder, this extension appends ``(data: <ID>.csv)``
to the caption: a Sphinx download link, so the CSV is copied into the HTML output (``_downloads/``) and the
link works offline and online, and a changed CSV makes Sphinx rebuild the page.

The results folder is ``<results root>/<profile>/``. The profile is the one the page's notebook was executed
with (papermill records the injected parameters in the notebook's metadata), else the build's profile
(config ``leakage_results_profile``, default ``$LEAKAGE_BOOK_PROFILE``, which ``python -m leakage book`` sets);
the root is config ``leakage_results_root`` (default :func:`leakage.paths.results_root`). A page with neither
profile gets no links. Register it in ``_config.yml``: ``sphinx: extra_extensions: [leakage.sphinx_csv_links]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms import SphinxTransform

from leakage.paths import results_root
from leakage.results import ITEM_ID

PROFILE_ENV = "LEAKAGE_BOOK_PROFILE"  # the same name as leakage.book.PROFILE_ENV (not imported: book is heavy)
LINK_CLASS = "leakage-data-link"


def item_csv(name: str, folder: Path) -> Path | None:
    """The CSV of the published item a figure or table named ``name`` shows (``<ID>`` or ``<ID>-table``), if
    ``folder`` holds one; else None."""
    for item in dict.fromkeys((name, name.removesuffix("-table"))):
        if ITEM_ID.match(item) and (folder / f"{item}.csv").is_file():
            return folder / f"{item}.csv"
    return None


def notebook_profile(source: Path) -> str | None:
    """The ``profile`` parameter papermill injected into the executed notebook ``source`` (an ``.ipynb``), if any."""
    if source.suffix != ".ipynb":
        return None
    try:
        metadata = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    profile = metadata.get("papermill", {}).get("parameters", {}).get("profile")
    return profile if isinstance(profile, str) and profile else None


def page_results(env: BuildEnvironment, docname: str) -> Path | None:
    """The results folder of page ``docname`` (see the module docstring), None when no profile is known."""
    profile = notebook_profile(Path(env.doc2path(docname))) or env.config.leakage_results_profile
    if not profile:
        return None
    return Path(env.config.leakage_results_root or results_root()) / profile


def data_link(csv: Path, env: BuildEnvironment) -> nodes.inline:
    """`` (data: <ID>.csv)`` with a download reference to ``csv`` (an absolute path, inside the source folder
    or not): Sphinx's download collector copies it into the output and resolves the link."""
    target = "/" + os.path.relpath(csv, env.srcdir).replace(os.sep, "/")  # "/...": relative to the source folder
    reference = addnodes.download_reference("", "", nodes.literal(csv.name, csv.name, classes=["xref", "download"]),
                                            reftarget=target, refdoc=env.docname, refdomain="", reftype="download",
                                            refexplicit=True, refwarn=False)
    return nodes.inline("", "", nodes.Text(" (data: "), reference, nodes.Text(")"), classes=[LINK_CLASS])


class CaptionCsvLinks(SphinxTransform):
    """Append the data link to the caption (figure) or title (table) of every published item of the page."""

    default_priority = 500

    def apply(self, **kwargs: Any) -> None:
        folder = page_results(self.env, self.env.docname)
        if folder is None or not folder.is_dir():
            return
        for node in list(self.document.findall(lambda n: isinstance(n, (nodes.figure, nodes.table)))):
            csv = next((c for c in (item_csv(name, folder) for name in node["names"]) if c), None)
            if csv is None or any(LINK_CLASS in n["classes"] for n in node.findall(nodes.inline)):
                continue
            label = next((c for c in node.children if isinstance(c, (nodes.caption, nodes.title))), None)
            if label is None:
                if isinstance(node, nodes.table):
                    continue  # a table's title comes first; none here: nowhere natural to put the link
                label = nodes.caption()
                node += label
            label += data_link(csv, self.env)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the transform and its two config values (both rebuild the environment when changed)."""
    app.add_config_value("leakage_results_profile", os.environ.get(PROFILE_ENV) or None, "env",
                         types=[str, type(None)])
    app.add_config_value("leakage_results_root", None, "env", types=[str, type(None)])
    app.add_transform(CaptionCsvLinks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
