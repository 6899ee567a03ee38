"""Wikitext → plain-text paragraphs with every wikilink kept as a mention (pure functions).

Each page is parsed once, and only what is kept: comments, ``<ref>``s, templates, tables and file links
are cut first with a linear scanner (:mod:`pipeline.markup`), then each paragraph block goes through
mwparserfromhell for links, formatting and entities.
Removed markup leaves a sentinel so that a line emptied by removal does not split a paragraph:
paragraphs are the blocks between blank lines of the *original* wikitext (DESIGN.md, plain text rules).
The sentinel stays in the rendered text as a *hole* until :func:`_tidy` has removed what holes leave
behind ("Alabama () is", "(; born 1950", "1912, )", "word , next"), so that brackets and punctuation
the article itself writes ("printf()") are kept.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import mwparserfromhell
from mwparserfromhell import nodes
from sentencex import segment

from pipeline.links import LINK_TRAIL as _TRAIL
from pipeline.links import scan_links
from pipeline.markup import DROPPED_TAGS, GONE, RESIDUE, Templates, file_link, strip_markup
from pipeline.site import CATEGORY_NS, Site

_DISAMBIG_MAGIC = "__DISAMBIG__"
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")
_REDIRECT = re.compile(r"^\s*#[^\s\[]+\s*:?\s*\[\[([^\]|#]+)", re.UNICODE)
_WS = re.compile(r"\s+")
_PAREN = re.compile(r"\s*(?:\([^()]*\)|（[^（）]*）)")
# What holes leave behind (H = the sentinel; P = punctuation and dashes a removal strands):
_P = r"\s,;:、，；–—\-"
_HOLE_TIDY = re.compile(
    rf"\s*[(（][{_P}.]*{GONE}[{_P}.{GONE}]*[)）]"  # a bracket with nothing but holes: "Alabama ( ; ) is"
    rf"|(?<=[(（])[{_P}]*{GONE}[{_P}{GONE}]*"  # what opens a bracket: "(; born 1950"
    rf"|[{_P}]*{GONE}[{_P}{GONE}]*(?=[)）])"  # what closes it: "1912 — , )"
    rf"|^[\s{GONE}]*{GONE}[{_P}{GONE}]*"  # what starts the paragraph: ", born in"
    rf"|(?<=[,;:、，；])[\s{GONE}]*{GONE}[\s{GONE}]*[,;:、，；]"  # doubled punctuation: "X, , Y"
    rf"|\s*{GONE}[\s{GONE}]*(?=[,.;:!?。、，；])"  # a space before punctuation: "word , next"
    rf"|{GONE}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?،。、，])")

#: Sections whose content is never article text, in the languages of the shipped samples. Other
#: languages rely on their content: lists, references and templates produce no paragraph anyway.
END_SECTIONS = frozenset(s.casefold() for s in (
    "References", "See also", "External links", "Notes", "Further reading", "Bibliography", "Sources",
    "Footnotes", "Citations", "Notes and references", "References and notes",
    "Примітки", "Джерела", "Див. також", "Посилання", "Література",
    "Chú thích", "Tham khảo", "Liên kết ngoài", "Xem thêm", "Đọc thêm",
    "Ծանոթագրություններ", "Աղբյուրներ", "Տես նաև", "Արտաքին հղումներ", "Գրականություն",
))


@dataclass
class Mention:
    """A wikilink in a paragraph: ``text[start:end] == surface``; ``target`` is a normalised title."""

    start: int
    end: int
    surface: str
    target: str


@dataclass
class Paragraph:
    index: int
    text: str
    mentions: list[Mention]
    in_lead: bool


@dataclass
class ParsedArticle:
    paragraphs: list[Paragraph]
    short_description: str | None
    short_description_none: bool
    templates: set[str]
    disambiguation_magic: bool
    unbalanced_markup: int = 0
    links_other: dict[str, int] = field(default_factory=dict)
    #: ``(surface, target)`` of each article link of the body that is scanned, not parsed (lead scope):
    #: they count for the alias table and the link statistics, they are no mentions of any paragraph
    body_links: list[tuple[str, str]] = field(default_factory=list)


def redirect_target(text: str) -> str | None:
    """``#REDIRECT [[X]]`` in any language (``#đổi``, ``#ПЕРЕНАПРАВЛЕННЯ``): the raw target, for old
    dumps without a ``<redirect>`` element."""
    match = _REDIRECT.match(text)
    return match.group(1) if match else None


def _blocks(text: str) -> Iterable[tuple[str, str | None]]:
    """Yield ("heading", title) and ("block", wikitext) in order; list lines and rules are dropped."""
    lines: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        heading = _HEADING.match(stripped) if stripped.startswith("=") else None
        if heading or not stripped or stripped[0] in "*#:;|!" or stripped.startswith("----"):
            if lines:
                yield "block", "\n".join(lines)
                lines = []
            if heading:
                yield "heading", heading.group(2)
            continue
        lines.append(line)
    if lines:
        yield "block", "\n".join(lines)


class _Renderer:
    """One paragraph block → (plain text, mentions), following the plain text rules."""

    def __init__(self, site: Site, counts: dict[str, int]) -> None:
        self.site = site
        self.counts = counts

    def render(self, block: str) -> tuple[str, list[Mention]]:
        segments: list[tuple[str, str | None]] = []
        self._walk(mwparserfromhell.parse(block).nodes, segments)
        return _assemble(segments)

    def _walk(self, node_list, segments: list[tuple[str, str | None]]) -> None:
        for node in node_list:
            if isinstance(node, nodes.Text):
                value = node.value  # holes stay until _tidy
                if segments and segments[-1][1] is not None and value:
                    trail = _TRAIL.match(value.lstrip(GONE))  # removed markup does not end a link trail
                    if trail:
                        surface, target = segments[-1]
                        segments[-1] = (surface + trail.group(), target)
                        value = value.lstrip(GONE)[trail.end() :]
                if value:
                    segments.append((value, None))
            elif isinstance(node, nodes.Wikilink):
                self._link(node, segments)
            elif isinstance(node, nodes.Tag):
                if node.tag.lower() in ("br", "hr"):
                    segments.append((" ", None))
                elif node.contents is not None and node.tag.lower() not in DROPPED_TAGS:
                    self._walk(node.contents.nodes, segments)
                else:
                    segments.append((GONE, None))
            elif isinstance(node, nodes.HTMLEntity):
                segments.append((node.normalize(), None))
            elif isinstance(node, nodes.ExternalLink):
                if node.title is not None:
                    self._walk(node.title.nodes, segments)
                elif not node.brackets:
                    segments.append((str(node.url), None))
                else:  # "[https://…]" shows a number: a hole to us
                    segments.append((GONE, None))
            # Comments, headings, templates and arguments left here render nothing.

    def _link(self, node: nodes.Wikilink, segments: list[tuple[str, str | None]]) -> None:
        raw_target = html.unescape(str(node.title).replace(GONE, ""))
        target = self.site.parse_link_target(raw_target)
        if target.interwiki == "interlanguage":
            self.counts["interlanguage"] = self.counts.get("interlanguage", 0) + 1
            segments.append((GONE, None))
            return
        if file_link(raw_target, self.site):  # one inside a link's own text, left by strip_markup
            self.counts["file"] = self.counts.get("file", 0) + 1
            segments.append((GONE, None))
            return
        if target.namespace == CATEGORY_NS and not target.leading_colon:
            self.counts["category"] = self.counts.get("category", 0) + 1
            segments.append((GONE, None))
            return
        inner: list[tuple[str, str | None]] = []
        self._walk((node.text if node.text is not None else node.title).nodes, inner)
        visible = "".join(s for s, _ in inner).replace(GONE, "")
        if node.text is None:
            visible = visible.lstrip().lstrip(":")
        if not visible.strip() and node.text is not None and not str(node.text).strip():
            visible = re.sub(r"\s*\([^()]*\)\s*$", "", raw_target.split(":")[-1])  # the pipe trick
        if target.namespace != 0 or target.interwiki or not target.title or raw_target.strip().startswith("#"):
            self.counts["not_an_article"] = self.counts.get("not_an_article", 0) + 1
            segments.append((visible, None))
            return
        segments.append((visible, target.title))


def _assemble(segments: list[tuple[str, str | None]]) -> tuple[str, list[Mention]]:
    """Join segments, collapsing whitespace and keeping mention offsets exact (code points, NFC)."""
    out: list[str] = []
    length = 0
    mentions: list[Mention] = []
    for raw, target in segments:
        text = _WS.sub(" ", unicodedata.normalize("NFC", raw))
        if target is not None:
            text = RESIDUE.sub("", text)
        if not text:
            continue
        ends_with_space = bool(out) and out[-1].endswith(" ")
        if target is None:
            if ends_with_space and text.startswith(" "):
                text = text[1:]
            if text:
                out.append(text)
                length += len(text)
            continue
        surface = text.strip(" ")
        if not surface:
            if not ends_with_space and length:
                out.append(" ")
                length += 1
            continue
        if text.startswith(" ") and not ends_with_space and length:
            out.append(" ")
            length += 1
        mentions.append(Mention(length, length + len(surface), surface, target))
        out.append(surface)
        length += len(surface)
        if text.endswith(" "):
            out.append(" ")
            length += 1
    plain = "".join(out)
    lead = len(plain) - len(plain.lstrip(" "))
    plain = plain.strip(" ")
    if lead:
        for m in mentions:
            m.start -= lead
            m.end -= lead
    return plain, mentions


def _without(text: str, mentions: list[Mention], spans: Iterable[tuple[int, int]]) -> tuple[str, list[Mention]]:
    """``text`` without the character ranges ``spans``, whitespace collapsed again, mention offsets
    moved to match (a mention left empty is dropped)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif start < end:
            merged.append([start, end])
    starts = [start for start, _ in merged]
    removed = list(itertools.accumulate((end - start for start, end in merged), initial=0))

    def moved(i: int) -> int:
        k = bisect.bisect_right(starts, i)  # spans starting at or before i
        inside = max(0, min(i, merged[k - 1][1]) - merged[k - 1][0]) if k else 0
        return i - removed[k - 1] - inside if k else i

    kept = [0, *(x for span in merged for x in span), len(text)]
    new_text = "".join(text[a:b] for a, b in zip(kept[::2], kept[1::2], strict=True))
    shifted = [Mention(moved(m.start), moved(m.end), m.surface, m.target) for m in mentions]
    return _assemble(_segments_from(new_text, shifted))


def _scrub_residue(text: str, mentions: list[Mention]) -> tuple[str, list[Mention], int]:
    """Remove markup left by unbalanced links/formatting, shifting mention offsets to match."""
    hits = [hit.span() for hit in RESIDUE.finditer(text)]
    if not hits:
        return text, mentions, 0
    return (*_without(text, mentions, hits), len(hits))


def _tidy(text: str, mentions: list[Mention]) -> tuple[str, list[Mention]]:
    """Remove the holes and what they leave behind (:data:`_HOLE_TIDY`), offsets kept exact."""
    if GONE not in text:
        return text, mentions
    return _without(text, mentions, (hit.span() for hit in _HOLE_TIDY.finditer(text)))


def _segments_from(text: str, mentions: list[Mention]) -> list[tuple[str, str | None]]:
    segments, last = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        segments.append((text[last : m.start], None))
        segments.append((text[m.start : m.end], m.target))
        last = m.end
    segments.append((text[last:], None))
    return segments


def parse_article(
    text: str,
    site: Site,
    *,
    scope: str = "article",
    short_description_names: frozenset[str] = frozenset({"short description"}),
) -> ParsedArticle:
    """Paragraphs (plain text + mentions), short description and templates of one article; with
    ``scope="lead"`` the paragraphs are the lead's and the body is only scanned for its links."""
    disambig = _DISAMBIG_MAGIC in text
    templates = Templates(site, short_description_names)
    text, unbalanced_tables, files = strip_markup(text, templates)
    counts: dict[str, int] = {"file": files} if files else {}
    renderer = _Renderer(site, counts)
    paragraphs: list[Paragraph] = []
    unbalanced = templates.unbalanced + unbalanced_tables
    body: list[str] = []
    in_lead = True
    for kind, value in _blocks(text):
        if kind == "heading":
            if value.casefold().strip() in END_SECTIONS:
                break
            in_lead = False
            continue
        if scope == "lead" and not in_lead:  # scanned for its links below, not parsed
            body.append(value)
            continue
        plain, mentions = renderer.render(value)
        plain, mentions, scrubbed = _scrub_residue(plain, mentions)
        plain, mentions = _tidy(plain, mentions)
        unbalanced += scrubbed
        if plain:
            paragraphs.append(Paragraph(len(paragraphs), plain, mentions, in_lead))
    return ParsedArticle(
        paragraphs=paragraphs,
        short_description=templates.short_description,
        short_description_none=templates.short_description_none,
        templates=templates.used,
        disambiguation_magic=disambig,
        unbalanced_markup=unbalanced,
        links_other=counts,
        body_links=scan_links(body, site),
    )


def lead_sentence(paragraph: str, language: str) -> str:
    """The first sentence of a lead paragraph, parentheticals (pronunciation, dates) removed."""
    text = paragraph
    while True:
        reduced = _PAREN.sub("", text)
        if reduced == text:
            break
        text = reduced
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _WS.sub(" ", text)).strip()
    if not text:
        return ""
    try:
        first = next(iter(segment(language, text)), text)
    except Exception:  # sentencex raises for languages it has no rules for: fall back to English rules
        first = next(iter(segment("en", text)), text)
    return first.strip()
