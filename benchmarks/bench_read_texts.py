"""Peak memory of reading a text file against the file's size, for each format.

    python benchmarks/bench_read_texts.py [--mb 5 20 80] [--long-mb 5] [--formats .txt .jsonl .csv]

For each size, a file of short texts (about 60 characters each) plus one text of ``--long-mb`` MB without
a line break (the input of issue #27, item 3) is written in each format, then read twice under
``tracemalloc``: by :func:`leakage.api.text.read_texts` (which keeps every text: the texts themselves are
about the file's size, plus about 50 bytes per text) and by iterating :func:`leakage.lm.textfiles.iter_texts`
(which keeps none). The ratios to read are ``read - texts`` (what reading adds to the texts it returns) and
``iterate``, each over the file's size: both should stay flat or fall as the file grows (bounded by the
longest record, never a multiple of the file; the csv module's field buffer takes up to 8 bytes per character
of the longest field). Reading the whole file at once and splitting it adds 2x the file or more. This
measures memory, not time.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import tracemalloc
from pathlib import Path

from leakage.api.text import read_texts
from leakage.lm.textfiles import iter_texts

SHORT = "The committee approved the budget, after a \"long\" debate on Tuesday."


def write(path: Path, mb: float, long_mb: float) -> None:
    """About ``mb`` MB of short texts with one ``long_mb`` MB text in the middle, in ``path``'s format."""
    n = max(1, int((mb - long_mb) * 1e6 / (len(SHORT) + 1)))
    texts = [SHORT] * (n // 2) + ["x" * int(long_mb * 1e6)] + [SHORT] * (n - n // 2)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        if path.suffix == ".txt":
            handle.writelines(t + "\n" for t in texts)
        elif path.suffix == ".jsonl":
            handle.writelines(json.dumps({"text": t}) + "\n" for t in texts)
        else:
            writer = csv.writer(handle)
            writer.writerow(["id", "text"])
            writer.writerows(enumerate(texts))


def peak(function) -> tuple[int, object]:
    """(peak bytes traced while ``function`` ran, its result)."""
    tracemalloc.start()
    try:
        result = function()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, nargs="+", default=[5.0, 20.0, 80.0], help="file sizes in MB")
    parser.add_argument("--long-mb", type=float, default=5.0, help="MB of the one text without a line break")
    parser.add_argument("--formats", nargs="+", default=[".txt", ".jsonl", ".csv"])
    args = parser.parse_args()
    print(f"{'format':>7} {'file MB':>8} {'texts MB':>9} {'read peak MB':>13} {'(read-texts)/file':>18} "
          f"{'iterate peak MB':>16} {'iterate/file':>13}")
    with tempfile.TemporaryDirectory() as folder:
        for mb in args.mb:
            for suffix in args.formats:
                path = Path(folder) / f"texts{suffix}"
                write(path, max(mb, args.long_mb), args.long_mb)
                size = path.stat().st_size
                read_peak, texts = peak(lambda: read_texts(path))
                kept = sum(map(sys.getsizeof, texts)) + sys.getsizeof(texts)  # the texts as Python objects
                del texts
                iterate_peak, _ = peak(lambda: sum(1 for _ in iter_texts(path)))
                print(f"{suffix:>7} {size / 1e6:8.1f} {kept / 1e6:9.1f} {read_peak / 1e6:13.1f} "
                      f"{(read_peak - kept) / size:18.2f} {iterate_peak / 1e6:16.1f} {iterate_peak / size:13.3f}")
                path.unlink()


if __name__ == "__main__":
    main()
