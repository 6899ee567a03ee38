"""Wikitext → plain-text paragraphs with every wikilink kept as a mention (pure functions).

Each page is parsed once, and only what is kept: comments, ``<ref>``s, templates, tables and file links
are cut first with a linear scanner (:mod:`pipeline.markup`), then each paragraph block goes through
mwparserfromhell's tokenizer for links, formatting and entities (its tokens walked, not its node tree:
see :class:`_Renderer`).
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

from mwparserfromhell import nodes
from mwparserfromhell.parser import CTokenizer, tokens, use_c
from mwparserfromhell.parser.builder import Builder
from mwparserfromhell.parser.tokenizer import Tokenizer
from sentencex import segment

from pipeline.links import LINK_TRAIL as _TRAIL
from pipeline.links import names_article, pipe_trick, scan_links
from pipeline.markup import DROPPED_TAGS, GONE, RESIDUE, Templates, file_link, strip_markup
from pipeline.site import CATEGORY_NS, LinkTarget, Site

_DISAMBIG_MAGIC = "__DISAMBIG__"
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")
_REDIRECT = re.compile(r"^\s*#[^\s\[]+\s*:?\s*\[\[([^\]|#]+)", re.UNICODE)
#: whitespace that collapsing to single spaces changes (all but a lone " "): text without any costs no copy
_WS = re.compile(r"[^\S ]\s*| \s+")
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
#: a character _HOLE_TIDY matches or looks around at: each of its matches lies within a run of them that
#: holds a hole (:func:`_hole_runs`), so it scans only those instead of every character of the paragraph
_HOLE_CHAR = re.compile(rf"[\s(（)）{_P}.!?。{GONE}]")
_HOLE_CHARS = re.compile(rf"{_HOLE_CHAR.pattern}*")
#: every match of RESIDUE holds one of these
_RESIDUE_MARKS = ("[[", "]]", "{{", "}}", "''", "{|", "|}")
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
    """One paragraph block → (plain text, mentions), following the plain text rules.

    The block is walked as mwparserfromhell's *tokens*: building its node tree costs several times
    the tokenizing. A construct whose rendering needs its source text with markup in it (a link
    title holding an entity, a label with formatting) is built as mwparserfromhell's node and walked
    as nodes (:meth:`_walk`); both walks apply the same rules (:meth:`_text`, :meth:`_link_target`,
    :meth:`_link_shown`, :func:`_tag_shown`, :func:`_external_shown`)."""

    def __init__(self, site: Site, counts: dict[str, int]) -> None:
        self.site = site
        self.counts = counts
        self.tokenizer = CTokenizer() if use_c and CTokenizer else Tokenizer()  # as mwparserfromhell.parse

    def render(self, block: str) -> tuple[str, list[Mention]]:
        segments: list[tuple[str, str | None]] = []
        toks = self.tokenizer.tokenize(block, 0, False)
        self._walk_tokens(toks, 0, len(toks), segments)
        return _assemble(segments)

    def _walk_tokens(self, toks: list, i: int, end: int, segments: list[tuple[str, str | None]]) -> None:
        while i < end:
            kind = type(toks[i])
            if kind is tokens.Text:
                self._text(toks[i]["text"], segments)
                i += 1
            elif kind is tokens.WikilinkOpen:
                i = self._wikilink_tokens(toks, i, segments)
            elif kind is tokens.TagOpenOpen:
                i = self._tag_tokens(toks, i, segments)
            elif kind is tokens.HTMLEntityStart:
                i = self._entity_tokens(toks, i, segments)
            elif kind is tokens.ExternalLinkOpen:
                i = self._external_link_tokens(toks, i, segments)
            else:  # comments, headings, templates and arguments left here render nothing
                i = _until(toks, i + 1, _CLOSES) + 1

    def _by_nodes(self, toks: list, i: int, segments: list[tuple[str, str | None]]) -> int:
        """The construct opening at ``toks[i]`` built as mwparserfromhell's node and walked as nodes;
        where it ends."""
        end = _until(toks, i + 1, _CLOSES) + 1
        self._walk(Builder().build(toks[i:end]).nodes, segments)
        return end

    def _wikilink_tokens(self, toks: list, i: int, segments: list[tuple[str, str | None]]) -> int:
        title, j = _texts(toks, i + 1)
        label = None
        if type(toks[j]) is tokens.WikilinkSeparator:
            label, j = _texts(toks, j + 1)
        if type(toks[j]) is not tokens.WikilinkClose:  # markup in the title or label
            return self._by_nodes(toks, i, segments)
        found = self._link_target("".join(title), segments)
        if found:
            shown: list[tuple[str, str | None]] = []
            for value in title if label is None else label:
                self._text(value, shown)
            self._link_shown(*found, shown, None if label is None else "".join(label), segments)
        return j + 1

    def _tag_tokens(self, toks: list, i: int, segments: list[tuple[str, str | None]]) -> int:
        name, j = _texts(toks, i + 1)
        if type(toks[j]) is tokens.TagAttrStart:
            j = _until(toks, j, _TAG_OPENED)
        elif type(toks[j]) not in _TAG_OPENED:  # markup in the tag name
            return self._by_nodes(toks, i, segments)
        shown = _tag_shown("".join(name))
        if type(toks[j]) is tokens.TagCloseSelfclose:  # no contents
            if shown is not None:
                segments.append((shown, None))
            return j + 1
        closing = _until(toks, j + 1, (tokens.TagOpenClose,))
        if shown is None:
            self._walk_tokens(toks, j + 1, closing, segments)
        else:
            segments.append((shown, None))
        return _until(toks, closing + 1, (tokens.TagCloseClose,)) + 1

    @staticmethod
    def _entity_tokens(toks: list, i: int, segments: list[tuple[str, str | None]]) -> int:
        """``&name;``, ``&#65;``, ``&#x41;`` as mwparserfromhell's builder makes them, normalised."""
        if type(toks[i + 1]) is not tokens.HTMLEntityNumeric:
            entity, end = nodes.HTMLEntity(toks[i + 1]["text"], named=True, hexadecimal=False), i + 3
        elif type(toks[i + 2]) is tokens.HTMLEntityHex:
            entity = nodes.HTMLEntity(toks[i + 3]["text"], named=False, hexadecimal=True, hex_char=toks[i + 2]["char"])
            end = i + 5
        else:
            entity, end = nodes.HTMLEntity(toks[i + 2]["text"], named=False, hexadecimal=False), i + 4
        segments.append((entity.normalize(), None))
        return end

    def _external_link_tokens(self, toks: list, i: int, segments: list[tuple[str, str | None]]) -> int:
        url, j = _texts(toks, i + 1)
        if type(toks[j]) is tokens.ExternalLinkSeparator:
            end = _until(toks, j + 1, (tokens.ExternalLinkClose,))
            self._walk_tokens(toks, j + 1, end, segments)
            return end + 1
        if type(toks[j]) is not tokens.ExternalLinkClose:  # markup in the url
            return self._by_nodes(toks, i, segments)
        segments.append((_external_shown(toks[i].brackets, "".join(url)), None))
        return j + 1

    def _walk(self, node_list, segments: list[tuple[str, str | None]]) -> None:
        for node in node_list:
            if isinstance(node, nodes.Text):
                self._text(node.value, segments)
            elif isinstance(node, nodes.Wikilink):
                found = self._link_target(str(node.title), segments)
                if found:
                    shown: list[tuple[str, str | None]] = []
                    self._walk((node.text if node.text is not None else node.title).nodes, shown)
                    self._link_shown(*found, shown, None if node.text is None else str(node.text), segments)
            elif isinstance(node, nodes.Tag):
                shown_tag = _tag_shown(str(node.tag))
                if shown_tag is None:
                    self._walk(node.contents.nodes, segments)  # empty for a self-closing tag
                else:
                    segments.append((shown_tag, None))
            elif isinstance(node, nodes.HTMLEntity):
                segments.append((node.normalize(), None))
            elif isinstance(node, nodes.ExternalLink):
                if node.title is not None:
                    self._walk(node.title.nodes, segments)
                else:
                    segments.append((_external_shown(node.brackets, str(node.url)), None))
            # Comments, headings, templates and arguments left here render nothing.

    @staticmethod
    def _text(value: str, segments: list[tuple[str, str | None]]) -> None:
        """Text, its leading letters joined to a link just before it (the link trail)."""
        if segments and segments[-1][1] is not None and value:
            trail = _TRAIL.match(value.lstrip(GONE))  # removed markup does not end a link trail
            if trail:
                surface, target = segments[-1]
                segments[-1] = (surface + trail.group(), target)
                value = value.lstrip(GONE)[trail.end() :]
        if value:  # holes stay until _tidy
            segments.append((value, None))

    def _link_target(self, title: str, segments: list[tuple[str, str | None]]) -> tuple[str, LinkTarget] | None:
        """(raw target, target) of a wikilink whose title is ``title``, or None for one that shows
        nothing (interlanguage, file, category: a hole, counted)."""
        raw_target = html.unescape(title.replace(GONE, ""))
        target = self.site.parse_link_target(raw_target)
        if target.interwiki == "interlanguage":
            kind = "interlanguage"
        elif file_link(raw_target, self.site):  # one inside a link's own text, left by strip_markup
            kind = "file"
        elif target.namespace == CATEGORY_NS and not target.leading_colon:
            kind = "category"
        else:
            return raw_target, target
        self.counts[kind] = self.counts.get(kind, 0) + 1
        segments.append((GONE, None))
        return None

    def _link_shown(self, raw_target: str, target: LinkTarget, shown: list[tuple[str, str | None]],
                    label: str | None, segments: list[tuple[str, str | None]]) -> None:
        """A wikilink as it shows (``shown``: its label, or its title without one, rendered): a mention,
        or plain text for a link to no article."""
        visible = "".join(s for s, _ in shown).replace(GONE, "")
        if label is None:
            visible = visible.lstrip().lstrip(":")
        if not visible.strip() and label is not None and not label.strip():
            visible = pipe_trick(raw_target)
        if not names_article(raw_target, target):
            self.counts["not_an_article"] = self.counts.get("not_an_article", 0) + 1
            segments.append((visible, None))
            return
        segments.append((visible, target.title))


#: tokens that open a construct mwparserfromhell's builder makes a node of, and those that close one
_OPENS = frozenset({tokens.TemplateOpen, tokens.ArgumentOpen, tokens.WikilinkOpen, tokens.ExternalLinkOpen,
                    tokens.HTMLEntityStart, tokens.HeadingStart, tokens.CommentStart, tokens.TagOpenOpen})
_CLOSES = frozenset({tokens.TemplateClose, tokens.ArgumentClose, tokens.WikilinkClose, tokens.ExternalLinkClose,
                     tokens.HTMLEntityEnd, tokens.HeadingEnd, tokens.CommentEnd, tokens.TagCloseSelfclose,
                     tokens.TagCloseClose})
_TAG_OPENED = (tokens.TagCloseOpen, tokens.TagCloseSelfclose)  # the end of a tag's name and attributes


def _until(toks: list, i: int, stops) -> int:
    """The index of the first token from ``i`` on, outside constructs opened after ``i``, of a type in
    ``stops``."""
    depth = 0
    while True:
        kind = type(toks[i])
        if not depth and kind in stops:
            return i
        if kind in _OPENS:
            depth += 1
        elif kind in _CLOSES:
            depth -= 1
        i += 1


def _texts(toks: list, i: int) -> tuple[list[str], int]:
    """The values of the Text tokens from ``i`` on, and the index of the first other token."""
    values = []
    while type(toks[i]) is tokens.Text:
        values.append(toks[i]["text"])
        i += 1
    return values, i


def _tag_shown(name: str) -> str | None:
    """What a tag shows in place of its contents (a space for a line break, a hole for a dropped
    tag), or None where its contents show."""
    name = name.lower()
    if name in ("br", "hr"):
        return " "
    return GONE if name in DROPPED_TAGS else None


def _external_shown(brackets: bool, url: str) -> str:
    """An external link without a title: a bare url shows; ``[https://…]`` shows a number, a hole to us."""
    return GONE if brackets else url


def _assemble(segments: list[tuple[str, str | None]]) -> tuple[str, list[Mention]]:
    """Join segments, collapsing whitespace and keeping mention offsets exact (code points, NFC)."""
    out: list[str] = []
    length = 0
    mentions: list[Mention] = []
    ends_with_space = False  # whether out[-1] ends with " " (its pieces are never empty)
    normalize, collapse, residue = unicodedata.normalize, _WS.sub, RESIDUE.sub
    for raw, target in segments:
        text = normalize("NFC", raw)
        if not text.isprintable() or "  " in text:  # every whitespace but " " is unprintable: else nothing to collapse
            text = collapse(" ", text)
        if target is None:
            if ends_with_space and text[:1] == " ":
                text = text[1:]
            if text:
                out.append(text)
                length += len(text)
                ends_with_space = text[-1] == " "
            continue
        text = residue("", text)
        surface = text.strip(" ")
        if not surface:
            if text and not ends_with_space and length:
                out.append(" ")
                length += 1
                ends_with_space = True
            continue
        if text[0] == " " and not ends_with_space and length:
            out.append(" ")
            length += 1
        mentions.append(Mention(length, length + len(surface), surface, target))
        out.append(surface)
        length += len(surface)
        ends_with_space = text[-1] == " "
        if ends_with_space:
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
    segments, last = [], 0
    for m in sorted(mentions, key=lambda m: m.start):  # moved() keeps their order
        start, end = moved(m.start), moved(m.end)
        segments.append((new_text[last:start], None))
        segments.append((new_text[start:end], m.target))
        last = end
    segments.append((new_text[last:], None))
    return _assemble(segments)


def _scrub_residue(text: str, mentions: list[Mention]) -> tuple[str, list[Mention], int]:
    """Remove markup left by unbalanced links/formatting, shifting mention offsets to match."""
    if not any(mark in text for mark in _RESIDUE_MARKS):  # far cheaper than the regex scan
        return text, mentions, 0
    hits = [hit.span() for hit in RESIDUE.finditer(text)]
    if not hits:
        return text, mentions, 0
    return (*_without(text, mentions, hits), len(hits))


def _tidy(text: str, mentions: list[Mention]) -> tuple[str, list[Mention]]:
    """Remove the holes and what they leave behind (:data:`_HOLE_TIDY`), offsets kept exact."""
    if GONE not in text:
        return text, mentions
    return _without(text, mentions, [hit.span() for start, end in _hole_runs(text)
                                     for hit in _HOLE_TIDY.finditer(text, start, end)])


def _hole_runs(text: str) -> Iterable[tuple[int, int]]:
    """``(start, end)`` of each longest run of :data:`_HOLE_CHAR` characters that holds a hole, found
    from the holes out (a regex for the runs would try every character of the paragraph as a start)."""
    hole = text.find(GONE)
    while hole >= 0:
        start = hole
        while start and _HOLE_CHAR.match(text, start - 1):
            start -= 1
        end = _HOLE_CHARS.match(text, hole).end()
        yield start, end
        hole = text.find(GONE, end)


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
