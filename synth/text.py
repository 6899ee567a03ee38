"""Wikitext composed together with its plain text: the answer key is built, never parsed.

Every piece of wikitext the generator writes carries the plain text it stands for (markup
removed, HTML entities decoded) and, for a mention, the entity it resolves to. Joining the
pieces gives the page's wikitext; normalising their plain text per DESIGN.md's rules
(whitespace runs -> one space, ends stripped, NFC) gives the paragraph text and the mention
offsets at the same time.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """A run of wikitext, the plain text it renders to, and the entity when it is a mention."""

    wikitext: str
    plain: str
    entity: str | None = None


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    surface: str
    entity: str


@dataclass(frozen=True)
class Block:
    """A blank-line separated block. Only `paragraph` blocks can become paragraphs."""

    pieces: tuple[Piece, ...]
    paragraph: bool

    @property
    def wikitext(self) -> str:
        return "".join(p.wikitext for p in self.pieces)


def text(value: str) -> Piece:
    """Literal prose: the wikitext is its own plain text (no markup characters in it)."""
    return Piece(value, value)


def hidden(wikitext: str) -> Piece:
    """Markup removed entirely from the plain text: templates, refs, files, categories."""
    return Piece(wikitext, "")


def entity_ref(name: str, decoded: str) -> Piece:
    """An HTML entity such as `&nbsp;`: written as-is in wikitext, decoded in the plain text."""
    return Piece(f"&{name};", decoded)


def newline() -> Piece:
    """A single newline inside a block: a space in the plain text."""
    return Piece("\n", " ")


def render_plain(pieces: tuple[Piece, ...] | list[Piece]) -> tuple[str, list[Mention]]:
    """Plain text and mention offsets (code points) of a paragraph block.

    Whitespace runs collapse across piece boundaries too ("text <ref/> more" -> "text more").
    """
    out: list[str] = []
    length = 0
    pending_space = False
    mentions: list[Mention] = []
    for piece in pieces:
        plain = piece.plain if piece.plain.isascii() else unicodedata.normalize("NFC", piece.plain)
        if not plain:
            if piece.entity is not None:
                raise ValueError(f"mention without a surface: {piece!r}")
            continue
        words = plain.split()
        if plain[0].isspace():
            pending_space = True
        start = length
        for k, word in enumerate(words):
            if (k or pending_space) and length:
                out.append(" ")
                length += 1
            if k == 0:
                start = length
            out.append(word)
            length += len(word)
        if words:
            pending_space = plain[-1].isspace()
        if piece.entity is not None:
            if not words or plain != plain.strip():
                raise ValueError(f"mention without a clean surface: {piece!r}")
            mentions.append(Mention(start, length, " ".join(words), piece.entity))
    result = "".join(out)
    if not unicodedata.is_normalized("NFC", result):
        raise ValueError(f"paragraph is not NFC after joining pieces: {result!r}")
    return result, mentions
