"""Benchmark: the peak memory of scoring one text of 16 tokens does not grow with the text's length.

:func:`leakage.lm.scoring.encode_texts` tokenises only a character prefix of a text (grown until its first
``max_tokens + 1`` tokens are settled), so a multi-megabyte line costs what its first ``max_tokens`` tokens
cost. Each case runs in a fresh child process: a tiny GPT-2 and its byte-level BPE tokenizer are built, the
text is made, the peak resident set size (``ru_maxrss``) is read, the text is scored by
:class:`~leakage.lm.scoring.Scorer` (``max_tokens`` 16), and the growth of the peak is printed. Cases: a
short text; a ``--megabytes`` line without a newline; and, for comparison, the same line tokenised whole
(what the scorer did before it cut texts first). Prints the growth of each case and the ratio long / short
(goal: close to 1).

    python benchmarks/bench_scoring_memory.py
    python benchmarks/bench_scoring_memory.py --megabytes 20 --max-tokens 128
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, warnings
warnings.simplefilter("ignore")
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer
from leakage.lm.scoring import Scorer, tokenize_plain
case, megabytes, max_tokens = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
sentence = "The jury said it did find that many of the registration laws are outmoded. "
tokenizer = train_tokenizer([sentence] * 20, 300)
model = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=max_tokens + 1, vocab_size=300),
                      tokenizer, 0).eval()
text = sentence if case == "short" else sentence * int(megabytes * 1e6 / len(sentence))
scorer = Scorer(model, tokenizer, name="bench", max_tokens=max_tokens, batch_size=1)
scorer.stats([sentence + "warm up"])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if case == "whole":
    tokenize_plain(tokenizer, [text])
else:
    scorer.stats([text])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"chars": len(text), "growth_kib": after - before}))
"""


def measure(case: str, megabytes: float, max_tokens: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, case, str(megabytes), str(max_tokens)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=5.0, help="size of the long line (default 5)")
    parser.add_argument("--max-tokens", type=int, default=16, help="tokens scored per text (default 16)")
    args = parser.parse_args()
    results = {case: measure(case, args.megabytes, args.max_tokens) for case in ("short", "long", "whole")}
    for case, label in (("short", "short text, scored"), ("long", "long line, scored (cut first)"),
                        ("whole", "long line, tokenised whole (before)")):
        r = results[case]
        print(f"{label:38s} {r['chars']:>10,d} chars   peak +{r['growth_kib'] / 1024:8.1f} MiB")
    def ratio(case: str) -> float:  # growths plus 1 MiB each, so that a growth of 0 does not divide
        return (results[case]["growth_kib"] + 1024) / (results["short"]["growth_kib"] + 1024)

    print(f"ratio long / short (each peak growth + 1 MiB): {ratio('long'):.2f} (goal: about 1; tokenised whole: "
          f"{ratio('whole'):.0f})")


if __name__ == "__main__":
    main()
