"""A bag-of-tokens baseline for vulnerability prediction: how much of a VP model's utility needs no sequence model.

Logistic regression (scikit-learn) on token *presence*: each function becomes the binary vector of
which C/C++ lexemes (:func:`leakage.vp.clex.lex`, tree-sitter's C++ grammar: identifiers, keywords,
numbers, literals, operators) occur in its scrubbed code, case kept. It is trained on the same
functions as the target model (its members) and evaluated on the same held-out functions as the
model's utility (the target's non-members). On a template-generated corpus such as Juliet,
whatever this baseline scores above the majority class is mostly the templates (fixed identifiers,
calls and constants that come with a flaw or its fix), not an understanding of the flaw: the book
shows it beside the VP models' utility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leakage.config import doc_field
from leakage.vp.clex import CORPUS_LANGUAGE, lex


@dataclass(frozen=True)
class BaselineConfig:
    """The bag-of-tokens logistic regression."""

    c: float = doc_field(1.0, "inverse L2 regularisation strength of the logistic regression")
    max_iter: int = doc_field(2000, "at most this many solver (lbfgs) iterations")
    min_df: int = doc_field(1, "a token must occur in at least this many training functions to be a feature")

    def __post_init__(self) -> None:
        if self.c <= 0 or self.max_iter < 1 or self.min_df < 1:
            raise ValueError(f"the baseline needs c > 0, max_iter >= 1 and min_df >= 1, got {self}")


def _labels(name: str, labels: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"{name} must be (N,) with one label per function ({n}), got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must be 0 (not vulnerable) or 1 (vulnerable), got values {sorted(set(y.tolist()))}")
    return y.astype(np.int64)


def _lexemes(code: str) -> list[str]:
    return lex(code, CORPUS_LANGUAGE)


def bag_of_tokens_baseline(train_code: Sequence[str], train_labels: np.ndarray, test_code: Sequence[str],
                           test_labels: np.ndarray, config: BaselineConfig = BaselineConfig()) -> dict[str, float]:
    """Fit the baseline on (``train_code`` (N strings), ``train_labels`` (N,) 0/1) and score it on the test set.

    Returns held-out ``accuracy``, ``precision``, ``recall``, ``f1`` (vulnerable = positive),
    ``majority_rate`` (the test accuracy of always answering the training set's majority class),
    ``n_train``, ``n_test`` and ``vocabulary`` (features used). Raises ``ValueError`` when the training
    set holds one class only, when labels are not 0/1 or do not match the code, or when a set is empty.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    from threadpoolctl import threadpool_limits

    y_train = _labels("train_labels", train_labels, len(train_code))
    y_test = _labels("test_labels", test_labels, len(test_code))
    if not len(y_test):
        raise ValueError("the baseline needs at least one held-out function to be evaluated on")
    if len(set(y_train.tolist())) < 2:
        raise ValueError("the baseline needs vulnerable and non-vulnerable training functions, got one class only")
    vectorizer = CountVectorizer(binary=True, lowercase=False, tokenizer=_lexemes, token_pattern=None,
                                 min_df=config.min_df)
    x_train = vectorizer.fit_transform(list(train_code))
    x_test = vectorizer.transform(list(test_code))
    model = LogisticRegression(C=config.c, max_iter=config.max_iter)
    with threadpool_limits(1):
        model.fit(x_train, y_train)
        prediction = model.predict(x_test)
    precision, recall, f1, _ = precision_recall_fscore_support(y_test, prediction, average="binary", zero_division=0)
    majority = int(np.bincount(y_train, minlength=2).argmax())
    return {"accuracy": float(accuracy_score(y_test, prediction)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1), "majority_rate": float(np.mean(y_test == majority)),
            "n_train": len(y_train), "n_test": len(y_test), "vocabulary": len(vectorizer.vocabulary_)}
