"""The pipeline on the real enwiki sample (../shared/data; skipped with a reason when absent)."""

from __future__ import annotations

import filecmp
import gzip
import itertools
import json
import re

import pytest

from kilm import sequence as seq
from kilm.tokenizer import EncodedText, KilmTokenizer
from pipeline.run import main, run
from tests.dumps import read_jsonl_dir, shared_dump

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]
RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|<ref|'''|&nbsp;|^\s*\|[-}]?", re.MULTILINE)


@pytest.fixture(scope="module")
def enwiki(tmp_path_factory):
    dump = shared_dump("enwiki-pages-articles-sample.xml.bz2")
    out = tmp_path_factory.mktemp("enwiki") / "out"
    args = ["--input", str(dump), "--output", str(out), "--train-tokenizer", "--vocab-size", "4000",
            "--num-shards", "2", "--max-tokens", "256", "--text-scope", "article"]  # every body paragraph
    assert main(args) == 0
    return dump, out, args


def test_outcomes_sum_to_pages_read(enwiki):
    _, out, _ = enwiki
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["pages_read"] == 206
    assert sum(manifest["counts"]["outcomes"].values()) == 206
    assert manifest["counts"]["outcomes"]["redirect"] == 100 - 1  # one redirect is in the Wikipedia namespace
    assert manifest["license"].startswith("Text derived from Wikipedia is licensed CC BY-SA")
    assert manifest["inputs"][0]["sha256"] == "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d"


def test_descriptions_cover_articles_without_markup(enwiki):
    _, out, _ = enwiki
    entities = read_jsonl_dir(out / "entities")
    described = [e for e in entities if e["description"]]
    assert len(described) / len(entities) >= 0.95
    for entity in described:
        assert not RESIDUE.search(entity["description"]), entity


def test_examples_have_no_markup_residue_and_exact_offsets(enwiki):
    _, out, _ = enwiki
    examples = read_jsonl_dir(out / "examples")
    assert examples
    for example in examples:
        assert not RESIDUE.search(example["text"]), example["text"][:200]
        for mention in example["mentions"]:
            assert example["text"][mention["start"] : mention["end"]] == mention["surface"]


def test_redirects_point_at_their_target_article(enwiki):
    _, out, _ = enwiki
    entities = {e["title"]: e for e in read_jsonl_dir(out / "entities")}
    assert "ANOVA" in entities["Analysis of variance"]["redirects"]
    assert "AynRand" in entities["Ayn Rand"]["redirects"]
    aliases = {a["surface"]: a["entities"] for a in read_jsonl_dir(out / "alias")}
    assert aliases["ANOVA"][0]["entity"] == "Analysis of variance"


def test_shards_load_with_fairseq_and_decode_to_the_jsonl_text(enwiki):
    from fairseq.data import Dictionary, data_utils

    _, out, _ = enwiki
    tokenizer = KilmTokenizer.load(out / "tokenizer")
    examples = {e["id"]: e for e in read_jsonl_dir(out / "examples")}
    checked = 0
    for shard in ("shard0", "shard1"):
        dictionary = Dictionary.load(str(out / "bin" / shard / "dict.txt"))
        assert len(dictionary) == len(tokenizer.symbols)
        assert [dictionary[i] for i in tokenizer.special.kilm] == list(seq.SPECIAL_TOKENS)
        source = data_utils.load_indexed_dataset(str(out / "bin" / shard / "train.source"), dictionary)
        target = data_utils.load_indexed_dataset(str(out / "bin" / shard / "train.target"), dictionary)
        with gzip.open(out / "bin" / shard / "train.rows.jsonl.gz", "rt") as f:
            rows = [json.loads(line) for line in f]
        assert len(source) == len(target) == len(rows) > 0
        for i, row in enumerate(rows):
            example = examples[row["example"]]
            decoded = tokenizer.decode(target[i].tolist())
            start, end = row["window"]
            assert len(target[i]) + 1 <= 256
            if row["mention"] is None:
                assert decoded == tokenizer.decode(source[i].tolist()) == example["text"][start:end]
                continue
            assert seq.strip_knowledge(decoded) == example["text"][start:end]
            assert tokenizer.decode(source[i].tolist()).count(seq.MASK) == 1
            checked += 1
    assert checked > 50


def test_paragraph_pieces_reused_from_one_encoding_match_real_text(enwiki):
    """Rows reuse a paragraph's encoding for its pieces (kilm.tokenizer.EncodedText): on real text every
    piece cut at a word, a mention or a punctuation boundary encodes as it would on its own."""
    _, out, _ = enwiki
    tokenizer = KilmTokenizer.load(out / "tokenizer")
    examples = read_jsonl_dir(out / "examples")[:300]
    checked = 0
    for example in examples:
        text = example["text"]
        whole = EncodedText(tokenizer, text)
        cuts = sorted({0, len(text), *(m[k] for m in example["mentions"] for k in ("start", "end")),
                       *(i for i, ch in enumerate(text) if not ch.isalnum())})
        pieces = [*itertools.pairwise(cuts), *((0, c) for c in cuts), *((c, len(text)) for c in cuts)]
        for a, b in pieces:
            assert whole.piece(a, b) == tokenizer.encode(text[a:b]), (example["id"], a, b)
            checked += 1
    assert checked > 10_000


def test_two_runs_are_byte_identical(enwiki, tmp_path):
    _, first, args = enwiki
    second = tmp_path / "again"
    args = [a if a != str(first) else str(second) for a in args]
    assert main([*args, "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]) == 0
    first_files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert first_files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in first_files:
        if relative.name == "manifest.json":
            a = json.loads((first / relative).read_text())
            b = json.loads((second / relative).read_text())
            a["options"].pop("output")
            b["options"].pop("output")
            assert a == b
        else:
            assert filecmp.cmp(first / relative, second / relative, shallow=False), relative


def test_dataflow_graph_builds_without_submitting(tmp_path):
    dump = shared_dump("enwiki-pages-articles-sample.xml.bz2")
    pipeline = run(["--input", str(dump), "--output", "gs://kilm-example-bucket/out", "--train-tokenizer",
                    "--runner", "DataflowRunner", "--project", "example-project", "--region", "us-central1",
                    "--temp_location", "gs://kilm-example-bucket/tmp", "--dry_run", "True",
                    "--sdk_container_image", "example.io/kilm-beam:latest"], build_only=True)
    labels = {t.full_label for t in pipeline.transforms_stack[0].parts}
    assert {"ReadPages", "ParsePages", "ResolveRedirects", "ResolveLinks", "Binarize"} <= labels
