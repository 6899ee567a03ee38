"""MediaWiki export writer: bz2 multistream XML (schema 0.10), its multistream index (as Wikimedia
ships it: ``offset:page_id:title`` a line, bz2) and the streamed truth file.

Entities are written in fixed chunks of CHUNK indices, each chunk its own bz2 stream (as in
Wikimedia's `multistream` dumps). A chunk is a pure function of (seed, entity count, chunk
number), so workers can build chunks in any order and the file is byte-identical for any
worker count; at most a few chunks are held in memory at once.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import multiprocessing
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from synth.names import rng
from synth.pages import NAMESPACES, SITENAME, Page, entity_pages, footer_pages, header_pages
from synth.world import World

CHUNK = 100
SCHEMA = "http://www.mediawiki.org/xml/export-0.10/"
TEXT_ESCAPES = {'"': "&quot;"}


@dataclass(frozen=True)
class Summary:
    """What a run wrote, for the CLI and the benchmark."""

    dump: Path
    truth: Path
    pages: int
    entities: int
    mentions: int


def truth_path(output: Path) -> Path:
    """`world.xml.bz2` -> `world.truth.jsonl` (same folder, same stem)."""
    name = output.name
    for suffix in (".bz2", ".xml"):
        name = name.removesuffix(suffix)
    return output.with_name(f"{name}.truth.jsonl")


def siteinfo_xml() -> str:
    namespaces = "\n".join(
        f'      <namespace key="{key}" case="first-letter" />' if not name
        else f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>'
        for key, name in NAMESPACES
    )
    return (
        f'<mediawiki xmlns="{SCHEMA}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{SCHEMA} http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">\n'
        "  <siteinfo>\n"
        f"    <sitename>{SITENAME}</sitename>\n"
        "    <dbname>enwiki</dbname>\n"
        "    <base>https://kilm.example.org/wiki/Main_Page</base>\n"
        "    <generator>MediaWiki 1.41.0-wmf.1</generator>\n"
        "    <case>first-letter</case>\n"
        f"    <namespaces>\n{namespaces}\n    </namespaces>\n"
        "  </siteinfo>\n"
    )


def sha1_base36(text: str) -> str:
    """The `<sha1>` field of dumps: SHA-1 of the UTF-8 text in base 36, 31 digits."""
    value = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits)).rjust(31, "0")


def page_xml(page: Page, seed: int) -> str:
    """One `<page>` element; revision metadata is a pure function of (seed, page id)."""
    r = rng(seed, page.page_id, "revision")
    timestamp = (f"{r.randrange(2004, 2024)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}T"
                 f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}Z")
    if r.random() < 0.1:
        contributor = f"        <ip>192.0.2.{r.randrange(1, 255)}</ip>\n"
    else:
        contributor = (f"        <username>Editor{r.randrange(1, 500)}</username>\n"
                       f"        <id>{r.randrange(1, 10**6)}</id>\n")
    redirect = f"    <redirect title={quoteattr(page.redirect)} />\n" if page.redirect else ""
    body = escape(page.text, TEXT_ESCAPES)
    return (
        "  <page>\n"
        f"    <title>{escape(page.title)}</title>\n"
        f"    <ns>{page.ns}</ns>\n"
        f"    <id>{page.page_id}</id>\n"
        f"{redirect}"
        "    <revision>\n"
        f"      <id>{10_000_000 + page.page_id}</id>\n"
        f"      <timestamp>{timestamp}</timestamp>\n"
        f"      <contributor>\n{contributor}      </contributor>\n"
        "      <model>" + page.model + "</model>\n"
        "      <format>" + page.format + "</format>\n"
        f'      <text bytes="{len(page.text.encode("utf-8"))}" xml:space="preserve">{body}</text>\n'
        f"      <sha1>{sha1_base36(page.text)}</sha1>\n"
        "    </revision>\n"
        "  </page>\n"
    )


def index_path(output: Path) -> Path:
    """`world.xml.bz2` -> `world-index.txt.bz2`, the name the pipeline looks for (as Wikimedia's
    `X-multistream.xml.bz2` -> `X-multistream-index.txt.bz2`)."""
    return output.with_name(output.name.removesuffix(".xml.bz2") + "-index.txt.bz2")


def _index_entries(pages: list[Page]) -> list[tuple[int, str]]:
    return [(p.page_id, p.title) for p in pages]


def build_chunk(world: World, chunk: int) -> tuple[bytes, bytes, int, int, int, list[tuple[int, str]]]:
    """(bz2 stream, truth lines, pages, entities, mentions, (page id, title) of its pages) of entity
    indices in one chunk."""
    xml: list[str] = []
    truth: list[str] = []
    entries: list[tuple[int, str]] = []
    pages = mentions = 0
    start, stop = chunk * CHUNK, min(world.entities, (chunk + 1) * CHUNK)
    for index in range(start, stop):
        chunk_pages, records = entity_pages(world, index)
        pages += len(chunk_pages)
        entries += _index_entries(chunk_pages)
        xml += (page_xml(p, world.seed) for p in chunk_pages)
        for record in records:
            mentions += record["kind"] == "mention"
            truth.append(json.dumps(record, ensure_ascii=False))
    payload = bz2.compress("".join(xml).encode("utf-8"), 9)
    return payload, ("\n".join(truth) + "\n").encode("utf-8"), pages, stop - start, mentions, entries


def _build_chunk_job(args: tuple[int, int, int]) -> tuple[bytes, bytes, int, int, int, list[tuple[int, str]]]:
    seed, entities, chunk = args
    return build_chunk(World(seed, entities), chunk)


def _chunks(world: World, workers: int):
    """Chunks in order; with workers, a bounded window of chunks is in flight."""
    count = (world.entities + CHUNK - 1) // CHUNK
    if workers <= 1:
        for chunk in range(count):
            yield build_chunk(world, chunk)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        window: deque = deque()
        for chunk in range(count):
            window.append(pool.apply_async(_build_chunk_job, ((world.seed, world.entities, chunk),)))
            if len(window) >= 2 * workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()


def generate(output: Path, entities: int, seed: int, workers: int = 1) -> Summary:
    """Write the dump and its truth file; memory stays bounded whatever `entities` is."""
    if entities < 1:
        raise ValueError("--entities must be at least 1")
    world = World(seed, entities)
    output.parent.mkdir(parents=True, exist_ok=True)
    truth = truth_path(output)
    pages = written_entities = mentions = 0
    with output.open("wb") as dump, truth.open("wb") as answer, \
            bz2.open(index_path(output), "wt", encoding="utf-8") as index:

        def indexed(entries: list[tuple[int, str]]) -> None:
            index.writelines(f"{dump.tell()}:{page_id}:{title}\n" for page_id, title in entries)

        header = header_pages()
        pages += len(header)
        indexed(_index_entries(header))
        dump.write(bz2.compress((siteinfo_xml() + "".join(page_xml(p, seed) for p in header)).encode("utf-8"), 9))
        for payload, lines, n_pages, n_entities, n_mentions, entries in _chunks(world, workers):
            indexed(entries)
            dump.write(payload)
            answer.write(lines)
            pages += n_pages
            written_entities += n_entities
            mentions += n_mentions
        footer = footer_pages(world)
        pages += len(footer)
        indexed(_index_entries(footer))
        dump.write(bz2.compress(("".join(page_xml(p, seed) for p in footer) + "</mediawiki>\n").encode("utf-8"), 9))
    return Summary(output, truth, pages, written_entities, mentions)
