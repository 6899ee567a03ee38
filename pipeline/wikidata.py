"""Wikidata descriptions from the real JSON dump format (``latest-all.json.bz2``).

The dump is one JSON array with one entity per line (``[``, ``{...},``, ..., ``]``) in a single bz2
stream (~100 GB for all of Wikidata): one worker must read it sequentially, which bounds the run at
about the speed of ``bzcat`` (a few hours). A pre-filtered file of the same lines (e.g. only entities
with a sitelink to the dump's wiki, made once with ``bzcat | grep '"<dbname>"'``) is read the same way
and much faster. Lines are parsed on all workers after a reshuffle.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
from collections.abc import Iterator
from typing import BinaryIO


def dump_lines(raw: BinaryIO, path: str) -> Iterator[str]:
    """Entity lines of a Wikidata JSON dump (plain, .bz2 or .gz), array brackets and commas removed."""
    head = raw.read(3)
    rest = io.BufferedReader(_Prepend(head, raw))
    if head.startswith(b"BZh"):
        opener = bz2.open
    elif head.startswith(b"\x1f\x8b"):
        opener = gzip.open
    else:
        def opener(f, mode, encoding):
            return io.TextIOWrapper(f, encoding=encoding)
    with opener(rest, "rt", encoding="utf-8") as stream:
        for line in stream:
            line = line.strip().rstrip(",")
            if line and line not in ("[", "]"):
                yield line


class _Prepend(io.RawIOBase):
    """A stream with some already-read bytes put back in front."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self.head = head
        self.raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def entity_description(line: str, dbname: str, languages: tuple[str, ...]) -> tuple[str, str, str] | None:
    """``(sitelink title, description, language)`` of one entity line, or None when it has no
    sitelink to ``dbname`` or no description in any of ``languages`` (first one preferred)."""
    try:
        entity = json.loads(line)
    except json.JSONDecodeError:
        return None
    sitelink = (entity.get("sitelinks") or {}).get(dbname)
    if not sitelink or not sitelink.get("title"):
        return None
    descriptions = entity.get("descriptions") or {}
    for language in languages:
        value = (descriptions.get(language) or {}).get("value")
        if value and value.strip():
            return sitelink["title"], value.strip(), language
    return None
