"""Tiny causal LMs whose every probability is known: fixed-weight fixtures for tests and examples."""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
from torch import nn

CHARS = "abcd"
EOT = "<|endoftext|>"

# Row = previous token (0 is <|endoftext|>, 1..4 are a..d), column = next token: logits of a bigram model.
TABLE = [[0.0, 2.0, 0.5, -1.0, 0.3],
         [0.1, -0.5, 1.5, 0.2, -2.0],
         [-1.0, 0.4, 0.0, 2.5, 0.7],
         [0.3, 1.8, -0.2, 0.0, 0.9],
         [0.5, 0.0, 1.0, -0.5, 0.2]]
REF_TABLE = [[0.2, 1.0, 1.0, 0.0, 0.0],
             [0.0, 0.0, 0.5, 0.5, 0.0],
             [0.0, 0.5, 0.0, 1.0, 0.5],
             [0.0, 1.0, 0.0, 0.0, 0.5],
             [0.0, 0.2, 0.2, 0.2, 0.2]]


class CharTokenizer:
    """a..d -> 1..4, anything else -> 4; id 0 is <|endoftext|> (the context token)."""

    pad_token_id = None

    def get_vocab(self) -> dict[str, int]:
        return {EOT: 0, **{c: i + 1 for i, c in enumerate(CHARS)}}

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [[CHARS.index(c) + 1 if c in CHARS else 4 for c in t] for t in texts]}

    def decode(self, ids) -> str:
        return "".join(CHARS[i - 1] for i in ids if i > 0)


class Bigram(nn.Module):
    """logits(next | previous) = table[previous]: a causal LM whose every probability is known."""

    def __init__(self, table, context: int = 16):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table, dtype=torch.float32))
        self.config = SimpleNamespace(n_positions=context)

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.table[input_ids])


def hand_stats(table, text: str) -> list[tuple[float, float, float]]:
    """(log p(x_t), mu_t, sigma_t) per character of ``text``, with plain ``math``."""
    ids = [0] + [CHARS.index(c) + 1 for c in text]
    out = []
    for prev, nxt in zip(ids[:-1], ids[1:]):
        row = table[prev]
        log_z = math.log(sum(math.exp(v) for v in row))
        logp = [v - log_z for v in row]
        mu = sum(math.exp(lp) * lp for lp in logp)
        var = sum(math.exp(lp) * (lp - mu) ** 2 for lp in logp)
        out.append((logp[nxt], mu, math.sqrt(var)))
    return out


def hand_loss(table, text: str) -> float:
    stats = hand_stats(table, text)
    return -sum(s[0] for s in stats) / len(stats)
