"""Tokens scored per second by all six LM attacks together vs plain forward passes over the same texts.

    python benchmarks/bench_llm_scores.py [--model gpt2-scratch|smollm2-135m|ID] [--texts 64]
                                          [--neighbours 5] [--batch-size 16] [--threads 1] [--repeats 2]

The six attacks (LOSS, reference, zlib, neighbourhood, Min-k%, Min-k%++) need one forward pass of the
target over each text, one of the reference model over each text, and one of the target over each of
the n neighbours. The baseline is exactly those passes done plainly (``model(...).logits``, nothing
kept); the attacks' run adds the per-token statistics (log-probs, and the mean and standard deviation
of log p over the vocabulary for Min-k%++), the cache and the six score computations. Goal: the
attacks' time within 1.5x of the baseline's. Weights are as initialised or loaded (speed does not
depend on training). Each timing is the best of ``--repeats`` runs, on fresh scorers (empty caches).
"""

from __future__ import annotations

import argparse
import time

import torch

from leakage.lm.attacks import AttackInputs, run_attacks
from leakage.lm.corpus import PoolConfig, load_brown, make_pools
from leakage.lm.models import SCRATCH, ScratchConfig, build_scratch, load_pretrained, train_tokenizer
from leakage.lm.neighbours import NeighbourConfig, TagLexicon, make_neighbours
from leakage.lm.scoring import Scorer

SIX = [("loss", {}), ("reference", {"reference": "ref"}), ("zlib", {}), ("neighbourhood", {}),
       ("min-k", {"k": 0.2}), ("min-k++", {"k": 0.2})]


def models(name: str, reference_texts: list[str]):
    """(target, reference, tokenizer): two models of one family (different weights, same cost)."""
    if name == SCRATCH:
        tokenizer = train_tokenizer(reference_texts, 4096)
        config = ScratchConfig(n_layer=4, n_head=4, n_embd=128, n_positions=257, vocab_size=4096)
        return build_scratch(config, tokenizer, 0), build_scratch(config, tokenizer, 1), tokenizer
    target, tokenizer = load_pretrained(name)
    reference, _ = load_pretrained(name)
    return target, reference, tokenizer


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=SCRATCH, help="gpt2-scratch, smollm2-135m, a local folder or a Hub id")
    parser.add_argument("--texts", type=int, default=64, help="evaluation texts (half members, half non-members)")
    parser.add_argument("--neighbours", type=int, default=5, help="neighbours per text")
    parser.add_argument("--words", type=int, default=48, help="corpus tokens per passage")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: leave as set)")
    parser.add_argument("--repeats", type=int, default=2, help="timings are the best of this many runs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    pools = make_pools(load_brown(), PoolConfig(passage_words=args.words, docs_per_pool=max(4, args.texts // 4),
                                                passages_per_doc=2, max_eval_per_side=args.texts // 2))
    texts = pools.eval_texts
    neighbours = make_neighbours(pools.eval_passages, TagLexicon.from_passages(pools.reference),
                                 NeighbourConfig(n=args.neighbours))
    target, reference, tokenizer = models(args.model, [p.text for p in pools.reference])
    kw = {"max_tokens": 256 if args.model == SCRATCH else 512, "batch_size": args.batch_size}

    def plain() -> int:
        t, r = Scorer(target, tokenizer, name="target", **kw), Scorer(reference, tokenizer, name="ref", **kw)
        return t.plain_forward(texts) + r.plain_forward(texts) + t.plain_forward(neighbours)

    counters = {}

    def attacks() -> None:
        t, r = Scorer(target, tokenizer, name="target", **kw), Scorer(reference, tokenizer, name="ref", **kw)
        inputs = AttackInputs(t.stats(texts), {"ref": r.stats(texts)}, t.stats(neighbours), args.neighbours)
        run_attacks(inputs, SIX)
        counters.update(target=t.forward_texts, reference=r.forward_texts)

    tokens = plain()  # warm-up (allocations, lazy initialisation)
    t_plain = best_of(args.repeats, plain)
    t_attacks = best_of(args.repeats, attacks)
    target_tokens = Scorer(target, tokenizer, name="target", **kw).plain_forward(texts)
    print(f"model {args.model}: {len(texts)} texts ({target_tokens} tokens), {args.neighbours} neighbours each, "
          f"batch {args.batch_size}, {torch.get_num_threads()} thread(s)")
    print(f"forward passes needed: target over texts + reference over texts + target over neighbours = "
          f"{tokens} tokens; texts forwarded by the attacks' run: target {counters['target']}, "
          f"reference {counters['reference']}")
    print(f"plain forward passes       : {t_plain:7.2f} s  {tokens / t_plain:9.0f} tokens/s")
    print(f"all six attacks together   : {t_attacks:7.2f} s  {tokens / t_attacks:9.0f} tokens/s")
    print(f"  = {target_tokens / t_attacks:.0f} evaluated-text tokens/s (each text scored by all six attacks)")
    ratio = t_attacks / t_plain
    print(f"ratio attacks / plain      : {ratio:7.2f}x  (goal <= 1.50x: {'met' if ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
