"""Parse: raw pages → articles (wikitext to paragraphs with mentions), redirect edges and
disambiguation pages. A page's kind is decided here, once: :func:`classify` per page, then
:func:`decide_title` over all pages sharing a title (duplicates and disambiguation templates need
the whole dump). Pure functions over plain dicts, so they are tested without a runner and pickle
cheaply; the DoFns only route what they return."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass

import apache_beam as beam
from apache_beam import pvalue

from pipeline.dump import RawPage, dead_letter
from pipeline.outcomes import DEAD_LETTER, STATS, CountingDoFn
from pipeline.runs import DiskCoGroupByKey, RunSpill
from pipeline.site import TEMPLATE_NS, Site
from pipeline.wikitext import lead_sentence, parse_article, redirect_target

_LIST_LINK = re.compile(r"^[*#:;].*?\[\[([^\]|#]+)", re.MULTILINE)
_DISAMBIG_QUALIFIER = re.compile(r"\s*\([^()]*\)$")


@dataclass(frozen=True)
class PageRules:
    """Options the per-page logic needs (picklable; built once from the pipeline options)."""

    site: Site
    scope: str = "article"
    short_description_names: frozenset[str] = frozenset({"short description"})
    description_sources: tuple[str, ...] = ("short_description", "wikidata", "lead_sentence")


def located(record) -> dict:
    """Where a page read from a range of a multistream file lies: the range's first stream, which its
    offset counts from (nothing for a page of a file read whole)."""
    offset = record.stream_offset if isinstance(record, RawPage) else record.get("stream_offset")
    return {"stream_offset": offset} if offset else {}


def classify(page: RawPage, rules: PageRules) -> tuple[str, dict]:
    """One raw page → (kind, record), kind in ``article``, ``redirect``, ``disambiguation_template``,
    ``skipped_namespace``, ``skipped_content_model``, ``dead_letter``."""
    if page.namespace != 0:
        if page.namespace == TEMPLATE_NS and "__DISAMBIG__" in page.text:
            return "disambiguation_template", {"name": page.title.split(":", 1)[-1]}
        return "skipped_namespace", {"title": page.title, "namespace": page.namespace}
    if page.model != "wikitext":
        return "skipped_content_model", {"title": page.title, "model": page.model}
    target = page.redirect or redirect_target(page.text)
    if target:
        parsed = rules.site.parse_link_target(target)
        return "redirect", {"title": page.title, "page_id": page.page_id, "file": page.file,
                            "target": parsed.title if parsed.namespace == 0 else None}
    if not page.text.strip():
        return "dead_letter", dead_letter("empty_page", page.file, page.offset, page.title, page_id=page.page_id,
                                          **located(page))
    article = parse_article(page.text, rules.site, scope=rules.scope,
                            short_description_names=rules.short_description_names)
    lead = lead_sentence(article.paragraphs[0].text, rules.site.language) if article.paragraphs else ""
    descriptions = {"short_description": article.short_description, "lead_sentence": lead or None}
    list_links = sorted({rules.site.normalize(t) for t in _LIST_LINK.findall(page.text)})
    return "article", {
        "title": page.title,
        "page_id": page.page_id,
        "file": page.file,
        "offset": page.offset,
        **located(page),
        "paragraphs": [
            {"index": p.index, "text": p.text, "in_lead": p.in_lead,
             "mentions": [{"start": m.start, "end": m.end, "surface": m.surface, "target": m.target}
                          for m in p.mentions]}
            for p in article.paragraphs
        ],
        # lead scope: the body's article links as (surface, target), for the alias table and the link
        # counts only (never examples); dropped once ResolveLinks has read them. Empty in article scope.
        "body_links": article.body_links,
        "descriptions": descriptions,
        "templates": sorted(article.templates),
        "disambiguation_magic": article.disambiguation_magic,
        "list_links": list_links,
        "unbalanced_markup": article.unbalanced_markup,
    }


def is_disambiguation(article: dict, disambiguation_templates: frozenset[str]) -> bool:
    return article["disambiguation_magic"] or any(t.casefold() in disambiguation_templates
                                                  for t in article["templates"])


def disambiguation_surface(title: str) -> str:
    """``Mercury (disambiguation)`` → ``Mercury``: the surface a disambiguation page stands for."""
    return _DISAMBIG_QUALIFIER.sub("", title)


@dataclass(frozen=True)
class TitleDecision:
    """What the pages of one title become: the kept page (lowest id) as ``kind`` (``article``,
    ``redirect`` or ``disambiguation``), and a ``duplicate_title`` dead letter for each other page."""

    kind: str
    record: dict
    duplicates: list[dict]


def decide_title(title: str, items: Iterable[tuple[str, dict]], templates: frozenset[str]) -> TitleDecision:
    """All pages sharing a title (``(kind, record)`` from :func:`classify`) → one decision."""
    items = sorted(items, key=lambda kind_record: kind_record[1]["page_id"])
    kind, record = items[0]
    duplicates = [dead_letter("duplicate_title", duplicate["file"], duplicate.get("offset", -1), title,
                              page_id=duplicate["page_id"], kept_page_id=record["page_id"], **located(duplicate))
                  for _, duplicate in items[1:]]
    if kind == "article" and is_disambiguation(record, templates):
        kind = "disambiguation"
    return TitleDecision(kind, record, duplicates)


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ClassifyFn(CountingDoFn):
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
class _DecideTitleFn(CountingDoFn):
    ARTICLES, REDIRECTS, DISAMBIGUATIONS = "articles", "redirects", "disambiguations"

    def __init__(self, configured_templates: frozenset[str]) -> None:
        self.configured_templates = configured_templates

    def process(self, element, dump_templates: Iterable[str]):
        title, groups = element
        decision = decide_title(title, groups["pages"], self.configured_templates | frozenset(dump_templates))
        for duplicate in decision.duplicates:
            yield pvalue.TaggedOutput(DEAD_LETTER, duplicate)
            self.stat("outcomes", "dead_letter_duplicate_title")
        self.stat("outcomes", decision.kind)
        record = decision.record
        if decision.kind == "redirect":
            if record["target"] is None:
                self.stat("redirects", "to_other_namespace")
            else:
                yield pvalue.TaggedOutput(self.REDIRECTS, (title, record["target"]))
        elif decision.kind == "disambiguation":
            yield pvalue.TaggedOutput(self.DISAMBIGUATIONS, record)
        else:
            if record["unbalanced_markup"]:
                self.stat("markup", "pages_with_unbalanced_markup")
            yield record


class ParsePages(beam.PTransform):
    """Raw pages (a PCollection, or a tuple of them) → ``{"articles", "redirects" ((alias, target)
    edges), "disambiguations", DEAD_LETTER, STATS}``. Each PCollection of pages is classified where it
    is read, never flattened first: a flatten of pages from two stages waits whole between them."""

    def __init__(self, rules: PageRules, disambiguation_templates: frozenset[str], spill: RunSpill) -> None:
        super().__init__()
        self.rules = rules
        self.disambiguation_templates = disambiguation_templates
        self.spill = spill

    def expand(self, pages):
        sources = pages if isinstance(pages, tuple) else (pages,)
        classified = [
            source | f"Classify{k or ''}" >> beam.ParDo(_ClassifyFn(self.rules)).with_outputs(
                _ClassifyFn.DISAMBIGUATION_TEMPLATES, DEAD_LETTER, STATS, main="pages")
            for k, source in enumerate(sources)
        ]
        dump_templates = beam.pvalue.AsList(
            [c[_ClassifyFn.DISAMBIGUATION_TEMPLATES] for c in classified] | "FlattenTemplates" >> beam.Flatten()
            | "DistinctTemplates" >> beam.Distinct())
        decided = (
            {"pages": tuple(c.pages for c in classified)}
            | "GroupByTitle" >> DiskCoGroupByKey(self.spill)
            | "DecideTitle" >> beam.ParDo(
                _DecideTitleFn(self.disambiguation_templates), dump_templates
            ).with_outputs(_DecideTitleFn.REDIRECTS, _DecideTitleFn.DISAMBIGUATIONS, DEAD_LETTER, STATS,
                           main=_DecideTitleFn.ARTICLES)
        )
        return {
            "articles": decided[_DecideTitleFn.ARTICLES],
            "redirects": decided[_DecideTitleFn.REDIRECTS],
            "disambiguations": decided[_DecideTitleFn.DISAMBIGUATIONS],
            DEAD_LETTER: ([c[DEAD_LETTER] for c in classified] + [decided[DEAD_LETTER]])
            | "FlattenDeadLetters" >> beam.Flatten(),
            STATS: [c[STATS] for c in classified] + [decided[STATS]] | "FlattenStats" >> beam.Flatten(),
        }
