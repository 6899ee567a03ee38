"""Markup that is no paragraph text, cut from a whole page before its paragraphs are parsed (pure functions).

Tables, file links with their captions, HTML tables and ``<ref>``s run across blank lines, so they must go
before the page is split into paragraph blocks, and a linear scan of the raw page is far cheaper than
giving them to mwparserfromhell. File links go by namespace, or by their shape (a media file name, image
options) where the prefix is a local alias the siteinfo does not list; HTML tags go, their content stays.
Templates go in the same pass: those that carry text (``{{lang|fr|texte}}``, dates) render it, and the
short description is read on the way. What is cut leaves a hole (:data:`GONE`), which
:mod:`pipeline.wikitext` tidies once paragraphs are rendered.
"""

from __future__ import annotations

import re

import mwparserfromhell

from pipeline.dates import DATE_TEMPLATES, render_date
from pipeline.site import FILE_NS, MEDIA_NS, Site

GONE = "\ue000"  # stands where markup was removed (a hole), until pipeline.wikitext tidies it
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
DROPPED_TAGS = ("ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap",
                "syntaxhighlight", "source", "graph", "mapframe", "maplink", "templatedata", "includeonly",
                "hiero", "inputbox", "categorytree", "poem")
_TAG_NAMES = "|".join(DROPPED_TAGS)
_SELF_CLOSED_TAG = re.compile(rf"<(?:{_TAG_NAMES})\b[^<>]*?/\s*>", re.IGNORECASE)
_PAIRED_TAG = re.compile(rf"<({_TAG_NAMES})\b[^<>]*?>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
# "<ref name=x" never closed by ">": MediaWiki shows it as text; it is markup residue to us.
_BROKEN_TAG = re.compile(rf"<(?:{_TAG_NAMES})\b[^<>\n]*(?=[<\n]|$)", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")
_TABLE_LINE = re.compile(r"^[ \t]*(\{\||\|\})", re.MULTILINE)
_MAGIC_WORD = re.compile(r"__[A-ZÀ-ÿ_]+__")
_WS = re.compile(r"\s+")
RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|'{2,}|\{\||\|\}")
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

#: Templates that render (part of) their arguments as text: name → index of the shown argument.
TEXT_TEMPLATES: dict[str, int] = {
    "lang": 2, "langx": 2, "transl": 2, "nowrap": 1, "nobr": 1, "small": 1, "smaller": 1, "big": 1,
    "sic": 1, "abbr": 1, "math": 1, "mvar": 1, "nihongo": 1, "ill": 1, "interlanguage link": 1,
    "not a typo": 1, "as written": 1, "em": 1, "var": 1, "lang-la": 1, "noitalic": 1, "nbsp": 0,
    "spaced ndash": 0, "snd": 0, "ndash": 0, "mdash": 0,
}
_SYMBOL_TEMPLATES = {"nbsp": " ", "spaced ndash": " – ", "snd": " – ", "ndash": "–", "mdash": "—"}


def template_name(raw: str, site: Site) -> str:
    """``{{ short_description |...}}`` → ``Short description`` (site title rules, no namespace)."""
    name = raw.split("|", 1)[0].split(":", 1)
    base = name[1] if len(name) == 2 and site.namespace_of(name[0]) == 10 else name[0]
    return site.normalize(base)


class Templates:
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
                out.append(text[last : match.start()] + GONE)
                last = match.end()
                self.unbalanced += 1
        if depth > 0:  # an unclosed "{{": drop it to the end of its paragraph block
            self.unbalanced += 1
            tail = text[start:]
            block_end = re.search(r"\n[ \t]*\n", tail)
            out.append(GONE + (tail[block_end.start() :] if block_end else ""))
        else:
            out.append(text[last:])
        return "".join(out)

    def _render(self, body: str, top: bool) -> str:
        if body.startswith("{"):  # a template argument {{{x}}}: no text in an article
            return GONE
        head = body.split("|", 1)[0]
        if head.lstrip().startswith("#") or (":" in head and head.split(":", 1)[0].strip().isupper()):
            return GONE  # parser functions and magic words ({{#if:..}}, {{DISPLAYTITLE:..}})
        name = template_name(body, self.site)
        if top:
            self.used.add(name)
        folded = name.casefold()
        if folded in self.short_description_names:
            self._read_short_description(body)
            return GONE
        if folded in _SYMBOL_TEMPLATES:
            return _SYMBOL_TEMPLATES[folded]
        if folded in DATE_TEMPLATES:
            return render_date(folded, _split_args(self.strip(body, top=False))[1:], self.site.language) or GONE
        index = TEXT_TEMPLATES.get(folded)
        if index is None and folded.startswith("lang-"):
            index = 1
        if index is None:
            return GONE
        args = [a for a in _split_args(self.strip(body, top=False)) if "=" not in a.split("|")[0]]
        if len(args) <= index or not args[index].strip():
            return GONE
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
    text = mwparserfromhell.parse(wikitext.replace(GONE, "")).strip_code(normalize=True, collapse=True)
    return _WS.sub(" ", RESIDUE.sub("", text)).strip()


def _strip_tables(text: str) -> tuple[str, int]:
    """Remove ``{| ... |}`` tables (nested ones too); an unclosed table ends at its block's end."""
    if "{|" not in text:  # a "|}" line without a table is kept: no line to find
        return text, 0
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
                out.append(GONE)
    if depth:
        unbalanced += 1
        block_end = re.search(r"\n[ \t]*\n", text[start:])
        out.append(GONE + (text[start + block_end.start() :] if block_end else ""))
    else:
        out.append(text[last:])
    return "".join(out), unbalanced


def file_link(target: str, site: Site) -> bool | None:
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
        kind = file_link(head.group(1), site)
        if kind is False:
            continue
        end = _link_end(text, start)
        if kind is None and (end is None or not any(
                _IMAGE_OPTION.match(a) for a in _split_args(text[start + 2 : end - 2])[1:-1])):
            continue
        found += 1
        out.append(text[last:start] + GONE)
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
        out.append(text[last:start] + GONE)
        last = end
    out.append(text[last:])
    return "".join(out)


def strip_markup(text: str, templates: Templates) -> tuple[str, int, int]:
    """``text`` without comments, dropped tags, tables, templates (see :class:`Templates`), magic words,
    file links and HTML tags, each leaving a hole; also how many tables were unclosed and how many file
    links went."""
    text = _COMMENT.sub(GONE, text)
    text = _SELF_CLOSED_TAG.sub(GONE, text)
    text = _PAIRED_TAG.sub(GONE, text)
    text = _BROKEN_TAG.sub(GONE, text)
    while True:
        text, tables = _HTML_TABLE.subn(GONE, text)
        if not tables:
            break
    text = templates.strip(text)
    text, unbalanced_tables = _strip_tables(text)
    text = _MAGIC_WORD.sub(GONE, text)
    text, files = _strip_file_links(text, templates.site)
    text = _strip_option_runs(text)
    return _HTML_TAG.sub(GONE, text), unbalanced_tables, files
