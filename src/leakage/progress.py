"""Progress for long runs: tqdm bars for loops (shown on a terminal, silent inside executed notebooks unless asked
for), and the pieces of a progress line: a readable duration and the time left of queued jobs on parallel workers."""

from __future__ import annotations

import heapq
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, enabled: bool | None = None) -> tqdm:
    """A tqdm bar over ``items``; ``enabled`` defaults to ``$LEAKAGE_PROGRESS`` (1/0) or whether stderr is a terminal."""
    if enabled is None:
        env = os.environ.get("LEAKAGE_PROGRESS")
        enabled = env == "1" if env is not None else sys.stderr.isatty()
    return tqdm(items, desc=desc, total=total, disable=not enabled, leave=False, dynamic_ncols=True)


def format_duration(seconds: float) -> str:
    """A duration for a progress line: ``"45 s"`` below 90 s, ``"12 min"`` below 90 min, else ``"2 h 5 min"``.

    Raises ``ValueError`` for a negative or non-finite ``seconds``.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration is a finite number of seconds >= 0, got {seconds!r}")
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def estimate_left(running: Sequence[float], stages: Sequence[Sequence[float]], workers: int) -> float:
    """Seconds until ``workers`` parallel workers have finished everything: the jobs in progress and the queued ones.

    ``running``: seconds left of each job in progress (one worker each; at most ``workers`` of them).
    ``stages``: the queued jobs' expected seconds, stage by stage; the jobs of a stage go in order to whichever
    worker frees up first (greedy list scheduling, as a queue of tasks behaves), and each stage after the first
    starts only once everything before it, the running jobs included, has finished (as the book's summary pages
    wait for every chapter). Durations are in seconds, the result too (0.0 when nothing is left).

    Raises ``ValueError`` for ``workers < 1``, more running jobs than workers, or a negative duration.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if len(running) > workers:
        raise ValueError(f"{len(running)} running jobs need at least as many workers, got {workers}")
    if any(s < 0 for s in running) or any(s < 0 for stage in stages for s in stage):
        raise ValueError("durations must be >= 0 seconds")
    free = list(running) + [0.0] * (workers - len(running))  # when each worker frees up, from now
    heapq.heapify(free)
    for index, stage in enumerate(stages):
        if index and stage:
            free = [max(free)] * workers  # this stage starts once every job before it has finished
        for seconds in stage:
            heapq.heappush(free, heapq.heappop(free) + seconds)
    return float(max(free))
