"""Metrics of the probe and ED tasks, and bootstrap intervals for every reported number.

Text is compared after Unicode normalisation and case folding; tokens are word runs, with CJK/kana/
hangul characters one token each, so F1 and ROUGE-L mean the same thing in every language
(rouge-score's own tokenizer drops every non-ASCII character).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
from rouge_score import rouge_scorer

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_SPACE_RE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC, case-folded, ``_`` as space (MediaWiki titles), whitespace runs collapsed, ends stripped."""
    text = unicodedata.normalize("NFKC", text).replace("_", " ").casefold()
    return _SPACE_RE.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of normalised text, punctuation dropped."""
    return _TOKEN_RE.findall(normalize_text(text))


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal."""
    return float(normalize_text(prediction) == normalize_text(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style bag-of-tokens F1 (both empty: 1.0; one empty: 0.0)."""
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class _Tokenizer:
    """The tokenizer interface rouge-score accepts (``tokenize(text) -> list[str]``)."""

    def tokenize(self, text: str) -> list[str]:
        return tokens(text)


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokenizer())


def rouge_l(prediction: str, gold: str) -> float:
    """ROUGE-L F-measure (rouge-score) over :func:`tokens`."""
    return _ROUGE.score(gold, prediction)["rougeL"].fmeasure


def bootstrap_ci(values: Sequence[float], weights: Sequence[float] | None = None, *, samples: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a (weighted) mean, resampling items with a fixed seed.

    ``weights`` turns it into a ratio of sums (a per-token loss resampled per paragraph).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(samples, x.size))
    stats = (x[idx] * w[idx]).sum(1) / w[idx].sum(1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def weighted_mean(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The point estimate that :func:`bootstrap_ci` brackets (NaN when there is nothing to average)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    return float((x * w).sum() / w.sum())
