"""Progress bars for long loops: shown on a terminal, silent inside executed notebooks unless asked for."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, enabled: bool | None = None) -> tqdm:
    """A tqdm bar over ``items``; ``enabled`` defaults to ``$LEAKAGE_PROGRESS`` (1/0) or whether stderr is a terminal."""
    if enabled is None:
        env = os.environ.get("LEAKAGE_PROGRESS")
        enabled = env == "1" if env is not None else sys.stderr.isatty()
    return tqdm(items, desc=desc, total=total, disable=not enabled, leave=False, dynamic_ncols=True)
