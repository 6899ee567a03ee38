"""Wikitext → plain-text paragraphs with every wikilink kept as a mention (pure functions).

Each page is parsed once, and only what is kept: comments, ``<ref>``s, templates and tables are cut
first with a linear scanner (templates that carry text, such as ``{{lang|fr|texte}}``, render their
text), then each paragraph block goes through mwparserfromhell for links, formatting and entities.
Removed markup leaves a sentinel so that a line emptied by removal does not split a paragraph:
paragraphs are the blocks between blank lines of the *original* wikitext (DESIGN.md, plain text rules).
The sentinel stays in the rendered text as a *hole* until :func:`_tidy` has removed what holes leave
behind ("Alabama () is", "(; born 1950", "1912, )", "word , next"), so that brackets and punctuation
the article itself writes ("printf()") are kept. File links are cut before paragraphs are split, by
namespace or by their shape (a media file name, image options) where the prefix is a local alias the
siteinfo does not list, captions over several lines included; HTML tags go, their content stays.
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

from pipeline.dates import DATE_TEMPLATES, render_date
from pipeline.site import CATEGORY_NS, FILE_NS, MEDIA_NS, Site

_GONE = "\ue000"  # stands where markup was removed (a hole), until _tidy
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_DROPPED_TAGS = ("ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap",
                 "syntaxhighlight", "source", "graph", "mapframe", "maplink", "templatedata", "includeonly",
                 "hiero", "inputbox", "categorytree", "poem")
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
_LINK_HEAD = re.compile(r"\[\[([^\[\]{}|\n]*)")
_LINK_BRACKETS = re.compile(r"\[\[|\]\]")
_BLOCK_END = re.compile(r"\n[ \t]*\n")
_MEDIA_FILE = re.compile(
    r"\.(?:jpe?g|png|svg|gif|tiff?|webp|xcf|bmp|ogg|oga|ogv|opus|webm|mp3|mp4|wav|flac|midi?|pdf|djvu|stl)\s*$",
    re.IGNORECASE)
#: Image options (MediaWiki's img_* magic words) in English and the languages of the shipped samples:
#: a link whose prefix is no known namespace is a file link when one of them precedes its caption.
_IMAGE_OPTION = re.compile(
    r"^\s*(?:thumb(?:nail)?|frame(?:d|less)?|border|upright(?:\s*=?\s*[\d.]*)?|left|right|center|centre|none|"
    r"baseline|middle|top|bottom|\d*(?:x\d+)?\s*(?:px|пкс|пікс)|(?:alt|link|page|class|lang)\s*=[^|\]]*|"
    r"nhỏ|phải|trái|giữa|không|khung|đứng|міні|мініатюра|мини|праворуч|ліворуч|справа|зліва|центр|рамка|безрамки|"
    r"մինի|աջից|ձախից|կենտրոն|շրջանակ)\s*$", re.IGNORECASE)
#: Tags whose content is text (HTML block and inline, and the transclusion tags whose content the
#: page itself shows); the tags and their attributes never are.
_HTML_TAG_NAMES = ("div", "center", "blockquote", "p", "span", "font", "section", "article", "aside", "figure",
                   "figcaption", "small", "big", "sup", "sub", "s", "u", "b", "i", "em", "strong", "abbr", "cite",
                   "code", "tt", "var", "kbd", "samp", "q", "ins", "del", "strike", "mark", "bdi", "bdo", "ruby",
                   "rb", "rt", "rp", "time", "data", "dfn", "ol", "ul", "li", "dl", "dt", "dd", "h[1-6]", "wbr",
                   "table", "tr", "td", "th", "tbody", "thead", "tfoot", "caption", "colgroup", "col",
                   "onlyinclude", "noinclude")
_HTML_TAG = re.compile(rf"</?(?:{'|'.join(_HTML_TAG_NAMES)})\b[^<>]*>", re.IGNORECASE)
#: an HTML table with no table inside (tables go whole, as wikitext ones: innermost first)
_HTML_TABLE = re.compile(r"<table\b[^<>]*>(?:(?!<table\b).)*?</table\s*>", re.IGNORECASE | re.DOTALL)
#: what a file link that lost its "[[File:" leaves: "xnhỏ|321x321px|" before its caption
_OPTION_RUN = re.compile(rf"\|(?:{_IMAGE_OPTION.pattern[1:-1]}\|)+", re.IGNORECASE)
_TOKEN_START = re.compile(r"[^\s|\]]*$")
# What holes leave behind (H = the sentinel; P = punctuation and dashes a removal strands):
_P = r"\s,;:、，；–—\-"
_HOLE_TIDY = re.compile(
    rf"\s*[(（][{_P}.]*{_GONE}[{_P}.{_GONE}]*[)）]"  # a bracket with nothing but holes: "Alabama ( ; ) is"
    rf"|(?<=[(（])[{_P}]*{_GONE}[{_P}{_GONE}]*"  # what opens a bracket: "(; born 1950"
    rf"|[{_P}]*{_GONE}[{_P}{_GONE}]*(?=[)）])"  # what closes it: "1912 — , )"
    rf"|^[\s{_GONE}]*{_GONE}[{_P}{_GONE}]*"  # what starts the paragraph: ", born in"
    rf"|(?<=[,;:、，；])[\s{_GONE}]*{_GONE}[\s{_GONE}]*[,;:、，；]"  # doubled punctuation: "X, , Y"
    rf"|\s*{_GONE}[\s{_GONE}]*(?=[,.;:!?。、，；])"  # a space before punctuation: "word , next"
    rf"|{_GONE}")
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
        if folded in DATE_TEMPLATES:
            return render_date(folded, _split_args(self.strip(body, top=False))[1:], self.site.language) or _GONE
        index = TEXT_TEMPLATES.get(folded)
        if index is None and folded.startswith("lang-"):
            index = 1
        if index is None:
            return _GONE
        args = [a for a in _split_args(self.strip(body, top=False)) if "=" not in a.split("|")[0]]
        if len(args) <= index or not args[index].strip():
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


def _file_link(target: str, site: Site) -> bool | None:
    """Whether ``[[target|...]]`` embeds a file: True by namespace, or by a media file name after a
    prefix no namespace of the siteinfo has (a local alias, ``Hình:``); None when only its options
    can tell (see :data:`_IMAGE_OPTION`)."""
    if ":" not in target:
        return False
    parsed = site.parse_link_target(target)
    if parsed.leading_colon:
        return False
    if parsed.namespace in (FILE_NS, MEDIA_NS):
        return True
    if parsed.namespace != 0 or parsed.interwiki:
        return False
    return True if _MEDIA_FILE.search(target) else None


def _link_end(text: str, start: int) -> int | None:
    """Where the ``[[`` at ``start`` closes (nested links counted), or None."""
    depth = 0
    for match in _LINK_BRACKETS.finditer(text, start):
        depth += 1 if match.group() == "[[" else -1
        if depth == 0:
            return match.end()
    return None


def _strip_file_links(text: str, site: Site) -> tuple[str, int]:
    """Remove file links with their captions (nested links and line breaks in them), before the text is
    cut into paragraphs; one not closed within its block ends there. Returns the text and how many."""
    out, last, found = [], 0, 0
    for head in _LINK_HEAD.finditer(text):
        start = head.start()
        if start < last:
            continue
        kind = _file_link(head.group(1), site)
        if kind is False:
            continue
        end = _link_end(text, start)
        if kind is None and (end is None or not any(
                _IMAGE_OPTION.match(a) for a in _split_args(text[start + 2 : end - 2])[1:-1])):
            continue
        found += 1
        out.append(text[last:start] + _GONE)
        block_end = _BLOCK_END.search(text, start, end or len(text))
        if block_end:  # unclosed in its block ("[[File:x|a [[link]]" and paragraphs on): MediaWiki ends it there
            end = block_end.start()
        last = end or len(text)
    out.append(text[last:])
    return "".join(out), found


def _strip_option_runs(text: str) -> str:
    """What a file link that lost its ``[[File:`` leaves ("xnhỏ|321x321px|caption]]"): its options, and
    its caption up to the ``]]`` that closes it within the block."""
    out, last = [], 0
    for run in _OPTION_RUN.finditer(text):
        if run.start() < last:
            continue
        start = _TOKEN_START.search(text, max(last, run.start() - 200), run.start()).start()  # "xnhỏ" before it
        end, depth = run.end(), 0
        for bracket in _LINK_BRACKETS.finditer(text, run.end()):
            depth += 1 if bracket.group() == "[[" else -1
            if depth < 0:
                if not _BLOCK_END.search(text, run.end(), bracket.start()):
                    end = bracket.end()
                break
        out.append(text[last:start] + _GONE)
        last = end
    out.append(text[last:])
    return "".join(out)


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
                    trail = _TRAIL.match(value.lstrip(_GONE))  # removed markup does not end a link trail
                    if trail:
                        surface, target = segments[-1]
                        segments[-1] = (surface + trail.group(), target)
                        value = value.lstrip(_GONE)[trail.end() :]
                if value:
                    segments.append((value, None))
            elif isinstance(node, nodes.Wikilink):
                self._link(node, segments)
            elif isinstance(node, nodes.Tag):
                if node.tag.lower() in ("br", "hr"):
                    segments.append((" ", None))
                elif node.contents is not None and node.tag.lower() not in _DROPPED_TAGS:
                    self._walk(node.contents.nodes, segments)
                else:
                    segments.append((_GONE, None))
            elif isinstance(node, nodes.HTMLEntity):
                segments.append((node.normalize(), None))
            elif isinstance(node, nodes.ExternalLink):
                if node.title is not None:
                    self._walk(node.title.nodes, segments)
                elif not node.brackets:
                    segments.append((str(node.url), None))
                else:  # "[https://…]" shows a number: a hole to us
                    segments.append((_GONE, None))
            # Comments, headings, templates and arguments left here render nothing.

    def _link(self, node: nodes.Wikilink, segments: list[tuple[str, str | None]]) -> None:
        raw_target = html.unescape(str(node.title).replace(_GONE, ""))
        target = self.site.parse_link_target(raw_target)
        if target.interwiki == "interlanguage":
            self.counts["interlanguage"] = self.counts.get("interlanguage", 0) + 1
            segments.append((_GONE, None))
            return
        if _file_link(raw_target, self.site):  # one inside a link's own text, left by _strip_file_links
            self.counts["file"] = self.counts.get("file", 0) + 1
            segments.append((_GONE, None))
            return
        if target.namespace == CATEGORY_NS and not target.leading_colon:
            self.counts["category"] = self.counts.get("category", 0) + 1
            segments.append((_GONE, None))
            return
        inner: list[tuple[str, str | None]] = []
        self._walk((node.text if node.text is not None else node.title).nodes, inner)
        visible = "".join(s for s, _ in inner).replace(_GONE, "")
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
    hits = [hit.span() for hit in _RESIDUE.finditer(text)]
    if not hits:
        return text, mentions, 0
    return (*_without(text, mentions, hits), len(hits))


def _tidy(text: str, mentions: list[Mention]) -> tuple[str, list[Mention]]:
    """Remove the holes and what they leave behind (:data:`_HOLE_TIDY`), offsets kept exact."""
    if _GONE not in text:
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
    """Paragraphs (plain text + mentions), short description and templates of one article."""
    disambig = _DISAMBIG_MAGIC in text
    text = _COMMENT.sub(_GONE, text)
    text = _SELF_CLOSED_TAG.sub(_GONE, text)
    text = _PAIRED_TAG.sub(_GONE, text)
    text = _BROKEN_TAG.sub(_GONE, text)
    while True:
        text, tables = _HTML_TABLE.subn(_GONE, text)
        if not tables:
            break
    templates = _Templates(site, short_description_names)
    text = templates.strip(text)
    text, unbalanced_tables = _strip_tables(text)
    text = _MAGIC_WORD.sub(_GONE, text)
    text, files = _strip_file_links(text, site)
    text = _strip_option_runs(text)
    text = _HTML_TAG.sub(_GONE, text)
    counts: dict[str, int] = {"file": files} if files else {}
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
