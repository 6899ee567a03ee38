"""Zero-shot entity disambiguation on external sets (AIDA, MSNBC, AQUAINT, ACE2004, CWEB, WIKI, ...).

Scoring is the embedded task's (:func:`eval.ed.run_ed`: each candidate's ``title <sep> description``
teacher-forced after the mention, best mean log-prob per token wins; long contexts windowed around the
mention to the model's length). What is new is the knowledge base step, stated once here:

- gold and candidate titles are normalised by the site's rules and resolved through redirects;
- a gold outside the KB is counted (``n_out_of_kb``) and left out of in-KB accuracy, as GENRE does;
- candidates: the line's own when it has any, else the KB's alias table (top ``K`` by anchor count);
  a candidate outside the KB is dropped (it has no description to score) and counted;
- in-KB accuracy is over every in-KB mention: one whose gold is not among its candidates (candidate
  recall) or whose context cannot fit the model counts as wrong;
- the prior baseline p(e|m) picks the candidate with the most anchors for the mention's surface in the
  KB's alias table; a mention with no counted candidate gets no prediction (wrong), and its coverage is
  reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.data import EdItem, EdSet, Entity
from eval.ed import run_ed
from eval.external.kb import KnowledgeBase
from eval.external.readers import Mention, read_mentions
from eval.models import KilmModel


@dataclass(frozen=True)
class KbMention:
    """An in-KB mention: its resolved gold and candidates; ``item`` is None when the model cannot win."""

    mention: Mention
    gold: str
    candidates: tuple[str, ...]
    item: EdItem | None
    prior: str | None


@dataclass
class EdDataset:
    name: str
    path: Path
    format: str
    n: int
    mentions: list[KbMention]
    n_out_of_kb: int
    candidates_out_of_kb: int
    candidate_source: dict[str, int] = field(default_factory=dict)
    has_counts: bool = False

    @property
    def edset(self) -> EdSet:
        items = [m.item for m in self.mentions if m.item is not None]
        return EdSet(items, len(items))


def resolve_candidates(kb: KnowledgeBase, mention: Mention, k: int) -> tuple[tuple[str, ...], int, str]:
    """(in-KB candidates in order without repeats, how many named no KB entity, source)."""
    if mention.candidates:
        resolved = [kb.resolve(c) for c in mention.candidates]
        source = "file"
    else:
        resolved = [e if e in kb.entities else None for e, _ in kb.alias_entities(mention.surface)[:k]]
        source = "alias_table"
    return tuple(dict.fromkeys(r for r in resolved if r is not None)), sum(r is None for r in resolved), source


def prior_choice(kb: KnowledgeBase, surface: str, candidates: Sequence[str]) -> str | None:
    """The candidate with the most anchors of this surface (ties: candidate order), None without counts."""
    counts = dict(kb.alias_entities(surface))
    best = max(candidates, key=lambda c: counts.get(c, 0), default=None)
    return best if best is not None and counts.get(best, 0) > 0 else None


def load_ed_dataset(name: str, path: Path, kb: KnowledgeBase, k: int) -> EdDataset:
    fmt, mentions = read_mentions(path)
    kept: list[KbMention] = []
    out_of_kb = dropped = 0
    sources: Counter[str] = Counter()
    for m in mentions:
        gold = kb.resolve(m.gold) if m.gold else None
        if gold is None:
            out_of_kb += 1
            continue
        candidates, missing, source = resolve_candidates(kb, m, k)
        dropped += missing
        sources[source] += 1
        item = EdItem(f"{name}:{m.line}", m.text, m.start, m.end, gold, candidates) if gold in candidates else None
        kept.append(KbMention(m, gold, candidates, item, prior_choice(kb, m.surface, candidates)))
    return EdDataset(name, path, fmt, len(mentions), kept, out_of_kb, dropped, dict(sources), kb.has_counts)


@dataclass(frozen=True)
class EdPrediction:
    """One in-KB mention's outcome for one model (``predictions.jsonl``)."""

    id: str
    line: int
    gold: str
    prediction: str | None  # None: gold not among candidates, or the context does not fit
    prediction_sum: str | None
    candidates: list[str]


def run_external_ed(model: KilmModel, data: EdDataset, entities: dict[str, Entity], batch_size: int,
                    progress: bool) -> tuple[list[EdPrediction], int]:
    """Predictions over every in-KB mention, and how many scorable ones did not fit the model."""
    edset = data.edset
    records, skipped = run_ed(model, edset, entities, batch_size, False, progress) if edset.items else ([], 0)
    by_id = {r.id: r for r in records}
    out = []
    for m in data.mentions:
        r = by_id.get(m.item.id) if m.item is not None else None
        out.append(EdPrediction(m.mention.id, m.mention.line, m.gold, r.by_mean if r else None,
                                r.by_sum if r else None, list(m.candidates)))
    return out, skipped
