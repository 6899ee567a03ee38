"""Entity descriptions in external text: KILT-style lines (mention marked, gold title in ``output``) scored
with the probe's metrics (:func:`eval.probe.run_probe`, :func:`eval.probe.probe_columns`).

The gold title is the KB entity's when the title resolves (else the line's, normalised); the gold
description is the line's ``meta.description`` when it has one, else the KB entity's. A mention with
neither is not scored and is counted. Seen/unseen follow the KB entity's split; a gold outside the KB
counts only in the overall figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.data import ProbeItem
from eval.external.kb import KnowledgeBase
from eval.external.readers import read_mentions
from kilm import sequence as seq


@dataclass
class DescribeDataset:
    name: str
    path: Path
    format: str
    n: int
    items: list[ProbeItem]
    n_in_kb: int
    n_no_description: int
    description_source: dict[str, int] = field(default_factory=dict)


def load_describe_dataset(name: str, path: Path, kb: KnowledgeBase) -> DescribeDataset:
    fmt, mentions = read_mentions(path)
    items: list[ProbeItem] = []
    in_kb = no_description = 0
    sources: Counter[str] = Counter()
    for m in mentions:
        entity = kb.entities.get(kb.resolve(m.gold) or "") if m.gold else None
        in_kb += entity is not None
        description = m.description or (entity.description if entity is not None else "")
        if not description:
            no_description += 1
            continue
        sources["file" if m.description else "kb"] += 1
        title = entity.title if entity is not None else kb.normalize(m.gold)
        window = seq.Window(m.text, m.start, m.end, title, description)
        items.append(ProbeItem(f"{name}:{m.line}", window, entity.split if entity is not None else "out_of_kb"))
    return DescribeDataset(name, path, fmt, len(mentions), items, in_kb, no_description, dict(sources))
