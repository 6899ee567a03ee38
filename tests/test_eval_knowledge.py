"""Hand-checked tests of the knowledge-only metrics, the baselines, the entity-cluster bootstrap, the
report's labels and the demo's seed summary (no model, no runner)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from demo.summary import acceptance, spread, summarise
from eval.data import EdItem, EdSet, Entity, ProbeItem
from eval.ed import EdRecord, context_overlap_choice, ed_baselines, ed_columns, ed_counts, word_weights
from eval.metrics import (
    Column,
    bootstrap_stats,
    description_facts,
    fact_accuracy,
    novel_token_f1,
    paired_difference,
)
from eval.probe import ProbeRecord, is_alias, probe_baselines, probe_columns
from eval.report import markdown, why_empty
from eval.truth import load_facts
from kilm import sequence as seq

# ---- knowledge-only scores ------------------------------------------------------------------------


def test_novel_token_f1_credits_only_tokens_absent_from_the_window():
    context = "The film Red Harbour opened in Lorvik."
    gold = "1989 film by Ana Vell"  # novel: 1989, by, ana, vell ("film" is in the window)
    assert novel_token_f1(gold, gold, context) == 1.0
    assert novel_token_f1("film", gold, context) == 0.0  # only a window word: nothing novel, nothing earned
    # "a" and "the" are not in the window either; prediction novel {a, 1989, by, tom}: 2 right of 4;
    # gold novel {1989, by, ana, vell}: 2 of 4 found -> P = R = 1/2, F1 = 1/2
    assert novel_token_f1("a 1989 film by Tom", gold, context) == pytest.approx(0.5)
    assert novel_token_f1("anything", "film opened", context) is None  # every gold token is in the window


def test_description_facts_are_string_attributes_found_in_the_description():
    attributes = {"year": "1989", "director": {"entity": "Ana Vell"}, "genre": "drama", "country": "Osterland",
                  "empty": ""}
    assert description_facts(attributes, "1989 drama film by Ana Vell") == ["1989", "drama"]
    assert description_facts({"year": 1989}, "1989 film") == []  # only strings count


def test_fact_accuracy_matches_whole_normalised_tokens():
    assert fact_accuracy("A 1989 DRAMA film", ["1989", "drama"]) == 1.0
    assert fact_accuracy("a 19890 dramatic film", ["1989", "drama"]) == 0.0
    assert fact_accuracy("river in north osterland", ["North Osterland", "lake"]) == 0.5
    assert fact_accuracy("anything", []) is None


def test_load_facts_reads_entity_lines_and_names_a_bad_file(tmp_path):
    path = tmp_path / "world.truth.jsonl"
    lines = [{"kind": "entity", "title": "Red Harbour", "attributes": {"year": "1989", "genre": "drama"},
              "description": "1989 film"},
             {"kind": "mention", "page_title": "X", "paragraph": 0, "start": 0, "end": 1, "surface": "a",
              "entity": "Red Harbour"},
             {"kind": "entity", "title": "Nofacts", "attributes": {}, "description": "a town"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert load_facts(path) == {"Red Harbour": ["1989"]}
    path.write_text('{"kind": "entity", "title": "A"}\n')
    with pytest.raises(ValueError, match=r"world\.truth\.jsonl:1"):
        load_facts(path)
    with pytest.raises(ValueError, match="no such file"):
        load_facts(tmp_path / "missing.jsonl")


# ---- entity-cluster bootstrap ---------------------------------------------------------------------


def test_cluster_bootstrap_resamples_entities_not_items():
    # Entity A has three items of value 1, entity B one item of value 0. Drawing 2 clusters gives
    # {A, A} -> 1, {A, B} -> 3/4, {B, B} -> 0 and nothing else (an item bootstrap would give 1/4, 1/2 ...).
    column = Column(("a1", "a2", "a3", "b1"), (1.0, 1.0, 1.0, 0.0), ("A", "A", "A", "B"))
    (stats,) = bootstrap_stats([column], column.clusters, samples=4000, seed=0)
    assert set(np.round(stats, 9)) == {0.0, 0.75, 1.0}
    assert np.mean(stats == 0.75) == pytest.approx(0.5, abs=0.03)  # P(one of each) = 1/2
    assert column.mean() == 0.75
    assert column.ci(samples=4000) == (0.0, 1.0)  # P(BB) = P(AA) = 1/4 > 2.5%


def test_weighted_cluster_mean_is_a_ratio_of_sums():
    column = Column(("p", "q"), (1.0, 3.0), ("p", "q"), (3.0, 1.0))
    assert column.mean() == pytest.approx(1.5)
    (stats,) = bootstrap_stats([column], column.clusters, samples=2000, seed=1)
    assert set(np.round(stats, 9)) == {1.0, 1.5, 3.0}  # pp, pq, qq


def test_paired_difference_uses_the_same_resample_for_both_models():
    clusters = ("A", "A", "B", "C", "C", "D")
    a = Column(tuple("123456"), (1.0, 0.0, 1.0, 1.0, 0.0, 1.0), clusters)
    b = Column(tuple("123456"), (0.0, 0.0, 0.0, 1.0, 0.0, 0.0), clusters)  # a = b + 1 on items 1, 3 and 6
    d = paired_difference(a, b, samples=2000, seed=0)
    assert d["value"] == pytest.approx(4 / 6 - 1 / 6) and d["n"] == 6
    lo, hi = d["ci"]
    assert 0 < lo <= d["value"] <= hi  # paired: every resample keeps a ≥ b, so the interval cannot cross 0
    same = paired_difference(a, a, samples=500)
    assert same["value"] == 0.0 and same["ci"] == [0.0, 0.0]


def test_paired_difference_pairs_by_item_id():
    a = Column(("x", "y", "z"), (1.0, 1.0, 1.0), ("X", "Y", "Z"))
    b = Column(("z", "x"), (0.0, 1.0), ("Z", "X"))  # y was skipped for model b
    d = paired_difference(a, b)
    assert d["n"] == 2 and d["value"] == pytest.approx(0.5)
    assert paired_difference(a, Column((), (), ()))["value"] is None


def test_column_of_drops_undefined_values():
    column = Column.of([("1", "A", 50.0), ("2", "A", None), ("3", "B", 100.0)])
    assert column.ids == ("1", "3") and column.mean() == 75.0
    assert math.isnan(Column.of([]).mean()) and all(math.isnan(x) for x in Column.of([]).ci())


# ---- probe grouping and baselines -----------------------------------------------------------------


def _record(i: int, split: str, surface: str, gold: str, title: str, facts: float | None) -> ProbeRecord:
    em = float(title.lower() == gold.lower())
    return ProbeRecord(str(i), split, surface, gold, "d", title, "d", em, 1.0, 1.0, None, facts)


def test_probe_splits_title_em_by_mention_equal_to_title():
    assert is_alias("Red Harbour (film)", "Red Harbour") and not is_alias("red_harbour", "Red Harbour")
    records = [_record(0, "seen", "Harbour", "Red Harbour", "Red Harbour", 1.0),
               _record(1, "seen", "Harbour", "Red Harbour", "Harbour", 0.0),
               _record(2, "seen", "Lorvik", "Lorvik", "Lorvik", 0.5),
               _record(3, "unseen", "Vell", "Ana Vell", "Vell", None)]
    columns, counts = probe_columns(records, with_facts=True)
    assert columns["probe_title_em_seen_alias"].mean() == 50.0
    assert columns["probe_title_em_seen_same"].mean() == 100.0
    assert columns["probe_title_em_unseen_alias"].mean() == 0.0
    assert columns["probe_fact_accuracy_seen"].mean() == 50.0  # (100 + 0 + 50) / 3
    assert len(columns["probe_fact_accuracy_unseen"].ids) == 0  # no facts: not counted as 0
    assert len(columns["probe_desc_novel_f1_seen"].ids) == 0
    assert counts == {"probe_n": 4, "probe_n_seen": 3, "probe_n_unseen": 1, "probe_n_seen_alias": 2,
                      "probe_n_seen_same": 1, "probe_n_unseen_alias": 1, "probe_n_unseen_same": 0}
    assert columns["probe_title_em_seen"].clusters == ("Red Harbour", "Red Harbour", "Lorvik")
    assert "probe_fact_accuracy_seen" not in probe_columns(records, with_facts=False)[0]


def test_probe_baselines_copy_the_mention_and_the_window():
    def item(i: int, text: str, surface: str, title: str, split: str = "seen") -> ProbeItem:
        start = text.index(surface)
        return ProbeItem(str(i), seq.Window(text, start, start + len(surface), title, "1989 drama"), split)

    items = [item(0, "We saw Harbour in 1989.", "Harbour", "Red Harbour"),
             item(1, "Lorvik is far.", "Lorvik", "Lorvik")]
    columns = probe_baselines(items, {"Red Harbour": ["1989", "drama"]})
    assert columns["probe_title_em_copy_seen"].mean() == 50.0
    assert columns["probe_fact_accuracy_copy_context_seen"].mean() == 50.0  # "1989" in the window, "drama" not
    assert "probe_fact_accuracy_copy_context_seen" not in probe_baselines(items, None)


# ---- ED baselines and candidate recall ------------------------------------------------------------


def test_context_overlap_picks_the_candidate_sharing_most_words_and_breaks_ties_by_frequency():
    entities = {"Vell (poet)": Entity("Vell (poet)", "poet from Lorvik", "seen"),
                "Vell (river)": Entity("Vell (river)", "river in Osterland", "seen"),
                "Kest": Entity("Kest", "town in Osterland", "seen"), "Moor": Entity("Moor", "lake in Dunmark", "seen")}
    weights = word_weights(entities)
    assert weights["lorvik"] == pytest.approx(math.log(4)) and weights["in"] == pytest.approx(math.log(4 / 3))
    text = "Born in Lorvik, Vell wrote."
    start = text.index("Vell")
    item = EdItem("1", text, start, start + 4, "Vell (poet)", ("Vell (river)", "Vell (poet)"))
    # river shares "in" (log 4/3), poet shares "lorvik" (log 4): the rarer word wins
    assert context_overlap_choice(item, entities, weights) == "Vell (poet)"
    tie = EdItem("2", "Vell.", 0, 4, "Vell (poet)", ("Vell (river)", "Vell (poet)"))
    assert context_overlap_choice(tie, entities, weights) == "Vell (river)"  # nothing shared: the most frequent
    columns = ed_baselines(EdSet([item, tie], 2, 5, 4), entities)
    assert columns["ed_mfe"].mean() == 0.0 and columns["ed_context_overlap"].mean() == 50.0


def test_ed_counts_give_candidate_recall_over_all_test_mentions():
    records = [EdRecord("1", "A", "B", "A", "B", None, [])]
    counts = ed_counts(records, EdSet([], ambiguous=3, mentions=8, covered=6))
    assert counts["ed_candidate_recall"] == 75.0 and counts["ed_n"] == 1 and counts["ed_test_mentions"] == 8
    assert ed_columns(records)["ed_accuracy"].mean() == 100.0 and ed_columns(records)["ed_accuracy_sum"].mean() == 0.0


# ---- report -----------------------------------------------------------------------------------------


def test_report_labels_units_directions_and_says_why_a_cell_is_empty():
    settings = {"tasks": ["probe", "ed"], "truth": None, "intervals": "entities resampled"}
    models = {"kilm": {"probe_title_em_seen_alias": 60.0, "ed_accuracy": None, "ed_n": 0,
                       "ci": {"probe_title_em_seen_alias": [50.0, 70.0]}}}
    summary = {"models": models, "baselines": {"ed_mfe": 40.0, "ci": {}},
               "differences": {"kilm-control": {"probe_title_em_seen_alias": {"value": 55.0, "ci": [40.0, 70.0]}}},
               "settings": settings}
    text = markdown(summary)
    assert "title exact match, seen entities, mention ≠ title (%, higher is better) `probe_title_em_seen_alias` " \
           "| 60.00 [50.00, 70.00] |" in text
    assert "– (needs --truth)" in text and "| – (no items) |" in text
    assert "loss (nats/token" not in text  # retention did not run: its group is left out
    assert "kilm − control" in text and "(points, higher is better)" in text and "55.00 [40.00, 70.00]" in text
    assert "ED accuracy, most-frequent entity (%, higher is better) `ed_mfe` | 40.00 |" in text
    assert why_empty("retention_loss", settings) == "task not run"
    assert why_empty("ed_constrained_accuracy", settings) == "needs --ed-constrained"
    assert not text.startswith("Items from")  # test items: the default needs no word
    memorised = markdown({**summary, "settings": {**settings, "split": "train"}})
    assert memorised.startswith("Items from the **train** split: pages the models trained on")


# ---- demo seed summary ----------------------------------------------------------------------------


def _report(kilm_ed: float, ci_lo: float) -> dict:
    models = {"kilm": {"ed_accuracy": kilm_ed, "probe_title_em_seen_alias": 70.0, "retention_loss": 2.0,
                       "ed_n": 400, "probe_n_unseen": 120},
              "control": {"ed_accuracy": 40.0, "retention_loss": 2.0},
              "control_shuffled": {"probe_title_em_seen_alias": 5.0}}
    return {"models": models, "baselines": {"ed_mfe": 30.0, "ed_context_overlap": 35.0,
                                            "probe_title_em_copy_seen": 20.0},
            "differences": {"kilm-control": {"ed_accuracy": {"value": kilm_ed - 40.0, "ci": [ci_lo, 30.0]}},
                            "kilm-control_shuffled": {"probe_fact_accuracy_seen": {"value": 25.0, "ci": [10, 40]}}}}


def test_spread_is_mean_and_sample_sd():
    assert spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "sd": 1.0, "values": [1.0, 2.0, 3.0]}
    assert spread([4.0])["sd"] is None and spread([None, 2.0])["mean"] == 2.0


def test_seed_summary_and_acceptance():
    summary = summarise({1: _report(60.0, 5.0), 2: _report(50.0, -1.0)})
    assert summary["models"]["kilm"]["ed_accuracy"]["mean"] == 55.0
    assert summary["models"]["kilm"]["ed_accuracy"]["sd"] == pytest.approx(math.sqrt(50))
    assert summary["differences"]["kilm-control"]["ed_accuracy"]["ci_above_zero"] == 1
    checks = {c.name: c for c in acceptance(summary)}
    assert checks["ED: kilm − control"].met is False  # +15 on average, but one seed's interval reaches below 0
    assert checks["ED: kilm vs best knowledge-free baseline"].met is True  # 55 ≥ 35 + 10
    assert checks["probe, seen, mention ≠ title: control_shuffled title EM"].met is True
    assert checks["probe fact accuracy, seen: kilm − control_shuffled"].met is True
    assert checks["retention: kilm loss vs control"].met is True
    assert checks["world: copy-the-mention title EM, seen"].met is True
    summary = summarise({1: _report(60.0, 5.0)})
    assert {c.name: c for c in acceptance(summary)}["ED: kilm − control"].met is True


def test_compare_pairs_default_to_kilm_minus_each_other_model():
    from eval.run import UsageError, parse_compare

    names = ["base", "control", "control_shuffled", "kilm"]
    assert parse_compare("auto", names) == [("kilm", "base"), ("kilm", "control"), ("kilm", "control_shuffled")]
    assert parse_compare("auto", ["a", "b"]) == []
    assert parse_compare("kilm-control_shuffled", names) == [("kilm", "control_shuffled")]
    with pytest.raises(UsageError, match="--compare 'kilm-nope'"):
        parse_compare("kilm-nope", names)
