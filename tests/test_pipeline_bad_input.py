"""Bad input: every damaged page or file is kept as a dead letter or an error, counted, and the rest of
the dump is still processed; a missing file or a wrong option stops with a message naming it."""

from __future__ import annotations

import bz2
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.run import main
from tests.dumps import Page, dump_xml, read_jsonl_dir, write_dump

ROOT = Path(__file__).resolve().parents[1]

GOOD_PAGES = [
    Page("Velor", "{{Short description|Capital city of Norland}}\n'''Velor''' is a city in [[Norland]]. "
                  "The [[Velor River|river]] runs through it. See [[Nowhere Page]].\n\nIt was founded by [[Aldo]]."),
    Page("Norland", "'''Norland''' is a country. Its capital is [[Velor]]. [[Old Norland]] was its name."),
    Page("Aldo Ren", "'''Aldo Ren''' (born 1901) is a Norlandic founder. He founded [[Velor]] in [[Norland]]."),
    Page("Old Norland", "", redirect="Norland"),
    Page("Aldo", "", redirect="Aldo Renn"),  # a chain: Aldo → Aldo Renn → Aldo Ren
    Page("Aldo Renn", "", redirect="Aldo Ren"),
    Page("Loop A", "", redirect="Loop B"),
    Page("Loop B", "", redirect="Loop A"),
    Page("Velor River", "", redirect="Loop A"),
    Page("Empty", ""),
    Page("Velor", "A duplicate of '''Velor''' with a higher page id.", page_id=999),
    Page("Huge", "'''Huge''' is big. " + "word " * (1_100_000)),
    Page("Unbalanced", "'''Unbalanced''' has a [[broken link and {{an unclosed template.\n\n"
                       "A second [[Velor]] paragraph."),
    Page("Talk:Velor", "A talk page.", ns=1),
    Page("Mercury", "'''Mercury''' may refer to:\n* [[Velor]], a city\n* [[Norland]]\n{{disambiguation}}"),
]
MALFORMED = ("  <page>\n    <title>Malformed</title>\n    <ns>0</ns>\n    <id>77</id>\n    <revision>\n"
             "      <text>unclosed text\n    </revision>\n  </page>\n")
BAD_BYTES_PAGE = (b"  <page>\n    <title>Bytes</title>\n    <ns>0</ns>\n    <id>78</id>\n    <revision>\n"
                  b"      <text>caf\xe9 latin-1 bytes</text>\n    </revision>\n  </page>\n")
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE mediawiki [\n <!ENTITY lol "lol">\n'
          ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
          ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n')


def _write_inputs(tmp: Path) -> list[Path]:
    main_xml = dump_xml(GOOD_PAGES)
    cut = main_xml.rindex("</mediawiki>")
    damaged = main_xml[:cut].encode() + MALFORMED.encode() + BAD_BYTES_PAGE + b"</mediawiki>\n"
    main_dump = tmp / "main.xml.bz2"
    main_dump.write_bytes(bz2.compress(damaged))

    # A multistream bz2 (as Wikimedia ships): 10 pages a stream, cut inside the last stream.
    truncated_pages = [Page(f"Trunc {i}", f"'''Trunc {i}''' is a page about [[Velor]]. " * 40) for i in range(60)]
    xml = dump_xml(truncated_pages)
    starts = [i for i in range(len(xml)) if xml.startswith("  <page>", i)]
    bounds = [0, *starts[10::10], len(xml)]
    streams = [bz2.compress(xml[a:b].encode()) for a, b in itertools.pairwise(bounds)]
    truncated = tmp / "truncated.xml.bz2"
    truncated.write_bytes(b"".join(streams[:-1]) + streams[-1][: len(streams[-1]) // 2])

    cut_xml = tmp / "cut.xml"  # plain XML that ends inside a page
    text = dump_xml([Page("Whole", "Whole is complete."), Page("Partial", "This page never ends " * 20)])
    cut_xml.write_text(text[: text.index("never ends") + 40], encoding="utf-8")

    laughs_xml = dump_xml([Page("Laugh", "'''Laugh''' is fine."), Page("Bomb", "&lol3;")])
    laughs_xml = laughs_xml.replace("&amp;lol3;", "&lol3;")
    laughs = tmp / "laughs.xml"
    laughs.write_text(LAUGHS + laughs_xml, encoding="utf-8")
    return [main_dump, truncated, laughs, cut_xml]


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    inputs = _write_inputs(tmp)
    out = tmp / "out"
    argv = [a for p in inputs for a in ("--input", str(p))]
    assert main([*argv, "--output", str(out), "--train-tokenizer", "--vocab-size", "300",
                 "--unseen-entity-fraction", "0", "--valid-fraction", "0", "--test-fraction", "0"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    dead = read_jsonl_dir(out / "dead_letter")
    examples = read_jsonl_dir(out / "examples")
    entities = {e["title"]: e for e in read_jsonl_dir(out / "entities")}
    return manifest, dead, examples, entities


def test_outcomes_reconcile_with_pages_read(run_output):
    manifest, dead, _, _ = run_output
    counts = manifest["counts"]
    assert sum(counts["outcomes"].values()) == counts["pages_read"]
    dead_outcomes = {k: v for k, v in counts["outcomes"].items() if k.startswith("dead_letter_")}
    page_dead = [d for d in dead if d["reason"] not in ("redirect_loop", "redirect_chain_too_long")]
    assert sum(dead_outcomes.values()) == len(page_dead)


@pytest.mark.parametrize(
    ("reason", "title"),
    [("empty_page", "Empty"), ("page_too_large", "Huge"), ("duplicate_title", "Velor"),
     ("malformed_xml", "Malformed"), ("invalid_utf8", "Bytes"), ("malformed_xml", "Bomb"),
     ("redirect_loop", "Loop A"), ("truncated_page", "Partial")],
)
def test_each_bad_page_is_a_dead_letter_with_its_reason(run_output, reason, title):
    _, dead, _, _ = run_output
    matching = [d for d in dead if d["reason"] == reason and d["title"] == title]
    assert matching, f"no dead letter {reason} for {title}"
    assert all(d.get("file") is not None for d in matching)


def test_damaged_files_are_recorded_and_keep_what_was_read(run_output):
    manifest, _, examples, entities = run_output
    reasons = {(Path(e["file"]).name, e["reason"].split(":")[0]) for e in manifest["errors"]}
    assert ("truncated.xml.bz2", "truncated_compressed_stream") in reasons
    assert ("laughs.xml", "doctype_with_entity_declarations_ignored") in reasons
    assert ("cut.xml", "input_ends_inside_a_page") in reasons
    assert "Whole" in entities
    assert any(t.startswith("Trunc ") for t in entities), "pages before the truncation are kept"
    assert "Laugh" in entities, "the good page of the billion-laughs file is kept"
    assert not any("lol" in e["text"] for e in examples)


def test_links_resolve_through_redirects_and_missing_targets_are_counted(run_output):
    manifest, _, examples, entities = run_output
    norland = next(e for e in examples if e["page_title"] == "Norland")
    assert {(m["surface"], m["entity"]) for m in norland["mentions"]} == {("Velor", "Velor"),
                                                                        ("Old Norland", "Norland")}
    velor = [e for e in examples if e["page_title"] == "Velor"]
    founded = next(e for e in velor if e["paragraph"] == 1)
    assert [(m["surface"], m["entity"]) for m in founded["mentions"]] == [("Aldo", "Aldo Ren")]  # a 2-hop chain
    assert manifest["links"]["missing_target"] >= 1
    assert manifest["redirects"]["loop"] >= 1
    assert "Old Norland" in entities["Norland"]["redirects"]
    assert entities["Velor"]["description"] == "Capital city of Norland"
    assert entities["Velor"]["description_source"] == "short_description"
    assert entities["Aldo Ren"]["description"] == "Aldo Ren is a Norlandic founder."
    assert "Mercury" not in entities  # a disambiguation page feeds aliases, it is no entity
    assert manifest["counts"]["outcomes"]["disambiguation"] == 1


def test_unbalanced_markup_is_cleaned_and_the_rest_kept(run_output):
    _, _, examples, _ = run_output
    texts = [e["text"] for e in examples if e["page_title"] == "Unbalanced"]
    assert len(texts) == 2
    assert not any(token in t for t in texts for token in ("[[", "]]", "{{", "}}"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.run", *args], cwd=ROOT, capture_output=True, text=True)


def test_missing_input_names_the_file(tmp_path):
    result = _cli("--input", str(tmp_path / "nope.xml.bz2"), "--output", str(tmp_path / "o"), "--train-tokenizer")
    assert result.returncode == 2
    assert "nope.xml.bz2" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [(["--text-scope", "everything"], "--text-scope"), (["--num-shards", "0"], "--num-shards"),
     (["--valid-fraction", "1.5"], "--valid-fraction"), (["--num-shard", "2"], "--num-shard"),
     (["--description-sources", "short_description,magic"], "--description-sources")],
)
def test_wrong_options_name_the_option(tmp_path, args, named):
    dump = write_dump(tmp_path / "d.xml", [Page("A", "'''A''' is a letter.")])
    result = _cli("--input", str(dump), "--output", str(tmp_path / "o"), "--train-tokenizer", *args)
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr


def test_no_tokenizer_choice_is_an_error(tmp_path):
    dump = write_dump(tmp_path / "d.xml", [Page("A", "'''A''' is a letter.")])
    result = _cli("--input", str(dump), "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "--train-tokenizer" in result.stderr


@pytest.mark.parametrize(("schema", "with_ns"), [("0.11", True), ("0.5", False)])
def test_other_schemas_and_dumps_without_ns(tmp_path, schema, with_ns):
    """Schema 0.11, and old exports without ``<ns>`` (the namespace comes from the title prefix)."""
    pages = [Page("Velor", "'''Velor''' is a city in [[Norland]]."), Page("Norland", "'''Norland''' is a land."),
             Page("Talk:Velor", "Discussion of [[Norland]].", ns=1), Page("File:Map.png", "A map.", ns=6)]
    dump = write_dump(tmp_path / "old.xml", pages, schema=schema, with_ns=with_ns)
    out = tmp_path / "out"
    assert main(["--input", str(dump), "--output", str(out), "--train-tokenizer", "--vocab-size", "300"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["outcomes"] == {"article": 2, "skipped_namespace": 2}
    entities = {e["title"] for e in read_jsonl_dir(out / "entities")}
    assert entities == {"Velor", "Norland"}
