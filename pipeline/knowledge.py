"""Knowledge: examples (one record per paragraph, its mentions resolved), the entity table and the
alias table (anchor counts from train pages only, redirect titles, disambiguation pages)."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam import pvalue

from kilm.records import alias_record, entity_record
from pipeline.outcomes import STATS, CountingDoFn
from pipeline.runs import DiskCoGroupByKey, RunSpill
from pipeline.splits import SplitConfig


@dataclass(frozen=True)
class Example:
    """One paragraph: its record fields, the page's split, and each mention's description
    (``knowledge``, parallel to ``mentions``; ``None`` where the entity has none)."""

    record: dict
    split: str
    knowledge: list[str | None]

    def as_element(self) -> dict:
        """The element the pipeline carries (the record, plus ``split`` and ``knowledge``)."""
        return {**self.record, "split": self.split, "knowledge": self.knowledge}


#: What examples need of an article: ``(page_id, [(paragraph index, text, [(start, end, surface)])])``.
PageText = tuple[int, list[tuple[int, str, list[tuple[int, int, str]]]]]


def page_text(article: dict) -> PageText:
    """An article as it waits for its links in a join: only what :func:`assemble_examples` uses, as
    tuples (on a local runner every article waits there at once; its full record, a dict per mention,
    took several times the memory)."""
    return article["page_id"], [(p["index"], p["text"], [(m["start"], m["end"], m["surface"]) for m in p["mentions"]])
                                for p in article["paragraphs"]]


def example_id(page_id: int, paragraph: int) -> str:
    return f"{page_id}-{paragraph}"


def example_texts(article: dict, splits: SplitConfig) -> Iterator[dict]:
    """The ``id``, ``split`` and ``text`` of the examples an article's paragraphs become, known before
    its links are joined (:func:`assemble_examples`): the tokenizer trains on them while examples are
    made, so that examples stream on into rows instead of waiting for it."""
    split = splits.page_split(article["title"])
    for paragraph in article["paragraphs"]:
        yield {"id": example_id(article["page_id"], paragraph["index"]), "split": split, "text": paragraph["text"]}


def assemble_examples(title: str, page: PageText, links: Iterable[tuple[int, int, str, str | None]], split: str
                      ) -> Iterator[Example]:
    """An article (:func:`page_text`) and its resolved links ``(paragraph, mention index, entity,
    description)`` → an example per paragraph; unresolved mentions are left out (their text stays)."""
    resolved = {(paragraph, index): (entity, description) for paragraph, index, entity, description in links}
    page_id, paragraphs = page
    for paragraph, text, spans in paragraphs:
        mentions, knowledge = [], []
        for index, (start, end, surface) in enumerate(spans):
            hit = resolved.get((paragraph, index))
            if hit is None:
                continue
            mentions.append({"start": start, "end": end, "surface": surface, "entity": hit[0]})
            knowledge.append(hit[1])
        record = {"id": example_id(page_id, paragraph), "page_id": page_id, "page_title": title, "paragraph": paragraph,
                  "text": text, "mentions": mentions}
        yield Example(record, split, knowledge)


def train_anchors(example: Example) -> list[tuple[str, str]]:
    """``(surface, entity)`` of each mention that counts for the alias table: train pages only, so the
    alias counts and the most-frequent-entity baseline never see held-out text."""
    return [(m["surface"], m["entity"]) for m in example.record["mentions"]] if example.split == "train" else []


def train_body_anchor(link: tuple[str, tuple[str, str]], splits: SplitConfig) -> list[tuple[str, str]]:
    """``(surface, entity)`` of a resolved body link (lead scope) when its page is a train page: body
    links count for the alias table as mentions do, though they give no example."""
    page_title, anchor = link
    return [anchor] if splits.page_split(page_title) == "train" else []


def build_entity(title: str, page: dict, redirects: Iterable[str], anchors: Iterable[tuple[str, int]],
                 splits: SplitConfig, language: str) -> dict:
    """The entity record: its page's description, redirect titles, and anchor surfaces by count."""
    source = page["description_source"]
    return entity_record(
        title, page["page_id"], page["description"], source,
        page.get("wikidata_language") if source == "wikidata" else language,
        sorted(redirects), sorted(anchors, key=lambda sc: (-sc[1], sc[0])), splits.entity_split(title))


def build_alias(surface: str, candidates: Iterable[tuple[str, int]]) -> dict:
    """The alias record: counts per entity summed (redirects and disambiguation pages add 0), most first."""
    counts: dict[str, int] = {}
    for entity, count in candidates:
        counts[entity] = counts.get(entity, 0) + count
    return alias_record(surface, sorted(counts.items(), key=lambda ec: (-ec[1], ec[0])))


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _AssembleExamplesFn(CountingDoFn):
    ANCHORS = "anchors"

    def __init__(self, splits: SplitConfig) -> None:
        self.splits = splits

    def process(self, element):
        title, groups = element
        pages = list(groups["page"])
        if not pages:
            return
        split = self.splits.page_split(title)
        for example in assemble_examples(title, pages[0], groups["links"], split):
            for anchor in train_anchors(example):
                yield pvalue.TaggedOutput(self.ANCHORS, anchor)
            yield example.as_element()
            self.stat("examples", split)
        self.stat("pages_by_split", split)


def _entity_of(joined: tuple[str, dict], splits: SplitConfig, language: str) -> Iterator[dict]:
    title, groups = joined
    for page in list(groups["page"])[:1]:
        yield build_entity(title, page, groups["redirect"], groups["anchor"], splits, language)


class BuildKnowledge(beam.PTransform):
    """``{"articles", "links", "body_links", "aliases", "disambiguation_aliases"}`` → ``{"examples",
    "entities", "aliases", STATS}``."""

    def __init__(self, splits: SplitConfig, language: str, spill: RunSpill) -> None:
        super().__init__()
        self.splits = splits
        self.language = language
        self.spill = spill

    def expand(self, inputs):
        pages = inputs["articles"] | "PageByTitle" >> beam.Map(lambda a: (a["title"], page_text(a)))
        assembled = (
            {"page": pages, "links": inputs["links"]}
            | "JoinPageLinks" >> DiskCoGroupByKey(self.spill)
            | "AssembleExamples" >> beam.ParDo(_AssembleExamplesFn(self.splits)).with_outputs(
                _AssembleExamplesFn.ANCHORS, STATS, main="examples")
        )
        body_anchors = inputs["body_links"] | "TrainBodyAnchors" >> beam.FlatMap(train_body_anchor, self.splits)
        anchor_counts = (
            (assembled[_AssembleExamplesFn.ANCHORS], body_anchors)
            | "FlattenAnchors" >> beam.Flatten()
            | "CountAnchors" >> beam.combiners.Count.PerElement()
        )
        entity_pages = inputs["articles"] | "EntityInfo" >> beam.Map(
            lambda a: (a["title"], {k: a.get(k) for k in ("page_id", "description", "description_source",
                                                            "wikidata_language")}))
        redirects_by_entity = inputs["aliases"] | "RedirectsByEntity" >> beam.Map(lambda kv: (kv[1][0], kv[0]))
        anchors_by_entity = anchor_counts | "AnchorsByEntity" >> beam.Map(lambda kv: (kv[0][1], (kv[0][0], kv[1])))
        entities = (
            {"page": entity_pages, "redirect": redirects_by_entity, "anchor": anchors_by_entity}
            | "JoinEntityParts" >> beam.CoGroupByKey()
            | "EntityRecord" >> beam.FlatMap(_entity_of, self.splits, self.language)
        )
        alias_candidates = (
            (anchor_counts | "AnchorCandidates" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1]))),
             inputs["aliases"] | "RedirectCandidates" >> beam.Map(lambda kv: (kv[0], (kv[1][0], 0))),
             inputs["disambiguation_aliases"] | "DisambiguationCandidates" >> beam.Map(
                 lambda se: (se[0], (se[1], 0))))
            | "FlattenCandidates" >> beam.Flatten()
        )
        aliases = (
            alias_candidates
            | "GroupBySurface" >> beam.GroupByKey()
            | "AliasRecord" >> beam.Map(lambda kv: build_alias(*kv))
        )
        return {"examples": assembled.examples, "entities": entities, "aliases": aliases, STATS: assembled[STATS]}
