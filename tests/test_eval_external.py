"""External benchmarks (``eval.run --ed-dataset/--lama/--describe-dataset``) on files written here in the
exact layouts of GENRE's KILT ED sets, BLINK's benchmark files and LAMA's T-REx/Google-RE files, against a
knowledge base that the real pipeline builds from a small MediaWiki export written here: ambiguous surfaces
("Arlen", "Corvo", "Mira") linked to two entities each, and redirect pages the pipeline records itself."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from eval import run
from eval.external.ed import load_ed_dataset, prior_choice
from eval.external.kb import KnowledgeBase
from eval.external.lama import matches
from eval.external.readers import ExternalDataError, read_lama, read_mentions
from kilm.tokenizer import KilmTokenizer
from pipeline.run import run as run_pipeline
from tests.dumps import Page, write_dump
from tests.eval_fixtures import World, train_tiny_bart

# (title, the surface its links show, description, an entity its lead links). Ambiguous surfaces give ED items.
ENTITIES = [
    ("Arlen (city)", "Arlen", "City in the north of Norland", "Norland"),
    ("Arlen (river)", "Arlen", "River flowing through Estia", "Estia"),
    ("Corvo (band)", "Corvo", "Rock band from Valdor", "Valdor"),
    ("Corvo Lind", "Corvo", "Singer and painter from Estia", "Estia"),
    ("Mira (moon)", "Mira", "Moon of the planet Tessa", "Tessa (planet)"),
    ("Mira Holt", "Mira", "Writer of mystery novels", "Norland"),
    ("Norland", "Norland", "Country in the north", "Estia"),
    ("Estia", "Estia", "Country in the south", "Norland"),
    ("Valdor", "Valdor", "Island in the western sea", "Osk"),
    ("Tessa (planet)", "Tessa", "Planet with two moons", "Mira (moon)"),
    ("Brenna Vale", "Brenna", "Valley with old vineyards", "Estia"),
    ("Osk", "Osk", "Port town in Valdor", "Valdor"),
]
REDIRECTS = {"Arlen City": "Arlen (city)", "Corvo band": "Corvo (band)"}
SENTENCES = ["{a} is often compared with {b}.", "Visitors to {a} also travel to {b}.",
             "The history of {a} is closely tied to {b}.", "Many songs were written about {a} and {b}.",
             "A famous painting shows {a} next to {b}."]
OPTIONS = ("--train-tokenizer", "--vocab-size", "600", "--max-tokens", "128", "--text-scope", "article",
           "--num-shards", "1", "--unseen-entity-fraction", "0.1", "--test-fraction", "0.2",
           "--valid-fraction", "0.05")


def link(title: str) -> str:
    surface = next(s for t, s, _, _ in ENTITIES if t == title)
    return f"[[{title}]]" if surface == title else f"[[{title}|{surface}]]"


def world_pages(stories: int, seed: int = 2) -> list[Page]:
    """Each entity's page (a short description and a lead), the redirect pages, and story pages of two
    paragraphs linking entities by their (often ambiguous) surfaces; those in train fill the alias table
    (with seed 2 the train pages link "Mira" to Mira Holt more often than to Mira (moon))."""
    rng = random.Random(seed)
    titles = [t for t, *_ in ENTITIES]
    pages = [Page(t, f"{{{{Short description|{d}}}}}\n'''{t}''' is a {d[0].lower()}{d[1:]}. "
                     f"It is often named with {link(near)}.") for t, _, d, near in ENTITIES]
    pages += [Page(r, f"#REDIRECT [[{t}]]", redirect=t) for r, t in REDIRECTS.items()]
    for i in range(stories):
        paragraphs = [" ".join(rng.choice(SENTENCES).format(a=link(a), b=link(b))
                               for a, b in (rng.sample(titles, 2) for _ in range(2))) for _ in range(2)]
        pages.append(Page(f"Story {i}", "\n\n".join(paragraphs)))
    return pages


def pipeline_world(tmp: Path, stories: int = 24, case: str = "first-letter") -> World:
    """``python -m pipeline.run`` on the export (its siteinfo naming enwiki and the title case rule)."""
    tmp.mkdir(parents=True, exist_ok=True)
    dump = write_dump(tmp / "enwiki.xml.bz2", world_pages(stories), dbname="enwiki", case=case)
    run_pipeline(["--input", str(dump), "--output", str(tmp / "out"), *OPTIONS])
    return World(tmp / "out", KilmTokenizer.load(tmp / "out" / "tokenizer"))


def kilt(i: int, left: str, mention: str, right: str, answer: str, candidates: list[str] | None = None,
         **meta: str) -> dict:
    """A line as GENRE's convert_ed_to_kilt writes it (``candidates`` only when given)."""
    line = {"id": i, "input": f"{left} [START_ENT] {mention} [END_ENT] {right}".strip(),
            "output": [{"answer": answer, "provenance": [{"title": answer}]}],
            "meta": {"left_context": left, "right_context": right, "mention": mention, **meta}}
    if candidates is not None:
        line["candidates"] = candidates
    return line


def blink(i: int, left: str, mention: str, right: str, title: str) -> dict:
    """A line of BLINK's benchmark files."""
    return {"context_left": left, "mention": mention, "context_right": right, "query_id": f"doc{i}:{i}",
            "label_id": i, "Wikipedia_ID": str(1000 + i),
            "Wikipedia_URL": f"en.wikipedia.org/wiki/{title.replace(' ', '_')}", "Wikipedia_title": title}


def write_jsonl(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


KILT_LINES = [
    # gold as a redirect title; candidates as a redirect and with underscores
    kilt(0, "Visitors to", "Arlen", "also travel to Estia .", "Arlen City", ["Arlen City", "Arlen_(river)"]),
    # gold outside the KB
    kilt(1, "The history of", "Zembla", "is closely tied to Valdor .", "Zembla"),
    # gold missing from its candidates
    kilt(2, "Many songs were written about", "Mira", "and Norland .", "Mira Holt", ["Mira (moon)"]),
    # a candidate absent from the KB
    kilt(3, "A famous painting shows", "Corvo", "next to Estia .", "Corvo (band)",
         ["Corvo (band)", "Corvo Lind", "Corvo (bird)"]),
    # underscores and a lower-case first letter in the gold; no candidates: the alias table's
    kilt(4, "Visitors to", "Tessa", "also travel to Valdor .", "tessa_(planet)"),
    # no candidates, an ambiguous surface
    kilt(5, "Norland is often compared with", "Mira", ".", "Mira (moon)"),
    # a document-long context (AIDA's are): windowed around the mention, never skipped
    kilt(6, "Visitors to Estia also travel to Valdor . " * 300 + "Many songs were written about", "Arlen",
         "and Norland .", "Arlen (river)", ["Arlen (city)", "Arlen (river)"]),
]
BLINK_LINES = [
    blink(0, "Visitors to", "Arlen", "also travel to Estia .", "Arlen City"),
    blink(1, "The history of", "Zembla", "is closely tied to Valdor .", "Zembla"),
    blink(2, "A famous painting shows", "Corvo", "next to Estia .", "Corvo_(band)"),
]
TREX_LINES = [
    {"uuid": "t1", "obj_uri": "Q1", "obj_label": "Estia", "sub_uri": "Q2", "sub_label": "Corvo Lind",
     "predicate_id": "P27", "evidences": [{"sub_surface": "Corvo Lind", "obj_surface": "Estia",
                                           "masked_sentence": "Corvo Lind is a singer from [MASK] ."}]},
    {"uuid": "t2", "obj_uri": "Q3", "obj_label": "Valdor", "sub_uri": "Q4", "sub_label": "Corvo",
     "predicate_id": "P495", "evidences": [{"sub_surface": "Corvo", "obj_surface": "Valdor",
                                            "masked_sentence": "[MASK] and [MASK] ."},
                                           {"sub_surface": "Corvo", "obj_surface": "Valdor",
                                            "masked_sentence": "Corvo is a rock band from [MASK] ."}]},
]


def google_re(uuid: str, sub: str, obj: str, sentence: str, judgments: list[str]) -> dict:
    return {"pred": "/people/person/place_of_birth", "sub": "/m/01", "obj": "/m/02",
            "evidences": [{"url": "http://en.wikipedia.org/wiki/X", "snippet": sentence.replace("[MASK]", obj)}],
            "judgments": [{"rater": str(k), "judgment": j} for k, j in enumerate(judgments)],
            "sub_w": None, "sub_label": sub, "sub_aliases": [], "obj_w": None, "obj_label": obj, "obj_aliases": [],
            "uuid": uuid, "masked_sentences": [sentence]}


GOOGLE_RE_LINES = [
    google_re("g1", "Corvo Lind", "Estia", "Corvo Lind was born in [MASK] .", ["yes", "yes", "no"]),
    google_re("g2", "Mira Holt", "Norland", "Mira Holt was born in [MASK] .", ["no", "no", "yes"]),
]
DESCRIBE_LINES = [
    kilt(0, "Visitors to", "Arlen", "also travel to Estia .", "Arlen City"),
    kilt(1, "Many songs were written about", "Mira", "and Norland .", "Mira Holt",
         description="Writer of mystery novels"),
    kilt(2, "The history of", "Zembla", "is tied to Valdor .", "Zembla"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return pipeline_world(tmp_path_factory.mktemp("external"))


@pytest.fixture(scope="module")
def kb(world) -> KnowledgeBase:
    return KnowledgeBase.load(world.out)


# ---- knowledge base ---------------------------------------------------------------------------------


def test_titles_normalise_and_resolve_through_redirects(kb):
    assert kb.site_source == "manifest" and (kb.site.dbname, kb.site.case) == ("enwiki", "first-letter")
    assert kb.resolve("Arlen City") == "Arlen (city)"  # redirect
    assert kb.resolve("arlen_City") == "Arlen (city)"  # underscores, first letter
    assert kb.resolve("Arlen_(river)") == "Arlen (river)"
    assert kb.resolve("Corvo  band#History") == "Corvo (band)"
    assert kb.resolve("Zembla") is None
    assert kb.resolve("ARLEN CITY") is None  # only the first letter is case-insensitive


def test_case_sensitive_site_keeps_the_first_letter(tmp_path):
    kb = KnowledgeBase.load(pipeline_world(tmp_path, stories=2, case="case-sensitive").out)
    assert kb.site.case == "case-sensitive"
    assert kb.resolve("Norland") == "Norland" and kb.resolve("norland") is None


def test_alias_candidates_and_prior(kb):
    ranked = kb.alias_entities("Mira")
    assert {e for e, _ in ranked} == {"Mira (moon)", "Mira Holt"}
    assert kb.alias_entities("mira") == ranked  # case-folded fallback
    assert ranked[0][1] > ranked[1][1] > 0  # anchor counts of train pages, most first
    best = ranked[0][0]
    assert prior_choice(kb, "Mira", ["Mira (moon)", "Mira Holt"]) == best
    assert prior_choice(kb, "Mira", ["Mira Holt", "Mira (moon)"]) == best  # by count, not candidate order
    assert kb.alias_entities("Arlen City") == [("Arlen (city)", 0)]  # the redirect page, no anchors
    assert prior_choice(kb, "Nobody", ["Mira (moon)"]) is None


# ---- readers ----------------------------------------------------------------------------------------


def test_kilt_line_of_the_issue_reads_exactly(tmp_path):
    line = ('{"id": 0, "input": "EU rejects [START_ENT] German [END_ENT] call to boycott British lamb .", "output": '
            '[{"answer": "Germany", "provenance": [{"title": "Germany"}]}], "meta": {"left_context": "EU rejects", '
            '"mention": "German", "right_context": "call to boycott British lamb ."}, "candidates": ["Germany", '
            '"Germans", "German language"]}\n')
    path = tmp_path / "aida-test-kilt.jsonl"
    path.write_text(line)
    fmt, [m] = read_mentions(path)
    assert fmt == "kilt"
    assert (m.text, m.surface, m.gold, m.candidates) == (
        "EU rejects German call to boycott British lamb .", "German", "Germany",
        ("Germany", "Germans", "German language"))


def test_blink_line_reads(tmp_path):
    fmt, mentions = read_mentions(write_jsonl(tmp_path / "b.jsonl", BLINK_LINES))
    assert fmt == "blink" and [m.surface for m in mentions] == ["Arlen", "Zembla", "Corvo"]
    assert mentions[0].candidates is None and mentions[2].gold == "Corvo_(band)"


@pytest.mark.parametrize("first, bad, message", [
    (KILT_LINES[0], '{"id": 1, "text": "neither format"}', "neither a KILT line"),
    (KILT_LINES[0], "{not json", "not JSON"),
    (KILT_LINES[0], '["a", "list"]', "expected a JSON object"),
    (KILT_LINES[0], '{"id": 1, "input": "no markers", "output": [{"answer": "X"}]}', "has no [START_ENT]"),
    (KILT_LINES[0], '{"id": 1, "input": "a [START_ENT] b [END_ENT] c", "output": []}', "'output' must be"),
    (KILT_LINES[0], json.dumps(BLINK_LINES[0]), "a blink line in a file whose first line is kilt"),
    (BLINK_LINES[0], '{"context_left": "a", "mention": "b", "context_right": "c"}', "needs 'Wikipedia_title'"),
    (BLINK_LINES[0], '{"context_left": "a", "mention": " ", "context_right": "c", "Wikipedia_title": "X"}',
     "empty mention"),
])
def test_malformed_line_names_file_and_line(tmp_path, first, bad, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(first) + "\n\n" + bad + "\n")
    with pytest.raises(ExternalDataError) as e:
        read_mentions(path)
    assert f"{path}:3:" in str(e.value) and message in str(e.value)


def test_lama_readers(tmp_path):
    trex = read_lama(write_jsonl(tmp_path / "P27.jsonl", TREX_LINES))
    assert trex.format == "trex" and [f.relation for f in trex.facts] == ["P27", "P495"]
    assert trex.facts[1].sentence == "Corvo is a rock band from [MASK] ."  # the two-mask evidence is passed over
    google = read_lama(write_jsonl(tmp_path / "place_of_birth_test.jsonl", GOOGLE_RE_LINES))
    assert google.format == "google_re" and google.judged_no == 1
    assert [(f.relation, f.answer) for f in google.facts] == [("place_of_birth", "Estia")]
    (tmp_path / "bad.jsonl").write_text(json.dumps({"sub_label": "a", "obj_label": "b"}) + "\n")
    with pytest.raises(ExternalDataError, match=r"bad.jsonl:1: neither a LAMA T-REx line"):
        read_lama(tmp_path / "bad.jsonl")
    squad = {"masked_sentences": ["Mira is a moon of [MASK] ."], "obj_label": "Tessa", "id": "q1", "sub_label": "Squad"}
    unjudged = read_lama(write_jsonl(tmp_path / "test.jsonl", [squad]))
    assert unjudged.format == "masked_sentences" and unjudged.facts[0].relation == "test"


def test_cloze_compares_the_first_words():
    assert matches(" Estia, a country", "Estia")
    assert matches("estia .", "Estia")
    assert not matches("Estian people", "Estia")
    assert matches("New York City", "New York") and not matches("New", "New York")


# ---- ED against the KB ------------------------------------------------------------------------------


def test_ed_dataset_counts_every_case(tmp_path, kb):
    data = load_ed_dataset("aida", write_jsonl(tmp_path / "aida.jsonl", KILT_LINES), kb, k=10)
    assert (data.format, data.n, data.n_out_of_kb, len(data.mentions)) == ("kilt", 7, 1, 6)
    by_line = {m.mention.line: m for m in data.mentions}
    assert by_line[1].gold == "Arlen (city)" and by_line[1].candidates == ("Arlen (city)", "Arlen (river)")
    assert by_line[3].item is None  # gold missing from its candidates: in the KB, counted wrong
    assert by_line[4].candidates == ("Corvo (band)", "Corvo Lind") and data.candidates_out_of_kb == 1
    assert by_line[5].gold == "Tessa (planet)" and by_line[5].candidates == ("Tessa (planet)",)
    assert set(by_line[6].candidates) == {"Mira (moon)", "Mira Holt"}
    assert data.candidate_source == {"file": 4, "alias_table": 2}
    assert len(data.edset.items) == 5


# ---- the command ------------------------------------------------------------------------------------


def test_malformed_line_exits_2_without_traceback(tmp_path, world, capsys):
    bad = tmp_path / "msnbc.jsonl"
    bad.write_text(json.dumps(KILT_LINES[0]) + "\n{oops\n")
    model = tmp_path / "model.pt"
    model.write_bytes(b"")
    code = run.main(["--data", str(world.out), "--model", f"m={model}", "--out", str(tmp_path / "r"),
                     "--tasks", "none", "--ed-dataset", f"msnbc={bad}"])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}:2: not JSON" in err and "Traceback" not in err


def test_bad_options_exit_2(tmp_path, world, capsys):
    model = tmp_path / "model.pt"
    model.write_bytes(b"")
    base = ["--data", str(world.out), "--model", f"m={model}", "--out", str(tmp_path / "r"), "--tasks", "none"]
    assert run.main([*base, "--ed-dataset", str(model)]) == 2
    assert "expected NAME=PATH" in capsys.readouterr().err
    assert run.main([*base, "--lama", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture(scope="module")
def report(world, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("external-run")
    kilm = train_tiny_bart(world, tmp / "kilm.pt", steps=30)  # a model other than base; its skill is not tested
    base = train_tiny_bart(world, tmp / "base.pt", steps=0)
    trex_dir = tmp / "trex"
    trex_dir.mkdir()
    write_jsonl(trex_dir / "P27.jsonl", TREX_LINES[:1])
    write_jsonl(trex_dir / "P495.jsonl", TREX_LINES[1:])
    out = tmp / "report"
    code = run.main(["--data", str(world.out), "--model", f"base={base}", "--model", f"kilm={kilm}",
                     "--out", str(out), "--tasks", "none", "--no-progress", "--batch-size", "4", "--beam", "2",
                     "--max-new-tokens", "16",
                     "--ed-dataset", f"aida={write_jsonl(tmp / 'aida-test-kilt.jsonl', KILT_LINES)}",
                     "--ed-dataset", f"blink_aida={write_jsonl(tmp / 'AIDA-YAGO2_testb.jsonl', BLINK_LINES)}",
                     "--lama", f"trex={trex_dir}",
                     "--lama", str(write_jsonl(tmp / "place_of_birth_test.jsonl", GOOGLE_RE_LINES)),
                     "--describe-dataset", f"descriptions={write_jsonl(tmp / 'desc.jsonl', DESCRIBE_LINES)}"])
    assert code == 0
    return out


def test_report_json_external_section(report):
    external = json.loads((report / "report.json").read_text())["external"]
    assert set(external) == {"aida", "blink_aida", "trex", "place_of_birth_test", "descriptions"}
    aida = external["aida"]
    assert (aida["format"], aida["n"], aida["n_in_kb"], aida["n_out_of_kb"]) == ("kilt", 7, 6, 1)
    assert aida["candidate_recall"] == pytest.approx(500 / 6) and aida["candidates_out_of_kb"] == 1
    assert aida["baselines"]["ed_prior"] is not None
    for name in ("base", "kilm"):
        m = aida["models"][name]
        assert 0.0 <= m["ed_accuracy"] <= 500 / 6 and len(m["ci"]) == 2  # the recall miss is always wrong
        assert m["not_fitting"] == 0  # the long context was windowed
    assert set(aida["differences"]) == {"kilm-base"}
    blink_set = external["blink_aida"]
    assert (blink_set["format"], blink_set["n_in_kb"], blink_set["n_out_of_kb"]) == ("blink", 2, 1)
    assert blink_set["candidate_source"] == {"alias_table": 2}
    trex = external["trex"]
    assert trex["format"] == "trex" and trex["relations"] == {"P27": 1, "P495": 1}
    assert set(trex["models"]["kilm"]["relations"]) == {"P27", "P495"}
    google = external["place_of_birth_test"]
    assert (google["format"], google["n"], google["n_facts"], google["n_judged_no"]) == ("google_re", 2, 1, 1)
    desc = external["descriptions"]
    assert (desc["n"], desc["n_scored"], desc["n_no_description"]) == (3, 2, 1)
    assert desc["description_source"] == {"kb": 1, "file": 1}
    assert "probe_desc_f1" in desc["models"]["kilm"]


def test_report_md_has_a_table_per_dataset(report):
    md = (report / "report.md").read_text()
    for name in ("aida", "blink_aida", "trex", "place_of_birth_test", "descriptions"):
        assert f"### {name}:" in md
    assert md.count("| metric | base | kilm |") >= 5
    assert "| kilm − base (points, paired) |" in md
    lines = (report / "kilm.external.aida.jsonl").read_text().splitlines()
    predictions = [json.loads(line) for line in lines]
    assert len(predictions) == 6 and predictions[1]["prediction"] is None  # gold not among candidates
    assert predictions[5]["prediction"] in ("Arlen (city)", "Arlen (river)")  # the long context was scored
