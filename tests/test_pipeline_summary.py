"""The pipeline's console summary: readable counts, and a WARNING where eval could mean nothing."""

from __future__ import annotations

from pipeline.summary import summary


def manifest(links: dict, test_knowledge: int, test_described: int) -> dict:
    splits = ("train", "valid", "test")
    return {
        "counts": {"pages_read": 12, "outcomes": {"article": 9, "redirect": 3}},
        "links": links,
        "examples": dict.fromkeys(splits, 5),
        "sequences": dict.fromkeys(splits, 6),
        "sequences_with_knowledge": {"train": 4, "valid": 1, "test": test_knowledge},
        "sequences_without_knowledge": {"train": 2, "valid": 5, "test": 6 - test_knowledge},
        "denoising_sequences": dict.fromkeys(splits, 5),
        "statistics": {
            "mentions_by_split": {"train": 8, "valid": 2, "test": max(test_described, 1)},
            "described_mentions_by_split": {"train": 8, "valid": 2, "test": test_described},
        },
        "errors": [],
    }


def test_a_healthy_run_reads_as_rates_and_a_table_without_warnings() -> None:
    text = summary(manifest({"resolved": 80, "via_redirect": 10, "missing_target": 10}, 40, 40), "out")
    lines = text.splitlines()
    assert lines[0] == "pages read: 12 (9 article, 3 redirect)"
    assert lines[1] == "entities: 9 (articles)"
    assert lines[2] == "links resolved: 90 of 100 (90.0%; 10 through redirects); not: 10 missing target"
    assert "{" not in text and "WARNING" not in text
    assert any(line.split() == ["kilm", "rows", "with", "knowledge", "4", "1", "40"] for line in lines)
    assert "40 probe mentions" in text


def test_warnings_name_what_is_too_small() -> None:
    text = summary(manifest({"resolved": 101, "missing_target": 18740}, 0, 0), "out")
    assert "links resolved: 101 of 18,841 (0.5%" in text
    warnings = [line for line in text.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 2
    assert "only 0.5% of links resolved" in warnings[0]
    assert "no test row carries knowledge" in warnings[1]
    few = summary(manifest({"resolved": 90, "missing_target": 10}, 12, 12), "out")
    assert "WARNING: 12 test mentions with a description (< 30)" in few
