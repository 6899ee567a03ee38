"""What markup removal must never leave in an example text or a description (issue 18): empty
brackets, brackets that open on a comma, a dangling dash or comma before a closing bracket, HTML
tags, file-link remnants (image options such as ``thumb|``, a media file name followed by ``|``).

Articles about punctuation or HTML write "(,)" or "&lt;font>" on purpose: a bracket match counts
only when the page's wikitext (entities decoded, whitespace collapsed) does not hold the same
characters, a tag only when the wikitext does not write it as text (``&lt;b>``, ``<nowiki><b>``).
File-link remnants always count.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

MEDIA = r"(?:jpe?g|png|svg|gif|tiff?|webp|xcf|bmp|ogg|oga|ogv|webm|mp3|mp4|wav|flac|midi?|pdf|djvu)"
OPTIONS = (r"(?:thumb|thumbnail|frameless|framed?|upright(?:=[\d.]+)?|left|right|center|centre|\d+(?:x\d+)?px|"
           r"nhỏ|phải|trái|giữa|мини|міні|праворуч|ліворуч|зліва|справа|մինի|աջից|ձախից)")
PATTERNS = {
    "empty_brackets": re.compile(r"[(（][\s,;:.、，；–—-]*[)）]"),
    "bracket_opens_on_comma": re.compile(r"[(（]\s*[,;，；、]"),
    "dangling_before_close": re.compile(r"(?:[,;，；]|\s[–—-])\s*[)）]"),
    "html_tag": re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"),
    "file_link": re.compile(rf"\.{MEDIA}\s*\||(?:^|\|)\s*{OPTIONS}\s*\|", re.IGNORECASE),
}
_WS = re.compile(r"\s+")


def page_forms(wikitext: str) -> tuple[str, str]:
    """A page's wikitext as residue is compared with: (entities decoded, as written), whitespace
    collapsed; computed once per page."""
    return _WS.sub(" ", html.unescape(wikitext)), _WS.sub(" ", wikitext)


def residue(text: str, page: tuple[str, str] = ("", "")) -> list[tuple[str, str]]:
    """(kind, matched text) of each residue in ``text``, an example text or description of the page
    whose :func:`page_forms` are ``page``; empty when clean."""
    decoded, raw = page
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            written = _WS.sub(" ", match.group())
            if kind == "html_tag" and ("&lt;" + written[1:] in raw or f"<nowiki>{written}" in raw):
                continue  # "&lt;b>" in an article about HTML
            if kind not in ("html_tag", "file_link") and written in decoded:
                continue  # "(,)" in an article about punctuation
            found.append((kind, match.group()))
    return found


def count(out: Path, dump: Path) -> dict[str, int]:
    """Example texts and entity descriptions of a pipeline output that hold residue, judged against
    the pages of the dump it was made from."""
    from pipeline.dump import read_dump
    from pipeline.read import open_raw
    from tests.dumps import read_jsonl_dir

    pages = {e.value.title: page_forms(e.value.text) for e in read_dump(str(dump), open_raw, 64 << 20)
             if e.kind == "page"}
    examples = read_jsonl_dir(out / "examples")
    descriptions = [e for e in read_jsonl_dir(out / "entities") if e["description"]]
    return {
        "examples": len(examples),
        "examples_with_residue": sum(bool(residue(e["text"], pages[e["page_title"]])) for e in examples),
        "descriptions": len(descriptions),
        "descriptions_with_residue": sum(bool(residue(e["description"], pages[e["title"]])) for e in descriptions),
    }


if __name__ == "__main__":  # python -m tests.residue OUT DUMP
    print(json.dumps(count(Path(sys.argv[1]), Path(sys.argv[2]))))
