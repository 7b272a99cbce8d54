"""The three VP classifiers: BiLSTM, BiGRU, and CodeBERT (the RoBERTa architecture through `transformers`).

All map token ids (B, L) int64 (padding = the tokenizer's ``pad_id``) to logits (B, 2) with
``forward``, and to ``(logits (B, 2), embedding (B, D))`` with ``features``: the embedding is what a
gray-box attacker sees, the input of the final classification layer: the masked max-pool of the
bidirectional RNN states (D = 2 x hidden) for the RNNs, the last layer's hidden state at ``<s>``
(the [CLS] vector, D = hidden) for CodeBERT. Padding columns beyond a batch's longest function are
dropped before the forward pass, so padding never changes a result.

CodeBERT: with ``codebert_path`` (a local folder, or ``microsoft/codebert-base`` when online) the
pretrained checkpoint is fine-tuned; without it (the offline default) the same architecture at a
reduced size is trained from scratch on the corpus, and the book labels it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from leakage.config import doc_field

ARCHITECTURES: tuple[str, ...] = ("bilstm", "bigru", "codebert")
NUM_CLASSES = 2


@dataclass(frozen=True)
class VPModelConfig:
    """Architecture and size of a VP classifier."""

    arch: str = doc_field("bilstm", "'bilstm', 'bigru' or 'codebert' (RoBERTa architecture)")
    embed_dim: int = doc_field(64, "token embedding size (RNNs; CodeBERT uses `hidden`)")
    hidden: int = doc_field(64, "RNN units per direction; CodeBERT hidden size")
    layers: int = doc_field(1, "stacked RNN layers; CodeBERT encoder layers")
    heads: int = doc_field(2, "CodeBERT attention heads")
    intermediate: int = doc_field(256, "CodeBERT feed-forward size")
    dropout: float = doc_field(0.1, "dropout rate (before the output layer; CodeBERT: hidden and attention)")
    codebert_path: str | None = doc_field(None, "pretrained RoBERTa/CodeBERT checkpoint (folder or hub id) to "
                                                "fine-tune; None = the reduced-size architecture from scratch")

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown VP architecture {self.arch!r}; choose one of {', '.join(ARCHITECTURES)}")
        if self.codebert_path and self.arch != "codebert":
            raise ValueError(f"codebert_path applies to arch 'codebert' only, not {self.arch!r}")

    def input_digests(self) -> dict[str, str]:
        """``{"codebert_path": digest}`` of the checkpoint's files, so a checkpoint replaced in place never
        returns a model fine-tuned from the old one; {} without a checkpoint.

        A local folder (or file) is digested as it is (:func:`leakage.inputs.path_digest`); a hub id is
        digested through its snapshot in the local Hugging Face cache. A hub id not yet downloaded has no
        content to digest: its key holds the id only (it is fetched, then keyed by content, on the next run).
        """
        if not self.codebert_path:
            return {}
        from leakage.inputs import path_digest

        local = Path(self.codebert_path).expanduser()
        if local.exists():
            return {"codebert_path": path_digest(local)}
        try:
            from huggingface_hub import snapshot_download

            folder = snapshot_download(self.codebert_path, local_files_only=True)
        except Exception:  # not in the local cache (or not a hub id): nothing on disk to digest yet
            return {}
        return {"codebert_path": path_digest(folder)}


def _trim(ids: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids cut to the batch's longest row, mask (B, L') bool of real tokens)."""
    if ids.ndim != 2:
        raise ValueError(f"token ids must be (batch, length), got shape {tuple(ids.shape)}")
    mask = ids != pad_id
    length = max(int(mask.sum(1).max()) if len(ids) else 1, 1)
    return ids[:, :length], mask[:, :length]


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x (B, L, ...) with each row's first ``lengths[b]`` steps reversed; padding steps stay where they are."""
    steps = torch.arange(x.shape[1], device=x.device)
    index = lengths[:, None] - 1 - steps[None, :]
    index = torch.where(index >= 0, index, steps[None, :].expand_as(index))
    return x.gather(1, index.view(*index.shape, *([1] * (x.ndim - 2))).expand_as(x))


class RNNClassifier(nn.Module):
    """Bidirectional LSTM or GRU over token embeddings, masked max-pool over time, linear output.

    The backward direction reads each function reversed within its own length (padding stays at the
    end), so padding never reaches a real position; this runs on the fast unpacked RNN kernels.
    """

    def __init__(self, vocab_size: int, pad_id: int, config: VPModelConfig):
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=pad_id)
        cell = nn.LSTM if config.arch == "bilstm" else nn.GRU
        sizes = [config.embed_dim] + [2 * config.hidden] * (config.layers - 1)
        self.forward_rnns = nn.ModuleList(cell(size, config.hidden, batch_first=True) for size in sizes)
        self.backward_rnns = nn.ModuleList(cell(size, config.hidden, batch_first=True) for size in sizes)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(2 * config.hidden, NUM_CLASSES)

    def features(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, 2), pooled embedding (B, 2 * hidden))."""
        ids, mask = _trim(ids, self.pad_id)
        lengths = mask.sum(1).clamp(min=1)
        states = self.embedding(ids)
        for forward_rnn, backward_rnn in zip(self.forward_rnns, self.backward_rnns):
            ahead, _ = forward_rnn(states)
            behind, _ = backward_rnn(reverse_within_length(states, lengths))
            states = torch.cat([ahead, reverse_within_length(behind, lengths)], dim=2)
        states = states.masked_fill(~mask[:, :, None], float("-inf"))
        pooled = states.max(1).values
        pooled = torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))
        return self.out(self.dropout(pooled)), pooled

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2)."""
        return self.features(ids)[0]


class CodeBERTClassifier(nn.Module):
    """``RobertaForSequenceClassification``; the embedding is the last layer's [CLS] (``<s>``) vector."""

    def __init__(self, model, pad_id: int):
        super().__init__()
        self.model = model
        self.pad_id = pad_id

    @classmethod
    def from_config(cls, vocab_size: int, pad_id: int, max_len: int, config: VPModelConfig) -> CodeBERTClassifier:
        """The RoBERTa architecture at ``config``'s size, randomly initialised."""
        from transformers import RobertaConfig, RobertaForSequenceClassification

        if config.hidden % config.heads:
            raise ValueError(f"CodeBERT hidden size {config.hidden} must be a multiple of heads {config.heads}")
        roberta = RobertaConfig(
            vocab_size=vocab_size, hidden_size=config.hidden, num_hidden_layers=config.layers,
            num_attention_heads=config.heads, intermediate_size=config.intermediate,
            max_position_embeddings=max_len + pad_id + 2, type_vocab_size=1, pad_token_id=pad_id,
            bos_token_id=2, eos_token_id=3, num_labels=NUM_CLASSES, hidden_dropout_prob=config.dropout,
            attention_probs_dropout_prob=config.dropout, classifier_dropout=config.dropout)
        return cls(RobertaForSequenceClassification(roberta), pad_id)

    @classmethod
    def from_pretrained(cls, path: str, pad_id: int) -> CodeBERTClassifier:
        """A pretrained checkpoint (local folder or hub id) with a fresh 2-class head."""
        from transformers import RobertaForSequenceClassification

        try:
            model = RobertaForSequenceClassification.from_pretrained(path, num_labels=NUM_CLASSES)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot load a RoBERTa/CodeBERT checkpoint from {path!r} ({err}); give a local "
                             f"folder, or microsoft/codebert-base when online") from None
        return cls(model, pad_id)

    def features(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, 2), [CLS] embedding (B, hidden))."""
        ids, mask = _trim(ids, self.pad_id)
        out = self.model(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True)
        return out.logits, out.hidden_states[-1][:, 0]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (B, 2)."""
        return self.features(ids)[0]


def build_vp_model(config: VPModelConfig, vocab_size: int, pad_id: int, max_len: int) -> nn.Module:
    """A freshly initialised classifier (or the pretrained checkpoint) for ``config``; seed torch before calling."""
    if config.arch == "codebert":
        if config.codebert_path:
            return CodeBERTClassifier.from_pretrained(config.codebert_path, pad_id)
        return CodeBERTClassifier.from_config(vocab_size, pad_id, max_len, config)
    return RNNClassifier(vocab_size, pad_id, config)

