"""Descriptions: each article's short description by the configured order of sources
(``{{Short description}}``, a Wikidata dump joined on the sitelink title, the lead sentence)."""

from __future__ import annotations

import apache_beam as beam

from pipeline.outcomes import STATS, CountingDoFn
from pipeline.read import open_raw


def choose_description(descriptions: dict, sources: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first available description in the configured order, and its source."""
    for source in sources:
        value = descriptions.get(source)
        if value:
            return value, source
    return None, None


def with_wikidata(article: dict, found: list[tuple[str, str]]) -> dict:
    """An article with the first Wikidata ``(description, language)`` joined to it, if any."""
    if not found:
        return article
    description, language = sorted(found)[0]
    return {**article, "descriptions": {**article["descriptions"], "wikidata": description},
            "wikidata_language": language}


class _ChooseDescriptionFn(CountingDoFn):
    def __init__(self, sources: tuple[str, ...]) -> None:
        self.sources = sources

    def process(self, article: dict):
        description, source = choose_description(article["descriptions"], self.sources)
        self.stat("descriptions", source or "none")
        yield {**article, "description": description, "description_source": source}


class _AttachWikidataFn(beam.DoFn):
    def process(self, element):
        _, groups = element
        found = list(groups["wikidata"])
        for article in groups["article"]:
            yield with_wikidata(article, found)


class ChooseDescriptions(beam.PTransform):
    """Articles → ``{"articles", STATS}``, articles with ``description``/``description_source``; with a
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
