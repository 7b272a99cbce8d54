"""Command line of the package.

- ``python -m leakage book --profile smoke|default|paper [--only NAME] [--jobs N] [--threads N] [--force]``:
  execute the book's notebooks and build it;
- ``python -m leakage score-texts --model PATH_OR_ID --members FILE --non-members FILE [--reference
  PATH_OR_ID] [--masked-lm PATH_OR_ID] [--neighbours N] [--max-tokens N] [--out scores.csv] [--seed N]``:
  every LM membership-inference attack on your own causal LM and texts (one text per line), printing
  one row per attack (AUC and TPR at 1% / 0.1% FPR with 95% bootstrap CIs) and writing a per-text CSV.

Errors in what was asked (a missing file, an empty file, a model that cannot be loaded) print
``error: ...`` and exit with status 1; a malformed command line exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leakage.book import ALL_NOTEBOOKS, BookError, run_book
from leakage.data.vision import DataUnavailableError
from leakage.device import keep_freed_memory
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
                      help="local Dask workers computing the plan's tasks and executing the notebooks (default 2)")
    book.add_argument("--threads", type=int, default=None, metavar="N",
                      help="CPU threads of every task and notebook (default: the cores shared among the workers). "
                           "Torch's CPU sums "
                           "depend on the thread count, so fix it (e.g. --threads 1) to rebuild the same digits")
    book.add_argument("--force", action="store_true", help="recompute every artefact instead of reusing the store")
    book.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                      help="override a notebook parameter of the profile, e.g. --set epochs=5 (repeatable)")
    book.add_argument("--no-build", action="store_true", help="execute the notebooks but do not build the HTML")
    book.add_argument("--no-plan", action="store_true",
                      help="skip computing the experiment plan on Dask first (each notebook computes what it needs)")
    book.add_argument("--check-plan", action="store_true",
                      help="fail when a notebook computed an artefact the plan did not list (CI sets it)")

    run = commands.add_parser("run", help="compute a profile's experiment plan on Dask (local, a scheduler, or a "
                                          "batch system), without executing the notebooks")
    run.add_argument("--profile", default="default", help="smoke, default or paper (default: default)")
    run.add_argument("--only", action="append", metavar="NAME", help="plan only this notebook's artefacts (repeatable)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                     help="override a notebook parameter, as for `book`")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this existing Dask scheduler")
    run.add_argument("--cluster", default="local", choices=["local", "slurm", "pbs", "sge"],
                     help="start workers locally (default) or through dask-jobqueue")
    run.add_argument("--cluster-option", action="append", default=[], metavar="KEY=VALUE", dest="cluster_options",
                     help="a keyword of the cluster class, e.g. queue=gpu, cores=8, memory=32GB, walltime=04:00:00, "
                          "job_extra_directives=['--gres=gpu:1'] (values parsed as Python literals when they can be)")
    run.add_argument("--workers", type=int, default=None, help="workers (local: default cores / threads; batch: jobs)")
    run.add_argument("--threads", type=int, default=1, help="torch threads per task (default 1)")
    run.add_argument("--retries", type=int, default=0, help="times a failed task is retried (default 0)")

    score = commands.add_parser("score-texts", help="attack your own causal LM with member / non-member texts",
                                description="Every LM membership-inference attack (LOSS, zlib, Min-k%, Min-k%++, "
                                            "neighbourhood, reference) on a causal LM and texts of known membership.")
    score.add_argument("--model", required=True, metavar="PATH_OR_ID",
                       help="the target: a save_pretrained folder, a Hugging Face id, or smollm2-135m")
    score.add_argument("--members", required=True, type=Path, metavar="FILE",
                       help="texts in the model's training data, one per line (blank lines skipped)")
    score.add_argument("--non-members", required=True, type=Path, metavar="FILE",
                       help="texts not in the model's training data, one per line (blank lines skipped)")
    score.add_argument("--reference", metavar="PATH_OR_ID", help="a reference model for the reference attack")
    score.add_argument("--masked-lm", metavar="PATH_OR_ID",
                       help="a masked LM that makes the neighbours (default: word replacement from a lexicon of "
                            "the texts)")
    score.add_argument("--neighbours", type=int, default=10, metavar="N",
                       help="neighbours per text of the neighbourhood attack (0: no neighbourhood attack; default 10)")
    score.add_argument("--max-tokens", type=int, default=128, metavar="N",
                       help="tokens scored per text; longer texts are scored as their prefix (default 128)")
    score.add_argument("--min-k", type=float, default=0.2, metavar="K",
                       help="k of Min-k%% and Min-k%%++ as a fraction (default 0.2)")
    score.add_argument("--batch-size", type=int, default=16, metavar="N", help="texts per forward pass (default 16)")
    score.add_argument("--seed", type=int, default=0, help="seed of the neighbours and the bootstrap (default 0)")
    score.add_argument("--n-boot", type=int, default=1000, metavar="N",
                       help="bootstrap resamples of the confidence intervals (default 1000)")
    score.add_argument("--out", type=Path, metavar="CSV",
                       help="write the per-text scores here: attack, index, is_member, score, n_tokens, truncated, "
                            "failed (index: position in members then non-members)")
    return main


CSV_COLUMNS = ["attack", "index", "is_member", "score", "n_tokens", "truncated", "failed"]


def _interval(metrics: dict, name: str) -> str:
    lo, hi = metrics.get(f"{name}_lo", float("nan")), metrics.get(f"{name}_hi", float("nan"))
    return f"{metrics[name]:.3f} [{lo:.3f}, {hi:.3f}]"


def score_texts(args: argparse.Namespace) -> int:
    """The ``score-texts`` command: print the summary table, write the per-text CSV (atomically)."""
    import logging

    import pandas as pd

    from leakage.api.text import attack_language_model
    from leakage.store import atomic_path

    logging.basicConfig(format="note: %(message)s", level=logging.WARNING)
    if args.neighbours < 0:
        raise ValueError(f"--neighbours must be 0 or more, got {args.neighbours}")
    results = attack_language_model(args.model, args.members, args.non_members, reference=args.reference,
                                    neighbours=args.neighbours, masked_lm=args.masked_lm, min_k=args.min_k,
                                    max_tokens=args.max_tokens, batch_size=args.batch_size, seed=args.seed,
                                    n_boot=args.n_boot)
    rows = []
    for result in results.values():
        m = result.metrics
        rows.append({"attack": result.attack, "AUC [95% CI]": _interval(m, "auc"),
                     "TPR@1%FPR [95% CI]": _interval(m, "tpr_at_1pct_fpr"),
                     "TPR@0.1%FPR [95% CI]": _interval(m, "tpr_at_0.1pct_fpr"),
                     "n": f"{int(m['n_members'])} + {int(m['n_non_members'])}",
                     "failed": int(result.extras["failed"].sum())})
    print(pd.DataFrame(rows).to_string(index=False))
    if args.out is not None:
        frame = pd.concat([r.to_frame() for r in results.values()], ignore_index=True)[CSV_COLUMNS]
        with atomic_path(args.out) as tmp:
            frame.to_csv(tmp, index=False)
        print(f"per-text scores: {args.out}")
    return 0


def _literal(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_plan_command(args: argparse.Namespace) -> int:
    """The ``run`` command: build the plan of the profile's notebooks and compute it on Dask."""
    from leakage.book import CHAPTER_NOTEBOOKS, parse_overrides, resolve_parameters
    from leakage.experiments.plan import plan_for
    from leakage.grid import make_client, run_plan
    from leakage.profiles import check_profile

    check_profile(args.profile)
    unknown = sorted(set(args.only or []) - set(CHAPTER_NOTEBOOKS))
    if unknown:
        raise BookError(f"unknown notebook {', '.join(unknown)}; known: {', '.join(CHAPTER_NOTEBOOKS)}")
    values = parse_overrides(args.overrides)
    params = {n: resolve_parameters(n, args.profile, values) for n in CHAPTER_NOTEBOOKS if not args.only or n in args.only}
    options = {}
    for item in args.cluster_options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BookError(f"--cluster-option takes KEY=VALUE, got {item!r}")
        options[key] = _literal(value)
    planned = plan_for(params)
    client = make_client(args.scheduler, args.cluster, workers=args.workers, threads=args.threads, options=options)
    try:
        report = run_plan(planned, client, threads=args.threads, retries=args.retries)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    for name, text in report.failed.items():
        print(f"failed: {name}\n{text}\n", file=sys.stderr)
    for name, origin in report.not_run.items():
        print(f"not run: {name} (needs {origin}, which failed)", file=sys.stderr)
    print(f"plan: {len(report.done)} of {len(planned)} artefacts ready in {report.seconds:.0f} s")
    return 0 if report.ok else 1


def book_command(args: argparse.Namespace) -> int:
    """The ``book`` command: execute the notebooks and build the book."""
    run_book(args.profile, only=args.only, jobs=args.jobs, force=args.force, overrides=args.overrides,
             build=not args.no_build, threads=args.threads, plan=not args.no_plan,
             check_plan=args.check_plan)
    return 0


#: command -> (its function, the errors it reports as ``error: ...`` with exit status 1).
COMMANDS = {
    "book": (book_command, (BookError, UnknownProfileError, DataUnavailableError)),
    "run": (run_plan_command, (BookError, UnknownProfileError, DataUnavailableError, ValueError)),
    "score-texts": (score_texts, (DataUnavailableError, FileNotFoundError, ValueError, OSError)),
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    keep_freed_memory()
    command, errors = COMMANDS[args.command]
    try:
        return command(args)
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
