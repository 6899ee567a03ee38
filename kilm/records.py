"""The record formats of a pipeline output directory (DESIGN.md, "Record formats"): one writer and one
reader for each of examples, entities, aliases, rows and the manifest.

The pipeline writes through Beam's filesystems, so writers here return the bytes of a file (or the
record of a line) and leave the I/O to the caller; readers take the output directory ``OUT``.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

SPLITS = ("train", "valid", "test")
MANIFEST = "manifest.json"
EXAMPLE_FIELDS = ("id", "page_id", "page_title", "paragraph", "text", "mentions")
ROW_META_FIELDS = ("example", "mention", "entity", "window", "span")


class RecordError(ValueError):
    """A missing or malformed part of an output directory; the message names the file."""


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def sharded_name(prefix: str, k: int, num_files: int) -> str:
    """``{prefix}-SSSSS-of-NNNNN.jsonl.gz``: file ``k`` of a record set written as ``num_files``."""
    return f"{prefix}-{k:05d}-of-{num_files:05d}.jsonl.gz"


def example_prefix(split: str) -> str:
    return f"examples/{split}"


ENTITY_PREFIX = "entities/entities"
ALIAS_PREFIX = "alias/alias"
DEAD_LETTER_PREFIX = "dead_letter/dead_letter"


def rows_name(split: str) -> str:
    """``{split}.rows.jsonl.gz`` beside a shard's ``{split}.source/target``: what each row holds."""
    return f"{split}.rows.jsonl.gz"


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with options builds one per call


#: The 10-byte header ``gzip.compress(..., compresslevel=6, mtime=0)`` writes.
_GZIP_HEADER = gzip.compress(b"", compresslevel=6, mtime=0)[:10]


def jsonl_line(record: dict) -> bytes:
    """One record's line of a ``.jsonl.gz`` file: sorted keys, UTF-8."""
    return (_JSON.encode(record) + "\n").encode("utf-8")


def gzip_chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The lines as one gzip file, level 6 (gzip's default: ~5x faster than 9 on these files, ~7%
    larger) without a timestamp, so equal lines give equal bytes: the bytes of ``gzip.compress`` of
    their concatenation, compressed line by line and given in pieces, so that neither the text nor
    the file is ever held whole."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    crc, size = 0, 0
    yield _GZIP_HEADER
    for block in _blocks(lines):
        crc, size = zlib.crc32(block, crc), size + len(block)
        chunk = compressor.compress(block)
        if chunk:
            yield chunk
    yield compressor.flush() + struct.pack("<II", crc, size & 0xFFFFFFFF)


def _blocks(lines: Iterable[bytes], block_bytes: int = 1 << 16) -> Iterator[bytes]:
    """Lines joined into blocks of about ``block_bytes``: zlib called once a line costs more than
    compressing does."""
    held, size = [], 0
    for line in lines:
        held.append(line)
        size += len(line)
        if size >= block_bytes:
            yield b"".join(held)
            held, size = [], 0
    if held:
        yield b"".join(held)


def gzip_lines(lines: Iterable[bytes]) -> bytes:
    """:func:`gzip_chunks` as one bytes object."""
    return b"".join(gzip_chunks(lines))


def jsonl_gz(records: Iterable[dict]) -> bytes:
    """A ``.jsonl.gz`` file of the records (:func:`jsonl_line`, :func:`gzip_lines`)."""
    return gzip_lines(jsonl_line(r) for r in records)


def read_jsonl_gz(paths: Iterable[Path]) -> Iterator[dict]:
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise RecordError(f"{path}:{lineno}: {e}") from None


def _files(out: Path, prefix: str) -> list[Path]:
    directory, name = (Path(out) / prefix).parent, Path(prefix).name
    files = sorted(directory.glob(f"{name}-*.jsonl.gz"))
    if not files:
        raise RecordError(f"no {name}-*.jsonl.gz under {directory}")
    return files


# --------------------------------------------------------------------------------------------------
# Records: the writer builds the line, the reader yields the lines of every file
# --------------------------------------------------------------------------------------------------


def example_record(example: dict) -> dict:
    """``{"id", "page_id", "page_title", "paragraph", "text", "mentions"}`` (fields the pipeline keeps
    beside them, such as the split, are dropped)."""
    return {k: example[k] for k in EXAMPLE_FIELDS}


def read_examples(out: Path, split: str) -> Iterator[dict]:
    return read_jsonl_gz(_files(out, example_prefix(split)))


def entity_record(title: str, page_id: int, description: str | None, description_source: str | None,
                  description_language: str | None, redirects: list[str], aliases: list[tuple[str, int]],
                  split: str) -> dict:
    return {"title": title, "page_id": page_id, "description": description, "description_source": description_source,
            "description_language": description_language, "redirects": redirects,
            "aliases": [{"surface": s, "count": c} for s, c in aliases], "split": split}


def read_entities(out: Path) -> Iterator[dict]:
    return read_jsonl_gz(_files(out, ENTITY_PREFIX))


def alias_record(surface: str, entities: list[tuple[str, int]]) -> dict:
    """A surface form and its candidate entities with their (train) anchor counts, most counted first."""
    return {"surface": surface, "entities": [{"entity": e, "count": c} for e, c in entities]}


def read_aliases(out: Path) -> Iterator[dict]:
    return read_jsonl_gz(_files(out, ALIAS_PREFIX))


def row_record(row: int, key: str, meta: dict) -> dict:
    """Row ``row`` of a binarized file: its key, example id, mention index, entity, window and span."""
    return {"row": row, "key": key, **{k: meta[k] for k in ROW_META_FIELDS}}


def read_rows(out: Path, shard: str, split: str) -> Iterator[dict]:
    path = Path(out) / "bin" / shard / rows_name(split)
    if not path.is_file():
        raise RecordError(f"missing {path}")
    return read_jsonl_gz([path])


# --------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def read_manifest(out: Path) -> dict | None:
    """``OUT/manifest.json`` (``None`` where there is none)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RecordError(f"{path}: not the pipeline's manifest (JSONDecodeError: {error})") from None
    if not isinstance(manifest, dict):
        raise RecordError(f"{path}: not the pipeline's manifest (a JSON {type(manifest).__name__})")
    return manifest


def language_token(out: Path) -> str | None:
    """The dump's mBART language token the pipeline recorded (``None``: no manifest, or a BART run)."""
    manifest = read_manifest(out)
    if manifest is None:
        return None
    try:
        return manifest["tokenizer"].get("language_token")
    except (KeyError, TypeError, AttributeError) as error:
        raise RecordError(f"{Path(out) / MANIFEST}: not the pipeline's manifest ({type(error).__name__}: {error})"
                          ) from None


#: Names a section had in manifests written before ``format_version`` 2.
_FORMER_SECTION_NAMES = {"denoising_sequences": "plain_sequences"}


def split_rows(out: Path, section: str, split: str) -> int | None:
    """Rows of a split the pipeline recorded (``section``: ``examples``, ``sequences`` or
    ``denoising_sequences``); ``None`` when no manifest records it. A split with no rows has no files (as
    fairseq-preprocess writes none for a split it was not given), so readers ask here why."""
    manifest = read_manifest(out)
    if manifest is None:
        return None
    if section not in manifest and section in _FORMER_SECTION_NAMES:
        section = _FORMER_SECTION_NAMES[section]
    try:
        recorded = manifest.get(section, {}).get(split)
        return None if recorded is None else int(recorded)
    except (TypeError, ValueError, AttributeError) as error:
        raise RecordError(f"{Path(out) / MANIFEST}: not the pipeline's manifest ({type(error).__name__}: {error})"
                          ) from None
