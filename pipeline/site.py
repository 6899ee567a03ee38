"""A wiki's naming rules, read from the dump's ``<siteinfo>``: namespaces, title case, language.

Nothing English is hard-coded beyond what every MediaWiki accepts: the canonical English namespace
names and their well-known aliases (``Image:`` = ``File:``) work on every wiki, next to the local ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: MediaWiki's canonical namespace names (accepted by every wiki, whatever its language).
CANONICAL_NAMESPACES: dict[str, int] = {
    "Media": -2, "Special": -1, "Talk": 1, "User": 2, "User talk": 3, "Project": 4, "Project talk": 5,
    "File": 6, "File talk": 7, "MediaWiki": 8, "MediaWiki talk": 9, "Template": 10, "Template talk": 11,
    "Help": 12, "Help talk": 13, "Category": 14, "Category talk": 15, "Portal": 100, "Portal talk": 101,
    "Draft": 118, "Draft talk": 119, "TimedText": 710, "TimedText talk": 711, "Module": 828,
    "Module talk": 829,
    # Well-known aliases.
    "Image": 6, "Image talk": 7, "WP": 4, "WT": 5,
}
FILE_NS, TEMPLATE_NS, CATEGORY_NS, MEDIA_NS = 6, 10, 14, -2

#: Interwiki prefixes of Wikimedia projects: ``[[wikt:word|word]]`` shows its text but is no entity.
INTERWIKI_PREFIXES = frozenset(
    """wikipedia w wiktionary wikt wikinews n wikibooks b wikiquote q wikisource s wikispecies species
    wikiversity v wikivoyage voy wikimedia foundation wmf commons c meta m mediawikiwiki mw phabricator
    phab wikidata d incubator outreach""".split()
)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
_SPACES = re.compile(r"[\s_]+")


@dataclass(frozen=True)
class Site:
    """What a dump's ``<siteinfo>`` says about naming; hashable so it can be a Beam side input value."""

    dbname: str = "unknown"
    language: str = "en"
    case: str = "first-letter"
    namespace_names: tuple[tuple[str, int], ...] = ()
    _lookup: dict[str, int] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        lookup = {self._fold(name): ns for name, ns in CANONICAL_NAMESPACES.items()}
        lookup.update({self._fold(name): ns for name, ns in self.namespace_names if name})
        object.__setattr__(self, "_lookup", lookup)

    @staticmethod
    def _fold(name: str) -> str:
        return _SPACES.sub(" ", name).strip().casefold()

    @classmethod
    def from_mwxml(cls, site_info) -> Site:
        """From ``mwxml.Dump.site_info``; the language comes from dbname (``ukwiki`` → ``uk``)."""
        dbname = site_info.dbname or "unknown"
        language = dbname[: -len("wiki")] if dbname.endswith("wiki") else "en"
        names = tuple((ns.name or "", int(ns.id)) for ns in (site_info.namespaces or []))
        return cls(dbname=dbname, language=language.replace("_", "-"), case=site_info.case or "first-letter",
                   namespace_names=names)

    def namespace_of(self, prefix: str) -> int | None:
        """The namespace number of a title prefix (local, canonical or alias names), else None."""
        return self._lookup.get(self._fold(prefix))

    def normalize(self, title: str) -> str:
        """A title as MediaWiki stores it: ``_`` = space, spaces collapsed, ``#fragment`` dropped,
        first letter upper-cased unless the site is case-sensitive, NFC."""
        title = title.split("#", 1)[0]
        title = unicodedata.normalize("NFC", _SPACES.sub(" ", title).strip())
        if self.case == "first-letter" and title:
            first = title[0].upper()
            title = (first if len(first) == 1 else title[0]) + title[1:]
        return title

    def parse_link_target(self, target: str) -> LinkTarget:
        """Classify a wikilink target: main-namespace title, other namespace, interwiki/interlanguage."""
        raw = target.strip()
        leading_colon = raw.startswith(":")
        raw = raw.lstrip(":").strip()
        if ":" in raw:
            prefix, rest = raw.split(":", 1)
            ns = self.namespace_of(prefix)
            if ns is not None:
                return LinkTarget(ns, self.normalize(f"{prefix.strip()}:{rest}"), leading_colon, None)
            folded = prefix.strip().lower()
            if folded in INTERWIKI_PREFIXES:
                return LinkTarget(None, raw, leading_colon, "interwiki")
            if _LANGUAGE_CODE.match(prefix.strip()) and folded == prefix.strip():
                return LinkTarget(None, raw, leading_colon, "interwiki" if leading_colon else "interlanguage")
        return LinkTarget(0, self.normalize(raw), leading_colon, None)


@dataclass(frozen=True)
class LinkTarget:
    """Where a wikilink points: ``namespace`` is None for interwiki/interlanguage links."""

    namespace: int | None
    title: str
    leading_colon: bool
    interwiki: str | None
