"""Resolve: redirect chains → aliases of entities, and links → entities (directly or through a
redirect). Both are joins on the target title (CoGroupByKey), never an in-memory dict: enwiki has
~10M redirects. The rules are pure functions over :class:`PageRef`; the DoFns only route."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from pipeline.dump import dead_letter
from pipeline.outcomes import DEAD_LETTER, STATS, CountingDoFn
from pipeline.parse import disambiguation_surface
from pipeline.runs import DiskCoGroupByKey, RunSpill


class PageRef(NamedTuple):
    """What a title names in the page index: ``entity`` (with its description) or ``disambiguation``."""

    kind: str
    description: str | None


class Hop(NamedTuple):
    """One step of a redirect chain for ``alias``, which has passed through ``path``: the statistic it
    counts (``resolved``, ``resolved_chain``, ``to_disambiguation``, ``to_missing_page``, ``loop``,
    ``chain_too_long``, or ``pending`` for a chain that goes on from ``next``), the entity reached, and
    ``chain`` (the titles followed, for dead letters and the next hop)."""

    outcome: str
    alias: str
    chain: list[str]
    entity: tuple[str, str | None] | None = None
    next: str | None = None


def follow_redirect(key: str, alias: str, path: list[str], page: PageRef | None, onward: str | None,
                    last_hop: bool) -> Hop:
    """The redirect chain of ``alias`` has reached ``key``: an entity ends it, a further redirect
    continues it unless it loops back or the hop budget is spent."""
    if page is not None:
        if page.kind == "entity":
            return Hop("resolved" if len(path) == 1 else "resolved_chain", alias, path, (key, page.description))
        return Hop("to_disambiguation", alias, path)
    if onward is None:
        return Hop("to_missing_page", alias, path)
    if onward in path or onward == key:
        return Hop("loop", alias, [*path, key, onward])
    if last_hop:
        return Hop("chain_too_long", alias, [*path, key, onward])
    return Hop("pending", alias, [*path, key], next=onward)


_DEAD_HOPS = {"loop": "redirect_loop", "chain_too_long": "redirect_chain_too_long"}


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _FollowRedirectFn(CountingDoFn):
    """One hop: pending aliases whose current target is this key."""

    PENDING = "pending"

    def __init__(self, last_hop: bool) -> None:
        self.last_hop = last_hop

    def process(self, element):
        key, groups = element
        pending = list(groups["pending"])
        if not pending:
            return
        page = next((PageRef(*p) for p in groups["page"]), None)
        onward = next(iter(groups["redirect"]), None)
        for alias, path in pending:
            hop = follow_redirect(key, alias, path, page, onward, self.last_hop)
            if hop.outcome == "pending":
                yield pvalue.TaggedOutput(self.PENDING, (hop.next, (alias, hop.chain)))
                continue
            self.stat("redirects", hop.outcome)
            if hop.entity is not None:
                yield alias, hop.entity
            elif hop.outcome in _DEAD_HOPS:
                yield pvalue.TaggedOutput(DEAD_LETTER, dead_letter(_DEAD_HOPS[hop.outcome], "", -1, alias,
                                                                   chain=hop.chain))


class ResolveRedirects(beam.PTransform):
    """``{"page_index": (title, PageRef), "redirects": (alias, target)}`` → ``{"aliases": (alias title,
    (entity title, description)), DEAD_LETTER, STATS}``, chains followed up to ``max_hops``."""

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


def resolve_link(entity: tuple[str, str | None] | None, via: tuple[str, str | None] | None,
                 is_disambiguation: bool) -> tuple[str, tuple[str, str | None] | None]:
    """A link's target title → (``links`` statistic, (entity, description) or None): the entity of
    that title, else the one its redirect reaches; links to disambiguation or missing pages count."""
    if entity is not None:
        return "resolved", entity
    if via is not None:
        return "via_redirect", via
    return ("to_disambiguation" if is_disambiguation else "missing_target"), None


def link_refs(article: dict) -> Iterator[tuple[str, tuple[str, int, int]]]:
    """``(target title, (page title, paragraph, mention index))`` for every link of an article."""
    for paragraph in article["paragraphs"]:
        for index, mention in enumerate(paragraph["mentions"]):
            yield mention["target"], (article["title"], paragraph["index"], index)


def body_link_refs(article: dict) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(target title, (page title, surface))`` for every link of the body scanned in lead scope."""
    for surface, target in article["body_links"]:
        yield target, (article["title"], surface)


def disambiguation_refs(page: dict) -> Iterator[tuple[str, str]]:
    """``(target title, surface)``: a disambiguation page makes its surface an alias of every page it
    lists or links."""
    surface = disambiguation_surface(page["title"])
    targets = set(page["list_links"])
    for paragraph in page["paragraphs"]:
        targets.update(m["target"] for m in paragraph["mentions"])
    targets.update(target for _, target in page["body_links"])
    for target in sorted(targets):
        yield target, surface


@beam.typehints.with_output_types(typing.Any)  # mixes main and tagged outputs
class _ResolveLinkFn(CountingDoFn):
    DISAMBIGUATION_ALIASES, BODY_LINKS = "disambiguation_aliases", "body_links"

    def process(self, element):
        _, groups = element
        refs = list(groups["ref"])
        body_refs = list(groups["body_ref"])
        surfaces = list(groups["disambiguation_ref"])
        if not refs and not body_refs and not surfaces:
            return
        entity = next(iter(groups["entity"]), None)
        via = next(iter(groups["alias"]), None)
        target = entity or via
        if target is not None:
            for surface in surfaces:
                yield pvalue.TaggedOutput(self.DISAMBIGUATION_ALIASES, (surface, target[0]))
        outcome, resolved = resolve_link(entity, via, bool(list(groups["disambiguation"])))
        for page_title, paragraph, index in refs:
            self.stat("links", outcome)
            if resolved is not None:
                yield page_title, (paragraph, index, resolved[0], resolved[1])
        for page_title, surface in body_refs:
            self.stat("links", outcome)
            if resolved is not None:
                yield pvalue.TaggedOutput(self.BODY_LINKS, (page_title, (surface, resolved[0])))


class ResolveLinks(beam.PTransform):
    """``{"articles", "disambiguations", "aliases"}`` → ``{"links": (page title, (paragraph, mention
    index, entity, description)), "body_links": (page title, (surface, entity)) for the links of a body
    scanned in lead scope, "disambiguation_aliases": (surface, entity), STATS}``; every link counts in
    the ``links`` statistics."""

    def __init__(self, spill: RunSpill) -> None:
        super().__init__()
        self.spill = spill

    def expand(self, inputs):
        refs = inputs["articles"] | "MentionRefs" >> beam.FlatMap(link_refs)
        body_refs = inputs["articles"] | "BodyLinkRefs" >> beam.FlatMap(body_link_refs)
        disambiguation_ref = inputs["disambiguations"] | "DisambiguationRefs" >> beam.FlatMap(disambiguation_refs)
        entities = inputs["articles"] | "EntityByTitle" >> beam.Map(
            lambda a: (a["title"], (a["title"], a["description"])))
        disambiguations = inputs["disambiguations"] | "DisambiguationByTitle" >> beam.Map(lambda d: (d["title"], 1))
        joined = (
            {"ref": refs, "body_ref": body_refs, "disambiguation_ref": disambiguation_ref, "entity": entities,
             "alias": inputs["aliases"], "disambiguation": disambiguations}
            | "JoinLinkTargets" >> DiskCoGroupByKey(self.spill)
            | "ResolveLink" >> beam.ParDo(_ResolveLinkFn()).with_outputs(
                _ResolveLinkFn.DISAMBIGUATION_ALIASES, _ResolveLinkFn.BODY_LINKS, STATS, main="links")
        )
        return {"links": joined.links, "body_links": joined[_ResolveLinkFn.BODY_LINKS],
                "disambiguation_aliases": joined[_ResolveLinkFn.DISAMBIGUATION_ALIASES], STATS: joined[STATS]}
