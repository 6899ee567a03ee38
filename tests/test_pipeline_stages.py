"""Each pipeline stage: its rules as pure functions, and its composite on Beam's TestPipeline."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from kilm import sequence as seq
from kilm.indexed import read_indexed
from kilm.records import read_jsonl_gz
from kilm.tokenizer import KilmTokenizer
from pipeline.binarize import Binarize, RowRules, example_rows
from pipeline.descriptions import ChooseDescriptions
from pipeline.dump import RawPage
from pipeline.knowledge import BuildKnowledge, assemble_examples, build_alias, page_text, train_anchors
from pipeline.outcomes import DEAD_LETTER, STATS
from pipeline.parse import PageRules, ParsePages, decide_title
from pipeline.resolve import PageRef, ResolveLinks, ResolveRedirects, follow_redirect, resolve_link
from pipeline.runs import RunSpill
from pipeline.sinks import pack_row, unpack_row
from pipeline.site import Site
from pipeline.splits import SplitConfig
from pipeline.vocabulary import TrainTokenizer, tokenizer_sample, train_tokenizer

ALL_TRAIN = SplitConfig(valid_fraction=0.0, test_fraction=0.0, unseen_entity_fraction=0.0)
ALL_TEST = SplitConfig(valid_fraction=0.0, test_fraction=1.0, unseen_entity_fraction=0.0)


@pytest.fixture
def spill(tmp_path) -> RunSpill:
    """Runs of a few records each, in four buckets: groups and files come from many runs."""
    return RunSpill(str(tmp_path / "runs"), buffer_bytes=200, buckets=4)


def stats_of(pcoll, label: str):
    """``(section, key, n)`` tallies summed per (section, key)."""
    return (pcoll | f"{label}Key" >> beam.Map(lambda s: ((s[0], s[1]), s[2]))
            | f"{label}Sum" >> beam.CombinePerKey(sum))


# ---- redirects ------------------------------------------------------------------------------------


def test_follow_redirect_rules():
    entity = PageRef("entity", "a river")
    assert follow_redirect("B", "A", ["A"], entity, None, False).outcome == "resolved"
    assert follow_redirect("B", "A", ["A", "X"], entity, None, False).entity == ("B", "a river")
    assert follow_redirect("B", "A", ["A", "X"], entity, None, False).outcome == "resolved_chain"
    assert follow_redirect("B", "A", ["A"], PageRef("disambiguation", None), None, False).outcome == \
        "to_disambiguation"
    assert follow_redirect("B", "A", ["A"], None, None, False).outcome == "to_missing_page"
    assert follow_redirect("B", "A", ["A"], None, "A", False).chain == ["A", "B", "A"]
    assert follow_redirect("B", "A", ["A"], None, "A", False).outcome == "loop"
    assert follow_redirect("B", "A", ["A"], None, "C", True).outcome == "chain_too_long"
    hop = follow_redirect("B", "A", ["A"], None, "C", False)
    assert (hop.outcome, hop.next, hop.chain) == ("pending", "C", ["A", "B"])


def test_resolve_redirects_chains_loops_and_missing_targets():
    pages = [("River", ("entity", "a river")), ("Mercury (disambiguation)", ("disambiguation", None))]
    edges = [("Stream", "River"), ("Brook", "Stream"), ("Creek", "Brook"), ("Rill", "Creek"),
             ("Loop A", "Loop B"), ("Loop B", "Loop A"), ("Ghost", "Nowhere"), ("Hg", "Mercury (disambiguation)")]
    with BeamTestPipeline() as p:
        out = ({"page_index": p | "Pages" >> beam.Create(pages), "redirects": p | "Edges" >> beam.Create(edges)}
               | ResolveRedirects(max_hops=3))
        assert_that(out["aliases"], equal_to([("Stream", ("River", "a river")), ("Brook", ("River", "a river")),
                                              ("Creek", ("River", "a river"))]), label="aliases")
        dead = out[DEAD_LETTER] | beam.Map(lambda d: (d["reason"], d["title"], tuple(d["chain"])))
        assert_that(dead, equal_to([
            ("redirect_loop", "Loop A", ("Loop A", "Loop B", "Loop A")),
            ("redirect_loop", "Loop B", ("Loop B", "Loop A", "Loop B")),
            ("redirect_chain_too_long", "Rill", ("Rill", "Creek", "Brook", "Stream", "River")),
        ]), label="dead")
        assert_that(stats_of(out[STATS], "S"), equal_to([
            (("redirects", "resolved"), 1), (("redirects", "resolved_chain"), 2), (("redirects", "loop"), 2),
            (("redirects", "chain_too_long"), 1), (("redirects", "to_missing_page"), 1),
            (("redirects", "to_disambiguation"), 1)]), label="stats")


# ---- links ----------------------------------------------------------------------------------------


def article(title: str, page_id: int, text: str, links: list[tuple[str, str]], description: str | None = "d"):
    """An article record as ParsePages gives it: one paragraph, ``links`` as (surface, target)."""
    mentions = []
    for surface, target in links:
        start = text.index(surface)
        mentions.append({"start": start, "end": start + len(surface), "surface": surface, "target": target})
    return {"title": title, "page_id": page_id, "paragraphs": [{"index": 0, "text": text, "in_lead": True,
                                                                "mentions": mentions}],
            "description": description, "description_source": "short_description" if description else None,
            "list_links": [], "body_links": []}


def test_resolve_link_rules():
    assert resolve_link(("River", "d"), ("Other", "e"), False) == ("resolved", ("River", "d"))
    assert resolve_link(None, ("River", "d"), False) == ("via_redirect", ("River", "d"))
    assert resolve_link(None, None, True) == ("to_disambiguation", None)
    assert resolve_link(None, None, False) == ("missing_target", None)


def test_resolve_links_through_redirects_and_to_missing_targets(spill):
    articles = [article("Town", 1, "Town lies on the River by the Stream near Ghost and Mercury.",
                        [("River", "River"), ("Stream", "Stream"), ("Ghost", "Ghost"),
                         ("Mercury", "Mercury (disambiguation)")]),
                article("River", 2, "River flows.", [], description="a river")]
    disambiguation = {"title": "Mercury (disambiguation)", "page_id": 3, "list_links": ["Mercury (planet)"],
                      "paragraphs": [], "body_links": []}
    with BeamTestPipeline() as p:
        out = ({"articles": p | "Articles" >> beam.Create(articles),
                "disambiguations": p | "Dis" >> beam.Create([disambiguation]),
                "aliases": p | "Aliases" >> beam.Create([("Stream", ("River", "a river"))])}
               | ResolveLinks(spill))
        river = ("River", "a river")
        assert_that(out["links"], equal_to([("Town", (0, 0, *river)), ("Town", (0, 1, *river))]), label="links")
        assert_that(out["disambiguation_aliases"], equal_to([]), label="dis")  # Mercury (planet) has no page
        assert_that(stats_of(out[STATS], "S"), equal_to([
            (("links", "resolved"), 1), (("links", "via_redirect"), 1), (("links", "missing_target"), 1),
            (("links", "to_disambiguation"), 1)]), label="stats")


# ---- pages ----------------------------------------------------------------------------------------


def raw(title: str, page_id: int, text: str, namespace: int = 0) -> RawPage:
    return RawPage("dump.xml", page_id * 100, "testwiki", title, namespace, page_id, None, text, "wikitext")


def test_decide_title_keeps_the_lowest_page_id():
    first = {"page_id": 5, "file": "a", "offset": 1, "disambiguation_magic": False, "templates": ["Dab"]}
    second = {"page_id": 9, "file": "a", "offset": 2, "stream_offset": 77}
    decision = decide_title("X", [("redirect", second), ("article", first)], frozenset({"dab"}))
    assert (decision.kind, decision.record["page_id"]) == ("disambiguation", 5)
    assert [(d["reason"], d["page_id"], d["kept_page_id"], d["stream_offset"]) for d in decision.duplicates] == \
        [("duplicate_title", 9, 5, 77)]


def test_parse_pages_sorts_articles_redirects_and_disambiguations(spill):
    pages = [raw("River", 1, "The '''River''' flows to the [[Sea]].\n\nIt is long."),
             raw("Stream", 2, "#REDIRECT [[River]]"),
             raw("Mercury", 3, "'''Mercury''' may be:\n* [[Mercury (planet)]]\n{{Dab}}"),
             raw("Template:Dab", 4, "__DISAMBIG__", namespace=10),
             raw("River", 5, "A duplicate."),
             raw("Empty", 6, "  ")]
    with BeamTestPipeline() as p:
        out = p | beam.Create(pages) | ParsePages(PageRules(Site()), frozenset(), spill)
        assert_that(out["articles"] | beam.Map(lambda a: (a["title"], [x["text"] for x in a["paragraphs"]])),
                    equal_to([("River", ["The River flows to the Sea.", "It is long."])]), label="articles")
        assert_that(out["redirects"], equal_to([("Stream", "River")]), label="redirects")
        assert_that(out["disambiguations"] | beam.Map(lambda d: d["title"]), equal_to(["Mercury"]), label="dis")
        assert_that(out[DEAD_LETTER] | beam.Map(lambda d: (d["reason"], d["title"])),
                    equal_to([("duplicate_title", "River"), ("empty_page", "Empty")]), label="dead")


# ---- examples, entities, aliases ------------------------------------------------------------------


def test_assemble_examples_keeps_resolved_mentions_only():
    town = article("Town", 1, "Town lies on the River near Ghost.", [("River", "River"), ("Ghost", "Ghost")])
    links = [(0, 0, "River", "a river")]
    [example] = assemble_examples(town["title"], page_text(town), links, "train")
    assert example.record["mentions"] == [{"start": 17, "end": 22, "surface": "River", "entity": "River"}]
    assert example.knowledge == ["a river"] and example.record["id"] == "1-0"
    assert train_anchors(example) == [("River", "River")]
    assert train_anchors(next(assemble_examples(town["title"], page_text(town), links, "test"))) == []


def test_build_alias_sums_counts_and_ranks():
    assert build_alias("Mercury", [("Planet", 2), ("God", 3), ("Planet", 2), ("Element", 0)]) == {
        "surface": "Mercury", "entities": [{"entity": "Planet", "count": 4}, {"entity": "God", "count": 3},
                                           {"entity": "Element", "count": 0}]}


@pytest.mark.parametrize(("splits", "anchor_count"), [(ALL_TRAIN, 1), (ALL_TEST, 0)])
def test_build_knowledge_entities_and_aliases(splits, anchor_count, spill):
    """Anchor counts come from train pages only; redirects and disambiguation pages add candidates."""
    articles = [article("Town", 1, "Town lies on the Stream.", [("Stream", "Stream")]),
                {**article("River", 2, "River flows.", [], description="a river"),
                 "description_source": "lead_sentence"}]
    links = [("Town", (0, 0, "River", "a river"))]
    with BeamTestPipeline() as p:
        out = ({"articles": p | "Articles" >> beam.Create(articles), "links": p | "Links" >> beam.Create(links),
                "body_links": p | "BodyLinks" >> beam.Create([]),
                "aliases": p | "Aliases" >> beam.Create([("Stream", ("River", "a river"))]),
                "disambiguation_aliases": p | "Dis" >> beam.Create([("Flow", "River")])}
               | BuildKnowledge(splits, "en", spill))
        assert_that(out["examples"] | beam.Map(lambda e: (e["id"], e["split"], len(e["mentions"]), e["knowledge"])),
                    equal_to([("1-0", splits.page_split("Town"), 1, ["a river"]),
                              ("2-0", splits.page_split("River"), 0, [])]), label="examples")
        river = {"title": "River", "page_id": 2, "description": "a river", "description_source": "lead_sentence",
                 "description_language": "en", "redirects": ["Stream"],
                 "aliases": [{"surface": "Stream", "count": 1}][:anchor_count], "split": "seen"}
        assert_that(out["entities"] | beam.Filter(lambda e: e["title"] == "River"), equal_to([river]),
                    label="entities")
        assert_that(out["aliases"], equal_to([
            {"surface": "Stream", "entities": [{"entity": "River", "count": anchor_count}]},
            {"surface": "Flow", "entities": [{"entity": "River", "count": 0}]}]), label="aliases")


@pytest.mark.parametrize(("splits", "anchor_count"), [(ALL_TRAIN, 1), (ALL_TEST, 0)])
def test_lead_scope_body_links_count_as_anchors_but_give_no_example(splits, anchor_count, spill):
    """Lead scope: a link after the first heading counts in the alias table (train pages only) and in
    the link statistics, and a disambiguation page's body links add candidates; no example has them."""
    pages = [raw("Town", 1, "'''Town''' lies on the [[Sea]].\n\n== History ==\nThe [[River|old river]] flooded."),
             raw("River", 2, "The '''River''' flows."), raw("Sea", 3, "The '''Sea''' is wide."),
             raw("Mercury", 4, "'''Mercury''' may be:\n\n== Science ==\nThe [[Sea|sea]] god.\n{{Dab}}")]
    with BeamTestPipeline() as p:
        parsed = p | beam.Create(pages) | ParsePages(PageRules(Site(), scope="lead"), frozenset({"dab"}), spill)
        articles = parsed["articles"] | ChooseDescriptions(("lead_sentence",), None, Site(), ("en",))
        links = ({"articles": articles["articles"], "disambiguations": parsed["disambiguations"],
                  "aliases": p | "NoRedirects" >> beam.Create([])} | ResolveLinks(spill))
        out = ({"articles": articles["articles"], "links": links["links"], "body_links": links["body_links"],
                "aliases": p | "NoAliases" >> beam.Create([]),
                "disambiguation_aliases": links["disambiguation_aliases"]} | BuildKnowledge(splits, "en", spill))
        assert_that(out["examples"] | beam.Map(lambda e: (e["id"], e["text"], [m["surface"] for m in e["mentions"]])),
                    equal_to([("1-0", "Town lies on the Sea.", ["Sea"]), ("2-0", "The River flows.", []),
                              ("3-0", "The Sea is wide.", [])]), label="examples")
        anchors = [{"surface": "old river", "entities": [{"entity": "River", "count": 1}]},
                   {"surface": "Sea", "entities": [{"entity": "Sea", "count": 1}]}]
        assert_that(out["aliases"], equal_to(
            [{"surface": "Mercury", "entities": [{"entity": "Sea", "count": 0}]}, *anchors[: 2 * anchor_count]]),
            label="aliases")
        assert_that(stats_of(links[STATS], "S"), equal_to([(("links", "resolved"), 2)]), label="stats")


# ---- rows -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer() -> KilmTokenizer:
    texts = ["Town lies on the River near the old mill and the long road home."] * 20
    return KilmTokenizer.train_bpe(texts, vocab_size=300, min_frequency=1)


def example(split: str, entity: str = "River") -> dict:
    text = "Town lies on the River near the old mill and the long road home."
    return {"id": "1-0", "page_id": 1, "page_title": "Town", "paragraph": 0, "text": text, "split": split,
            "mentions": [{"start": 17, "end": 22, "surface": "River", "entity": entity}], "knowledge": ["a river"]}


def test_rows_never_carry_an_unseen_entity_in_train(tokenizer):
    unseen = SplitConfig(unseen_entity_fraction=1.0)
    rules = RowRules(unseen, max_infills=2, max_tokens=64, plain_fraction=0.0, num_shards=2)
    train = example_rows(example("train"), tokenizer, rules)
    assert train.rows == [] and train.stats["mentions", "unseen_entity_kept_plain_in_train"] == 1
    test = example_rows(example("test"), tokenizer, rules)
    assert [r.meta["entity"] for r in test.rows] == ["River"] and test.rows[0].shard == "shard0"
    assert tokenizer.decode(list(test.rows[0].target)) == seq.infilled_text(
        seq.Window(example("test")["text"], 17, 22, "River", "a river"))
    plain = example_rows(example("train"), tokenizer, RowRules(unseen, 2, 64, 1.0, 2))
    assert [r.meta["span"] for r in plain.rows] == [None] and plain.rows[0].source == plain.rows[0].target


def test_rows_fit_max_tokens_or_are_counted(tokenizer):
    rules = RowRules(ALL_TRAIN, max_infills=1, max_tokens=16, plain_fraction=0.0, num_shards=1)
    [row] = example_rows(example("train"), tokenizer, rules).rows
    assert len(row.target) + 1 <= 16 and row.meta["window"][0] <= 17 and row.meta["window"][1] >= 22
    tight = example_rows(example("train"), tokenizer, RowRules(ALL_TRAIN, 1, 6, 0.0, 1))
    assert tight.rows == [] and tight.stats["mentions", "span_too_long"] == 1
    assert all(len(r) + 1 <= 6 for _, r in tight.plain)


def test_a_packed_row_unpacks_to_its_ids_and_record(tokenizer):
    [row] = example_rows(example("test"), tokenizer, RowRules(ALL_TRAIN, 1, 64, 0.0, 1)).rows
    assert unpack_row(pack_row(row.source, row.target, row.meta)) == (row.source, row.target, row.meta)
    plain = {"example": "1-0", "mention": None, "entity": None, "window": [0, 3], "span": None}
    assert unpack_row(pack_row(row.source, row.source[:0], plain)) == (row.source, row.source[:0], plain)


def test_binarize_writes_the_groups_that_have_rows(tokenizer, tmp_path, spill):
    rules = RowRules(ALL_TRAIN, max_infills=1, max_tokens=64, plain_fraction=0.0, num_shards=2)
    with BeamTestPipeline() as p:
        out = ({"examples": p | "Examples" >> beam.Create([example("train"), example("test")]),
                "tokenizer": p | "Tokenizer" >> beam.Create([tokenizer.to_json()])}
               | Binarize(str(tmp_path), spill, rules))
        assert_that(out["counted"] | beam.Filter(lambda c: c[2] > 0), equal_to([
            ("sequences", "train", 1), ("sequences", "test", 1), ("denoising_sequences", "train", 1),
            ("denoising_sequences", "test", 1)]), label="counted")
    written = {(d.name, f.name.split(".")[0]) for d in (tmp_path / "bin").glob("shard*") for f in d.glob("*.idx")}
    # A group with no rows gets no files (fairseq cannot mmap an empty .bin); valid has none here.
    assert ("shard0", "test") in written and ("shard0", "valid") not in written
    assert len([group for group in written if group[1] == "train"]) == 1
    for shard, split in sorted(written):
        sources = read_indexed(tmp_path / "bin" / shard / f"{split}.source")
        rows = list(read_jsonl_gz([tmp_path / "bin" / shard / f"{split}.rows.jsonl.gz"]))
        assert len(sources) == len(rows) and [r["row"] for r in rows] == list(range(len(rows)))
    [test_row] = read_indexed(tmp_path / "bin" / "shard0" / "test.target")
    assert seq.span_bounds(test_row.tolist(), tokenizer.special) is not None
    assert list((tmp_path / "runs").iterdir()) == []  # each writer removes the runs it merged


# ---- tokenizer sample -----------------------------------------------------------------------------


def test_tokenizer_sample_keeps_the_lowest_ranks_up_to_its_limit(spill):
    examples = [{"id": f"{i}-0", "split": "train" if i % 4 else "test", "text": f"paragraph {i} of a town"}
                for i in range(40)]
    whole = tokenizer_sample(examples, 1.0, 1000)
    assert sorted(whole) == sorted(e["text"] for e in examples if e["split"] == "train")
    assert tokenizer_sample(examples, 1.0, 7) == tokenizer_sample(examples[::-1], 1.0, 7) == whole[:7]
    with BeamTestPipeline() as p:
        trained = p | beam.Create(examples) | TrainTokenizer("bpe", 300, 1.0, 7, spill)
        assert_that(trained, equal_to([train_tokenizer(whole[:7], "bpe", 300)]))
        untrained = p | "NoExamples" >> beam.Create([]) | "Empty" >> TrainTokenizer("bpe", 300, 1.0, 7, spill)
        assert_that(untrained, equal_to([train_tokenizer([], "bpe", 300)]), label="empty")
