"""The synthetic world's answer key (``world.truth.jsonl``) as eval reads it: each entity's description facts.

Only ``{"kind": "entity"}`` lines are read; a fact is a string attribute value that stands verbatim in the
entity's description (:func:`eval.metrics.description_facts`). Real dumps have no answer key: fact
accuracy is then not reported.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.data import DataError
from eval.metrics import description_facts


def load_facts(path: Path) -> dict[str, list[str]]:
    """Entity title → its description facts (entities without any are left out)."""
    if not path.is_file():
        raise DataError(f"--truth {path}: no such file (the generator writes world.truth.jsonl beside the dump)")
    facts: dict[str, list[str]] = {}
    entities = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"--truth {path}:{lineno}: not JSON ({e})") from None
            if not isinstance(record, dict) or record.get("kind") != "entity":
                continue
            entities += 1
            try:
                found = description_facts(record["attributes"], record["description"])
                title = record["title"]
            except (KeyError, AttributeError, TypeError):
                raise DataError(f"--truth {path}:{lineno}: an entity line needs title, attributes (an object) "
                                "and description") from None
            if found:
                facts[title] = found
    if entities == 0:
        raise DataError(f"--truth {path}: no entity lines (expected the generator's world.truth.jsonl)")
    return facts
