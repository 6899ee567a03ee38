"""Any encoding an XML file may declare, read as UTF-8 (XML 1.0, appendix F).

Pages are cut and parsed in UTF-8, so a dump in UTF-16, UTF-32 or a legacy encoding is transcoded on the
fly: its encoding is sniffed from a byte-order mark, the width of ``<?``, else the declaration's
``encoding``. Undecodable bytes stay invalid UTF-8, so only the page that holds them is lost.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator

#: XML 1.0 appendix F: byte-order marks, then how "<?" looks in each width without one
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_WIDE_STARTS = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
                (b"<\x00?\x00", "utf-16-le"))
_DECLARED = re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][\w.:-]*)[\"']")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
SNIFF_BYTES = 1024
_BAD_BYTES = "kilm-bad-bytes"


def _mark_bad_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    """Undecodable bytes become bytes that are invalid UTF-8 (surrogate-escaped 0xFF), so the page that
    holds them is a dead letter like a bad page of a UTF-8 file, and the rest of the file reads."""
    return "\udcff" * (error.end - error.start), error.end


codecs.register_error(_BAD_BYTES, _mark_bad_bytes)


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(Python codec, BOM length) of an XML document from its first bytes: a byte-order mark, the
    width of ``<?``, else the encoding the declaration names, else UTF-8 (XML 1.0, appendix F).
    Raises LookupError (``unknown_encoding: NAME``) for an encoding Python cannot decode."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    for start, codec in _WIDE_STARTS:
        if head.startswith(start):
            return codec, 0
    declared = _DECLARED.match(head.lstrip())
    if declared is None:
        return "utf-8", 0
    name = declared.group(1).decode("ascii")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise LookupError(f"unknown_encoding: {name}") from None
    # "UTF-16" declared over single-byte "<?": the bytes are right, the declaration is not
    return ("utf-8" if codec.startswith(("utf-16", "utf-32")) else codec), 0


def as_utf8(stream: Iterator[bytes], on_error: Callable[[str, int], None],
             codec: str | None = None) -> Iterator[bytes]:
    """The decompressed stream in UTF-8: unchanged when it is UTF-8, else transcoded chunk by chunk
    (``codec`` given: a range of a file whose head said it, so no BOM or declaration to sniff). The
    XML declaration of a transcoded file is dropped (it would name the old encoding)."""
    head = b""
    for chunk in stream:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    bom = 0
    if codec is None:
        try:
            codec, bom = sniff_encoding(head)
        except LookupError as err:
            on_error(str(err), 0)
            return
    if codec == "utf-8":
        yield head
        yield from stream
        return
    decoder = codecs.getincrementaldecoder(codec)(errors=_BAD_BYTES)
    yield _DECLARATION.sub("", decoder.decode(head[bom:]), count=1).encode("utf-8", "surrogateescape")
    for chunk in stream:
        yield decoder.decode(chunk).encode("utf-8", "surrogateescape")
    yield decoder.decode(b"", final=True).encode("utf-8", "surrogateescape")
