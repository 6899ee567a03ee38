"""A pipeline run (``--data OUT``) as the knowledge base of external benchmarks.

External files name entities by Wikipedia title as their authors wrote them: underscores for spaces,
a lower-case first letter, a redirect (``NYC``), GENRE's ``%22`` for a double quote. A title is
normalised by the dump's own rules (``manifest.json`` ``site.case``; MediaWiki's first-letter rule when
the manifest does not say) and resolved through the redirects the pipeline recorded in its entity
table. A title that resolves to no entity is *out of the KB*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eval.data import Entity, load_alias
from kilm import records
from pipeline.site import Site

#: GENRE's conversion of the ED sets wrote ``"`` in titles as ``%22``.
_GENRE_QUOTE = "%22"


@dataclass
class KnowledgeBase:
    """Entities (display title → :class:`Entity`), redirect titles → entity, and the alias table."""

    site: Site
    entities: dict[str, Entity]
    redirects: dict[str, str]
    alias: dict[str, list[tuple[str, int]]]
    site_source: str  # "manifest" | "default (manifest.json has no site)"
    _folded: dict[str, list[tuple[str, int]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        folded: dict[str, dict[str, int]] = {}
        for surface, pairs in self.alias.items():
            merged = folded.setdefault(surface.casefold(), {})
            for entity, count in pairs:
                merged[entity] = merged.get(entity, 0) + count
        self._folded = {s: _ranked(c) for s, c in folded.items()}

    @classmethod
    def load(cls, out: Path) -> KnowledgeBase:
        """Read ``entities/`` (with redirects), ``alias/`` (absent: no counts, no alias candidates) and the
        site's case rule from ``manifest.json``."""
        entities: dict[str, Entity] = {}
        redirects: dict[str, str] = {}
        for record in records.read_entities(out):
            title = record["title"]
            entities[title] = Entity(title, record.get("description") or "", record.get("split", "seen"))
            for alias in record.get("redirects") or ():
                redirects[alias] = title
        alias = load_alias(out) if any((out / "alias").glob("*.jsonl.gz")) else {}
        site, source = _site(out)
        return cls(site, entities, redirects, alias, source)

    def normalize(self, title: str) -> str:
        """A title as the dump stores it (``_`` = space, first letter by the site's case rule)."""
        return self.site.normalize(title.replace(_GENRE_QUOTE, '"'))

    def resolve(self, title: str) -> str | None:
        """The entity a title names, through one redirect; None when it is not in the KB."""
        key = self.normalize(title)
        if key in self.entities:
            return key
        return self.redirects.get(key)

    def alias_entities(self, surface: str) -> list[tuple[str, int]]:
        """(entity, anchor count) for a surface form, most counted first: the exact surface if the table
        has it, else its case-folded form. Redirect titles appear with count 0."""
        pairs = self.alias.get(surface)
        return pairs if pairs is not None else self._folded.get(surface.casefold(), [])

    @property
    def has_counts(self) -> bool:
        return any(count > 0 for pairs in self.alias.values() for _, count in pairs)


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda p: (-p[1], p[0]))


def _site(out: Path) -> tuple[Site, str]:
    site = (records.read_manifest(out) or {}).get("site")
    if not isinstance(site, dict) or "case" not in site:
        return Site(), "default (manifest.json has no site)"
    return Site(dbname=site.get("dbname", "unknown"), language=site.get("language", "en"), case=site["case"]), \
        "manifest"
