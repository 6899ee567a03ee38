"""The pipeline recovers the synthetic world's answer key (the generator never calls pipeline code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.world_baselines import cue_word_choice, fact_near, measure, overlap_choice, qualifier
from pipeline.run import main
from tests.dumps import read_jsonl_dir

TINY_WORLD = Path(__file__).parent / "data" / "tiny_world.xml.bz2"


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "out"
    assert main(["--input", str(TINY_WORLD), "--output", str(out), "--train-tokenizer", "--vocab-size", "1000",
                 "--text-scope", "article"]) == 0
    truth = [json.loads(line) for line in TINY_WORLD.with_name("tiny_world.truth.jsonl").open(encoding="utf-8")]
    return out, truth


def test_descriptions_match_the_truth(recovered):
    """Every entity, its description and the source it came from, exactly (no known exception)."""
    out, truth = recovered
    entities = {e["title"]: e for e in read_jsonl_dir(out / "entities")}
    expected = {t["title"]: t for t in truth if t["kind"] == "entity"}
    assert set(entities) == set(expected)
    assert {t: (e["description"], e["description_source"]) for t, e in entities.items()} == {
        t: (e["description"], e["description_source"]) for t, e in expected.items()}


def _text_and_mentions(examples: list[dict], truth: list[dict], lead_only: bool) -> tuple[tuple, tuple]:
    """(paragraphs, mentions) the pipeline found and the truth's, over the truth's lead paragraphs or all."""
    kept = {(t["page_title"], t["paragraph"]) for t in truth
            if t["kind"] == "paragraph" and (t["lead"] or not lead_only)}
    found = ({(x["page_title"], x["paragraph"]): x["text"] for x in examples},
             sorted((x["page_title"], x["paragraph"], m["start"], m["end"], m["surface"], m["entity"])
                    for x in examples for m in x["mentions"]))
    expected = ({(t["page_title"], t["paragraph"]): t["text"] for t in truth if t["kind"] == "paragraph"
                 and (t["page_title"], t["paragraph"]) in kept},
                sorted((t["page_title"], t["paragraph"], t["start"], t["end"], t["surface"], t["entity"])
                       for t in truth if t["kind"] == "mention" and (t["page_title"], t["paragraph"]) in kept))
    return found, expected


def test_paragraphs_and_mentions_match_the_truth(recovered):
    """Every paragraph text and every mention (offsets, surface, resolved entity), exactly."""
    out, truth = recovered
    found, expected = _text_and_mentions(read_jsonl_dir(out / "examples"), truth, lead_only=False)
    assert found == expected


def test_lead_scope_keeps_exactly_the_lead_paragraphs(recovered, tmp_path):
    """`--text-scope lead` (the demo's): the paragraphs before the first heading, numbered the same."""
    _, truth = recovered
    out = tmp_path / "lead"
    assert main(["--input", str(TINY_WORLD), "--output", str(out), "--train-tokenizer", "--vocab-size", "1000",
                 "--text-scope", "lead"]) == 0
    found, expected = _text_and_mentions(read_jsonl_dir(out / "examples"), truth, lead_only=True)
    assert found == expected


def test_redirect_aliases_and_disambiguation(recovered):
    out, truth = recovered
    entities = {e["title"]: e for e in read_jsonl_dir(out / "entities")}
    for t in truth:
        if t["kind"] == "entity" and t["redirects"]:
            assert set(t["redirects"]) <= set(entities[t["title"]]["redirects"]), t["title"]
    aliases = {a["surface"]: a["entities"] for a in read_jsonl_dir(out / "alias")}
    ambiguous = [s for s, candidates in aliases.items() if len(candidates) >= 2]
    assert ambiguous, "the world's shared names reach the alias table with several candidates"


@pytest.mark.parametrize("streams_per_read", ["1", "0"])
def test_reading_in_stream_ranges_changes_no_output(recovered, tmp_path, streams_per_read):
    """The tiny world ships Wikimedia's multistream index: read one stream a task, or whole, the
    outputs are the same files, byte for byte (the manifest differs only in its options)."""
    out, _ = recovered
    other = tmp_path / "out"
    assert main(["--input", str(TINY_WORLD), "--output", str(other), "--train-tokenizer", "--vocab-size", "1000",
                 "--text-scope", "article", "--streams-per-read", streams_per_read]) == 0
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file() and p.name != "manifest.json")
    for name in files:
        assert (out / name).read_bytes() == (other / name).read_bytes(), name
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (out, other)]
    for manifest in manifests:
        manifest["options"].pop("streams_per_read")
        manifest["options"].pop("output")
    assert manifests[0] == manifests[1]


def test_a_reader_who_knows_nothing_scores_low(recovered):
    """bench/world_baselines.py on the pipeline's own test items: copying the mention rarely gives the
    title, no fact stands near a mention, and neither context words nor the word before a mention
    beat the most frequent entity by more than 10 points, while a reader of the training text does."""
    out, _ = recovered
    result = measure(out, TINY_WORLD.with_name("tiny_world.truth.jsonl"))
    assert result.probe_n_seen >= 50 and result.probe_title_em_copy_seen <= 30
    assert result.mentions > 1000 and result.mentions_fact_within_12_words == 0
    assert result.ed_n >= 20 and result.ed_mfe <= 60
    assert max(result.ed_context_overlap, result.ed_cue_word) <= result.ed_mfe + 10
    assert result.ed_train_text_reader > result.ed_mfe  # what the training text tells does help


def test_baseline_rules_on_hand_made_items():
    truth = {"Mora, Velor": {"description": "Velorian market town founded in 1123"},
             "Mora, Kalosa": {"description": "Kalosan port city founded in 1310"}}
    candidates = ("Mora, Velor", "Mora, Kalosa")
    assert overlap_choice("a port near Mora", candidates, truth) == "Mora, Kalosa"
    assert overlap_choice("a town near Mora", candidates, truth) == "Mora, Velor"  # tie: the first (MFE)
    assert qualifier("Nightfall (1931 film)") == {"1931", "film"} and qualifier("Mora, Kalosa") == {"kalosa"}
    assert cue_word_choice("Visitors of Kalosa ", candidates) == "Mora, Kalosa"
    assert cue_word_choice("Visitors of ", candidates) == "Mora, Velor"
    text = "Varin grew up in Mora. Kelo Varin (1890–1950) was a poet from the city of Mora."
    assert not fact_near(text, 0, 5, ["1890", "poet"])  # other sentence
    assert fact_near(text, 74, 78, ["poet"]) and not fact_near(text, 74, 78, ["poet"], window=2)
