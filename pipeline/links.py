"""Wikilinks of text that is scanned, not parsed (pure functions).

With ``--text-scope lead`` only the lead becomes paragraphs, yet the rest of an article still feeds the
alias table and the link counts (DESIGN.md, text scope): its paragraph blocks, already stripped of
templates, ``<ref>``s, comments, tables and file links by :func:`pipeline.markup.strip_markup`, are
scanned here with one regular expression instead of mwparserfromhell. The rules are the renderer's
(:mod:`pipeline.wikitext`) where they decide a link's surface or target: which links are article links,
the visible text of the anchor (formatting and entities resolved), the link trail.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from pipeline.markup import GONE, RESIDUE, file_link
from pipeline.site import LinkTarget, Site

#: Letters that continue a link ("[[apple]]s"); scripts written without spaces have no link trail.
LINK_TRAIL = re.compile(
    r"[^\W\d_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\uac00-\ud7af]+")
# [[target]] or [[target|anchor]]: a target holds no character MediaWiki forbids in titles, an anchor no
# link of its own (file captions, the only links with links inside, are cut before).
_LINK = re.compile(r"\[\[([^\[\]{}|<>\n]*)(?:\|((?:(?!\[\[|\]\]).)*))?\]\]", re.DOTALL)
_TRAIL_AFTER = re.compile(f"{GONE}*({LINK_TRAIL.pattern})")  # removed markup does not end a trail
_BREAK = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)
_WS = re.compile(r"\s+")
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")
# what link text needs more than stripping: holes, tags, entities, formatting, residue, odd whitespace
_NOT_PLAIN = re.compile(rf"[{GONE}<&'\[\]{{}}|]|\s\s|[^\S ]")


def names_article(raw_target: str, target: LinkTarget) -> bool:
    """Whether a link's parsed target is an article of this wiki (not another namespace, another wiki,
    or a section of the same page)."""
    return (target.namespace == 0 and not target.interwiki and bool(target.title)
            and not raw_target.strip().startswith("#"))


def pipe_trick(raw_target: str) -> str:
    """What ``[[Mercury (planet)|]]`` shows: the title without its namespace and qualifier."""
    return _QUALIFIER.sub("", raw_target.split(":")[-1])


def article_target(raw_target: str, site: Site) -> str | None:
    """The normalised title a link's target names, or None when it is no article link (interlanguage,
    file, category, other namespace, interwiki, a section of the same page)."""
    if ":" not in raw_target:  # most links: no prefix to tell apart
        return site.normalize(raw_target) or None
    target = site.parse_link_target(raw_target)
    if file_link(raw_target, site) or not names_article(raw_target, target):
        return None
    return target.title


def _visible(wikitext: str) -> str:
    """What a piece of link text shows: entities decoded, ``''``/``'''`` and holes gone, a line break a
    space, NFC, whitespace collapsed."""
    if not _NOT_PLAIN.search(wikitext) and unicodedata.is_normalized("NFC", wikitext):
        return wikitext.strip(" ")
    text = RESIDUE.sub("", _BREAK.sub(" ", wikitext.replace(GONE, "")))
    return _WS.sub(" ", unicodedata.normalize("NFC", html.unescape(text))).strip(" ")


def scan_links(blocks: Iterable[str], site: Site) -> list[tuple[str, str]]:
    """``(surface, target)`` of each article link of stripped paragraph blocks, the surface as the
    renderer would give it (link trail included); links that would show no text are left out."""
    found: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], tuple[str, str] | None] = {}  # a page links the same way many times
    for block in blocks:
        for link in _LINK.finditer(block):
            trail = _TRAIL_AFTER.match(block, link.end())
            key = (link.group(), trail.group(1) if trail else "")
            if key not in seen:
                seen[key] = _article_link(link, key[1], site)
            if seen[key] is not None:
                found.append(seen[key])
    return found


def _article_link(link: re.Match, trail: str, site: Site) -> tuple[str, str] | None:
    """A link matched by :data:`_LINK` and its trail → ``(surface, target)``, or None."""
    raw_target = html.unescape(link.group(1).replace(GONE, ""))
    target = article_target(raw_target, site)
    if target is None:
        return None
    anchor = link.group(2)
    if anchor is None:
        text = link.group(1).lstrip().lstrip(":")
    elif anchor.strip():
        text = anchor
    else:  # the pipe trick: [[Mercury (planet)|]] shows "Mercury"
        text = pipe_trick(raw_target)
    surface = _visible(text + trail)
    return (surface, target) if surface else None
