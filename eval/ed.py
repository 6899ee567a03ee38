"""Zero-shot entity disambiguation by scoring each candidate's knowledge span in the mention's context.

For an ambiguous test mention, every candidate of the (train) alias table gets the span
``title <sep> description </ent_desc>`` teacher-forced after ``<ent_desc>``; the candidate with the best
mean log-prob per token wins (the summed log-prob is reported too). ``</ent_desc>`` is scored so that a
span cannot win by being a prefix of another. All candidates of a batch of mentions share one decoder
pass. Optionally, GENRE-style generation constrained to the candidate titles by a prefix trie.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from eval.data import EdItem, EdSet, Entity, fit_window
from eval.metrics import bootstrap_ci, weighted_mean
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


def ed_metrics(records: Sequence[EdRecord], edset: EdSet, seed: int = 0
               ) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Accuracies in percent (mean-per-token score, summed score, MFE baseline) with bootstrap intervals."""
    columns = {"ed_accuracy": [100.0 * (r.by_mean == r.gold) for r in records],
               "ed_accuracy_sum": [100.0 * (r.by_sum == r.gold) for r in records],
               "ed_mfe_baseline": [100.0 * (r.mfe == r.gold) for r in records]}
    if records and records[0].constrained is not None:
        columns["ed_constrained_accuracy"] = [100.0 * (r.constrained == r.gold) for r in records]
    recall = [100.0] * len(edset.items) + [0.0] * (edset.ambiguous - len(edset.items))
    columns["ed_candidate_recall"] = recall
    values = {k: weighted_mean(v) for k, v in columns.items()}
    ci = {k: list(bootstrap_ci(v, seed=seed)) for k, v in columns.items()}
    values["ed_n"] = len(records)
    values["ed_ambiguous_mentions"] = edset.ambiguous
    return values, ci
