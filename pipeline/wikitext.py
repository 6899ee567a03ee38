"""Wikitext → plain-text paragraphs with every wikilink kept as a mention (pure functions).

Each page is parsed once, and only what is kept: comments, ``<ref>``s, templates and tables are cut
first with a linear scanner (templates that carry text, such as ``{{lang|fr|texte}}``, render their
text), then each paragraph block goes through mwparserfromhell for links, formatting and entities.
Removed markup leaves a sentinel so that a line emptied by removal does not split a paragraph:
paragraphs are the blocks between blank lines of the *original* wikitext (DESIGN.md, plain text rules).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import mwparserfromhell
from mwparserfromhell import nodes
from sentencex import segment

from pipeline.site import CATEGORY_NS, FILE_NS, MEDIA_NS, Site

_GONE = "\ue000"  # stands where markup was removed, until rendering
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_DROPPED_TAGS = ("ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap",
                 "syntaxhighlight", "source", "graph", "mapframe", "maplink", "templatedata", "noinclude",
                 "includeonly", "hiero", "inputbox", "categorytree", "poem")
_TAG_NAMES = "|".join(_DROPPED_TAGS)
_SELF_CLOSED_TAG = re.compile(rf"<(?:{_TAG_NAMES})\b[^<>]*?/\s*>", re.IGNORECASE)
_PAIRED_TAG = re.compile(rf"<({_TAG_NAMES})\b[^<>]*?>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
# "<ref name=x" never closed by ">": MediaWiki shows it as text; it is markup residue to us.
_BROKEN_TAG = re.compile(rf"<(?:{_TAG_NAMES})\b[^<>\n]*(?=[<\n]|$)", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")
_TABLE_LINE = re.compile(r"^[ \t]*(\{\||\|\})", re.MULTILINE)
_MAGIC_WORD = re.compile(r"__[A-ZÀ-ÿ_]+__")
_DISAMBIG_MAGIC = "__DISAMBIG__"
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")
_REDIRECT = re.compile(r"^\s*#[^\s\[]+\s*:?\s*\[\[([^\]|#]+)", re.UNICODE)
_WS = re.compile(r"\s+")
_RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|'{2,}|\{\||\|\}")
_PAREN = re.compile(r"\s*(?:\([^()]*\)|（[^（）]*）)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?،。、，])")
# Letters that continue a link ("[[apple]]s"); scripts written without spaces have no link trail.
_TRAIL = re.compile(r"^[^\W\d_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\uac00-\ud7af]+")

#: Sections whose content is never article text, in the languages of the shipped samples. Other
#: languages rely on their content: lists, references and templates produce no paragraph anyway.
END_SECTIONS = frozenset(s.casefold() for s in (
    "References", "See also", "External links", "Notes", "Further reading", "Bibliography", "Sources",
    "Footnotes", "Citations", "Notes and references", "References and notes",
    "Примітки", "Джерела", "Див. також", "Посилання", "Література",
    "Chú thích", "Tham khảo", "Liên kết ngoài", "Xem thêm", "Đọc thêm",
    "Ծանոթագրություններ", "Աղբյուրներ", "Տես նաև", "Արտաքին հղումներ", "Գրականություն",
))

#: Templates that render (part of) their arguments as text: name → index of the shown argument.
TEXT_TEMPLATES: dict[str, int] = {
    "lang": 2, "langx": 2, "transl": 2, "nowrap": 1, "nobr": 1, "small": 1, "smaller": 1, "big": 1,
    "sic": 1, "abbr": 1, "math": 1, "mvar": 1, "nihongo": 1, "ill": 1, "interlanguage link": 1,
    "not a typo": 1, "as written": 1, "em": 1, "var": 1, "lang-la": 1, "noitalic": 1, "nbsp": 0,
    "spaced ndash": 0, "snd": 0, "ndash": 0, "mdash": 0,
}
_SYMBOL_TEMPLATES = {"nbsp": " ", "spaced ndash": " – ", "snd": " – ", "ndash": "–", "mdash": "—"}


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


def redirect_target(text: str) -> str | None:
    """``#REDIRECT [[X]]`` in any language (``#đổi``, ``#ПЕРЕНАПРАВЛЕННЯ``): the raw target, for old
    dumps without a ``<redirect>`` element."""
    match = _REDIRECT.match(text)
    return match.group(1) if match else None


def template_name(raw: str, site: Site) -> str:
    """``{{ short_description |...}}`` → ``Short description`` (site title rules, no namespace)."""
    name = raw.split("|", 1)[0].split(":", 1)
    base = name[1] if len(name) == 2 and site.namespace_of(name[0]) == 10 else name[0]
    return site.normalize(base)


class _Templates:
    """Linear scan of balanced ``{{...}}``: text-carrying templates render, the others go."""

    def __init__(self, site: Site, short_description_names: frozenset[str]) -> None:
        self.site = site
        self.short_description_names = short_description_names
        self.used: set[str] = set()
        self.short_description: str | None = None
        self.short_description_none = False
        self.unbalanced = 0

    def strip(self, text: str, top: bool = True) -> str:
        out: list[str] = []
        depth, start, last = 0, 0, 0
        for match in _BRACES.finditer(text):
            if match.group() == "{{":
                if depth == 0:
                    out.append(text[last : match.start()])
                    start = match.start()
                depth += 1
            elif depth > 0:
                depth -= 1
                if depth == 0:
                    out.append(self._render(text[start + 2 : match.start()], top))
                    last = match.end()
            else:  # a stray "}}"
                out.append(text[last : match.start()] + _GONE)
                last = match.end()
                self.unbalanced += 1
        if depth > 0:  # an unclosed "{{": drop it to the end of its paragraph block
            self.unbalanced += 1
            tail = text[start:]
            block_end = re.search(r"\n[ \t]*\n", tail)
            out.append(_GONE + (tail[block_end.start() :] if block_end else ""))
        else:
            out.append(text[last:])
        return "".join(out)

    def _render(self, body: str, top: bool) -> str:
        if body.startswith("{"):  # a template argument {{{x}}}: no text in an article
            return _GONE
        head = body.split("|", 1)[0]
        if head.lstrip().startswith("#") or (":" in head and head.split(":", 1)[0].strip().isupper()):
            return _GONE  # parser functions and magic words ({{#if:..}}, {{DISPLAYTITLE:..}})
        name = template_name(body, self.site)
        if top:
            self.used.add(name)
        folded = name.casefold()
        if folded in self.short_description_names:
            self._read_short_description(body)
            return _GONE
        if folded in _SYMBOL_TEMPLATES:
            return _SYMBOL_TEMPLATES[folded]
        index = TEXT_TEMPLATES.get(folded)
        if index is None and folded.startswith("lang-"):
            index = 1
        if index is None:
            return _GONE
        args = [a for a in _split_args(self.strip(body, top=False)) if "=" not in a.split("|")[0]]
        if len(args) <= index:
            return _GONE
        return args[index]

    def _read_short_description(self, body: str) -> None:
        args = _split_args(self.strip(body, top=False))
        positional = [a.strip() for a in args[1:] if "=" not in a]
        value = positional[0] if positional else ""
        value = _clean_inline(value)
        if value.casefold() == "none":
            self.short_description_none = True
        elif value and self.short_description is None:
            self.short_description = value


def _split_args(body: str) -> list[str]:
    """Split a template body at top-level ``|`` (not inside ``[[...]]``)."""
    args, depth, last = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "[" and body.startswith("[[", i):
            depth += 1
        elif ch == "]" and body.startswith("]]", i) and depth:
            depth -= 1
        elif ch == "|" and depth == 0:
            args.append(body[last:i])
            last = i + 1
    args.append(body[last:])
    return args


def _clean_inline(wikitext: str) -> str:
    """Plain text of a short piece of wikitext (a template value)."""
    text = mwparserfromhell.parse(wikitext.replace(_GONE, "")).strip_code(normalize=True, collapse=True)
    return _WS.sub(" ", _RESIDUE.sub("", text)).strip()


def _strip_tables(text: str) -> tuple[str, int]:
    """Remove ``{| ... |}`` tables (nested ones too); an unclosed table ends at its block's end."""
    out, depth, last, start, unbalanced = [], 0, 0, 0, 0
    for match in _TABLE_LINE.finditer(text):
        if match.group(1) == "{|":
            if depth == 0:
                out.append(text[last : match.start()])
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                line_end = text.find("\n", match.end())
                last = len(text) if line_end < 0 else line_end
                out.append(_GONE)
    if depth:
        unbalanced += 1
        block_end = re.search(r"\n[ \t]*\n", text[start:])
        out.append(_GONE + (text[start + block_end.start() :] if block_end else ""))
    else:
        out.append(text[last:])
    return "".join(out), unbalanced


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
                value = node.value.replace(_GONE, "")
                if segments and segments[-1][1] is not None and value:
                    trail = _TRAIL.match(value)
                    if trail:
                        surface, target = segments[-1]
                        segments[-1] = (surface + trail.group(), target)
                        value = value[trail.end() :]
                if value:
                    segments.append((value, None))
            elif isinstance(node, nodes.Wikilink):
                self._link(node, segments)
            elif isinstance(node, nodes.Tag):
                if node.tag.lower() in ("br", "hr"):
                    segments.append((" ", None))
                elif node.contents is not None and node.tag.lower() not in _DROPPED_TAGS:
                    self._walk(node.contents.nodes, segments)
            elif isinstance(node, nodes.HTMLEntity):
                segments.append((node.normalize(), None))
            elif isinstance(node, nodes.ExternalLink):
                if node.title is not None:
                    self._walk(node.title.nodes, segments)
                elif not node.brackets:
                    segments.append((str(node.url), None))
            # Comments, headings, templates and arguments left here render nothing.

    def _link(self, node: nodes.Wikilink, segments: list[tuple[str, str | None]]) -> None:
        raw_target = html.unescape(str(node.title).replace(_GONE, ""))
        target = self.site.parse_link_target(raw_target)
        if target.interwiki == "interlanguage":
            self.counts["interlanguage"] = self.counts.get("interlanguage", 0) + 1
            return
        if target.namespace in (FILE_NS, MEDIA_NS) and not target.leading_colon:
            self.counts["file"] = self.counts.get("file", 0) + 1
            return
        if target.namespace == CATEGORY_NS and not target.leading_colon:
            self.counts["category"] = self.counts.get("category", 0) + 1
            return
        inner: list[tuple[str, str | None]] = []
        self._walk((node.text if node.text is not None else node.title).nodes, inner)
        visible = "".join(s for s, _ in inner)
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
            text = _RESIDUE.sub("", text)
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


def _scrub_residue(text: str, mentions: list[Mention]) -> tuple[str, list[Mention], int]:
    """Remove markup left by unbalanced links/formatting, shifting mention offsets to match."""
    hits = list(_RESIDUE.finditer(text))
    if not hits:
        return text, mentions, 0
    keep = [True] * len(text)
    for hit in hits:
        for i in range(hit.start(), hit.end()):
            keep[i] = False
    shift = [0] * (len(text) + 1)
    removed = 0
    for i, kept in enumerate(keep):
        shift[i] = removed
        removed += not kept
    shift[len(text)] = removed
    new_text = "".join(ch for ch, kept in zip(text, keep) if kept)
    moved = [Mention(m.start - shift[m.start], m.end - shift[m.end], m.surface, m.target) for m in mentions]
    collapsed, final_mentions = _assemble(_segments_from(new_text, moved))
    return collapsed, final_mentions, len(hits)


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
    """Paragraphs (plain text + mentions), short description and templates of one article."""
    disambig = _DISAMBIG_MAGIC in text
    text = _COMMENT.sub(_GONE, text)
    text = _SELF_CLOSED_TAG.sub(_GONE, text)
    text = _PAIRED_TAG.sub(_GONE, text)
    text = _BROKEN_TAG.sub(_GONE, text)
    templates = _Templates(site, short_description_names)
    text = templates.strip(text)
    text, unbalanced_tables = _strip_tables(text)
    text = _MAGIC_WORD.sub(_GONE, text)
    counts: dict[str, int] = {}
    renderer = _Renderer(site, counts)
    paragraphs: list[Paragraph] = []
    unbalanced = templates.unbalanced + unbalanced_tables
    in_lead = True
    for kind, value in _blocks(text):
        if kind == "heading":
            if value.casefold().strip() in END_SECTIONS:
                break
            in_lead = False
            if scope == "lead":
                break
            continue
        plain, mentions = renderer.render(value)
        plain, mentions, scrubbed = _scrub_residue(plain, mentions)
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
