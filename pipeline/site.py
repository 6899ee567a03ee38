"""A wiki's naming rules, read from the dump's ``<siteinfo>``: namespaces, title case, language.

Nothing English is hard-coded beyond what every MediaWiki accepts: the canonical English namespace
names and their well-known aliases (``Image:`` = ``File:``) work on every wiki, next to the local ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

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
#: Wikimedia hosts and their dbname: ``en.wikipedia.org`` → ``enwiki``, ``fr.wiktionary.org`` → ``frwiktionary``
_WIKIMEDIA_HOST = re.compile(
    r"^([a-z][a-z0-9-]*)\.(wikipedia|wiktionary|wikibooks|wikinews|wikiquote|wikisource|wikiversity|wikivoyage)\.org$")
#: how a site was named: from its siteinfo (``dbname``, ``base``, ``sitename``), MediaWiki's defaults
#: for a file without ``<siteinfo>``, or ``damaged`` (a siteinfo that does not parse)
UNNAMED = ("defaults", "damaged")
NO_SITEINFO = "no <siteinfo>: read with MediaWiki's defaults (canonical namespace names, first-letter case)"


def site_name(dbname: str | None, base: str | None, sitename: str | None) -> tuple[str, str] | None:
    """(name, where it came from) of a siteinfo: its ``<dbname>``; else its ``<base>`` URL, as Wikimedia
    names the host's database (``https://uk.wikipedia.org/wiki/…`` → ``ukwiki``) or host and path
    for other wikis; else its ``<sitename>``; None when it has none of them."""
    if dbname and dbname.strip():
        return dbname.strip(), "dbname"
    if base and base.strip():
        url = urlsplit(base.strip())
        host = (url.hostname or "").lower()
        wikimedia = _WIKIMEDIA_HOST.match(host)
        if wikimedia:
            project = "wiki" if wikimedia.group(2) == "wikipedia" else wikimedia.group(2)
            return f"{wikimedia.group(1).replace('-', '_')}{project}", "base"
        if host:
            return host + url.path.rsplit("/", 1)[0], "base"
    if sitename and sitename.strip():
        return sitename.strip(), "sitename"
    return None


@dataclass(frozen=True)
class Site:
    """What a dump's ``<siteinfo>`` says about naming; hashable so it can be a Beam side input value."""

    dbname: str = "unknown"
    language: str = "en"
    case: str = "first-letter"
    namespace_names: tuple[tuple[str, int], ...] = ()
    named_from: str = "dbname"
    #: files of the run that had no ``<siteinfo>`` (read with :meth:`defaults`)
    without_siteinfo: tuple[str, ...] = ()
    _lookup: dict[str, int] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        lookup = {self._fold(name): ns for name, ns in CANONICAL_NAMESPACES.items()}
        lookup.update({self._fold(name): ns for name, ns in self.namespace_names if name})
        object.__setattr__(self, "_lookup", lookup)

    @staticmethod
    def _fold(name: str) -> str:
        return _SPACES.sub(" ", name).strip().casefold()

    @classmethod
    def from_mwxml(cls, site_info, xml_lang: str | None = None) -> Site:
        """From ``mwxml.Dump.site_info`` (:func:`site_name` names it); the language comes from a
        Wikipedia dbname (``ukwiki`` → ``uk``), else the export's ``xml:lang``, else English."""
        named = site_name(site_info.dbname, site_info.base, site_info.name)
        dbname, named_from = named or ("unknown", "damaged")
        if dbname.endswith("wiki") and _LANGUAGE_CODE.match(dbname[: -len("wiki")].replace("_", "-")):
            language = dbname[: -len("wiki")].replace("_", "-")
        else:
            language = xml_lang or "en"
        names = tuple((ns.name or "", int(ns.id)) for ns in (site_info.namespaces or []))
        return cls(dbname=dbname, language=language, case=site_info.case or "first-letter",
                   namespace_names=names, named_from=named_from)

    @classmethod
    def defaults(cls, xml_lang: str | None = None) -> Site:
        """A wiki whose export has no ``<siteinfo>``: MediaWiki's canonical namespace names and
        first-letter case, the language of the export's ``xml:lang``."""
        return cls(language=xml_lang or "en", namespace_names=tuple(CANONICAL_NAMESPACES.items()),
                   named_from="defaults")

    def manifest_record(self) -> dict:
        """The manifest's ``site``: its name and where it came from, with a warning for files read
        without a siteinfo."""
        record = {"dbname": self.dbname, "language": self.language, "case": self.case, "named_from": self.named_from}
        if self.without_siteinfo:
            record["warnings"] = [f"{path}: {NO_SITEINFO}" for path in self.without_siteinfo]
        return record

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


def one_site(sites: dict[str, Site]) -> Site:
    """The site of a run from each file's: one wiki per run (titles of different wikis would collide
    in the entity table). Files without a siteinfo join the named wiki, or, when no file names one,
    read as MediaWiki's defaults; either way they are listed in ``without_siteinfo``. Raises
    ValueError naming the wikis, or saying that no file holds a readable siteinfo."""
    named = {path: site for path, site in sorted(sites.items()) if site.named_from not in UNNAMED}
    names = sorted({site.dbname for site in named.values()})
    if len(names) > 1:
        raise ValueError(f"files from different wikis ({', '.join(names)}); run one wiki at a time")
    bare = tuple(path for path, site in sorted(sites.items()) if site.named_from == "defaults")
    if named:
        site = next(iter(named.values()))
    elif bare:
        site = sites[bare[0]]
    else:
        raise ValueError("no readable MediaWiki <siteinfo>")
    return replace(site, without_siteinfo=bare)
