"""The book's chapters, declared once: what the runner executes, the plan computes and the table of contents lists.

A chapter is a notebook ``notebooks/<name>.py`` (it loads, narrates and plots), its typed parameters (a
:class:`~leakage.parameters.ChapterParameters` subclass: defaults = the smoke profile, ``PROFILE_CHANGES`` = the
other profiles; a field holding another chapter's parameters names a chapter whose runs it reuses), the function
that lists the artefacts it loads (``plan``) and the part of the book it belongs to. Both are named
``"module:attribute"`` and imported only when needed. Everything else is derived from :data:`CHAPTERS`: the
runner's notebook lists (:data:`CHAPTER_NOTEBOOKS`, :data:`SUMMARY_NOTEBOOKS`), the plan's planners
(:data:`PLANNERS`), the pages that compute on the page (:data:`UNPLANNED`), each chapter's resolved parameters
(:func:`chapter_parameters`) and the table of contents (:func:`toc_yaml`, written to ``_toc.yml`` by the book
build; a test keeps the committed file equal).

Adding a chapter is one entry here (see CONTRIBUTING.md). This module imports no experiment: it sits in the
package's lowest layers, so the plan (:mod:`leakage.experiments.plan`) and the runner both read it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leakage.config import doc_field
from leakage.parameters import ChapterParameters


@dataclass(frozen=True)
class Chapter:
    """One page of the book, executed by the runner."""

    name: str = doc_field("", "the notebook notebooks/<name>.py, executed to book/generated/<name>.ipynb")
    part: str = doc_field("", "the caption of the table of contents' part it sits in (the root page: '')")
    plan: str | None = doc_field(None, "'module:function' listing the tasks of its artefacts from its parameters "
                                       "(None: it loads no planned artefact)")
    parameters: str | None = doc_field(None, "'module:class' of its parameters, a ChapterParameters subclass "
                                             "(None: the profile only)")
    summary: bool = doc_field(False, "reads every chapter's tables: executed after the chapters")
    on_page: bool = doc_field(False, "computes on the page by design (a tutorial): outside the plan and its check")

    def parameters_class(self) -> type[ChapterParameters]:
        """The class of this chapter's parameters (imported now)."""
        return _attribute(self.parameters) if self.parameters else ChapterParameters

    def planner(self):
        """The chapter's ``plan_tasks(parameters) -> list[Task]`` (imported now), or None."""
        return _attribute(self.plan) if self.plan else None

    def reuses(self) -> tuple[str, ...]:
        """The chapters whose runs this one reuses: those whose parameters its parameters hold."""
        return tuple(klass.CHAPTER for klass in self.parameters_class().reused().values())


#: Every page, in the book's order (the first is the root page).
LABEL_ONLY = "Label-only membership inference (Li & Zhang, CCS 2021)"
_P = "leakage.experiments.parameters"
#: Every page, in the book's order (the first is the root page).
CHAPTERS: tuple[Chapter, ...] = (
    Chapter("intro", "", summary=True),
    Chapter("lz_targets", LABEL_ONLY, "leakage.experiments.part1:plan_targets", f"{_P}:TargetsParameters"),
    Chapter("lz_transfer", LABEL_ONLY, "leakage.experiments.part1:plan_tasks", f"{_P}:TransferParameters"),
    Chapter("lz_boundary", LABEL_ONLY, "leakage.experiments.boundary:plan_tasks", f"{_P}:BoundaryParameters"),
    Chapter("lz_defences", LABEL_ONLY, "leakage.experiments.defences:plan_tasks", f"{_P}:DefencesParameters"),
    Chapter("lz_ladder", LABEL_ONLY, "leakage.experiments.ladder:plan_tasks", f"{_P}:LadderParameters"),
    Chapter("vp_mia", "Membership leakage in vulnerability prediction (Liao et al., 2025)",
            "leakage.experiments.vp:plan_tasks", f"{_P}:VPParameters"),
    Chapter("llm_mia", "Membership inference on language models (mimir attacks)",
            "leakage.experiments.llm:plan_tasks", f"{_P}:LLMParameters"),
    Chapter("audit", "Beyond the three works", "leakage.experiments.audit:plan_tasks", f"{_P}:AuditParameters"),
    Chapter("audit_llm", "Beyond the three works", "leakage.experiments.audit_llm:plan_tasks",
            f"{_P}:AuditLLMParameters"),
    Chapter("own_model", "Use it on your own model", parameters=f"{_P}:OwnModelParameters", on_page=True),
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


def chapter_parameters(name: str, profile: str = "smoke", overrides: Mapping[str, Any] | None = None
                       ) -> ChapterParameters:
    """Chapter ``name``'s parameters under ``profile`` with the build's ``--set`` values ``overrides`` (those it
    declares; the others are other chapters'), type-checked: what the runner, the plan and the notebook use.
    Raises ``ValueError`` for an unknown chapter, :class:`~leakage.parameters.ParameterError` for a bad value."""
    return chapter(name).parameters_class().resolve(profile, overrides)


def declared_anywhere() -> set[str]:
    """Every parameter name some chapter (or a chapter it reuses) declares: what ``--set`` may name."""
    names: set[str] = set()
    for c in CHAPTERS:
        names.update(c.parameters_class().declared())
    return names


def _attribute(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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
