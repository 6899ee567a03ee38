"""Exports as MediaWiki and other tools write them: every schema from 0.3 on, any encoding the XML
declaration or byte-order mark gives, ``<siteinfo>`` with or without ``<dbname>``, or none at all."""

from __future__ import annotations

import bz2
import gzip
import itertools
import json
from pathlib import Path

import pytest

from pipeline.dump import read_dump, read_range, read_site
from pipeline.encoding import sniff_encoding
from pipeline.multistream import index_path, read_tasks, stream_offsets
from pipeline.read import open_raw
from pipeline.run import main
from pipeline.site import NO_SITEINFO, Site, one_site
from tests.dumps import Page, dump_xml, read_jsonl_dir

MAX_PAGE = 1 << 20
PAGES = [Page("Velor", "'''Velor''' is a city in [[Norland]], near [[Київ]] 🙂."),
         Page("Norland", "'''Norland''' is a land. Its capital is [[Velor]]."),
         Page("Київ", "'''Київ''' is a city on the [[Dnipro]]."),
         Page("Talk:Velor", "Discussion of [[Norland]].", ns=1),
         Page("File:Map.png", "A map.", ns=6)]


def export(pages: list[Page] = PAGES, *, schema: str = "0.10", with_ns: bool = True, dbname: bool = True,
           base: str | None = "https://test.example.org/wiki/Main", sitename: bool = True,
           siteinfo: bool = True, declaration: str | None = None) -> str:
    """An export as text, its siteinfo trimmed to what older or other writers put there."""
    xml = dump_xml(pages, schema=schema, with_ns=with_ns)
    if not dbname:
        xml = xml.replace("    <dbname>testwiki</dbname>\n", "")
    default_base = "    <base>https://test.example.org/wiki/Main</base>\n"
    xml = xml.replace(default_base, f"    <base>{base}</base>\n" if base else "")
    if not sitename:
        xml = xml.replace("    <sitename>Testpedia</sitename>\n", "")
    if not siteinfo:
        xml = xml[: xml.index("  <siteinfo>")] + xml[xml.index("</siteinfo>\n") + len("</siteinfo>\n") :]
    return (f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else "") + xml


def write(path: Path, data: bytes) -> Path:
    compress = {".bz2": bz2.compress, ".gz": lambda d: gzip.compress(d, mtime=0)}.get(path.suffix, lambda d: d)
    path.write_bytes(compress(data))
    return path


def events(path: Path) -> tuple[Site, list, list]:
    found = list(read_dump(str(path), open_raw, MAX_PAGE))
    site = next(e.value for e in found if e.kind == "site")
    return (site, [e.value for e in found if e.kind == "page"],
            [e.value for e in found if e.kind in ("error", "dead_letter")])


ENCODED = {
    "utf-8": lambda xml: xml.encode("utf-8"),
    "utf-8 with BOM": lambda xml: b"\xef\xbb\xbf" + xml.encode("utf-8"),
    "utf-16-le with BOM": lambda xml: ("\ufeff" + xml).encode("utf-16-le"),
    "utf-16-be with BOM": lambda xml: ("\ufeff" + xml).encode("utf-16-be"),
    "utf-16-be declared": lambda xml: ('<?xml version="1.0" encoding="UTF-16"?>\n' + xml).encode("utf-16-be"),
    "utf-16-le declared": lambda xml: ('<?xml version="1.0" encoding="utf-16"?>\n' + xml).encode("utf-16-le"),
    "utf-32-le with BOM": lambda xml: ("\ufeff" + xml).encode("utf-32-le"),
}


@pytest.mark.parametrize("suffix", [".xml", ".xml.gz", ".xml.bz2"])
@pytest.mark.parametrize("encoding", list(ENCODED))
def test_any_encoding_reads_the_same_pages(tmp_path, encoding, suffix):
    path = write(tmp_path / f"dump{suffix}", ENCODED[encoding](export()))
    site, pages, problems = events(path)
    assert problems == []
    assert site.dbname == "testwiki"
    assert [(p.title, p.namespace, p.text) for p in pages] == [
        (p.title, p.ns, p.text) for p in PAGES]


def test_a_declared_single_byte_encoding_reads(tmp_path):
    pages = [Page("Café", "'''Café''' is in [[Zürich]]."), Page("Zürich", "'''Zürich''' is a city.")]
    path = write(tmp_path / "latin.xml", export(pages, declaration="ISO-8859-1").encode("latin-1"))
    _, read, problems = events(path)
    assert problems == [] and [(p.title, p.text) for p in read] == [(p.title, p.text) for p in pages]


def test_encoding_sniffing_follows_the_xml_spec():
    assert sniff_encoding(b"\xff\xfe<\x00") == ("utf-16-le", 2)
    assert sniff_encoding(b"\x00<\x00?\x00x") == ("utf-16-be", 0)
    assert sniff_encoding(b'<?xml version="1.0" encoding="windows-1251"?>') == ("cp1251", 0)
    assert sniff_encoding(b'<?xml version="1.0" encoding="UTF-16"?>') == ("utf-8", 0)  # the bytes say 8 bits
    assert sniff_encoding(b"<mediawiki>") == ("utf-8", 0)
    with pytest.raises(LookupError, match="unknown_encoding: x-klingon"):
        sniff_encoding(b'<?xml version="1.0" encoding="x-klingon"?>')


def test_an_unknown_encoding_is_named(tmp_path):
    path = write(tmp_path / "odd.xml", export(declaration="x-klingon").encode())
    with pytest.raises(ValueError, match="unknown_encoding: x-klingon"):
        read_site(str(path), open_raw, MAX_PAGE)


def test_bad_bytes_in_utf16_lose_their_page_only(tmp_path):
    data = ("\ufeff" + export()).encode("utf-16-le")
    at = data.index("Its capital".encode("utf-16-le"))
    path = write(tmp_path / "bad.xml", data[:at] + b"\x00\xdc" + data[at + 2 :])  # a lone low surrogate
    _, pages, problems = events(path)
    assert [p.title for p in pages] == ["Velor", "Київ", "Talk:Velor", "File:Map.png"]
    assert [(d["reason"], d["title"]) for d in problems] == [("invalid_utf8", "Norland")]


@pytest.mark.parametrize(
    ("trim", "name", "named_from", "language"),
    [({"schema": "0.3", "with_ns": False, "dbname": False}, "test.example.org/wiki", "base", "en"),
     ({"dbname": False, "base": "https://uk.wikipedia.org/wiki/Головна"}, "ukwiki", "base", "uk"),
     ({"dbname": False, "base": "https://fr.wiktionary.org/wiki/Accueil"}, "frwiktionary", "base", "en"),
     ({"schema": "0.4", "dbname": False, "base": None}, "Testpedia", "sitename", "en"),
     ({"schema": "0.3", "with_ns": False}, "testwiki", "dbname", "en")],
)
def test_a_siteinfo_without_dbname_names_the_site_from_base_or_sitename(tmp_path, trim, name, named_from, language):
    path = write(tmp_path / "old.xml", export(**trim).encode())
    site, pages, problems = events(path)
    assert problems == []
    assert (site.dbname, site.named_from, site.language) == (name, named_from, language)
    assert [(p.title, p.namespace) for p in pages] == [(p.title, p.ns) for p in PAGES]


@pytest.mark.parametrize("with_ns", [True, False])
def test_an_export_without_siteinfo_reads_with_mediawikis_defaults(tmp_path, with_ns):
    path = write(tmp_path / "bare.xml.bz2", export(siteinfo=False, with_ns=with_ns).encode())
    site, pages, problems = events(path)
    assert problems == []
    assert (site.named_from, site.case, site.namespace_of("Category"), site.namespace_of("Image")) == (
        "defaults", "first-letter", 14, 6)
    assert [(p.title, p.namespace) for p in pages] == [(p.title, p.ns) for p in PAGES]


def test_one_wiki_per_run():
    named = Site(dbname="enwiki", named_from="dbname")
    from_base = Site(dbname="ukwiki", named_from="base")
    bare = Site.defaults("de")
    with pytest.raises(ValueError, match=r"different wikis \(enwiki, ukwiki\)"):
        one_site({"a.xml": named, "b.xml": from_base})
    joined = one_site({"a.xml": named, "b.xml": bare, "c.xml": Site(dbname="enwiki", named_from="base")})
    assert (joined.dbname, joined.without_siteinfo) == ("enwiki", ("b.xml",))
    assert joined.manifest_record()["warnings"] == [f"b.xml: {NO_SITEINFO}"]
    alone = one_site({"b.xml": bare})
    assert (alone.dbname, alone.language, alone.without_siteinfo) == ("unknown", "de", ("b.xml",))
    with pytest.raises(ValueError, match="no readable MediaWiki <siteinfo>"):
        one_site({"a.xml": Site(named_from="damaged")})


def test_multistream_ranges_of_a_utf16_file_give_its_pages(tmp_path):
    pages = [Page(f"Сторінка {i}", f"'''Сторінка {i}''' links to [[Сторінка {i + 1}]] 🙂.") for i in range(25)]
    xml = export(pages)
    starts = [i for i in range(len(xml)) if xml.startswith("  <page>", i)]
    bounds = [0, *starts[::10], xml.index("</mediawiki>"), len(xml)]
    texts = [xml[a:b] for a, b in itertools.pairwise(bounds)]
    streams = [bz2.compress(("\ufeff" + t if k == 0 else t).encode("utf-16-le")) for k, t in enumerate(texts)]
    path = tmp_path / "testwiki-multistream.xml.bz2"
    path.write_bytes(b"".join(streams))
    offsets = list(itertools.accumulate(len(s) for s in streams))
    with bz2.open(index_path(str(path)), "wt", encoding="utf-8") as index:
        index.writelines(f"{offsets[k // 10]}:{k + 1}:{p.title}\n" for k, p in enumerate(pages))
    with bz2.open(index_path(str(path)), "rt", encoding="utf-8") as index:
        tasks = [t for t in read_tasks(str(path), stream_offsets(index), 1) if t.kind == "range"]
    assert len(tasks) == 3
    ranged = [e for t in tasks for e in read_range(str(path), open_raw, MAX_PAGE, t.start, t.end)]
    assert [e.value for e in ranged if e.kind in ("error", "dead_letter")] == []
    assert [(e.value.title, e.value.text) for e in ranged if e.kind == "page"] == [(p.title, p.text) for p in pages]


def test_a_run_over_old_utf16_and_bare_exports(tmp_path, capsys):
    """End to end: a schema-0.3 UTF-16 export without dbname and an export without siteinfo are one
    wiki; the manifest names it and warns about the file read with defaults."""
    old = write(tmp_path / "old.xml.bz2", ENCODED["utf-16-be declared"](
        export(PAGES[:3], schema="0.3", with_ns=False, dbname=False)))
    bare = write(tmp_path / "bare.xml.gz", export([Page("Dnipro", "'''Dnipro''' is a river near [[Київ]].")],
                                                  siteinfo=False).encode())
    out = tmp_path / "out"
    assert main(["--input", str(old), "--input", str(bare), "--output", str(out), "--train-tokenizer",
                 "--vocab-size", "300"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["site"] == {"dbname": "test.example.org/wiki", "language": "en", "case": "first-letter",
                                "named_from": "base", "warnings": [f"{bare}: {NO_SITEINFO}"]}
    assert manifest["errors"] == []
    assert {e["title"] for e in read_jsonl_dir(out / "entities")} == {"Velor", "Norland", "Київ", "Dnipro"}
    other = write(tmp_path / "other.xml", export(dbname=False, base="https://uk.wikipedia.org/wiki/Main").encode())
    assert main(["--input", str(old), "--input", str(other), "--output", str(tmp_path / "o2"),
                 "--train-tokenizer"]) == 2
    assert "different wikis (test.example.org/wiki, ukwiki)" in capsys.readouterr().err
