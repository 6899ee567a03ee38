"""The pipeline's composite transforms: each ``expand`` is one labelled chain over small DoFns.

Every page ends in exactly one outcome (``article``, ``redirect``, ``disambiguation``,
``skipped_namespace``, ``dead_letter_<reason>``, ...): outcomes, link and redirect statistics travel
as data so the manifest's counts come from the data itself, and each is also a Beam counter for the
runner's UI. DoFns tally them per bundle and emit ``(section, key, n)`` on their ``STATS`` output
(:class:`_CountingDoFn`); the manifest sums them.
"""

from __future__ import annotations

import array
import bz2
import collections
import gzip
import json
import logging
import typing
from collections.abc import Iterable

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from kilm import sequence as seq
from kilm.indexed import write_indexed
from kilm.tokenizer import EncodedText, KilmTokenizer
from pipeline.dump import (
    ReadTask,
    check_stream_starts,
    checksum,
    dead_letter,
    index_path,
    read_dump,
    read_range,
    read_tasks,
    stream_offsets,
)
from pipeline.examples import (
    SplitConfig,
    choose_mentions,
    fit_window,
    plain_windows,
    stable_bucket,
    stable_unit,
)
from pipeline.pages import PageRules, choose_description, classify, disambiguation_surface, is_disambiguation

STATS = "stats"
DEAD_LETTER = "dead_letter"


class _CountingDoFn(beam.DoFn):
    """A DoFn that tallies outcomes and statistics (:meth:`stat`) over a bundle and emits the tally
    once, in ``finish_bundle``, as ``(section, key, n)`` on its ``STATS`` output (and Beam counters):
    a record per event would cost more to move between stages than the work it counts."""

    def start_bundle(self) -> None:
        self._stats: collections.Counter = collections.Counter()

    def stat(self, section: str, key: str, n: int = 1) -> None:
        self._stats[section, key] += n

    def finish_bundle(self):
        for (section, key), n in sorted(self._stats.items()):
            Metrics.counter(f"kilm.{section}", key).inc(n)
            yield pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((section, key, n)))
        self._stats.clear()


def open_raw(path: str):
    """Bytes of a file as stored (we decompress ourselves, to keep what precedes damage)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


# --------------------------------------------------------------------------------------------------
# Reading and classifying pages
# --------------------------------------------------------------------------------------------------


def plan_reads(path: str, streams_per_read: int) -> list[ReadTask]:
    """One file → its read tasks: ranges of bz2 streams when Wikimedia's multistream index lies
    beside it (``X.xml.bz2`` + ``X-index.txt.bz2``), so that workers share one big file; else the
    whole file. An index that cannot be read or does not fit the file (every range start is checked:
    a truncated download, another dump's index) is logged and the file is read whole."""
    index = index_path(path)
    if streams_per_read == 0 or index is None or not FileSystems.exists(index):
        return [ReadTask(path)]
    try:
        with open_raw(index) as raw, bz2.open(raw, "rt", encoding="utf-8") as lines:  # enwiki's: ~24M lines
            offsets = stream_offsets(lines)
        tasks = read_tasks(path, offsets, streams_per_read)
        with open_raw(path) as raw:
            size = raw.seek(0, 2)
            mismatch = check_stream_starts(raw, (t.start for t in tasks if t.kind == "range" and t.start), size)
        if mismatch:
            raise ValueError(mismatch)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        logging.warning("%s: multistream index not usable (%s); reading the file whole", index, err)
        return [ReadTask(path)]
    logging.info("%s: %d bz2 streams in %d read tasks (index %s)", path, len(offsets), len(tasks) - 1, index)
    return tasks


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ReadDumpFn(_CountingDoFn):
    ERRORS = "errors"
    INPUTS = "inputs"

    def __init__(self, max_page_bytes: int) -> None:
        self.max_page_bytes = max_page_bytes

    def process(self, task: ReadTask):
        if task.kind == "checksum":
            yield pvalue.TaggedOutput(self.INPUTS, checksum(task.path, open_raw))
            return
        events = (read_range(task.path, open_raw, self.max_page_bytes, task.start, task.end)
                  if task.kind == "range" else read_dump(task.path, open_raw, self.max_page_bytes))
        for event in events:
            if event.kind == "page":
                yield event.value
            elif event.kind == "dead_letter":
                yield pvalue.TaggedOutput(DEAD_LETTER, event.value)
                self.stat("outcomes", f"dead_letter_{event.value['reason']}")
            elif event.kind == "error":
                yield pvalue.TaggedOutput(self.ERRORS, event.value)
            elif event.kind == "input":
                yield pvalue.TaggedOutput(self.INPUTS, event.value)


class ReadPages(beam.PTransform):
    """File paths → raw pages, fanned out to all workers (a file, or a range of a multistream file's
    streams, is read by one worker)."""

    def __init__(self, max_page_bytes: int, streams_per_read: int) -> None:
        super().__init__()
        self.max_page_bytes = max_page_bytes
        self.streams_per_read = streams_per_read

    def expand(self, paths):
        read = (
            paths
            | "PlanReads" >> beam.FlatMap(plan_reads, self.streams_per_read)
            | "SpreadReads" >> beam.Reshuffle()
            | "ReadDump" >> beam.ParDo(_ReadDumpFn(self.max_page_bytes)).with_outputs(
                _ReadDumpFn.ERRORS, _ReadDumpFn.INPUTS, DEAD_LETTER, STATS, main="pages")
        )
        return {
            "pages": read.pages | "SpreadPages" >> beam.Reshuffle(),
            "errors": read[_ReadDumpFn.ERRORS],
            "inputs": read[_ReadDumpFn.INPUTS],
            DEAD_LETTER: read[DEAD_LETTER],
            STATS: read[STATS],
        }


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ClassifyFn(_CountingDoFn):
    DISAMBIGUATION_TEMPLATES = "disambiguation_templates"

    def __init__(self, rules: PageRules) -> None:
        self.rules = rules

    def process(self, page):
        kind, record = classify(page, self.rules)
        if kind in ("article", "redirect"):
            yield record["title"], (kind, record)
        elif kind == "disambiguation_template":
            yield pvalue.TaggedOutput(self.DISAMBIGUATION_TEMPLATES, record["name"].casefold())
            self.stat("outcomes", "skipped_namespace")
        elif kind == "dead_letter":
            yield pvalue.TaggedOutput(DEAD_LETTER, record)
            self.stat("outcomes", f"dead_letter_{record['reason']}")
        else:
            self.stat("outcomes", kind)


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _DecideTitleFn(_CountingDoFn):
    """All pages sharing a title → keep one (lowest page id); decide article vs disambiguation."""

    ARTICLES, REDIRECTS, DISAMBIGUATIONS = "articles", "redirects", "disambiguations"

    def __init__(self, configured_templates: frozenset[str]) -> None:
        self.configured_templates = configured_templates

    def process(self, element, dump_templates: Iterable[str]):
        title, items = element
        items = sorted(items, key=lambda kind_record: kind_record[1]["page_id"])
        for _, duplicate in items[1:]:
            yield pvalue.TaggedOutput(DEAD_LETTER, dead_letter(
                "duplicate_title", duplicate["file"], duplicate.get("offset", -1), title,
                page_id=duplicate["page_id"], kept_page_id=items[0][1]["page_id"],
                **({"stream_offset": duplicate["stream_offset"]} if "stream_offset" in duplicate else {})))
            self.stat("outcomes", "dead_letter_duplicate_title")
        kind, record = items[0]
        if kind == "redirect":
            self.stat("outcomes", "redirect")
            if record["target"] is None:
                self.stat("redirects", "to_other_namespace")
            else:
                yield pvalue.TaggedOutput(self.REDIRECTS, (title, record["target"]))
            return
        templates = self.configured_templates | frozenset(dump_templates)
        if is_disambiguation(record, templates):
            self.stat("outcomes", "disambiguation")
            yield pvalue.TaggedOutput(self.DISAMBIGUATIONS, record)
            return
        self.stat("outcomes", "article")
        if record["unbalanced_markup"]:
            self.stat("markup", "pages_with_unbalanced_markup")
        yield record


class ParsePages(beam.PTransform):
    """Raw pages → articles, redirect edges, disambiguation pages."""

    def __init__(self, rules: PageRules, disambiguation_templates: frozenset[str]) -> None:
        super().__init__()
        self.rules = rules
        self.disambiguation_templates = disambiguation_templates

    def expand(self, pages):
        classified = pages | "Classify" >> beam.ParDo(_ClassifyFn(self.rules)).with_outputs(
            _ClassifyFn.DISAMBIGUATION_TEMPLATES, DEAD_LETTER, STATS, main="pages")
        dump_templates = beam.pvalue.AsList(
            classified[_ClassifyFn.DISAMBIGUATION_TEMPLATES] | "DistinctTemplates" >> beam.Distinct())
        decided = (
            classified.pages
            | "GroupByTitle" >> beam.GroupByKey()
            | "DecideTitle" >> beam.ParDo(
                _DecideTitleFn(self.disambiguation_templates), dump_templates
            ).with_outputs(_DecideTitleFn.REDIRECTS, _DecideTitleFn.DISAMBIGUATIONS, DEAD_LETTER, STATS,
                           main=_DecideTitleFn.ARTICLES)
        )
        return {
            "articles": decided[_DecideTitleFn.ARTICLES],
            "redirects": decided[_DecideTitleFn.REDIRECTS],
            "disambiguations": decided[_DecideTitleFn.DISAMBIGUATIONS],
            DEAD_LETTER: (classified[DEAD_LETTER], decided[DEAD_LETTER]) | "FlattenDeadLetters" >> beam.Flatten(),
            STATS: (classified[STATS], decided[STATS]) | "FlattenStats" >> beam.Flatten(),
        }


class _ChooseDescriptionFn(_CountingDoFn):
    def __init__(self, sources: tuple[str, ...]) -> None:
        self.sources = sources

    def process(self, article: dict):
        description, source = choose_description(article["descriptions"], self.sources)
        self.stat("descriptions", source or "none")
        yield {**article, "description": description, "description_source": source}


class _AttachWikidataFn(beam.DoFn):
    def process(self, element):
        _, groups = element
        found = sorted(groups["wikidata"])
        for article in groups["article"]:
            if found:
                article = {**article, "descriptions": {**article["descriptions"], "wikidata": found[0][0]},
                           "wikidata_language": found[0][1]}
            yield article


class ChooseDescriptions(beam.PTransform):
    """Articles → articles with ``description``/``description_source`` by the configured order; with a
    Wikidata dump, its descriptions are joined on the sitelink title first (one reader, many parsers)."""

    def __init__(self, sources: tuple[str, ...], wikidata_path: str | None, site, languages: tuple[str, ...]) -> None:
        super().__init__()
        self.sources = sources
        self.wikidata_path = wikidata_path
        self.site = site
        self.languages = languages

    def expand(self, articles):
        if self.wikidata_path and "wikidata" in self.sources:
            from pipeline.wikidata import dump_lines, entity_description

            site, languages, path = self.site, self.languages, self.wikidata_path

            def read(p):
                with open_raw(p) as raw:
                    yield from dump_lines(raw, p)

            def parse(line):
                found = entity_description(line, site.dbname, languages)
                if found:
                    yield site.normalize(found[0]), (languages.index(found[2]), found[1], found[2])

            wikidata = (
                articles.pipeline
                | "WikidataPath" >> beam.Create([path])
                | "ReadWikidata" >> beam.FlatMap(read)
                | "SpreadWikidata" >> beam.Reshuffle()
                | "ParseWikidata" >> beam.FlatMap(parse)
                | "WikidataValue" >> beam.Map(lambda kv: (kv[0], (kv[1][1], kv[1][2])))
            )
            articles = (
                {"article": articles | "ArticleByTitle" >> beam.Map(lambda a: (a["title"], a)),
                 "wikidata": wikidata}
                | "JoinWikidata" >> beam.CoGroupByKey()
                | "AttachWikidata" >> beam.ParDo(_AttachWikidataFn())
            )
        chosen = articles | "Choose" >> beam.ParDo(_ChooseDescriptionFn(self.sources)).with_outputs(
            STATS, main="articles")
        return {"articles": chosen.articles, STATS: chosen[STATS]}


# --------------------------------------------------------------------------------------------------
# Redirects and links: joins (CoGroupByKey), never an in-memory dict
# --------------------------------------------------------------------------------------------------


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _FollowRedirectFn(_CountingDoFn):
    """One hop: pending aliases whose current target is this key."""

    PENDING = "pending"

    def __init__(self, last_hop: bool) -> None:
        self.last_hop = last_hop

    def process(self, element):
        key, groups = element
        pending = list(groups["pending"])
        if not pending:
            return
        pages = list(groups["page"])
        onward = list(groups["redirect"])
        for alias, path in pending:
            if pages:
                kind, description = pages[0]
                if kind == "entity":
                    self.stat("redirects", "resolved" if len(path) == 1 else "resolved_chain")
                    yield alias, (key, description)
                else:
                    self.stat("redirects", "to_disambiguation")
            elif onward:
                following = onward[0]
                if following in path or following == key:
                    self.stat("redirects", "loop")
                    yield pvalue.TaggedOutput(DEAD_LETTER, dead_letter("redirect_loop", "", -1, alias,
                                                                       chain=[*path, key, following]))
                elif self.last_hop:
                    self.stat("redirects", "chain_too_long")
                    yield pvalue.TaggedOutput(DEAD_LETTER, dead_letter("redirect_chain_too_long", "", -1, alias,
                                                                       chain=[*path, key, following]))
                else:
                    yield pvalue.TaggedOutput(self.PENDING, (following, (alias, [*path, key])))
            else:
                self.stat("redirects", "to_missing_page")


class ResolveRedirects(beam.PTransform):
    """Redirect edges → ``(alias title, (entity title, description))``, chains up to ``max_hops``."""

    def __init__(self, max_hops: int) -> None:
        super().__init__()
        self.max_hops = max_hops

    def expand(self, inputs):
        page_index, edges = inputs["page_index"], inputs["redirects"]
        pending = edges | "StartChains" >> beam.Map(lambda edge: (edge[1], (edge[0], [edge[0]])))
        resolved, dead, stats = [], [], []
        for hop in range(self.max_hops):
            step = (
                {"pending": pending, "page": page_index, "redirect": edges}
                | f"JoinHop{hop}" >> beam.CoGroupByKey()
                | f"FollowHop{hop}" >> beam.ParDo(_FollowRedirectFn(hop == self.max_hops - 1)).with_outputs(
                    _FollowRedirectFn.PENDING, DEAD_LETTER, STATS, main="resolved")
            )
            resolved.append(step.resolved)
            dead.append(step[DEAD_LETTER])
            stats.append(step[STATS])
            pending = step[_FollowRedirectFn.PENDING]
        return {
            "aliases": resolved | "FlattenResolved" >> beam.Flatten(),
            DEAD_LETTER: dead | "FlattenRedirectDeadLetters" >> beam.Flatten(),
            STATS: stats | "FlattenRedirectStats" >> beam.Flatten(),
        }


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ResolveLinkFn(_CountingDoFn):
    DISAMBIGUATION_ALIASES = "disambiguation_aliases"

    def process(self, element):
        _, groups = element
        refs = list(groups["ref"])
        surfaces = list(groups["disambiguation_ref"])
        if not refs and not surfaces:
            return
        entity = next(iter(groups["entity"]), None)
        via = next(iter(groups["alias"]), None)
        target = entity or via
        if target is not None:
            for surface in surfaces:
                yield pvalue.TaggedOutput(self.DISAMBIGUATION_ALIASES, (surface, target[0]))
        is_disambiguation = bool(list(groups["disambiguation"]))
        for page_title, paragraph, index in refs:
            if entity is not None:
                self.stat("links", "resolved")
                yield page_title, (paragraph, index, entity[0], entity[1])
            elif via is not None:
                self.stat("links", "via_redirect")
                yield page_title, (paragraph, index, via[0], via[1])
            elif is_disambiguation:
                self.stat("links", "to_disambiguation")
            else:
                self.stat("links", "missing_target")


def _link_refs(article: dict):
    for paragraph in article["paragraphs"]:
        for index, mention in enumerate(paragraph["mentions"]):
            yield mention["target"], (article["title"], paragraph["index"], index)


def _disambiguation_refs(page: dict):
    surface = disambiguation_surface(page["title"])
    targets = set(page["list_links"])
    for paragraph in page["paragraphs"]:
        targets.update(m["target"] for m in paragraph["mentions"])
    for target in sorted(targets):
        yield target, surface


class ResolveLinks(beam.PTransform):
    """Mentions → ``(page title, (paragraph, mention index, entity, description))`` through a join on
    the target title with the entity table and the resolved redirects."""

    def expand(self, inputs):
        refs = inputs["articles"] | "MentionRefs" >> beam.FlatMap(_link_refs)
        disambiguation_refs = inputs["disambiguations"] | "DisambiguationRefs" >> beam.FlatMap(_disambiguation_refs)
        entities = inputs["articles"] | "EntityByTitle" >> beam.Map(
            lambda a: (a["title"], (a["title"], a["description"])))
        disambiguations = inputs["disambiguations"] | "DisambiguationByTitle" >> beam.Map(lambda d: (d["title"], 1))
        joined = (
            {"ref": refs, "disambiguation_ref": disambiguation_refs, "entity": entities, "alias": inputs["aliases"],
             "disambiguation": disambiguations}
            | "JoinLinkTargets" >> beam.CoGroupByKey()
            | "ResolveLink" >> beam.ParDo(_ResolveLinkFn()).with_outputs(
                _ResolveLinkFn.DISAMBIGUATION_ALIASES, STATS, main="links")
        )
        return {"links": joined.links, "disambiguation_aliases": joined[_ResolveLinkFn.DISAMBIGUATION_ALIASES],
                STATS: joined[STATS]}


# --------------------------------------------------------------------------------------------------
# Examples, entities, alias table
# --------------------------------------------------------------------------------------------------


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _AssembleExamplesFn(_CountingDoFn):
    """A page and its resolved links → one example record per paragraph."""

    ANCHORS = "anchors"

    def __init__(self, splits: SplitConfig) -> None:
        self.splits = splits

    def process(self, element):
        title, groups = element
        pages = list(groups["page"])
        if not pages:
            return
        article = pages[0]
        resolved: dict[tuple[int, int], tuple[str, str | None]] = {}
        for paragraph, index, entity, description in groups["links"]:
            resolved[(paragraph, index)] = (entity, description)
        split = self.splits.page_split(title)
        for paragraph in article["paragraphs"]:
            mentions, knowledge = [], []
            for index, mention in enumerate(paragraph["mentions"]):
                hit = resolved.get((paragraph["index"], index))
                if hit is None:
                    continue
                mentions.append({"start": mention["start"], "end": mention["end"],
                                 "surface": mention["surface"], "entity": hit[0]})
                knowledge.append(hit[1])
                if split == "train":
                    yield pvalue.TaggedOutput(self.ANCHORS, (mention["surface"], hit[0]))
            yield {
                "id": f"{article['page_id']}-{paragraph['index']}",
                "page_id": article["page_id"],
                "page_title": title,
                "paragraph": paragraph["index"],
                "text": paragraph["text"],
                "mentions": mentions,
                "split": split,
                "knowledge": knowledge,
            }
            self.stat("examples", split)
        self.stat("pages_by_split", split)


def public_example(example: dict) -> dict:
    """The JSONL record (DESIGN.md): internal fields dropped."""
    return {k: example[k] for k in ("id", "page_id", "page_title", "paragraph", "text", "mentions")}


class _EntityRecordFn(beam.DoFn):
    def __init__(self, splits: SplitConfig, language: str) -> None:
        self.splits = splits
        self.language = language

    def process(self, element):
        title, groups = element
        pages = list(groups["page"])
        if not pages:
            return
        page = pages[0]
        anchors = sorted(groups["anchor"], key=lambda sc: (-sc[1], sc[0]))
        yield {
            "title": title,
            "page_id": page["page_id"],
            "description": page["description"],
            "description_source": page["description_source"],
            "description_language": page.get("wikidata_language") if page["description_source"] == "wikidata"
            else self.language,
            "redirects": sorted(groups["redirect"]),
            "aliases": [{"surface": s, "count": c} for s, c in anchors],
            "split": self.splits.entity_split(title),
        }


class _AliasRecordFn(beam.DoFn):
    def process(self, element):
        surface, candidates = element
        counts: dict[str, int] = {}
        for entity, count in candidates:
            counts[entity] = counts.get(entity, 0) + count
        ranked = sorted(counts.items(), key=lambda ec: (-ec[1], ec[0]))
        yield {"surface": surface, "entities": [{"entity": e, "count": c} for e, c in ranked]}


class BuildKnowledge(beam.PTransform):
    """Examples per paragraph, the entity table and the alias table (train anchors only)."""

    def __init__(self, splits: SplitConfig, language: str) -> None:
        super().__init__()
        self.splits = splits
        self.language = language

    def expand(self, inputs):
        pages = inputs["articles"] | "PageByTitle" >> beam.Map(lambda a: (a["title"], a))
        assembled = (
            {"page": pages, "links": inputs["links"]}
            | "JoinPageLinks" >> beam.CoGroupByKey()
            | "AssembleExamples" >> beam.ParDo(_AssembleExamplesFn(self.splits)).with_outputs(
                _AssembleExamplesFn.ANCHORS, STATS, main="examples")
        )
        anchor_counts = assembled[_AssembleExamplesFn.ANCHORS] | "CountAnchors" >> beam.combiners.Count.PerElement()
        entity_pages = inputs["articles"] | "EntityInfo" >> beam.Map(
            lambda a: (a["title"], {k: a.get(k) for k in ("page_id", "description", "description_source",
                                                            "wikidata_language")}))
        redirects_by_entity = inputs["aliases"] | "RedirectsByEntity" >> beam.Map(lambda kv: (kv[1][0], kv[0]))
        anchors_by_entity = anchor_counts | "AnchorsByEntity" >> beam.Map(lambda kv: (kv[0][1], (kv[0][0], kv[1])))
        entities = (
            {"page": entity_pages, "redirect": redirects_by_entity, "anchor": anchors_by_entity}
            | "JoinEntityParts" >> beam.CoGroupByKey()
            | "EntityRecord" >> beam.ParDo(_EntityRecordFn(self.splits, self.language))
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
            | "AliasRecord" >> beam.ParDo(_AliasRecordFn())
        )
        return {"examples": assembled.examples, "entities": entities, "aliases": aliases,
                STATS: assembled[STATS]}


# --------------------------------------------------------------------------------------------------
# Tokenizing and binarizing
# --------------------------------------------------------------------------------------------------


def _compact(ids: list[int]) -> array.array:
    """Token ids as a machine array: 4 bytes a token where a list of ints takes ~36, so a shard's
    rows, which its writer holds at once to sort them, stay small."""
    return array.array("i", ids)


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _RowsFn(_CountingDoFn):
    """An example → knowledge-infilled rows (one mention each) or a plain row; plain-text rows too."""

    PLAIN = "plain"

    def __init__(self, splits: SplitConfig, max_infills: int, max_tokens: int, plain_fraction: float,
                 num_shards: int) -> None:
        self.splits = splits
        self.max_infills = max_infills
        self.max_tokens = max_tokens
        self.plain_fraction = plain_fraction
        self.num_shards = num_shards
        self._tokenizer: KilmTokenizer | None = None
        self._tokenizer_json: str | None = None

    def _load(self, tokenizer_json: str) -> KilmTokenizer:
        if self._tokenizer_json != tokenizer_json:
            self._tokenizer = KilmTokenizer.from_json(tokenizer_json)
            self._tokenizer_json = tokenizer_json
        return self._tokenizer

    def _shard(self, split: str, key: str) -> str:
        return f"shard{stable_bucket(key, self.num_shards)}" if split == "train" else "shard0"

    def process(self, example: dict, tokenizer_json: str):
        tokenizer = self._load(tokenizer_json)
        split, text, mentions = example["split"], example["text"], example["mentions"]
        whole = EncodedText(tokenizer, text)
        plain = plain_windows(whole, self.max_tokens)
        for k, (_, _, ids) in enumerate(plain):
            yield pvalue.TaggedOutput(self.PLAIN, (split, (f"{example['id']}:{k}", _compact(ids))))
        unseen = [split == "train" and self.splits.entity_split(m["entity"]) == "unseen" for m in mentions]
        usable = [bool(knowledge) and not hidden for knowledge, hidden in zip(example["knowledge"], unseen)]
        if any(unseen):
            self.stat("mentions", "unseen_entity_kept_plain_in_train", sum(unseen))
        chosen = choose_mentions(example["id"], mentions, usable, self.max_infills)
        rows = 0
        for index in chosen:
            mention = mentions[index]
            fitted = fit_window(whole, mention["start"], mention["end"], mention["entity"],
                                example["knowledge"][index], self.max_tokens)
            if fitted is None:
                self.stat("mentions", "span_too_long")
                continue
            encoded, ws, we = fitted
            key = f"{example['id']}#{index}"
            meta = {"example": example["id"], "mention": index, "entity": mention["entity"], "window": [ws, we],
                    "span": [encoded.span_start, encoded.span_end]}
            rows += 1
            yield (self._shard(split, key), split), (key, _compact(encoded.source), _compact(encoded.target), meta)
        if rows == 0 and stable_unit(example["id"], "plain") < self.plain_fraction:
            for k, (ws, we, ids) in enumerate(plain):
                key = f"{example['id']}:{k}"
                meta = {"example": example["id"], "mention": None, "entity": None, "window": [ws, we], "span": None}
                row = _compact(ids)
                yield (self._shard(split, key), split), (key, row, row, meta)


def _write_bytes(path: str, data: bytes) -> None:
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps with options builds one per call


def _jsonl_gz(records: Iterable[dict]) -> bytes:
    """gzip level 6 (gzip's default): ~5x faster than 9 on these files, ~7% larger."""
    lines = "".join(_JSON.encode(r) + "\n" for r in records)
    return gzip.compress(lines.encode("utf-8"), compresslevel=6, mtime=0)


def _write_indexed_file(prefix: str, rows: Iterable[typing.Sequence[int]], vocab_size: int) -> None:
    """fairseq ``prefix.bin``/``prefix.idx`` on any Beam filesystem (built locally, then copied)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "rows")
        write_indexed(local, rows, vocab_size)
        for ext in ("bin", "idx"):
            with open(f"{local}.{ext}", "rb") as f:
                _write_bytes(f"{prefix}.{ext}", f.read())


def _sorted_rows(rows: Iterable) -> list:
    """Rows of one file in key order (Beam's grouping order is not deterministic)."""
    return sorted(rows, key=lambda r: r[0])


class _WriteMissingFn(beam.DoFn):
    """Writes each expected group that no record reached, empty, with the group's own writer."""

    def __init__(self, write: beam.DoFn) -> None:
        self.write = write

    def process(self, key, written: list, *side_inputs):
        if key not in written:
            yield from self.write.process((key, []), *side_inputs)


class _WriteGroups(beam.PTransform):
    """``(key, record)`` → one ``write((key, records))`` per key; every expected key is written, empty
    ones included, so readers find a complete set. The missing ones are found from the written keys
    (a side input), not by flattening placeholders into the records: a Flatten would materialise every
    record once more. ``write`` yields ``(key, n)``; so does this transform."""

    def __init__(self, write: beam.DoFn, expected: list, *side_inputs) -> None:
        super().__init__()
        self.write = write
        self.expected = expected
        self.side_inputs = side_inputs

    def expand(self, keyed):
        written = keyed | "Group" >> beam.GroupByKey() | "Write" >> beam.ParDo(self.write, *self.side_inputs)
        written_keys = beam.pvalue.AsList(written | "WrittenKeys" >> beam.Keys())
        missing = (
            keyed.pipeline
            | "Expected" >> beam.Create(self.expected, reshuffle=False)  # a few names: no fan-out needed
            | "WriteMissing" >> beam.ParDo(_WriteMissingFn(self.write), written_keys, *self.side_inputs)
        )
        return (written, missing) | "FlattenCounts" >> beam.Flatten()


class _WriteBinaryFn(beam.DoFn):
    """All rows of one (shard, split) → fairseq ``.bin/.idx`` pairs + ``rows.jsonl.gz``, sorted by key."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        (shard, split), rows = element
        rows = _sorted_rows(rows)
        vocab = len(json.loads(tokenizer_json)["symbols"])
        directory = FileSystems.join(self.output, "bin", shard)
        for side, column in (("source", 1), ("target", 2)):
            _write_indexed_file(FileSystems.join(directory, f"{split}.{side}"), (r[column] for r in rows), vocab)
        _write_bytes(FileSystems.join(directory, f"{split}.rows.jsonl.gz"),
                     _jsonl_gz({"row": i, "key": r[0], **r[3]} for i, r in enumerate(rows)))
        yield (shard, split), len(rows)


class _WritePlainFn(beam.DoFn):
    """All plain rows of one split → ``bin/plain/{split}.bin/.idx`` (for fairseq's ``denoising``)."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element, tokenizer_json: str):
        split, rows = element
        rows = _sorted_rows(rows)
        vocab = len(json.loads(tokenizer_json)["symbols"])
        _write_indexed_file(FileSystems.join(self.output, "bin", "plain", split), (r[1] for r in rows), vocab)
        yield split, len(rows)


class Binarize(beam.PTransform):
    """Examples → ``bin/shardK/{split}.{source,target}`` and ``bin/plain/{split}`` (fairseq mmap)."""

    def __init__(self, output: str, splits: SplitConfig, max_infills: int, max_tokens: int,
                 plain_fraction: float, num_shards: int) -> None:
        super().__init__()
        self.output = output
        self.rows_fn = _RowsFn(splits, max_infills, max_tokens, plain_fraction, num_shards)

    def expand(self, inputs):
        examples, tokenizer = inputs["examples"], beam.pvalue.AsSingleton(inputs["tokenizer"])
        rows = examples | "MakeRows" >> beam.ParDo(self.rows_fn, tokenizer).with_outputs(
            _RowsFn.PLAIN, STATS, main="rows")
        # A split with no rows gets no files, as fairseq-preprocess writes none for a split it was not
        # given (fairseq cannot mmap an empty .bin); the manifest's zero tells the trainer and eval why.
        counts = (rows.rows | "GroupShards" >> beam.GroupByKey()
                  | "WriteShards" >> beam.ParDo(_WriteBinaryFn(self.output), tokenizer))
        plain_counts = (rows[_RowsFn.PLAIN] | "GroupPlain" >> beam.GroupByKey()
                        | "WritePlain" >> beam.ParDo(_WritePlainFn(self.output), tokenizer))
        stats = (
            (counts | "SequenceStats" >> beam.Map(lambda kv: ("sequences", kv[0][1], kv[1])),
             plain_counts | "PlainStats" >> beam.Map(lambda kv: ("plain_sequences", kv[0], kv[1])))
            | "FlattenSequenceStats" >> beam.Flatten()
        )
        return {"counted": stats, STATS: rows[STATS]}


def train_tokenizer(texts: list[str], kind: str, vocab_size: int) -> str:
    """Train on the sorted sample (deterministic); returns the tokenizer as JSON."""
    if kind != "bpe":
        from kilm.spm import train_spm_tokenizer

        return train_spm_tokenizer(sorted(texts), vocab_size).to_json()
    return KilmTokenizer.train_bpe(sorted(texts), vocab_size=vocab_size).to_json()


class _SaveTokenizerFn(beam.DoFn):
    def __init__(self, output: str, num_shards: int) -> None:
        self.output = output
        self.num_shards = num_shards

    def process(self, tokenizer_json: str):
        import tempfile
        from pathlib import Path

        tokenizer = KilmTokenizer.from_json(tokenizer_json)
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.save(tmp)
            for name in sorted(p.name for p in Path(tmp).iterdir()):
                _write_bytes(FileSystems.join(self.output, "tokenizer", name), (Path(tmp) / name).read_bytes())
            dictionary = (Path(tmp) / "dict.txt").read_bytes()
        for directory in [*(f"shard{k}" for k in range(self.num_shards)), "plain"]:
            _write_bytes(FileSystems.join(self.output, "bin", directory, "dict.txt"), dictionary)
        yield {"kind": tokenizer.kind, "symbol_mode": tokenizer.symbol_mode, "dictionary_size": len(tokenizer),
               "special_tokens": list(seq.SPECIAL_TOKENS)}


class SaveTokenizer(beam.PTransform):
    def __init__(self, output: str, num_shards: int) -> None:
        super().__init__()
        self.output = output
        self.num_shards = num_shards

    def expand(self, tokenizer_json):
        return tokenizer_json | "SaveTokenizerFiles" >> beam.ParDo(_SaveTokenizerFn(self.output, self.num_shards))


# --------------------------------------------------------------------------------------------------
# Deterministic JSONL outputs
# --------------------------------------------------------------------------------------------------


class _WriteJsonlFn(beam.DoFn):
    def __init__(self, output: str, sort_key) -> None:
        self.output = output
        self.sort_key = sort_key

    def process(self, element):
        name, records = element
        records = sorted(records, key=self.sort_key)
        _write_bytes(FileSystems.join(self.output, name), _jsonl_gz(records))
        yield name, len(records)


class WriteJsonl(beam.PTransform):
    """Records → ``{prefix}-SSSSS-of-NNNNN.jsonl.gz`` by a stable hash, sorted inside each file.

    Every file of every prefix is written, empty ones included, so readers find a complete set.
    """

    def __init__(self, output: str, prefixes: list[str], num_files: int, prefix_of, shard_key, sort_key,
                 project=None) -> None:
        super().__init__()
        self.project = project or (lambda record: record)
        self.output = output
        self.prefixes = prefixes
        self.num_files = num_files
        self.prefix_of = prefix_of
        self.shard_key = shard_key
        self.sort_key = sort_key

    def _file(self, prefix: str, k: int) -> str:
        return f"{prefix}-{k:05d}-of-{self.num_files:05d}.jsonl.gz"

    def expand(self, records):
        every_file = [self._file(p, k) for p in self.prefixes for k in range(self.num_files)]
        return (
            records
            | "KeyByFile" >> beam.Map(
                lambda r: (self._file(self.prefix_of(r), stable_bucket(self.shard_key(r), self.num_files)),
                           self.project(r)))
            | "WriteFiles" >> _WriteGroups(_WriteJsonlFn(self.output, self.sort_key), every_file)
        )
