"""Reading MediaWiki XML exports page by page, keeping what a damaged file still holds.

The decompressed stream is cut at ``<page>`` boundaries and each page is parsed on its own with mwxml,
so a malformed page becomes one dead letter instead of ending the file; a truncated or corrupt bz2
keeps every page before the damage and records the damage (file, offset, reason). Entity declarations
(``<!DOCTYPE``/``<!ENTITY``: the "billion laughs" attack) are never expanded.

Any encoding an XML file may declare is read (:mod:`pipeline.encoding`): pages are cut in UTF-8, so a
page's ``offset`` counts bytes of the UTF-8 text. A multistream file may be read a run of bz2 streams at
a time (:mod:`pipeline.multistream`). Every export schema from 0.3 on reads; a file without
``<siteinfo>`` gets MediaWiki's defaults (:meth:`Site.defaults`).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import itertools
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import mwxml
from mwxml.errors import MalformedXML

from pipeline.encoding import SNIFF_BYTES, as_utf8, sniff_encoding
from pipeline.multistream import at_stream_start
from pipeline.site import CANONICAL_NAMESPACES, Site

CHUNK_BYTES = 1 << 20
_PAGE_OPEN = b"<page>"
_PAGE_CLOSE = b"</page>"
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL)
_TITLE = re.compile(rb"<title>(.*?)</title>", re.DOTALL)
_HEADER_CLOSE = b"</mediawiki>"
_SITEINFO_OPEN = b"<siteinfo"
_SITEINFO_CLOSE = b"</siteinfo>"
_XML_LANG = re.compile(rb"<mediawiki\b[^>]*?\sxml:lang\s*=\s*[\"']([^\"']+)[\"']")


@dataclass(frozen=True)
class RawPage:
    """One page as read from a dump (latest revision only)."""

    file: str
    offset: int
    dbname: str
    title: str
    namespace: int
    page_id: int
    redirect: str | None
    text: str
    model: str
    #: where the bz2 stream that holds the page starts in the file; ``offset`` counts from there
    stream_offset: int = 0


@dataclass(frozen=True)
class DumpEvent:
    """What reading a file produces, in order: ``site`` first, then ``page``/``dead_letter``/``error``,
    finally ``input`` (path, bytes, sha256 of the file as stored)."""

    kind: str
    value: object


def dead_letter(reason: str, file: str, offset: int, title: str | None = None, **extra: object) -> dict:
    """A dead-letter record: what could not be used, where it was, and why."""
    return {"reason": reason, "file": file, "offset": offset, "title": title, **extra}


class _NoHash:
    def update(self, data: bytes) -> None:
        pass


def _decompressed(
    raw: BinaryIO, hasher, on_error: Callable[[str, int], None], consumed: int = 0
) -> Iterator[bytes]:
    """Decompress bz2 (multi-stream, as Wikimedia's multistream dumps), gzip or plain XML; damage is
    reported at its compressed byte, counted from ``consumed`` (where ``raw`` stands in the file)."""
    first = raw.read(CHUNK_BYTES)
    hasher.update(first)
    if first.startswith(b"BZh"):
        make = bz2.BZ2Decompressor
    elif first.startswith(b"\x1f\x8b"):
        def make():
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
    else:
        yield first
        while chunk := raw.read(CHUNK_BYTES):
            hasher.update(chunk)
            yield chunk
        return
    decompressor, fed = make(), False
    chunk = first
    while chunk:
        data = chunk
        while data:
            try:
                out = decompressor.decompress(data)
            except (OSError, EOFError, zlib.error) as err:
                on_error(f"corrupt_compressed_data: {err}", consumed)
                return
            fed = True
            if out:
                yield out
            if decompressor.eof:
                data = decompressor.unused_data
                decompressor, fed = make(), False
            else:
                data = b""
        consumed += len(chunk)
        chunk = raw.read(CHUNK_BYTES)
        hasher.update(chunk)
    if fed and not decompressor.eof:
        on_error("truncated_compressed_stream", consumed)


def checksum(path: str, opener: Callable[[str], BinaryIO]) -> dict:
    """The ``input`` record of a file: path, bytes, sha256 of the file as stored."""
    hasher, size = hashlib.sha256(), 0
    with opener(path) as raw:
        while chunk := raw.read(CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
    return {"path": path, "bytes": size, "sha256": hasher.hexdigest()}


class _Limited:
    """At most ``limit`` bytes of a file object, from where it stands."""

    def __init__(self, raw: BinaryIO, limit: int | None) -> None:
        self.raw, self.left = raw, limit

    def read(self, n: int) -> bytes:
        if self.left is None:
            return self.raw.read(n)
        data = self.raw.read(min(n, self.left))
        self.left -= len(data)
        return data


def _read_head(path: str, raw: BinaryIO, max_page_bytes: int) -> tuple[tuple[Site, dict | None], str]:
    """((site, namespace map), codec) from the head of a bz2 file: what precedes ``</siteinfo>`` or
    the first ``<page>`` (Wikimedia puts the siteinfo in a stream of its own). Damage there is
    reported by the range that starts at 0; the other ranges read their pages with a default site."""
    def ignore(reason: str, offset: int) -> None:
        pass

    stream = _decompressed(raw, _NoHash(), ignore)
    first = b""
    for chunk in stream:
        first += chunk
        if len(first) >= SNIFF_BYTES:
            break
    try:
        codec, _ = sniff_encoding(first)
    except LookupError:
        return (Site(named_from="damaged"), None), "utf-8"
    head = bytearray()
    for chunk in as_utf8(itertools.chain([first], stream), ignore, codec):
        head += chunk
        end = head.find(_SITEINFO_CLOSE)
        end = end + len(_SITEINFO_CLOSE) if end >= 0 else head.find(_PAGE_OPEN)
        if end >= 0:
            return _read_siteinfo(path, bytes(head[:end]), ignore), codec
        if len(head) > max_page_bytes:
            break
    return (Site(named_from="damaged"), None), codec


def read_range(path: str, opener: Callable[[str], BinaryIO], max_page_bytes: int, start: int,
               end: int | None) -> Iterator[DumpEvent]:
    """The pages of a multistream file's bz2 streams in ``[start, end)`` (compressed bytes). A page's
    ``offset`` counts decompressed bytes from ``start``, which pages, dead letters and errors of a
    range after the first carry as ``stream_offset`` (the first range reads like the whole file);
    compressed-data damage is reported at its byte in the file. No ``input`` record: see
    :func:`checksum`."""
    located = {"stream_offset": start} if start else {}
    errors: list[dict] = []

    def on_error(reason: str, offset: int) -> None:
        errors.append({"file": path, "offset": offset, "reason": reason, **located})

    head, codec = None, None
    with opener(path) as raw:
        if start:
            head, codec = _read_head(path, raw, max_page_bytes)
        if not at_stream_start(raw, start):
            on_error("not_a_bz2_stream_start", start)
        else:
            raw.seek(start)
            stream = _decompressed(_Limited(raw, None if end is None else end - start), _NoHash(), on_error, start)
            pages = _split_pages(path, as_utf8(stream, on_error, codec), max_page_bytes, on_error, head)
            yield from _located_events(pages, located)
    for error in errors:
        yield DumpEvent("error", error)


def _located_events(events: Iterator[DumpEvent], located: dict) -> Iterator[DumpEvent]:
    """Pages and dead letters of a range with the range's ``stream_offset``."""
    for event in events:
        if event.kind == "page" and located:
            yield DumpEvent("page", replace(event.value, **located))
        elif event.kind == "dead_letter":
            yield DumpEvent("dead_letter", {**event.value, **located})
        else:
            yield event


def read_dump(path: str, opener: Callable[[str], BinaryIO], max_page_bytes: int) -> Iterator[DumpEvent]:
    """Every page of one dump file as :class:`DumpEvent` s (see the module docstring)."""
    hasher = hashlib.sha256()
    errors: list[dict] = []

    def on_error(reason: str, offset: int) -> None:
        errors.append({"file": path, "offset": offset, "reason": reason})

    with opener(path) as raw:
        stream = _decompressed(raw, hasher, on_error)
        yield from _split_pages(path, as_utf8(stream, on_error), max_page_bytes, on_error)
        for _ in stream:  # drain what is left so the checksum covers the whole file
            pass
        size = raw.tell() if hasattr(raw, "tell") else None
    for error in errors:
        yield DumpEvent("error", error)
    yield DumpEvent("input", {"path": path, "bytes": size, "sha256": hasher.hexdigest()})


def read_site(path: str, opener: Callable[[str], BinaryIO], max_page_bytes: int) -> Site:
    """The site of a dump, from its head only; raises ValueError with the reason when the file holds
    no MediaWiki export (no page, an unknown encoding, damage before the first page)."""
    for event in read_dump(path, opener, max_page_bytes):
        if event.kind == "site":
            return event.value
        if event.kind == "error":
            raise ValueError(event.value["reason"])
        if event.kind in ("page", "dead_letter", "input"):
            break
    raise ValueError("no MediaWiki export found")


class _Window:
    """The not yet consumed tail of the decompressed stream; ``base`` is its first byte's offset."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.base = 0

    def drop(self, n: int) -> None:
        del self.data[:n]
        self.base += n

    def keep_last(self, n: int) -> None:
        """Keep only what may still hold the start of a tag of ``n`` bytes."""
        self.drop(max(0, len(self.data) - n))


def _split_pages(
    path: str, stream: Iterator[bytes], max_page_bytes: int, on_error: Callable[[str, int], None],
    head: tuple[Site, dict | None] | None = None,
) -> Iterator[DumpEvent]:
    """Pages of a decompressed stream; ``head`` is the (site, namespace map) of a stream that starts
    after the file's siteinfo."""
    window = _Window()
    site, namespace_map = head if head is not None else (None, None)
    skipping_large: dict | None = None
    for chunk in stream:
        window.data += chunk
        while True:
            buffer = window.data
            if site is None:
                start = buffer.find(_PAGE_OPEN)
                if start < 0:
                    if len(buffer) > max_page_bytes:
                        on_error("no_siteinfo_before_first_page", window.base)
                        return
                    break
                site, namespace_map = _read_siteinfo(path, bytes(buffer[:start]), on_error)
                yield DumpEvent("site", site)
                window.drop(start)
                continue
            if skipping_large is not None:
                end = buffer.find(_PAGE_CLOSE)
                if end < 0:
                    window.keep_last(len(_PAGE_CLOSE))
                    break
                yield DumpEvent("dead_letter", skipping_large)
                skipping_large = None
                window.drop(end + len(_PAGE_CLOSE))
                continue
            start = buffer.find(_PAGE_OPEN)
            if start < 0:
                window.keep_last(len(_PAGE_OPEN))
                break
            end = buffer.find(_PAGE_CLOSE, start)
            if end < 0:
                if len(buffer) - start > max_page_bytes:
                    skipping_large = dead_letter("page_too_large", path, window.base + start,
                                                 _guess_title(buffer[start:]), limit_bytes=max_page_bytes)
                    window.drop(start)
                    continue
                break
            page_bytes = bytes(buffer[start : end + len(_PAGE_CLOSE)])
            offset = window.base + start
            window.drop(end + len(_PAGE_CLOSE))
            if len(page_bytes) > max_page_bytes:
                yield DumpEvent("dead_letter", dead_letter("page_too_large", path, offset, _guess_title(page_bytes),
                                                           limit_bytes=max_page_bytes))
                continue
            yield _parse_page(path, offset, page_bytes, site, namespace_map)
    if site is None:
        on_error("no_pages_found", window.base)
        return
    if skipping_large is not None:
        yield DumpEvent("dead_letter", skipping_large)
    start = window.data.find(_PAGE_OPEN)
    if start >= 0:
        offset = window.base + start
        yield DumpEvent("dead_letter", dead_letter("truncated_page", path, offset, _guess_title(window.data[start:])))
        on_error("input_ends_inside_a_page", offset)


def _guess_title(chunk: bytes | bytearray) -> str | None:
    match = _TITLE.search(chunk[:4096])
    return match.group(1).decode("utf-8", "replace") if match else None


def _read_siteinfo(path: str, header: bytes, on_error: Callable[[str, int], None]) -> tuple[Site, dict]:
    """(site, mwxml namespace map) of what precedes the first page: the ``<siteinfo>`` of any schema
    from 0.3 on, or MediaWiki's defaults when there is none."""
    if _DOCTYPE.search(header):
        on_error("doctype_with_entity_declarations_ignored", header.find(b"<!DOCTYPE"))
        header = _DOCTYPE.sub(b"", header)
    lang = _XML_LANG.search(header)
    xml_lang = lang.group(1).decode("utf-8", "replace").strip().lower() if lang else None
    if _SITEINFO_OPEN not in header:
        site = Site.defaults(xml_lang)
    else:
        try:
            site = Site.from_mwxml(mwxml.Dump.from_file(io.BytesIO(header + _HEADER_CLOSE)).site_info, xml_lang)
        except (ParseError, MalformedXML, ValueError, AssertionError) as err:
            on_error(f"malformed_siteinfo: {err}", 0)
            site = Site(named_from="damaged")
    # mwxml takes the namespace from a title's prefix where an old schema has no <ns>
    names = site.namespace_names or tuple(CANONICAL_NAMESPACES.items())
    namespace_map = {}
    for name, number in names:
        namespace_map.setdefault(name, mwxml.Namespace(number, name))
    return site, namespace_map


class _Element:
    """mwxml's ``ElementIterator`` interface over an element parsed at once: mwxml's page and revision
    logic (fields, checks) is unchanged, but a page's XML is parsed in C, not by mwxml's Python-level
    event stream (most of the time reading took). Iterating resumes where the last loop stopped, as
    mwxml expects (a page's fields, then its revisions)."""

    __slots__ = ("children", "element")

    def __init__(self, element: ElementTree.Element) -> None:
        self.element = element
        self.children = map(_Element, element)

    @property
    def tag(self) -> str:
        return self.element.tag

    @property
    def text(self) -> str | None:
        return self.element.text

    def attr(self, key: str, alt: str | None = None) -> str | None:
        return self.element.attrib.get(key, alt)

    def __iter__(self) -> Iterator[_Element]:
        return self.children


def _parse_page(path: str, offset: int, chunk: bytes, site: Site, namespace_map) -> DumpEvent:
    title = _guess_title(chunk)
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as err:
        return DumpEvent("dead_letter", dead_letter("invalid_utf8", path, offset, title, position=err.start))
    if b"<!ENTITY" in chunk or b"<!DOCTYPE" in chunk:
        return DumpEvent("dead_letter", dead_letter("entity_declaration", path, offset, title))
    try:
        root = ElementTree.fromstring(b"<mediawiki>" + chunk + b"</mediawiki>")
        page = mwxml.Page.from_element(_Element(next(iter(root))), namespace_map)
        text, model = None, "wikitext"
        for revision in page:
            text = revision.text
            model = revision.model or "wikitext"
        if page.title is None or page.id is None:
            return DumpEvent("dead_letter", dead_letter("malformed_xml", path, offset, title,
                                                        detail="page without title or id"))
        full_title = page.title
        if page.namespace and site.namespace_of(page.title.split(":", 1)[0]) != page.namespace:
            # Old schemas without <ns>: mwxml took the prefix off the title.
            local = next((n for n, ns in site.namespace_names if ns == page.namespace and n), None)
            full_title = f"{local}:{page.title}" if local else page.title
        return DumpEvent("page", RawPage(
            file=path, offset=offset, dbname=site.dbname, title=site.normalize(full_title),
            namespace=int(page.namespace or 0), page_id=int(page.id),
            redirect=site.normalize(page.redirect) if page.redirect else None, text=text or "", model=model,
        ))
    except (ParseError, MalformedXML, ValueError, StopIteration, TypeError) as err:
        return DumpEvent("dead_letter", dead_letter("malformed_xml", path, offset, title, detail=str(err)[:200]))
