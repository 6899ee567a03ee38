"""Per-page logic: what a raw page is (article, redirect, skipped, dead letter) and its parsed record.

Pure functions over plain dicts, so they are tested without a runner and pickle cheaply on Beam.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.dump import RawPage, dead_letter
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


def _located(page: RawPage) -> dict:
    """A page read from a range of a multistream file: the range's first stream, which its offset
    counts from."""
    return {"stream_offset": page.stream_offset} if page.stream_offset else {}


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
                                          **_located(page))
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
        **_located(page),
        "paragraphs": [
            {"index": p.index, "text": p.text, "in_lead": p.in_lead,
             "mentions": [{"start": m.start, "end": m.end, "surface": m.surface, "target": m.target}
                          for m in p.mentions]}
            for p in article.paragraphs
        ],
        "descriptions": descriptions,
        "templates": sorted(article.templates),
        "disambiguation_magic": article.disambiguation_magic,
        "list_links": list_links,
        "unbalanced_markup": article.unbalanced_markup,
    }


def is_disambiguation(article: dict, disambiguation_templates: frozenset[str]) -> bool:
    return article["disambiguation_magic"] or any(t.casefold() in disambiguation_templates
                                                  for t in article["templates"])


def choose_description(descriptions: dict, sources: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first available description in the configured order, and its source."""
    for source in sources:
        value = descriptions.get(source)
        if value:
            return value, source
    return None, None


def disambiguation_surface(title: str) -> str:
    """``Mercury (disambiguation)`` → ``Mercury``: the surface a disambiguation page stands for."""
    return _DISAMBIG_QUALIFIER.sub("", title)
