"""No leakage (DESIGN.md, "Splits"), on a generated world with unseen entities: nothing an evaluation
holds out reaches training, the alias table or the tokenizer."""

from __future__ import annotations

import collections
import json
import re

import pytest

from kilm import records
from kilm import sequence as seq
from kilm.indexed import read_indexed
from kilm.tokenizer import KilmTokenizer
from pipeline.vocabulary import tokenizer_sample, train_tokenizer
from tests.world_runs import pipeline_output

OPTIONS = ("--train-tokenizer", "--vocab-size", "600", "--max-tokens", "128", "--text-scope", "article",
           "--num-shards", "2", "--unseen-entity-fraction", "0.25", "--test-fraction", "0.2",
           "--valid-fraction", "0.1", "--tokenizer-sample-fraction", "0.8")
SPAN = re.compile(rf"{re.escape(seq.DESC)} (.*?) {re.escape(seq.DESC_END)}")


@pytest.fixture(scope="module")
def out():
    return pipeline_output(60, 3, *OPTIONS)


@pytest.fixture(scope="module")
def entities(out) -> dict[str, dict]:
    return {e["title"]: e for e in records.read_entities(out)}


@pytest.fixture(scope="module")
def examples(out) -> dict[str, list[dict]]:
    return {split: list(records.read_examples(out, split)) for split in records.SPLITS}


def unseen(entities: dict[str, dict]) -> set[str]:
    found = {t for t, e in entities.items() if e["split"] == "unseen"}
    assert found, "the world has unseen entities"
    return found


def test_no_unseen_knowledge_span_in_any_train_row(out, entities, examples):
    tokenizer = KilmTokenizer.load(out / "tokenizer")
    hidden = unseen(entities)
    spans = []
    for shard in sorted((out / "bin").glob("shard*")):
        rows = list(records.read_rows(out, shard.name, "train"))
        targets = read_indexed(shard / "train.target")
        assert len(rows) == len(targets)
        for row, target in zip(rows, targets):
            assert row["entity"] not in hidden
            spans += [seq.split_knowledge_span(s)[0] for s in SPAN.findall(tokenizer.decode(target.tolist()))]
    assert spans and not set(spans) & hidden
    train_mentions = {m["entity"] for e in examples["train"] for m in e["mentions"]}
    assert train_mentions & hidden, "unseen entities are mentioned in train text (as plain text)"
    test_rows = list(records.read_rows(out, "shard0", "test"))
    assert {r["entity"] for r in test_rows} & hidden, "their knowledge is probed on test pages"


def test_no_unseen_entity_page_outside_test(entities, examples):
    hidden = unseen(entities)
    assert not hidden & {e["page_title"] for split in ("train", "valid") for e in examples[split]}
    assert hidden & {e["page_title"] for e in examples["test"]}


def test_alias_counts_and_most_frequent_entity_from_train_pages_only(out, entities, examples):
    counts = collections.Counter((m["surface"], m["entity"]) for e in examples["train"] for m in e["mentions"])
    held_out = collections.Counter((m["surface"], m["entity"]) for s in ("valid", "test") for e in examples[s]
                                   for m in e["mentions"])
    assert set(held_out) - set(counts), "held-out pages have anchors of their own"
    for alias in records.read_aliases(out):
        for candidate in alias["entities"]:
            assert candidate["count"] == counts[alias["surface"], candidate["entity"]], alias
        # ranked by train count: the first candidate is the most-frequent-entity baseline's answer
        assert alias["entities"] == sorted(alias["entities"], key=lambda c: (-c["count"], c["entity"]))
    for title, entity in entities.items():
        assert {a["surface"]: a["count"] for a in entity["aliases"]} == {
            s: n for (s, e), n in counts.items() if e == title}


def test_tokenizer_trained_on_train_pages_only(out, examples, tmp_path):
    """The trained tokenizer is exactly the one its sample of train paragraphs gives."""
    options = json.loads((out / "manifest.json").read_text())["options"]
    train = [{**e, "split": "train"} for e in examples["train"]]
    sample = tokenizer_sample(train, options["tokenizer_sample_fraction"], options["tokenizer_sample_max"])
    assert 0 < len(sample) < len(examples["train"])
    KilmTokenizer.from_json(train_tokenizer(sample, "bpe", 600)).save(tmp_path)
    for name in ("tokenizer.json", "dict.txt"):
        assert (out / "tokenizer" / name).read_bytes() == (tmp_path / name).read_bytes(), name
