"""Command line: ``python -m leakage book --profile smoke|default|paper [--only NAME] [--jobs N] [--threads N] [--force]``."""

from __future__ import annotations

import argparse
import sys

from leakage.book import ALL_NOTEBOOKS, BookError, run_book
from leakage.data.vision import DataUnavailableError
from leakage.profiles import PROFILE_COST, PROFILES, UnknownProfileError


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m leakage", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    book = commands.add_parser("book", help="execute the notebooks of a profile and build the Jupyter Book")
    book.add_argument("--profile", default="default",
                      help="; ".join(f"{p}: {PROFILE_COST[p]}" for p in PROFILES) + " (default: default)")
    book.add_argument("--only", action="append", metavar="NAME",
                      help=f"run only this notebook (repeatable; the intro and scorecard always follow): "
                           f"{', '.join(ALL_NOTEBOOKS)}")
    book.add_argument("--jobs", type=int, default=2,
                      help="notebooks executed in parallel (default 2); the cores are shared among those running")
    book.add_argument("--threads", type=int, default=None, metavar="N",
                      help="CPU threads of every notebook (default: its share of the cores). Torch's CPU sums "
                           "depend on the thread count, so fix it (e.g. --threads 1) to rebuild the same digits")
    book.add_argument("--force", action="store_true", help="recompute every artefact instead of reusing the store")
    book.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                      help="override a notebook parameter of the profile, e.g. --set epochs=5 (repeatable)")
    book.add_argument("--no-build", action="store_true", help="execute the notebooks but do not build the HTML")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run_book(args.profile, only=args.only, jobs=args.jobs, force=args.force, overrides=args.overrides,
                 build=not args.no_build, threads=args.threads)
    except (BookError, UnknownProfileError, DataUnavailableError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
