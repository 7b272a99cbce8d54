"""Command line of the package.

- ``python -m leakage book --profile smoke|default|paper [--only NAME] [--jobs N] [--threads N] [--force]``:
  execute the book's notebooks and build it;
- ``python -m leakage score-texts --model PATH_OR_ID --members FILE --non-members FILE [--text-field NAME]
  [--reference PATH_OR_ID] [--masked-lm PATH_OR_ID] [--neighbours N] [--max-tokens N] [--out scores.csv]
  [--seed N] [--allow-overlap] [--context-token ID_OR_TOKEN]``: every LM membership-inference attack on your
  own causal LM and texts (a ``.txt`` file with one text per line, a ``.jsonl`` or a ``.csv`` file with the
  texts in field / column ``--text-field``: :mod:`leakage.lm.textfiles`), printing one row per attack (AUC,
  TPR at 1% / 0.1% FPR, n/a where the non-members are too few to resolve that FPR, and TPR at zero false
  positives, with 95% bootstrap CIs) and writing a per-text CSV. An error the library raises names the
  command's options (``--allow-overlap``), not the API's parameters (:func:`as_options`).

Every argument and input is checked before the work starts (numbers in range, ``--out`` writable, the text
files read, the models loaded): what the user asked that cannot be done (a missing, empty or malformed
file, a model folder that cannot be loaded, a number out of range) prints one line ``error: ...`` saying
what to do and exits with status 1; a malformed command line (an unknown option, a missing one, a word
where a number goes) prints one line ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from leakage.book import ALL_NOTEBOOKS, BookError, run_book
from leakage.data.vision import DataUnavailableError
from leakage.device import apply_threads
from leakage.profiles import PROFILE_COST, PROFILES, UnknownProfileError


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line ``error: ...`` (exit status 2), pointing to ``--help``."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


class UsageError(ValueError):
    """An argument of a command that cannot be used as given; its message names the argument."""


def _yes_no(text: str) -> bool:
    if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
        raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")
    return text.lower() in ("true", "yes", "1")


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="python -m leakage", description=__doc__)
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
                       help="texts in the model's training data: a .txt file (one text per line), a .jsonl or a "
                            ".csv file (blank texts skipped)")
    score.add_argument("--non-members", required=True, type=Path, metavar="FILE",
                       help="texts not in the model's training data, as --members")
    score.add_argument("--text-field", default="text", metavar="NAME",
                       help="the JSONL field / CSV column holding the texts (default: text; .txt files: unused)")
    score.add_argument("--allow-overlap", nargs="?", const=True, default=False, type=_yes_no, metavar="True",
                       help="score texts found among both members and non-members (with a warning) instead of "
                            "refusing them")
    score.add_argument("--context-token", metavar="ID_OR_TOKEN",
                       help="the token put before every text so that its first token is scored: a token id or a "
                            "one-token string (default: the tokenizer's start token, else its end-of-text token)")
    score.add_argument("--reference", metavar="PATH_OR_ID", help="a reference model for the reference attack")
    score.add_argument("--masked-lm", metavar="PATH_OR_ID",
                       help="a masked LM that makes the neighbours (default: word replacement from a fixed lexicon, "
                            "the Brown corpus's word frequencies)")
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
    """``metrics[name]`` with its CI, or, for a TPR at an FPR the non-members cannot resolve, 'n/a' and why."""
    from leakage.metrics import LOW_FPRS, fpr_resolution

    if name in LOW_FPRS:
        resolution = fpr_resolution(int(metrics["n_non_members"]), LOW_FPRS[name])
        if not resolution.resolvable:
            return f"n/a (1/{resolution.n_non_members} > {LOW_FPRS[name]:.1%})"
    lo, hi = metrics.get(f"{name}_lo", float("nan")), metrics.get(f"{name}_hi", float("nan"))
    return f"{metrics[name]:.3f} [{lo:.3f}, {hi:.3f}]"


def _at_least(name: str, value: int | float, low: int) -> None:
    if not value >= low:  # NaN too
        raise UsageError(f"{name} must be {low} or more, got {value}")


def check_out(out: Path, inputs: tuple[Path, ...] = ()) -> Path:
    """``out`` if a file can be written there: not a folder, not one of ``inputs``, and a folder that exists
    and is writable, or can be made (missing folders are made when the file is written). Raises
    :class:`UsageError` naming ``--out`` otherwise."""
    out = out.expanduser()
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name the CSV file to write, e.g. {out / 'scores.csv'}")
    if any(out.resolve() == Path(p).expanduser().resolve() for p in inputs):
        raise UsageError(f"--out {out} is an input file; name another file")
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the first folder that exists: the rest are made when the file is written
    if not folder.is_dir():
        raise UsageError(f"--out {out}: {folder} is a file, not a folder; name a file in a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write in {folder} (permission denied); name a file in a folder "
                         "you can write to")
    return out


def check_score_args(args: argparse.Namespace) -> None:
    """Every number and the output path of ``score-texts``, before any file or model is read."""
    for name, low in (("max_tokens", 1), ("batch_size", 1), ("n_boot", 1), ("neighbours", 0)):
        _at_least(f"--{name.replace('_', '-')}", getattr(args, name), low)
    if not 0 < args.min_k <= 1:
        raise UsageError(f"--min-k must be a fraction in (0, 1] (e.g. 0.2 for Min-20%), got {args.min_k}")
    if not args.text_field:
        raise UsageError("--text-field must name the JSONL field / CSV column of the texts, got ''")
    if args.out is not None:
        check_out(args.out, (args.members, args.non_members))


def score_texts(args: argparse.Namespace) -> int:
    """The ``score-texts`` command: check every argument, read the texts, load the models, then score; print
    the summary table and write the per-text CSV (atomically)."""
    import logging

    import pandas as pd

    from leakage.api.text import _language_model, attack_language_model, read_texts
    from leakage.checks import check_disjoint
    from leakage.store import atomic_path

    logging.basicConfig(format="note: %(message)s", level=logging.WARNING)
    check_score_args(args)
    members = read_texts(args.members, "--members", text_field=args.text_field)
    non_members = read_texts(args.non_members, "--non-members", text_field=args.text_field)
    if not args.allow_overlap:
        check_disjoint("--members", members, "--non-members", non_members, option="--allow-overlap", what="texts")
    model, tokenizer, _ = _language_model(args.model, None, None, "--model")
    reference = None
    if args.reference is not None:
        ref_model, ref_tokenizer, ref_name = _language_model(args.reference, None, None, "--reference")
        reference = {ref_name: (ref_model, ref_tokenizer)}
    masked_lm = _masked_lm(args.masked_lm) if args.masked_lm is not None and args.neighbours else None
    results = attack_language_model((model, tokenizer), members, non_members, reference=reference,
                                    neighbours=args.neighbours, masked_lm=masked_lm, min_k=args.min_k,
                                    max_tokens=args.max_tokens, batch_size=args.batch_size, seed=args.seed,
                                    n_boot=args.n_boot, allow_overlap=args.allow_overlap,
                                    context_token=_context_token(args.context_token))
    rows = []
    for result in results.values():
        m = result.metrics
        rows.append({"attack": result.attack, "AUC [95% CI]": _interval(m, "auc"),
                     "TPR@1%FPR [95% CI]": _interval(m, "tpr_at_1pct_fpr"),
                     "TPR@0.1%FPR [95% CI]": _interval(m, "tpr_at_0.1pct_fpr"),
                     "TPR@0FP [95% CI]": _interval(m, "tpr_at_0fp"),
                     "n": f"{int(m['n_members'])} + {int(m['n_non_members'])}",
                     "failed": int(result.extras["failed"].sum())})
    print(pd.DataFrame(rows).to_string(index=False))
    if args.out is not None:
        frame = pd.concat([r.to_frame() for r in results.values()], ignore_index=True)[CSV_COLUMNS]
        with atomic_path(args.out) as tmp:
            frame.to_csv(tmp, index=False)
        print(f"per-text scores: {args.out}")
    return 0


def _context_token(value: str | None) -> int | str | None:
    """``--context-token``: an id when it is a whole number, else the token's text."""
    return int(value) if value is not None and value.strip().isdigit() else value


#: A parameter of the API named in a message, with its value when it is True or a number: ``max_tokens=128``.
_PARAMETER = re.compile(r"\b([a-z][a-z0-9_]*)=(True\b|[0-9][0-9.e+-]*)?")


def as_options(message: str, command: argparse.ArgumentParser) -> str:
    """``message`` of an error raised by the API, with every parameter that the command has as an option
    named as that option (``allow_overlap=True`` -> ``--allow-overlap``, ``max_tokens=40`` ->
    ``--max-tokens 40``), so the user is told what to type at the command they called."""
    options = {action.dest: action.option_strings[0] for action in command._actions if action.option_strings}

    def option(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if name not in options:
            return match.group(0)
        return options[name] if value in (None, "True") else f"{options[name]} {value}"

    return _PARAMETER.sub(option, message)


def _masked_lm(source: str) -> tuple:
    """(model, tokenizer) of ``--masked-lm`` (:func:`leakage.lm.perturb.load_masked_lm`)."""
    from leakage.device import get_device
    from leakage.lm.perturb import load_masked_lm

    path = Path(source).expanduser()
    if (path.is_absolute() or source.startswith(("./", "../", "~"))) and not path.exists():
        raise FileNotFoundError(f"--masked-lm: no model folder {source}")
    return load_masked_lm(source, get_device())


def _literal(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_plan_command(args: argparse.Namespace) -> int:
    """The ``run`` command: build the plan of the profile's notebooks and compute it on Dask."""
    from leakage.book import CHAPTER_NOTEBOOKS, absolute_parameter_paths, parse_overrides, resolve_build
    from leakage.experiments.plan import plan_for
    from leakage.grid import make_client, run_plan
    from leakage.paths import pin_environment_paths, store_root
    from leakage.profiles import check_profile

    pin_environment_paths()  # relative paths in the environment: the caller's folder, for every worker too
    check_profile(args.profile)
    if args.workers is not None:
        _at_least("--workers", args.workers, 1)
    _at_least("--threads", args.threads, 1)
    _at_least("--retries", args.retries, 0)
    unknown = sorted(set(args.only or []) - set(CHAPTER_NOTEBOOKS))
    if unknown:
        raise BookError(f"unknown notebook {', '.join(unknown)}; known: {', '.join(CHAPTER_NOTEBOOKS)}")
    values = absolute_parameter_paths(parse_overrides(args.overrides))
    params = resolve_build([n for n in CHAPTER_NOTEBOOKS if not args.only or n in args.only], args.profile, values)
    options = {}
    for item in args.cluster_options:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise BookError(f"--cluster-option takes KEY=VALUE, got {item!r}")
        options[key] = _literal(value)
    planned = plan_for(params)
    try:
        client = make_client(args.scheduler, args.cluster, workers=args.workers, threads=args.threads,
                             options=options)
    except (OSError, TypeError, ValueError) as err:  # no scheduler there, an option the cluster does not take
        where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else f"a {args.cluster} Dask cluster"
        raise BookError(f"could not start or reach {where} ({type(err).__name__}: {err}); check --scheduler, "
                        "--cluster and --cluster-option") from None
    try:
        report = run_plan(planned, client, threads=args.threads, retries=args.retries,  # an existing cluster's
                          store_root=None if args.scheduler else str(store_root()))  # workers: their own store
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
    "score-texts": (score_texts, (DataUnavailableError, ValueError, OSError)),  # OSError: FileNotFoundError too
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    apply_threads()  # the allocator; threads are each command's own (its tasks and kernels apply theirs)
    command, errors = COMMANDS[args.command]
    try:
        return command(args)
    except errors as err:
        message = str(err)
        if args.command == "score-texts":  # the API's parameter names, as the command's options
            message = as_options(message, _subcommand(args.command))
        print(f"error: {message}", file=sys.stderr)
        return 1


def _subcommand(name: str) -> argparse.ArgumentParser:
    """The parser of one command (its options, for :func:`as_options`)."""
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]
