"""Vulnerability prediction (VP): Juliet C/C++ functions, BiLSTM/BiGRU/CodeBERT classifiers, their
membership leakage (shadow-model MIA on embeddings, logits, loss, confidence) and the NMID defence.

Modules: ``clex`` (C/C++ through tree-sitter: comment stripping, function extraction, lexer),
``juliet`` (labelled, scrubbed, de-duplicated Juliet functions and where they are loaded from),
``realworld`` (Devign / BigVul files), ``splits`` (group-disjoint, class-balanced target/shadow
member/non-member sets), ``tokenizer`` (BPE over C/C++ lexemes), ``models`` (the three
classifiers), ``features`` (released outputs and attack feature sets), ``nmid`` (the defence),
``attack`` (the shadow-model attack).
"""
