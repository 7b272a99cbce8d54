"""Code tokenizers: a BPE trained with `tokenizers` over C lexemes, or a pretrained checkpoint's own tokenizer.

The BPE: the text is first split into C/C++ lexemes by tree-sitter (identifiers, keywords, numbers,
whole string/char literals, operators, punctuation; :func:`leakage.vp.clex.lex` with the C++ grammar,
whose lexemes include C's), and byte-pair merges are learnt *within* lexemes, so a token never spans
two lexemes. The lexemes are handed to the `tokenizers` BPE pre-split (``is_pretokenized``), so the
saved tokenizer has no pre-tokenizer of its own: encode through this class. Special tokens follow RoBERTa's
conventions: every function is encoded ``<s> ... </s>`` (``<s>`` is the [CLS] position), then
truncated / padded with ``<pad>`` to ``max_len``. The tokenizer is trained on the ``public`` pool of
the corpus (functions in none of the four MIA sets), like a pretrained code tokenizer, so the
tokenization itself carries no membership signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from leakage.config import doc_field
from leakage.vp.clex import CORPUS_LANGUAGE, lex

SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>", "<mask>")


def _lexemes(code: str) -> list[str]:
    """The lexemes the BPE works within (tree-sitter, C++ grammar: a corpus mixes C and C++ functions)."""
    if not isinstance(code, str):
        raise ValueError(f"a function must be C/C++ source text (str), got {type(code).__name__}")
    return lex(code, CORPUS_LANGUAGE)


@dataclass(frozen=True)
class TokenizerConfig:
    """The BPE code tokenizer."""

    vocab_size: int = doc_field(2000, "BPE vocabulary size, special tokens included")
    max_len: int = doc_field(256, "tokens per function, <s> and </s> included (longer functions are truncated)")
    train_size: int = doc_field(5000, "at most this many public-pool functions to learn the merges from")


class CodeTokenizer:
    """Encodes functions to padded id tensors (N, max_len) int64; ``pad_id`` marks padding."""

    def __init__(self, tokenizer, max_len: int):
        if max_len < 3:
            raise ValueError(f"max_len must leave room for <s>, one token and </s>, got {max_len}")
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.pad_id = tokenizer.token_to_id("<pad>")
        tokenizer.enable_truncation(max_len)
        tokenizer.enable_padding(pad_id=self.pad_id, pad_token="<pad>", length=max_len)

    @classmethod
    def train(cls, codes: Sequence[str], config: TokenizerConfig) -> CodeTokenizer:
        """Learn BPE merges from ``codes``."""
        from tokenizers import Tokenizer, models, processors, trainers

        if not codes:
            raise ValueError("a tokenizer needs at least one function to learn from")
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))  # no pre-tokenizer: each item below is one word
        trainer = trainers.BpeTrainer(vocab_size=config.vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                      min_frequency=2, show_progress=False)
        tokenizer.train_from_iterator((lexeme for code in codes for lexeme in _lexemes(code)), trainer=trainer)
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", tokenizer.token_to_id("<s>")),
                                                   ("</s>", tokenizer.token_to_id("</s>"))])
        return cls(tokenizer, config.max_len)

    @classmethod
    def from_json(cls, text: str, max_len: int) -> CodeTokenizer:
        """A tokenizer saved with :meth:`to_json`."""
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(text), max_len)

    def to_json(self) -> str:
        """The whole tokenizer as a JSON string (stored with the run)."""
        return self.tokenizer.to_str()

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, codes: Sequence[str]) -> torch.Tensor:
        """Token ids (N, max_len) int64, ``<s> ... </s>`` then padding."""
        encodings = self.tokenizer.encode_batch([_lexemes(code) for code in codes], is_pretokenized=True)
        return torch.tensor([e.ids for e in encodings], dtype=torch.int64).reshape(len(codes), self.max_len)

    def tokens(self, code: str) -> list[str]:
        """The token strings of one function (for showing in the book)."""
        return [t for t in self.tokenizer.encode(_lexemes(code), is_pretokenized=True).tokens if t != "<pad>"]


class PretrainedTokenizer:
    """A pretrained checkpoint's tokenizer (e.g. CodeBERT's BPE), with the same ``encode`` as :class:`CodeTokenizer`."""

    def __init__(self, path: str, max_len: int):
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot load a tokenizer from {path!r} ({err}); give a local folder holding a "
                             f"RoBERTa/CodeBERT checkpoint, or a hub id such as microsoft/codebert-base when online")
        self.max_len = max_len
        self.pad_id = int(self.tokenizer.pad_token_id)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, codes: Sequence[str]) -> torch.Tensor:
        """Token ids (N, max_len) int64 with the checkpoint's special tokens and padding."""
        batch = self.tokenizer(list(codes), padding="max_length", truncation=True, max_length=self.max_len,
                               return_tensors="pt")
        return batch["input_ids"].to(torch.int64)
