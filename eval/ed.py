"""Zero-shot entity disambiguation by scoring each candidate's knowledge span in the mention's context.

For an ambiguous test mention, every candidate of the (train) alias table gets the span
``title <sep> description </ent_desc>`` teacher-forced after ``<ent_desc>``; the candidate with the best
mean log-prob per token wins (the summed log-prob is reported too). ``</ent_desc>`` is scored so that a
span cannot win by being a prefix of another. All candidates of a batch of mentions share one decoder
pass. Optionally, GENRE-style generation constrained to the candidate titles by a prefix trie.

Knowledge-free baselines on the same items: the most-frequent entity (``ed_mfe``) and the candidate whose
title and description share the most IDF-weighted words with the context (``ed_context_overlap``).
Intervals resample gold entities, not items.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from eval.data import EdItem, EdSet, Entity, fit_window
from eval.metrics import Column, tokens
from eval.models import KilmModel, SpanScore
from eval.search import BeamSettings, PrefixTrie
from kilm import sequence as seq


@dataclass(frozen=True)
class EdInput:
    """Model inputs of one mention: the masked source, the forced decoder prefix, each candidate's span."""

    item: EdItem
    source: list[int]
    prefix: list[int]
    spans: list[list[int]]


@dataclass(frozen=True)
class EdRecord:
    id: str
    gold: str
    mfe: str
    by_mean: str
    by_sum: str
    constrained: str | None
    scores: list[SpanScore]


def prepare(model: KilmModel, items: Sequence[EdItem], entities: dict[str, Entity]) -> list[EdInput]:
    """Encode each mention once; the window is fitted for its longest candidate span."""
    tok = model.tokenizer
    inputs = []
    for item in items:
        windows = [seq.Window(item.text, item.start, item.end, c, _description(entities, c)) for c in item.candidates]
        encs = [tok.encode_window(w) for w in windows]
        spans = [[*e.target[e.span_start : e.span_end], tok.special.desc_end] for e in encs]
        window = fit_window(windows[0], tok, model.max_positions, max(len(s) for s in spans) + 1)
        if window is None:
            continue
        enc = tok.encode_window(window)
        inputs.append(EdInput(item, enc.source, model.decoder_prefix(enc.target[: enc.span_start]), spans))
    return inputs


def _description(entities: dict[str, Entity], title: str) -> str:
    entity = entities.get(title)
    return entity.description if entity is not None else ""


def score_batched(model: KilmModel, inputs: Sequence[EdInput]) -> list[list[SpanScore]]:
    """Every candidate of every mention in one decoder pass."""
    return model.score([x.source for x in inputs], [x.prefix for x in inputs], [x.spans for x in inputs])


def score_one_at_a_time(model: KilmModel, inputs: Sequence[EdInput]) -> list[list[SpanScore]]:
    """The reference the batched scores must equal: one forward pass per candidate."""
    return [[model.score([x.source], [x.prefix], [[span]])[0][0] for span in x.spans] for x in inputs]


def constrained_titles(model: KilmModel, inputs: Sequence[EdInput], beam: int = 4) -> list[str]:
    """GENRE-style: generate a title after ``<ent_desc>``, allowed only along the candidates' title tokens."""
    sep = model.tokenizer.special.sep
    tries, titles = [], []
    for x in inputs:
        title_tokens = [span[: span.index(sep)] for span in x.spans]
        tries.append(PrefixTrie(title_tokens, end=sep))
        titles.append({tuple(t): c for t, c in zip(title_tokens, x.item.candidates)})
    settings = BeamSettings(beam=beam, max_new_tokens=max(len(t) for ts in titles for t in ts) + 1,
                            stop_ids=(sep,), banned_ids=(seq.PAD,))
    hyps = model.generate([x.source for x in inputs], [x.prefix for x in inputs], settings,
                          allowed=lambda i, prefix: tries[i].allowed(prefix))
    return [ts.get(tuple(h.tokens), "") for ts, h in zip(titles, hyps)]


def run_ed(model: KilmModel, edset: EdSet, entities: dict[str, Entity], batch_size: int = 8,
           constrained: bool = False, progress: bool = True) -> tuple[list[EdRecord], int]:
    """Records in item order, and how many items were skipped (the context cannot fit the model)."""
    inputs = prepare(model, edset.items, entities)
    records: list[EdRecord] = []
    batches = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
    for batch in tqdm(batches, desc="ed", unit="batch", disable=not progress):
        scores = score_batched(model, batch)
        generated = constrained_titles(model, batch) if constrained else [None] * len(batch)
        for x, s, g in zip(batch, scores, generated):
            cands = x.item.candidates
            records.append(EdRecord(
                x.item.id, x.item.gold, cands[0],
                cands[max(range(len(s)), key=lambda j: s[j].mean)],
                cands[max(range(len(s)), key=lambda j: s[j].logprob)], g, s))
    return records, len(edset.items) - len(inputs)


def _accuracy(pairs: Sequence[tuple[str, str, str]]) -> Column:
    """(id, gold, chosen) → accuracy in percent, clustered by the gold entity."""
    return Column.of([(i, gold, 100.0 * (chosen == gold)) for i, gold, chosen in pairs])


def ed_columns(records: Sequence[EdRecord]) -> dict[str, Column]:
    """Per-item accuracy columns of one model: mean log-prob per token, summed log-prob, constrained."""
    columns = {"ed_accuracy": _accuracy([(r.id, r.gold, r.by_mean) for r in records]),
               "ed_accuracy_sum": _accuracy([(r.id, r.gold, r.by_sum) for r in records])}
    if records and records[0].constrained is not None:
        columns["ed_constrained_accuracy"] = _accuracy([(r.id, r.gold, r.constrained or "") for r in records])
    return columns


def ed_counts(records: Sequence[EdRecord], edset: EdSet) -> dict[str, float]:
    """Item counts and candidate recall: the share of ALL test mentions whose gold entity is among the
    alias table's candidates for the surface (the ceiling of any alias-table ED)."""
    recall = 100.0 * edset.covered / edset.mentions if edset.mentions else float("nan")
    return {"ed_n": len(records), "ed_ambiguous_mentions": edset.ambiguous, "ed_test_mentions": edset.mentions,
            "ed_candidate_recall": recall}


def word_weights(entities: dict[str, Entity]) -> dict[str, float]:
    """Inverse document frequency of each word over the entities' title + description texts, so that
    words every description has ("in", "the") count for little in the overlap baseline."""
    df: Counter[str] = Counter()
    for e in entities.values():
        df.update(set(tokens(f"{e.title} {e.description}")))
    return {t: math.log(len(entities) / n) for t, n in df.items()}


def context_overlap_choice(item: EdItem, entities: dict[str, Entity], weights: dict[str, float]) -> str:
    """The candidate whose title + description shares the most (IDF-weighted) distinct words with the
    paragraph outside the mention; ties go to the more frequent candidate (the alias table's order)."""
    context = set(tokens(item.text[: item.start] + " " + item.text[item.end :]))

    def overlap(title: str) -> float:
        return sum(weights.get(t, 0.0) for t in context & set(tokens(f"{title} {_description(entities, title)}")))

    return max(item.candidates, key=overlap)  # max keeps the first of equal scores


def ed_baselines(edset: EdSet, entities: dict[str, Entity]) -> dict[str, Column]:
    """Knowledge-free ED on every item: most-frequent entity and context–candidate word overlap."""
    weights = word_weights(entities)
    return {"ed_mfe": _accuracy([(x.id, x.gold, x.candidates[0]) for x in edset.items]),
            "ed_context_overlap": _accuracy([(x.id, x.gold, context_overlap_choice(x, entities, weights))
                                             for x in edset.items])}
