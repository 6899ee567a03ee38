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
from dataclasses import dataclass

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


def novel_token_f1(prediction: str, gold: str, context: str) -> float | None:
    """Token F1 over the tokens that do not occur in ``context`` (the source window): copying the window
    earns nothing. ``None`` when every gold token is in the context (nothing to credit)."""
    seen = set(tokens(context))
    ref = [t for t in tokens(gold) if t not in seen]
    if not ref:
        return None
    pred = [t for t in tokens(prediction) if t not in seen]
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def description_facts(attributes: dict[str, object], description: str) -> list[str]:
    """An entity's description facts: the string values of its answer-key attributes that stand verbatim
    in its description (relations, given as ``{"entity": title}``, count only through such a string)."""
    return sorted({v for v in attributes.values() if isinstance(v, str) and v and v in description})


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def fact_accuracy(prediction: str, facts: Sequence[str]) -> float | None:
    """Share of ``facts`` found in ``prediction`` as whole-token runs after normalisation (``1989`` is not
    found in ``19890``); ``None`` without facts."""
    if not facts:
        return None
    pred = tokens(prediction)
    return sum(_contains(pred, tokens(f)) for f in facts) / len(facts)


@dataclass(frozen=True)
class Column:
    """One metric's per-item values. Its mean, its interval and paired differences with another model's
    column are all computed from it; ``clusters`` (the gold entity of each item) are resampled whole,
    because items of one entity are not independent."""

    ids: tuple[str, ...]
    values: tuple[float, ...]
    clusters: tuple[str, ...]
    weights: tuple[float, ...] | None = None  # a ratio of sums (e.g. loss per token over paragraphs)

    def __post_init__(self) -> None:
        if not len(self.ids) == len(self.values) == len(self.clusters) or (
                self.weights is not None and len(self.weights) != len(self.ids)):
            raise ValueError("a Column's ids, values, clusters and weights must have one entry per item")

    @classmethod
    def of(cls, items: Sequence[tuple[str, str, float | None]]) -> Column:
        """From (id, cluster, value) triples, dropping items whose value is ``None`` (not defined there)."""
        kept = [(i, c, v) for i, c, v in items if v is not None]
        return cls(tuple(i for i, _, _ in kept), tuple(float(v) for _, _, v in kept), tuple(c for _, c, _ in kept))

    def mean(self) -> float:
        """The point estimate that :meth:`ci` brackets (NaN when there is nothing to average)."""
        return weighted_mean(self.values, self.weights)

    def ci(self, *, samples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
        return _percentiles(bootstrap_stats([self], self.clusters, samples=samples, seed=seed)[0], level)


def _weights(column: Column) -> np.ndarray:
    return np.ones(len(column.values)) if column.weights is None else np.asarray(column.weights, dtype=np.float64)


def bootstrap_stats(columns: Sequence[Column], clusters: Sequence[str], *, samples: int = 1000,
                    seed: int = 0) -> list[np.ndarray]:
    """The weighted mean of each column under the SAME ``samples`` cluster resamples (one array each).

    A resample draws as many clusters as there are, with replacement; a cluster drawn k times counts
    its items k times. All columns must list their items in one order with ``clusters``.
    """
    order: dict[str, int] = {}
    inverse = np.array([order.setdefault(c, len(order)) for c in clusters], dtype=np.int64)
    k = len(order)
    if k == 0:
        return [np.full(samples, np.nan) for _ in columns]
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=samples).astype(np.float64)
    out = []
    for column in columns:
        w = _weights(column)
        sums = np.bincount(inverse, weights=w * np.asarray(column.values, dtype=np.float64), minlength=k)
        totals = np.bincount(inverse, weights=w, minlength=k)
        out.append(counts @ sums / (counts @ totals))
    return out


def _percentiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    if stats.size == 0 or np.isnan(stats).all():
        return (float("nan"), float("nan"))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def paired_difference(a: Column, b: Column, *, samples: int = 1000, seed: int = 0, level: float = 0.95
                      ) -> dict[str, object]:
    """``mean(a) - mean(b)`` over the items both columns hold, with a percentile interval from one
    cluster bootstrap applied to both (the same entities drawn for both models in every resample)."""
    b_index = {i: n for n, i in enumerate(b.ids)}
    pairs = [(n, b_index[i]) for n, i in enumerate(a.ids) if i in b_index]
    if not pairs:
        return {"value": None, "ci": [None, None], "n": 0}

    def pick(column: Column, rows: list[int]) -> Column:
        weights = None if column.weights is None else tuple(column.weights[r] for r in rows)
        return Column(tuple(column.ids[r] for r in rows), tuple(column.values[r] for r in rows),
                      tuple(a.clusters[n] for n, _ in pairs), weights)

    pa, pb = pick(a, [n for n, _ in pairs]), pick(b, [m for _, m in pairs])
    sa, sb = bootstrap_stats([pa, pb], pa.clusters, samples=samples, seed=seed)
    lo, hi = _percentiles(sa - sb, level)
    return {"value": pa.mean() - pb.mean(), "ci": [lo, hi], "n": len(pairs)}


def bootstrap_ci(values: Sequence[float], weights: Sequence[float] | None = None, *, samples: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a (weighted) mean, resampling items (each its own cluster)."""
    ids = tuple(str(i) for i in range(len(values)))
    column = Column(ids, tuple(values), ids, None if weights is None else tuple(weights))
    return column.ci(samples=samples, seed=seed, level=level)


def weighted_mean(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The (weighted) mean; NaN when there is nothing to average."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    return float((x * w).sum() / w.sum())


def summarize(columns: dict[str, Column], seed: int = 0) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Each column's mean and its 95% cluster-bootstrap interval."""
    return ({k: c.mean() for k, c in columns.items()}, {k: list(c.ci(seed=seed)) for k, c in columns.items()})


def differences(a: dict[str, Column], b: dict[str, Column], seed: int = 0) -> dict[str, dict[str, object]]:
    """``a - b`` on every metric both models have, each with its paired cluster-bootstrap interval."""
    return {k: paired_difference(a[k], b[k], seed=seed) for k in a if k in b}
