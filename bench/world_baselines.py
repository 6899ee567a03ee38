"""What a reader who knows nothing about the synthetic world's entities scores on its test items.

The world must leave knowledge to the model (DESIGN.md, "The synthetic world"): this script reads
a pipeline run over a generated world plus the generator's answer key and prints the
knowledge-free baselines on the items eval scores (eval.data's probe and ED items):

- probe (test-page mentions): copy the mention as the title (exact match, seen entities), the
  share of those mentions that differ from the title, how many items have an unseen entity;
- ED (test mentions whose surface has >= 2 train alias candidates, gold among them): item count,
  most-frequent entity, bag of context words vs each candidate's title + description, and the
  word just before the mention vs each candidate title's qualifier (ties and misses: the MFE);
- for scale, a reader that does know the training text: each candidate scored by the context words
  (idf-weighted) that occur in train paragraphs mentioning it or on its own train page;
- leaks (all splits): the share of mentions whose sentence holds one of the entity's description
  facts (attribute strings its description states) within 12 words.

    python -m synth --entities 800 --seed 1 --output runs/w/world.xml.bz2
    python -m pipeline.run --input runs/w/world.xml.bz2 --output runs/w/data --train-tokenizer \
        --vocab-size 4000 --max-tokens 256 --text-scope lead
    python bench/world_baselines.py --data runs/w/data --truth runs/w/world.truth.jsonl [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eval.data import DataError, ed_items, load_alias, load_entities, probe_items  # noqa: E402
from eval.metrics import exact_match, tokens  # noqa: E402
from kilm.records import read_examples  # noqa: E402

FACT_WINDOW = 12  # words on each side of a mention
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_QUALIFIER = re.compile(r"\(([^()]*)\)\s*$|,\s*([^,]+)$")


@dataclass(frozen=True)
class Baselines:
    probe_n_seen: int
    probe_n_unseen: int
    probe_title_em_copy_seen: float
    probe_mention_differs_seen: float
    ed_n: int
    ed_ambiguous: int
    ed_mfe: float
    ed_context_overlap: float
    ed_cue_word: float
    ed_train_text_reader: float
    mentions: int
    mentions_fact_within_12_words: float


def description_facts(record: dict) -> list[str]:
    """An entity's description facts: string attribute values its description states verbatim."""
    description = record["description"]
    return [v for v in record["attributes"].values() if isinstance(v, str) and v in description]


def read_truth(path: Path) -> dict[str, dict]:
    """Entity records of the answer key by title."""
    try:
        with path.open(encoding="utf-8") as lines:
            return {r["title"]: r for r in map(json.loads, lines) if r["kind"] == "entity"}
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise DataError(f"--truth {path}: not a world.truth.jsonl ({e})") from None


def _percent(hits: list[bool]) -> float:
    return round(100.0 * sum(hits) / len(hits), 1) if hits else 0.0


def overlap_choice(context: str, candidates: tuple[str, ...], truth: dict[str, dict]) -> str:
    """The candidate whose title + description shares the most word types with the context (ties: the
    earlier candidate, i.e. the more frequent one)."""
    words = set(tokens(context))
    scores = [len(words & set(tokens(f"{c} {truth[c]['description']}" if c in truth else c))) for c in candidates]
    return candidates[scores.index(max(scores))]


def qualifier(title: str) -> set[str]:
    """Words of a title's qualifier: "Name (1931 film)" -> {1931, film}; "Town, Country" -> {country}."""
    match = _QUALIFIER.search(title)
    return set(tokens(next(g for g in match.groups() if g))) if match else set()


def cue_word_choice(left: str, candidates: tuple[str, ...]) -> str:
    """The first candidate whose title qualifier holds the word just before the mention, else the MFE."""
    before = tokens(left)[-1:]
    for candidate in candidates:
        if before and before[0] in qualifier(candidate):
            return candidate
    return candidates[0]


class TrainTextReader:
    """Word bags of the train split per entity (paragraphs that mention it, paragraphs of its page)."""

    def __init__(self, data: Path) -> None:
        self.bags: dict[str, set[str]] = collections.defaultdict(set)
        self.document_frequency: collections.Counter[str] = collections.Counter()
        self.paragraphs = 0
        for record in read_examples(data, "train"):
            words = set(tokens(record["text"]))
            self.paragraphs += 1
            self.document_frequency.update(words)
            for title in {record["page_title"], *(m["entity"] for m in record["mentions"])}:
                self.bags[title] |= words

    def choose(self, context: str, candidates: tuple[str, ...]) -> str:
        """The candidate whose train text shares the most (idf-weighted) context words; ties: the first."""
        words = set(tokens(context))
        scores = [sum(math.log(self.paragraphs / self.document_frequency[w]) for w in words & self.bags[c])
                  for c in candidates]
        return candidates[scores.index(max(scores))]


def fact_near(text: str, start: int, end: int, facts: list[str], window: int = FACT_WINDOW) -> bool:
    """Whether a fact stands within `window` words of the mention [start, end) in its sentence."""
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    following = _SENTENCE_END.search(text, end)
    sentence_end = following.start() if following else len(text)
    left = tokens(text[sentence_start:start])[-window:]
    right = tokens(text[end:sentence_end])[:window]
    near = " " + " ".join(left) + " | " + " ".join(right) + " "
    return any(f" {' '.join(tokens(fact))} " in near for fact in facts if tokens(fact))


def measure(data: Path, truth_path: Path) -> Baselines:
    truth = read_truth(truth_path)
    entities = load_entities(data)
    probes = probe_items(data, entities)
    seen = [p for p in probes if p.split == "seen"]
    copies = [bool(exact_match(p.window.text[p.window.start:p.window.end], p.window.title)) for p in seen]
    ed = ed_items(data, load_alias(data))
    mfe = [item.candidates[0] == item.gold for item in ed.items]
    overlap = [overlap_choice(item.text[:item.start] + " " + item.text[item.end:], item.candidates, truth) == item.gold
               for item in ed.items]
    cue = [cue_word_choice(item.text[:item.start], item.candidates) == item.gold for item in ed.items]
    reader = TrainTextReader(data)
    informed = [reader.choose(item.text[:item.start] + " " + item.text[item.end:], item.candidates) == item.gold
                for item in ed.items]
    near = []
    for split in ("train", "valid", "test"):
        for record in read_examples(data, split):
            for m in record["mentions"]:
                facts = description_facts(truth[m["entity"]]) if m["entity"] in truth else []
                near.append(fact_near(record["text"], m["start"], m["end"], facts))
    return Baselines(
        probe_n_seen=len(seen), probe_n_unseen=len(probes) - len(seen),
        probe_title_em_copy_seen=_percent(copies), probe_mention_differs_seen=_percent([not c for c in copies]),
        ed_n=len(ed.items), ed_ambiguous=ed.ambiguous, ed_mfe=_percent(mfe), ed_context_overlap=_percent(overlap),
        ed_cue_word=_percent(cue), ed_train_text_reader=_percent(informed), mentions=len(near),
        mentions_fact_within_12_words=_percent(near))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="pipeline output directory over the world")
    parser.add_argument("--truth", type=Path, required=True, help="the world's answer key (world.truth.jsonl)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        result = measure(args.data, args.truth)
    except DataError as e:
        parser.exit(2, f"error: {e}\n")
    if args.json:
        print(json.dumps(asdict(result), indent=1))
    else:
        for key, value in asdict(result).items():
            print(f"{key:34} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
