"""The book's chapters, declared once: what the runner executes, the plan computes and the table of contents lists.

A chapter is a notebook ``notebooks/<name>.py`` (its parameters cell holds the smoke profile's values;
:data:`leakage.profiles.NOTEBOOK_PARAMETERS` what the other profiles change), the function that lists the
artefacts it loads (``plan``: ``"module:function"`` of its experiments module, imported only when a plan is
made), the chapters whose runs it reuses, and the part of the book it belongs to. Everything else is derived
from :data:`CHAPTERS`: the runner's notebook lists (:data:`CHAPTER_NOTEBOOKS`, :data:`SUMMARY_NOTEBOOKS`), the
plan's planners (:data:`PLANNERS`), the pages that compute on the page (:data:`UNPLANNED`) and the table of
contents (:func:`toc_yaml`, written to ``_toc.yml`` by the book build; a test keeps the committed file equal).

Adding a chapter is one entry here (see CONTRIBUTING.md). This module imports no experiment: it sits in the
package's lowest layers, so the plan (:mod:`leakage.experiments.plan`) and the runner both read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from leakage.config import doc_field


@dataclass(frozen=True)
class Chapter:
    """One page of the book, executed by the runner."""

    name: str = doc_field("", "the notebook notebooks/<name>.py, executed to book/generated/<name>.ipynb")
    part: str = doc_field("", "the caption of the table of contents' part it sits in (the root page: '')")
    plan: str | None = doc_field(None, "'module:function' listing the tasks of its artefacts from its parameters "
                                       "(None: it loads no planned artefact)")
    reuses: tuple[str, ...] = doc_field((), "chapters whose runs it loads, configured with their own parameters "
                                            "(leakage.parameters.other_chapter_parameters), so both name the same runs")
    summary: bool = doc_field(False, "reads every chapter's tables: executed after the chapters")
    on_page: bool = doc_field(False, "computes on the page by design (a tutorial): outside the plan and its check")


#: Every page, in the book's order (the first is the root page).
CHAPTERS: tuple[Chapter, ...] = (
    Chapter("intro", "", summary=True),
    Chapter("lz_targets", "Label-only membership inference (Li & Zhang, CCS 2021)",
            "leakage.experiments.part1:plan_targets"),
    Chapter("lz_transfer", "Label-only membership inference (Li & Zhang, CCS 2021)",
            "leakage.experiments.part1:plan_tasks"),
    Chapter("lz_boundary", "Label-only membership inference (Li & Zhang, CCS 2021)",
            "leakage.experiments.boundary:plan_tasks", reuses=("lz_transfer",)),
    Chapter("lz_defences", "Label-only membership inference (Li & Zhang, CCS 2021)",
            "leakage.experiments.defences:plan_tasks"),
    Chapter("lz_ladder", "Label-only membership inference (Li & Zhang, CCS 2021)",
            "leakage.experiments.ladder:plan_tasks", reuses=("lz_transfer", "lz_boundary")),
    Chapter("vp_mia", "Membership leakage in vulnerability prediction (Liao et al., 2025)",
            "leakage.experiments.vp:plan_tasks"),
    Chapter("llm_mia", "Membership inference on language models (mimir attacks)",
            "leakage.experiments.llm:plan_tasks"),
    Chapter("audit", "Beyond the three works", "leakage.experiments.audit:plan_tasks"),
    Chapter("audit_llm", "Beyond the three works", "leakage.experiments.audit_llm:plan_tasks"),
    Chapter("own_model", "Use it on your own model", on_page=True),
    Chapter("scorecard", "Reproduction", summary=True),
)

#: Pages of the book that are no notebook: part caption -> files under book/ (listed after that part's chapters).
OTHER_PAGES: dict[str, tuple[str, ...]] = {"Reproduction": ("references",)}

CHAPTER_NOTEBOOKS: tuple[str, ...] = tuple(c.name for c in CHAPTERS if not c.summary)
SUMMARY_NOTEBOOKS: tuple[str, ...] = tuple(c.name for c in CHAPTERS if c.summary)  # after the chapters
ALL_NOTEBOOKS: tuple[str, ...] = CHAPTER_NOTEBOOKS + SUMMARY_NOTEBOOKS
#: Notebook -> ``"module:function"`` listing the tasks of its artefacts from its resolved parameters.
PLANNERS: dict[str, str] = {c.name: c.plan for c in CHAPTERS if c.plan}
#: Notebooks that compute outside the store by design: the tutorial page trains its stand-in models on the page.
UNPLANNED: tuple[str, ...] = tuple(c.name for c in CHAPTERS if c.on_page)


def chapter(name: str) -> Chapter:
    """The chapter ``name``; ``ValueError`` naming the known ones otherwise."""
    for c in CHAPTERS:
        if c.name == name:
            return c
    raise ValueError(f"unknown chapter {name!r}; known: {', '.join(c.name for c in CHAPTERS)}")


def toc_yaml() -> str:
    """The Jupyter Book table of contents (``_toc.yml``) of :data:`CHAPTERS` and :data:`OTHER_PAGES`."""
    lines = ["# Table of contents, derived from leakage.chapters.CHAPTERS (the book build writes it; do not edit).",
             "# Paths are relative to book/ (book/_toc.yml links here).",
             "format: jb-book", f"root: generated/{CHAPTERS[0].name}", "parts:"]
    parts = list(dict.fromkeys(c.part for c in CHAPTERS[1:]))
    for part in parts:
        lines += [f"  - caption: {json.dumps(part)}", "    chapters:"]
        lines += [f"      - file: generated/{c.name}" for c in CHAPTERS[1:] if c.part == part]
        lines += [f"      - file: {page}" for page in OTHER_PAGES.get(part, ())]
    return "\n".join(lines) + "\n"
