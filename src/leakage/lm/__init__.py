"""Membership inference on causal language models (the language-model chapter).

- :mod:`leakage.lm.corpus`      the Brown corpus: loading, passages, document-level pools, de-duplication;
- :mod:`leakage.lm.models`      SmolLM2-135M (offline), any Hugging Face causal LM, a small GPT-2 from
  scratch, and the one training loop (full fine-tuning or LoRA);
- :mod:`leakage.lm.scoring`     the ONE batched forward pass per text and model (cached, counted);
- :mod:`leakage.lm.neighbours`  offline neighbour texts of Brown passages (POS-tag replacement);
- :mod:`leakage.lm.perturb`     neighbour texts of plain strings (a masked LM, or a word lexicon);
- :mod:`leakage.lm.attacks`     one module per attack behind a registry (higher score = member).
"""
