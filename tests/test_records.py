"""The record formats of an output directory: each writer's output reads back through its reader."""

from __future__ import annotations

import gzip
import json

import pytest

from kilm import records


def write(path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_records_read_back(tmp_path):
    example = {"id": "1-0", "page_id": 1, "page_title": "Town", "paragraph": 0, "text": "Town café",
               "mentions": [], "split": "train", "knowledge": []}
    entity = records.entity_record("Town", 1, "a town", "lead_sentence", "en", ["Burg"], [("Town", 3)], "seen")
    alias = records.alias_record("Town", [("Town", 3)])
    row = records.row_record(0, "1-0#0", {"example": "1-0", "mention": 0, "entity": "Town", "window": [0, 4],
                                          "span": [3, 6], "other": 1})
    write(tmp_path / records.sharded_name(records.example_prefix("train"), 0, 1),
          records.jsonl_gz([records.example_record(example)]))
    write(tmp_path / records.sharded_name(records.ENTITY_PREFIX, 0, 2), records.jsonl_gz([entity]))
    write(tmp_path / records.sharded_name(records.ENTITY_PREFIX, 1, 2), records.jsonl_gz([]))
    write(tmp_path / records.sharded_name(records.ALIAS_PREFIX, 0, 1), records.jsonl_gz([alias]))
    write(tmp_path / "bin" / "shard0" / records.rows_name("train"), records.jsonl_gz([row]))
    assert list(records.read_examples(tmp_path, "train")) == [{k: example[k] for k in records.EXAMPLE_FIELDS}]
    assert list(records.read_entities(tmp_path)) == [entity]
    assert entity["aliases"] == [{"surface": "Town", "count": 3}]
    assert list(records.read_aliases(tmp_path)) == [{"surface": "Town", "entities": [{"entity": "Town", "count": 3}]}]
    assert list(records.read_rows(tmp_path, "shard0", "train")) == [{k: v for k, v in row.items() if k != "other"}]
    assert records.jsonl_gz([entity]) == records.jsonl_gz([entity]), "same records, same bytes"


def test_jsonl_gz_is_gzip_of_the_lines_whole():
    """Compressed line by line, a file has the bytes one ``gzip.compress`` of its text gives (so earlier
    outputs stay byte-identical) and reads back."""
    many = [{"id": f"{i}-0", "text": "Town café 東京 " * (i % 7), "n": i} for i in range(3000)]
    for recs in ([], many[:1], many):
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in recs).encode("utf-8")
        assert records.jsonl_gz(recs) == gzip.compress(text, compresslevel=6, mtime=0)
        assert gzip.decompress(records.jsonl_gz(recs)) == text


def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(records.RecordError, match=r"no test-\*\.jsonl\.gz under .*examples"):
        list(records.read_examples(tmp_path, "test"))
    assert records.read_manifest(tmp_path) is None and records.language_token(tmp_path) is None
    (tmp_path / "manifest.json").write_bytes(records.manifest_bytes({"tokenizer": {"language_token": "[uk_UA]"}}))
    assert records.language_token(tmp_path) == "[uk_UA]"
    (tmp_path / "manifest.json").write_text("[1]")
    with pytest.raises(records.RecordError, match=r"manifest\.json: not the pipeline's manifest"):
        records.language_token(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(records.RecordError, match=r"manifest\.json: not the pipeline's manifest"):
        records.read_manifest(tmp_path)
    write(tmp_path / "alias" / "alias-00000-of-00001.jsonl.gz", gzip.compress(b'{"surface": 1}\nnot json\n'))
    with pytest.raises(records.RecordError, match=r"alias-00000-of-00001.jsonl.gz:2"):
        list(records.read_aliases(tmp_path))
    assert json.loads(records.manifest_bytes({"a": "é"}).decode()) == {"a": "é"}


def test_row_counts_read_from_this_and_earlier_manifests(tmp_path):
    (tmp_path / "manifest.json").write_bytes(records.manifest_bytes(
        {"format_version": 2, "sequences": {"valid": 0}, "denoising_sequences": {"valid": 7}}))
    assert records.split_rows(tmp_path, "denoising_sequences", "valid") == 7
    assert records.split_rows(tmp_path, "sequences", "valid") == 0
    # format_version 1 named the plain-text corpus's rows ``plain_sequences``.
    (tmp_path / "manifest.json").write_bytes(
        records.manifest_bytes({"format_version": 1, "plain_sequences": {"valid": 3}}))
    assert records.split_rows(tmp_path, "denoising_sequences", "valid") == 3
    assert records.split_rows(tmp_path, "sequences", "valid") is None
