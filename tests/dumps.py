"""Writing small MediaWiki exports for tests (our own text; real dumps come from ../shared/data)."""

from __future__ import annotations

import bz2
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

from pipeline.dump import RawPage, read_dump
from pipeline.read import open_raw
from pipeline.site import Site

SHARED_DATA = Path(os.environ.get("KILM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

NAMESPACES = {-2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Wikipedia",
              6: "File", 10: "Template", 14: "Category"}


def read_jsonl_dir(directory: Path) -> list[dict]:
    """Every record of the ``*.jsonl.gz`` files of an output directory, in file order."""
    records = []
    for path in sorted(Path(directory).glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f)
    return records


def shared_dump(name: str) -> Path:
    """A real dump sample from ../shared/data (or $KILM_SHARED_DATA); skips the test when absent."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not found: set KILM_SHARED_DATA to the folder holding the shared dump samples")
    return path


def sample_articles(language: str) -> Iterator[tuple[Site, RawPage]]:
    """``(site, page)`` for each article of the shared ``{language}wiki`` sample (namespace 0, not a
    redirect, not empty); skips the test when the sample is absent."""
    site = None
    for event in read_dump(str(shared_dump(f"{language}wiki-pages-articles-sample.xml.bz2")), open_raw, 64 << 20):
        if event.kind == "site":
            site = event.value
        elif event.kind == "page":
            page = event.value
            if page.namespace == 0 and not page.redirect and page.text.strip():
                yield site, page


@dataclass
class Page:
    title: str
    text: str
    ns: int = 0
    page_id: int | None = None
    redirect: str | None = None


def siteinfo(dbname: str = "testwiki", case: str = "first-letter", namespaces: dict[int, str] | None = None) -> str:
    rows = "\n".join(
        f'      <namespace key="{k}" case="{case}"' + (f">{escape(v)}</namespace>" if v else " />")
        for k, v in sorted((namespaces or NAMESPACES).items())
    )
    return (f"  <siteinfo>\n    <sitename>Testpedia</sitename>\n    <dbname>{dbname}</dbname>\n"
            f"    <base>https://test.example.org/wiki/Main</base>\n    <generator>MediaWiki 1.41.0</generator>\n"
            f"    <case>{case}</case>\n    <namespaces>\n{rows}\n    </namespaces>\n  </siteinfo>\n")


def page_xml(page: Page, page_id: int, with_ns: bool = True) -> str:
    redirect = f"    <redirect title={quoteattr(page.redirect)} />\n" if page.redirect else ""
    ns = f"    <ns>{page.ns}</ns>\n" if with_ns else ""
    return (f"  <page>\n    <title>{escape(page.title)}</title>\n{ns}    <id>{page.page_id or page_id}</id>\n"
            f"{redirect}    <revision>\n      <id>{1000 + page_id}</id>\n"
            f"      <timestamp>2024-01-01T00:00:00Z</timestamp>\n      <model>wikitext</model>\n"
            f"      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(page.text.encode())}" xml:space="preserve">{escape(page.text)}</text>\n'
            f"    </revision>\n  </page>\n")


def dump_xml(pages: list[Page], schema: str = "0.10", with_ns: bool = True, **site) -> str:
    head = (f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-{schema}/" version="{schema}" '
            f'xml:lang="en">\n')
    body = "".join(page_xml(p, i + 1, with_ns) for i, p in enumerate(pages))
    return head + siteinfo(**site) + body + "</mediawiki>\n"


def write_dump(path: Path, pages: list[Page], **kwargs) -> Path:
    data = dump_xml(pages, **kwargs).encode("utf-8")
    path.write_bytes(bz2.compress(data) if path.suffix == ".bz2" else data)
    return path
