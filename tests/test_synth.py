"""Tests of the synthetic world generator (synth).

The answer key is checked against an independent reference reading of the dump, written here
with mwxml + mwparserfromhell and DESIGN.md's plain text rules; it shares no code with the
generator, so a bug on either side shows up as a mismatch.
"""

from __future__ import annotations

import ast
import bz2
import collections
import html
import json
import re
import resource
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import mwparserfromhell
import mwxml
import pytest

from synth import DEFAULT_ENTITIES, generate, truth_path
from synth.writer import index_path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny_world.xml.bz2"
TINY_ENTITIES, TINY_SEED = 140, 0
END_SECTIONS = {"See also", "Notes", "References", "Further reading", "External links"}
NON_ARTICLE_PREFIXES = {"file", "image", "category", "fr", "de", "es", "it", "nl", "pl", "ja", "uk"}


# ----- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "world.xml.bz2"
    generate(path, 300, seed=7)
    return path


def read_truth(dump: Path) -> list[dict]:
    with truth_path(dump).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def read_pages(dump: Path) -> list[tuple[mwxml.Page, str]]:
    with bz2.open(dump) as raw:
        parsed = mwxml.Dump.from_file(raw)
        return [(page, next(iter(page)).text) for page in parsed]


# ----- an independent reference reading of the plain text rules -------------------------------
def normalise_title(title: str) -> str:
    title = re.sub(r"[\s_]+", " ", title.split("#", 1)[0]).strip()
    return title[:1].upper() + title[1:]


START, END = "\ue000", "\ue001"  # private-use markers around mentions in the raw text


def render(nodes, mentions: list[str] | None, out: list[str]) -> None:
    """Append the visible text of `nodes` to `out`; links get START/END markers and their target
    is appended to `mentions` (None inside link text and other places where links do not count)."""
    open_trail = False
    for node in nodes:
        if isinstance(node, mwparserfromhell.nodes.Text):
            value = str(node.value)
            if open_trail:  # a link trail belongs to the mention: move the END marker past it
                trail = re.match(r"[a-z]*", value).group(0)
                out[-1:] = [trail, END]
                value = value[len(trail):]
            out.append(value)
        elif isinstance(node, mwparserfromhell.nodes.Wikilink):
            target = str(node.title).strip()
            if ":" in target and target.split(":", 1)[0].strip().lower() in NON_ARTICLE_PREFIXES:
                open_trail = False
                continue
            if mentions is not None:
                mentions.append(target)
                out.append(START)
            if node.text is not None:
                render(node.text.nodes, None, out)
            else:
                out.append(target)
            if mentions is not None:
                out.append(END)
        elif isinstance(node, mwparserfromhell.nodes.Template):
            if str(node.name).strip().lower() == "lang" and node.has(2):
                render(node.get(2).value.nodes, None, out)
        elif isinstance(node, mwparserfromhell.nodes.Tag):
            if node.wiki_markup in ("''", "'''") and node.contents is not None:
                render(node.contents.nodes, mentions, out)
        elif isinstance(node, mwparserfromhell.nodes.HTMLEntity):
            out.append(" " if node.normalize() == "\xa0" else node.normalize())
        open_trail = isinstance(node, mwparserfromhell.nodes.Wikilink) and mentions is not None


def plain_paragraph(block: str) -> tuple[str, list[tuple[int, int, str, str]]]:
    """DESIGN's rules on one block: render, collapse whitespace, strip, NFC, then read the markers."""
    out: list[str] = []
    targets: list[str] = []
    render(mwparserfromhell.parse(block).nodes, targets, out)
    marked = unicodedata.normalize("NFC", re.sub(r"\s+", " ", "".join(out)).strip())
    chars: list[str] = []
    starts: list[int] = []
    spans = []
    for char in marked:
        if char == START:
            starts.append(len(chars))
        elif char == END:
            begin = starts.pop()
            spans.append((begin, len(chars)))
        else:
            chars.append(char)
    text = "".join(chars)
    return text, [(b, e, text[b:e], t) for (b, e), t in zip(spans, targets)]


def reference_paragraphs(wikitext: str) -> list[tuple[str, list]]:
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", wikitext):
        stripped = block.strip()
        if stripped.startswith("="):
            if stripped.strip("= ") in END_SECTIONS:
                break
            continue
        if not stripped or stripped[0] in "*#:;" or stripped.startswith("{|"):
            continue
        text, spans = plain_paragraph(block)
        if text:
            paragraphs.append((text, spans))
    return paragraphs


def reference_description(wikitext: str, first_paragraph: str) -> tuple[str, str]:
    for template in mwparserfromhell.parse(wikitext).filter_templates(recursive=False):
        if str(template.name).strip().lower() == "short description":
            value = str(template.get(1).value).strip()
            if value.lower() != "none":
                return value, "short_description"
    sentence = re.split(r"(?<=\.) (?=[A-Z])", first_paragraph, maxsplit=1)[0]
    return re.sub(r"\s+", " ", re.sub(r" ?\([^()]*\)", "", sentence)).strip(), "lead_sentence"


class Reference:
    """What a careful pipeline would extract from the dump alone."""

    def __init__(self, dump: Path) -> None:
        pages = read_pages(dump)
        disambig_templates = {normalise_title(p.title.split(":", 1)[1]) for p, text in pages
                              if p.namespace == 10 and "__DISAMBIG__" in text}
        self.redirects = {p.title: normalise_title(re.search(r"\[\[([^\]]+)\]\]", text).group(1))
                          for p, text in pages if p.redirect}
        self.articles = {}
        self.disambiguations = set()
        for page, text in pages:
            if page.namespace != 0 or page.redirect:
                continue
            names = {normalise_title(str(t.name)) for t in mwparserfromhell.parse(text).filter_templates()}
            if names & disambig_templates:
                self.disambiguations.add(page.title)
            else:
                self.articles[page.title] = text

    def resolve(self, target: str) -> str | None:
        title = normalise_title(target)
        for _ in range(5):
            if title in self.redirects:
                title = self.redirects[title]
        return title if title in self.articles else None


# ----- tests ------------------------------------------------------------------------------------
def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.xml.bz2", tmp_path / "b.xml.bz2", tmp_path / "c.xml.bz2"
    generate(a, 250, seed=3)
    generate(b, 250, seed=3, workers=2)
    generate(c, 250, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert truth_path(a).read_bytes() == truth_path(b).read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert truth_path(a).read_bytes() != truth_path(c).read_bytes()


def test_shipped_tiny_world_is_regenerated_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "tiny_world.xml.bz2"
    generate(out, TINY_ENTITIES, seed=TINY_SEED)
    assert out.read_bytes() == TINY.read_bytes()
    assert truth_path(out).read_bytes() == truth_path(TINY).read_bytes()
    assert index_path(out).read_bytes() == index_path(TINY).read_bytes()
    assert len(read_pages(TINY)) <= 300


def test_multistream_index_points_at_each_pages_stream() -> None:
    """The index is Wikimedia's format: ``offset:page_id:title``, offset = the page's bz2 stream."""
    with bz2.open(index_path(TINY), "rt", encoding="utf-8") as f:
        entries = [line.rstrip("\n").split(":", 2) for line in f]
    data = TINY.read_bytes()
    titles_at: dict[int, set[str]] = {}
    for offset, _, title in entries:
        titles_at.setdefault(int(offset), set()).add(title)
    assert len(titles_at) >= 3
    for offset, titles in titles_at.items():
        stream = bz2.BZ2Decompressor().decompress(data[offset:]).decode("utf-8")  # one stream only
        assert titles <= {html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", stream)}
    assert sorted(int(page_id) for _, page_id, _ in entries) == sorted(page.id for page, _ in read_pages(TINY))


def test_cli_writes_dump_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "cli.xml.bz2"
    subprocess.run([sys.executable, "-m", "synth", "--entities", "40", "--seed", "1", "--output", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    assert out.exists() and (tmp_path / "cli.truth.jsonl").exists()
    assert 600 <= DEFAULT_ENTITIES <= 1000


def test_mwxml_reads_siteinfo_namespaces_and_redirects(world: Path) -> None:
    with bz2.open(world) as raw:
        dump = mwxml.Dump.from_file(raw)
        assert dump.site_info.case == "first-letter"
        names = {ns.id: ns.name for ns in dump.site_info.namespaces}
        assert names[1] == "Talk" and names[10] == "Template" and names[14] == "Category" and names[6] == "File"
        pages = [(p.title, p.namespace, p.redirect, p.id) for p in dump]
    truth = read_truth(world)
    entities = {r["title"]: r for r in truth if r["kind"] == "entity"}
    by_ns = collections.Counter(ns for _, ns, _, _ in pages)
    assert {1, 10, 14}.issubset(by_ns) and len({pid for *_, pid in pages}) == len(pages)
    for title, ns, _, _ in pages:
        prefix = title.split(":", 1)[0] if ":" in title else ""
        assert (names.get(ns) or "") == prefix, title
    redirect_targets = {title: target for title, _, target, _ in pages if target}
    for record in entities.values():
        for alias in record["redirects"]:
            target = redirect_targets[alias]
            assert target == record["title"] or redirect_targets.get(target) == record["title"]
    disambiguations = Reference(world).disambiguations
    articles = {title for title, ns, target, _ in pages if ns == 0 and target is None} - disambiguations
    assert articles == set(entities) and disambiguations


def test_mwparserfromhell_parses_every_page(world: Path) -> None:
    for page, text in read_pages(world):
        code = mwparserfromhell.parse(text)
        assert str(code) == text, page.title


def test_truth_matches_independent_reference(world: Path) -> None:
    """Paragraph texts, mention offsets/surfaces/entities and descriptions, page by page."""
    ref = Reference(world)
    truth = read_truth(world)
    entities = {r["title"]: r for r in truth if r["kind"] == "entity"}
    assert set(entities) == set(ref.articles)
    paragraphs = collections.defaultdict(list)
    mentions = collections.defaultdict(list)
    for record in truth:
        if record["kind"] == "paragraph":
            paragraphs[record["page_title"]].append(record["text"])
        elif record["kind"] == "mention":
            key = (record["page_title"], record["paragraph"])
            mentions[key].append((record["start"], record["end"], record["surface"], record["entity"]))
    compared = 0
    for title, wikitext in ref.articles.items():
        expected = reference_paragraphs(wikitext)
        assert paragraphs[title] == [text for text, _ in expected], title
        for number, (text, spans) in enumerate(expected):
            resolved = [(s, e, surface, ref.resolve(t)) for s, e, surface, t in spans]
            want = [m for m in resolved if m[3] is not None]
            assert mentions[(title, number)] == want, (title, number)
            compared += len(want)
            assert all(text[s:e] == surface for s, e, surface, _ in want)
        description = reference_description(wikitext, expected[0][0])
        assert (entities[title]["description"], entities[title]["description_source"]) == description, title
    assert compared == sum(len(v) for v in mentions.values()) > 1000


def test_mentions_ambiguity_and_most_frequent_entity_baseline(world: Path) -> None:
    truth = read_truth(world)
    entities = {r["title"]: r for r in truth if r["kind"] == "entity"}
    mentions = [r for r in truth if r["kind"] == "mention"]
    counts = collections.Counter(m["entity"] for m in mentions)
    assert min(counts[t] for t in entities) >= 2
    pages = collections.defaultdict(set)
    for m in mentions:
        pages[m["entity"]].add(m["page_title"])
        assert m["surface"] in entities[m["entity"]]["surface_forms"]
    assert sum(len(pages[t]) >= 2 for t in entities) >= 0.95 * len(entities)
    by_surface = collections.defaultdict(collections.Counter)
    for m in mentions:
        by_surface[m["surface"]][m["entity"]] += 1
    ambiguous = [s for s, c in by_surface.items() if len(c) > 1]
    ambiguous_mentions = sum(sum(by_surface[s].values()) for s in ambiguous)
    assert ambiguous_mentions >= 0.2 * len(mentions)
    mfe = sum(max(by_surface[s].values()) for s in ambiguous) / ambiguous_mentions
    assert mfe < 0.6  # room for knowledge: the most frequent entity is often wrong
    assert collections.Counter(r["description_source"] for r in entities.values()).keys() == {
        "short_description", "lead_sentence"}


# ----- the rules that keep knowledge apart from surface patterns (DESIGN.md) --------------------
def facts_of(record: dict) -> list[str]:
    """Description facts: string attribute values the description states verbatim."""
    return [v for v in record["attributes"].values() if isinstance(v, str) and v in record["description"]]


def whole_word(needle: str, haystack: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack, re.IGNORECASE) is not None


def paragraph_mentions(truth: list[dict]) -> list[tuple[str, dict, list[dict]]]:
    """(paragraph text, mention, all mentions of that paragraph) for every mention."""
    texts = {(r["page_title"], r["paragraph"]): r["text"] for r in truth if r["kind"] == "paragraph"}
    grouped = collections.defaultdict(list)
    for r in truth:
        if r["kind"] == "mention":
            grouped[(r["page_title"], r["paragraph"])].append(r)
    return [(texts[key], m, group) for key, group in grouped.items() for m in group]


def shared_surfaces(truth: list[dict]) -> dict[str, set[str]]:
    """Surface -> entities, over mention anchors and redirect titles, for surfaces of several entities."""
    by_surface = collections.defaultdict(set)
    for r in truth:
        if r["kind"] == "mention":
            by_surface[r["surface"]].add(r["entity"])
        elif r["kind"] == "entity":
            for title in r["redirects"]:
                by_surface[title].add(r["title"])
    return {s: e for s, e in by_surface.items() if len(e) > 1}


def test_descriptions_state_several_facts_in_one_case(world: Path) -> None:
    """Facts are what eval's fact accuracy counts: several per entity, found the same way whether a
    reader matches case or not, and no other entity's name in a description."""
    entities = {r["title"]: r for r in read_truth(world) if r["kind"] == "entity"}
    for record in entities.values():
        facts = facts_of(record)
        assert len(facts) >= 2, record["title"]
        for value in record["attributes"].values():
            if isinstance(value, str):
                assert (value in record["description"]) == (value.casefold() in record["description"].casefold())
            else:
                assert value["entity"] in entities
                assert not whole_word(value["entity"], record["description"]), record["title"]


def test_most_mentions_differ_from_the_title(world: Path) -> None:
    mentions = [r for r in read_truth(world) if r["kind"] == "mention"]
    same = sum(m["surface"] == m["entity"] for m in mentions)
    assert same <= 0.3 * len(mentions), same / len(mentions)


def test_no_description_fact_in_a_paragraph_that_mentions_the_entity(world: Path) -> None:
    """Stronger than "not within 12 words": the paragraph (the model's whole window) holds none of the
    mentioned entity's facts, and none of the facts of the other entities its surface may name."""
    truth = read_truth(world)
    entities = {r["title"]: r for r in truth if r["kind"] == "entity"}
    shared = shared_surfaces(truth)
    checked = 0
    for text, m, _ in paragraph_mentions(truth):
        rest = text[:m["start"]] + " | " + text[m["end"]:]
        for title in shared.get(m["surface"], {m["entity"]}):
            for fact in facts_of(entities[title]):
                assert not whole_word(fact, rest), (m, fact)
                checked += 1
    assert checked > 1000


def test_shared_surfaces_name_entities_of_one_type_apart_only_by_relations(world: Path) -> None:
    """A shared surface belongs to entities of one type; the words that tell its candidates' titles
    apart (a country, a year, a given name) never stand in the paragraph, while nearly every such
    mention has, in its paragraph (linked, or the page's subject), an entity related to the gold and
    to no other candidate: the relation, learnt from training text, is what tells them apart."""
    truth = read_truth(world)
    entities = {r["title"]: r for r in truth if r["kind"] == "entity"}
    shared = shared_surfaces(truth)
    assert len(shared) >= 20
    for surface, titles in shared.items():
        assert len({entities[t]["type"] for t in titles}) == 1, surface

    def related(a: str, b: str) -> bool:
        return any(isinstance(v, dict) and v["entity"] == b for v in entities[a]["attributes"].values()) or any(
            isinstance(v, dict) and v["entity"] == a for v in entities[b]["attributes"].values())

    with_cue = ambiguous = 0
    for text, m, others in paragraph_mentions(truth):
        if m["surface"] not in shared:
            continue
        ambiguous += 1
        rest = text[:m["start"]] + " | " + text[m["end"]:]
        for title in shared[m["surface"]]:
            for word in re.findall(r"\w+", title):
                if word not in m["surface"] and word.casefold() not in {"of", "the"}:
                    assert not whole_word(word, rest), (m, word)
        context = {o["entity"] for o in others if o is not m} | {m["page_title"]}
        with_cue += any(related(m["entity"], c) and not any(related(t, c) for t in shared[m["surface"]] - {
            m["entity"]}) for c in context)
    assert ambiguous >= 300 and with_cue >= 0.9 * ambiguous, (with_cue, ambiguous)


def test_noise_constructs_are_present(world: Path) -> None:
    text = "\n".join(t for _, t in read_pages(world))
    for needle in ("{{Infobox", "{{cite web", "<ref>", '<ref name="', "{|", "[[File:", "[[Category:", "&nbsp;",
                   "&ndash;", "&amp;", "{{lang|", "{{reflist}}", "#REDIRECT", "__DISAMBIG__", "{{disambiguation}}",
                   "{{short description|", "{{Short description | ", "''[[", "== External links =="):
        assert needle in text, needle
    assert re.search(r"\]\][a-z]+", text)  # link trails
    assert re.search(r"\[\[[a-z][^\]|]*\|", text)  # lower-case first letter targets
    assert re.search(r"\[\[[^\]|]*_[^\]|]*\|", text)  # underscores in targets
    raw = bz2.decompress(world.read_bytes()).decode("utf-8")
    assert "&amp;nbsp;" in raw and "&lt;ref&gt;" in raw and "<redirect title=" in raw


def test_wikiextractor_extracts_articles(world: Path, tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-m", "wikiextractor.WikiExtractor", "--help"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"WikiExtractor cannot run here: {probe.stderr.decode()[-300:]}")
    out = tmp_path / "extracted"
    subprocess.run([sys.executable, "-m", "wikiextractor.WikiExtractor", "--json", "--processes", "1", "-q",
                    "-o", str(out), str(world)], check=True, capture_output=True)
    docs = [json.loads(line) for f in sorted(out.rglob("wiki_*")) for line in f.read_text().splitlines()]
    entities = {r["title"] for r in read_truth(world) if r["kind"] == "entity"}
    extracted = {d["title"]: d["text"] for d in docs}
    assert entities.issubset(extracted)
    assert all(re.match(r"\w+", title).group(0) in extracted[title] for title in entities)


def _peak_rss_kib(entities: int, out: Path) -> int:
    code = ("import resource, subprocess, sys; "
            f"subprocess.run([sys.executable, '-m', 'synth', '--entities', '{entities}', "
            f"'--output', {str(out)!r}], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1])


def test_memory_is_bounded(tmp_path: Path) -> None:
    small = _peak_rss_kib(1_000, tmp_path / "small.xml.bz2")
    large = _peak_rss_kib(10_000, tmp_path / "large.xml.bz2")
    assert large < small + 40 * 1024, (small, large)  # 10x the entities, < 40 MiB more
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
    shutil.rmtree(tmp_path, ignore_errors=True)


FORBIDDEN_PACKAGES = ("pipeline", "trainer", "eval", "kilm", "demo")


def _imported_modules(path: Path) -> list[str]:
    """Absolute module names a file imports (relative imports stay inside the package)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_generator_imports_no_pipeline_trainer_eval_or_kilm_code() -> None:
    """The oracle must not share code with what it checks: every synth/*.py, imports read by ast."""
    files = sorted((ROOT / "synth").glob("*.py"))
    assert files
    offending = [(f.name, name) for f in files for name in _imported_modules(f)
                 if name.split(".")[0] in FORBIDDEN_PACKAGES]
    assert not offending, offending


def test_import_inspection_sees_forbidden_imports(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("import os\nfrom pipeline.run import main\nimport eval.metrics as m\nfrom . import world\n")
    assert [n for n in _imported_modules(source) if n.split(".")[0] in FORBIDDEN_PACKAGES] == [
        "pipeline.run", "eval.metrics"]


def test_html_entities_decode_like_the_rules() -> None:
    """The reference above decodes `&nbsp;` to a space, as DESIGN.md says."""
    assert html.unescape("12&nbsp;km").replace("\xa0", " ") == "12 km"
