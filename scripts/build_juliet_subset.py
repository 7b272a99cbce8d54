"""Build the derived Juliet data file shipped with the package: src/leakage/vp/data/juliet_vp_functions.jsonl.gz.

It holds every labelled test case entry point of the Juliet C/C++ 1.3 suite after comment removal,
template-marker removal (the "Benign, fixed string" dead branches), label-word scrubbing, every string
literal blanked to "STR", and de-duplication (see leakage.vp.juliet), one JSON record per line
({cwe, group, file, label, code}) after a header line {"meta": {...}} recording the archive's
SHA-256, the extractor version and the extraction statistics. Juliet is public domain (17 USC 105;
CC0 1.0 abroad), so the derivative may be redistributed; see PROVENANCE.md beside the file.

Usage (from the repository root; about 2 minutes of CPU on one core, more on a busy machine):

    .venv/bin/python scripts/build_juliet_subset.py [ARCHIVE] [--out FILE] [--check]

ARCHIVE defaults to ../shared/data/juliet-c-cpp-1.3/juliet-c-cpp-1.3.tar.xz. --check rebuilds and
compares with the existing file instead of writing it (exit 1 if they differ).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from leakage.vp.juliet import (EXTRACTOR_VERSION, SHIPPED_FILE, build_records, file_sha256, read_records,
                               shared_archive, write_records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", default=str(shared_archive()), help="Juliet .tar.xz/.zip or folder")
    parser.add_argument("--out", default=str(SHIPPED_FILE), help="where to write the derived file")
    parser.add_argument("--check", action="store_true", help="compare with the existing file, write nothing")
    args = parser.parse_args(argv)
    archive = Path(args.archive)
    if not archive.exists():
        print(f"error: no Juliet archive at {archive}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    records, stats = build_records(archive, progress_every=10000)
    meta = {"source": "NIST SARD Juliet Test Suite for C/C++ v1.3", "archive": archive.name,
            "archive_sha256": file_sha256(archive) if archive.is_file() else None,
            "extractor_version": EXTRACTOR_VERSION, "stats": stats,
            "licence": "public domain (17 USC 105); CC0 1.0 where NIST may claim foreign rights",
            "built_by": "scripts/build_juliet_subset.py"}
    print(f"{stats} in {time.perf_counter() - start:.0f} s")
    if args.check:
        shipped, shipped_meta = read_records(args.out)
        same = shipped == records and shipped_meta.get("archive_sha256") == meta["archive_sha256"]
        print("identical to the shipped file" if same else "DIFFERS from the shipped file")
        return 0 if same else 1
    write_records(args.out, records, meta)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
