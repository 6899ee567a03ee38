"""Wikidata descriptions joined to the entity table, from a file in Wikidata's real JSON dump format."""

from __future__ import annotations

import bz2
import json

from pipeline.run import main
from pipeline.wikidata import entity_description
from tests.dumps import Page, read_jsonl_dir, write_dump


def wikidata_entity(qid: str, sitelinks: dict[str, str], descriptions: dict[str, str]) -> dict:
    """An entity as ``latest-all.json`` holds it (the fields we read, plus some we do not)."""
    return {
        "type": "item", "id": qid,
        "labels": {lang: {"language": lang, "value": title} for lang, title in (("en", qid),)},
        "descriptions": {lang: {"language": lang, "value": v} for lang, v in descriptions.items()},
        "aliases": {}, "claims": {},
        "sitelinks": {site: {"site": site, "title": title, "badges": []} for site, title in sitelinks.items()},
        "lastrevid": 1,
    }


def write_wikidata_dump(path, entities: list[dict]) -> None:
    """``[`` / one entity per line ending in ``,`` / ``]``, one bz2 stream, as Wikimedia ships it."""
    lines = ["["] + [json.dumps(e, ensure_ascii=False) + ("," if i < len(entities) - 1 else "")
                     for i, e in enumerate(entities)] + ["]"]
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode("utf-8")))


def test_entity_description_prefers_the_dump_language():
    line = json.dumps(wikidata_entity("Q1", {"ukwiki": "Київ"}, {"en": "capital of Ukraine", "uk": "столиця України"}))
    assert entity_description(line, "ukwiki", ("uk", "en")) == ("Київ", "столиця України", "uk")
    assert entity_description(line, "enwiki", ("uk", "en")) is None
    assert entity_description("{broken", "ukwiki", ("uk",)) is None


def test_pipeline_joins_wikidata_descriptions(tmp_path):
    dump = write_dump(tmp_path / "ukwiki.xml.bz2", [
        Page("Київ", "'''Київ''' — столиця [[Україна|України]]."),
        Page("Україна", "'''Україна''' — держава. Столиця — [[Київ]]."),
        Page("Дніпро", "{{Short description|Річка в Європі}}\n'''Дніпро''' — річка."),
        Page("Львів", "'''Львів''' — місто."),
    ], dbname="ukwiki")
    wikidata = tmp_path / "latest-all.json.bz2"
    write_wikidata_dump(wikidata, [
        wikidata_entity("Q1899", {"ukwiki": "Київ", "enwiki": "Kyiv"}, {"uk": "столиця України", "en": "capital"}),
        wikidata_entity("Q212", {"ukwiki": "Україна"}, {"en": "country in Eastern Europe"}),
        wikidata_entity("Q40855", {"ukwiki": "Дніпро"}, {"uk": "річка"}),
        wikidata_entity("Q36036", {"enwiki": "Lviv"}, {"uk": "місто"}),  # no ukwiki sitelink
    ])
    out = tmp_path / "out"
    assert main(["--input", str(dump), "--output", str(out), "--train-tokenizer", "--vocab-size", "300",
                 "--wikidata-descriptions", str(wikidata), "--wikidata-fallback-languages", "en"]) == 0
    entities = {e["title"]: e for e in read_jsonl_dir(out / "entities")}
    assert (entities["Київ"]["description"], entities["Київ"]["description_source"],
            entities["Київ"]["description_language"]) == ("столиця України", "wikidata", "uk")
    assert (entities["Україна"]["description"], entities["Україна"]["description_language"]) == (
        "country in Eastern Europe", "en")
    assert entities["Дніпро"]["description_source"] == "short_description"  # first in the default order
    assert entities["Львів"]["description_source"] == "lead_sentence"  # no description in Wikidata
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["statistics"]["descriptions"] == {"lead_sentence": 1, "short_description": 1, "wikidata": 2}
