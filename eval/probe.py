"""Knowledge probe: generate ``title <sep> description`` after each test mention and compare with the gold.

The source is the paragraph with ``<ent> m </ent><ent_desc> <mask> </ent_desc>`` after the mention; the
decoder is forced with the target up to ``<ent_desc>`` and beam search (explicit settings) continues
until ``</ent_desc>``. Seen and unseen entities are reported apart, and so are mentions that differ from
the title (``_alias``: copying the mention cannot give the title) and mentions equal to it (``_same``).
Scores that credit knowledge only: description F1 over tokens absent from the source window
(``desc_novel_f1``) and, with an answer key, the share of the entity's description facts stated
(``fact_accuracy``). Intervals resample entities, not items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tqdm import tqdm

from eval.data import ProbeItem, fit_window
from eval.metrics import Column, exact_match, fact_accuracy, normalize_text, novel_token_f1, rouge_l, token_f1
from eval.models import KilmModel
from kilm import sequence as seq


@dataclass(frozen=True)
class ProbeRecord:
    """One generated span and its scores (kept for ``predictions.jsonl``)."""

    id: str
    split: str
    surface: str
    gold_title: str
    gold_description: str
    title: str
    description: str
    title_em: float
    desc_f1: float
    desc_rouge_l: float
    desc_novel_f1: float | None  # None: every gold description token is in the window
    fact_accuracy: float | None  # None: no answer key, or the entity has no description facts


def is_alias(surface: str, title: str) -> bool:
    """The mention differs from the title (after normalisation): copying it cannot give the title."""
    return normalize_text(surface) != normalize_text(title)


def decode_span(model: KilmModel, generated: Sequence[int]) -> tuple[str, str]:
    """Generated ids (after ``<ent_desc>``) → (title, description)."""
    s = model.tokenizer.special
    text = model.tokenizer.decode([s.desc, *generated, s.desc_end])
    return seq.split_knowledge_span(seq.extract_generated_span(text))


def run_probe(model: KilmModel, items: Sequence[ProbeItem], batch_size: int = 16, beam: int = 4,
              max_new_tokens: int = 64, progress: bool = True, facts: Mapping[str, Sequence[str]] | None = None
              ) -> tuple[list[ProbeRecord], int]:
    """Records in item order, and how many items were skipped (the mention alone exceeds the model).
    ``facts`` (entity title → description facts, from an answer key) enables fact accuracy."""
    settings = model.probe_settings(beam=beam, max_new_tokens=max_new_tokens)
    prepared = []
    for item in items:
        window = fit_window(item.window, model.tokenizer, model.max_positions, max_new_tokens + 1)
        if window is not None:
            prepared.append((item, model.tokenizer.encode_window(window), window))
    skipped = len(items) - len(prepared)
    order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i][1].source))  # similar lengths batch well
    records: dict[int, ProbeRecord] = {}
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for batch in tqdm(batches, desc="probe", unit="batch", disable=not progress):
        encs = [prepared[i][1] for i in batch]
        hyps = model.generate([e.source for e in encs], [model.decoder_prefix(e.target[: e.span_start]) for e in encs],
                              settings)
        for i, hyp in zip(batch, hyps):
            item = prepared[i][0]
            title, description = decode_span(model, hyp.tokens)
            gold = item.window
            window = prepared[i][2]
            records[i] = ProbeRecord(item.id, item.split, gold.surface, gold.title, gold.description, title,
                                     description, exact_match(title, gold.title),
                                     token_f1(description, gold.description), rouge_l(description, gold.description),
                                     novel_token_f1(description, gold.description, window.text),
                                     None if facts is None else fact_accuracy(description, facts.get(gold.title, ())))
    return [records[i] for i in range(len(prepared))], skipped


#: Item groups: the split of the entity, and whether the mention differs from the title.
GROUPS = {"": lambda r: True, "_seen": lambda r: r.split == "seen", "_unseen": lambda r: r.split == "unseen",
          "_seen_alias": lambda r: r.split == "seen" and r.alias,
          "_seen_same": lambda r: r.split == "seen" and not r.alias,
          "_unseen_alias": lambda r: r.split == "unseen" and r.alias,
          "_unseen_same": lambda r: r.split == "unseen" and not r.alias}
#: Description scores, reported for all items, seen and unseen.
_DESC_GROUPS = ("", "_seen", "_unseen")


@dataclass(frozen=True)
class _Scored:
    """What grouping needs of a record or an item."""

    id: str
    split: str
    entity: str
    alias: bool
    scores: dict[str, float | None]


def _columns(scored: Sequence[_Scored], names: Sequence[str], groups: Sequence[str]) -> dict[str, Column]:
    """``probe_{name}{group}`` columns in percent, clustered by the gold entity."""
    columns = {}
    for group in groups:
        members = [s for s in scored if GROUPS[group](s)]
        for name in names:
            columns[f"probe_{name}{group}"] = Column.of(
                [(s.id, s.entity, None if s.scores[name] is None else 100.0 * s.scores[name]) for s in members])
    return columns


def _scored(record: ProbeRecord) -> _Scored:
    return _Scored(record.id, record.split, record.gold_title, is_alias(record.surface, record.gold_title),
                   {"title_em": record.title_em, "desc_f1": record.desc_f1, "desc_rougeL": record.desc_rouge_l,
                    "desc_novel_f1": record.desc_novel_f1, "fact_accuracy": record.fact_accuracy})


def probe_columns(records: Sequence[ProbeRecord], with_facts: bool) -> tuple[dict[str, Column], dict[str, int]]:
    """Per-item columns of every probe metric, and item counts per group (``probe_n{group}``)."""
    scored = [_scored(r) for r in records]
    columns = _columns(scored, ["title_em"], list(GROUPS))
    names = ["desc_f1", "desc_rougeL", "desc_novel_f1", *(["fact_accuracy"] if with_facts else [])]
    columns.update(_columns(scored, names, _DESC_GROUPS))
    return columns, _group_counts(scored)


def _group_counts(scored: Sequence[_Scored]) -> dict[str, int]:
    return {f"probe_n{g}": sum(1 for s in scored if GROUPS[g](s)) for g in GROUPS}


def probe_item_counts(items: Sequence[ProbeItem]) -> dict[str, int]:
    """``probe_n{group}`` of the items themselves (before any model skips one)."""
    return _group_counts([_Scored(i.id, i.split, i.window.title, is_alias(i.window.surface, i.window.title), {})
                          for i in items])


def probe_baselines(items: Sequence[ProbeItem], facts: Mapping[str, Sequence[str]] | None
                    ) -> dict[str, Column]:
    """Knowledge-free readers on the probe items: copy the mention as the title
    (``probe_title_em_copy*``) and, with an answer key, copy the whole window as the description
    (``probe_fact_accuracy_copy_context*``: the facts a reader finds without knowing the entity)."""
    scored = []
    for item in items:
        w = item.window
        scores = {"title_em_copy": exact_match(w.surface, w.title),
                  "fact_accuracy_copy_context": (None if facts is None
                                                 else fact_accuracy(w.text, facts.get(w.title, ())))}
        scored.append(_Scored(item.id, item.split, w.title, is_alias(w.surface, w.title), scores))
    columns = _columns(scored, ["title_em_copy"], _DESC_GROUPS)
    if facts is not None:
        columns.update(_columns(scored, ["fact_accuracy_copy_context"], _DESC_GROUPS))
    return columns
