"""The fictional world: every entity is a pure function of (seed, entity count, index).

Layout: indices come in blocks of 16 slots with a fixed type per slot, and every four blocks
share a country, so "a city of this block" or "the person who wrote this novel" is arithmetic on
indices, never a lookup in a table built over all entities. Most relations stay inside a block,
which makes their inverses ("people born in this town") computable from the block alone.

Knowledge and surface are kept apart (DESIGN.md, "The synthetic world"):
- facts (nationality, occupation, years, genre, ...) are strings that the entity's description
  states verbatim; its title adds at most a country or a year, never a word the text around a
  mention carries;
- names are shared only inside a group of one slot in three blocks of three different countries
  (a family of one surname, towns or works of one name), so every ambiguous surface belongs to
  entities of one type whose block-local relations differ: the text tells them apart only through
  those relations, never through a fact or a title word.
Unshared names are the image of the entity's own code under a bijection (names.WordCoder).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from synth.names import demonym, given_name, make_coder, rng, stable_int

BLOCK = 16
COUNTRY_EVERY = 4  # one country per 4 blocks: about 13 cities per country
GROUP_SPAN = 3  # name groups join one slot of blocks b, b+4, b+8: three different countries

PERSON_SLOTS = {1: "politics", 4: "writing", 7: "music", 10: "film", 13: "science"}
OCCUPATIONS = {
    "politics": ("politician", "diplomat", "judge"),
    "writing": ("novelist", "poet", "essayist"),
    "music": ("singer", "composer", "guitarist"),
    "film": ("director", "actor", "screenwriter"),
    "science": ("physicist", "botanist", "mathematician"),
}
STYLES = {
    "politics": ("reformist", "centrist", "agrarian", "progressive"),
    "writing": ("satirical", "lyric", "experimental", "romantic"),
    "music": ("folk", "jazz", "classical", "popular"),
    "film": ("comedy", "documentary", "television", "independent"),
    "science": ("theoretical", "applied", "marine", "field"),
}
FIXED_SLOTS = {2: "city", 3: "organisation", 5: "film", 6: "band", 8: "city", 9: "novel", 11: "organisation",
               12: "river", 14: "film", 15: "city"}
CITY_SLOTS = (2, 8, 15)  # plus slot 0 in blocks without a country
UNIVERSITY_SLOT, ORG_SLOT = 3, 11
#: Slots whose entities may share a name with the same slot of the other blocks of their triple.
GROUP_SLOTS = {**{s: "family" for s in PERSON_SLOTS}, **{s: "town" for s in CITY_SLOTS},
               5: "work", 9: "work", 14: "work"}
GROUP_SHARE = {"family": 0.8, "town": 0.8, "work": 0.7}
WORK_PRIMARY_SHARE = 0.3  # a shared work name whose first member holds the bare title
MENTION_ROUNDS = 3  # incoming connection links per entity: each round is a bijection

ORG_KINDS = ("company", "museum", "newspaper", "party", "orchestra")
SECTORS = {
    "university": ("technical", "agricultural", "medical", "public"),
    "company": ("shipping", "textile", "mining", "publishing"),
    "museum": ("art", "history", "science", "maritime"),
    "newspaper": ("daily", "weekly", "evening"),
    "party": ("liberal", "conservative", "socialist", "green"),
    "orchestra": ("symphony", "chamber", "youth"),
}
#: (title pattern, short pattern): text usually names an organisation by its short form.
ORG_NAMES = {
    "university": ("University of {w}", "{w} University"),
    "company": ("{w} Industries", "{w}"),
    "museum": ("{w} Museum of Art", "{w} Museum"),
    "newspaper": ("The {w} Courier", "{w} Courier"),
    "party": ("{w} Unity Party", "{w} Party"),
    "orchestra": ("{w} Philharmonic Orchestra", "{w} Philharmonic"),
}
CITY_KINDS = ("market town", "port city", "mountain town", "river port", "spa town", "mining town")
REGIONS = ("Amber Coast", "Northern Reach", "Eastern Vale", "Southern Steppe", "Western Isles", "High Marches")
SEAS = ("Amber Sea", "Grey Sea", "Northern Ocean", "Iron Gulf", "Salt Lake")
BAND_GENRES = ("rock", "folk", "jazz", "electronic", "pop", "punk")
FILM_GENRES = ("drama", "thriller", "western", "musical", "war", "horror")
NOVEL_GENRES = ("historical", "crime", "adventure", "gothic", "fantasy", "picaresque")
FILM_PATTERNS = ("{w}", "The {w}", "Return to {w}", "{w} Nights")
NOVEL_PATTERNS = ("{w}", "The {w} Letters", "A Winter in {w}", "The House of {w}")
LANG_CODES = ("vl", "kz", "tq", "mr", "sd", "ox")
ACCENTS = str.maketrans({"a": "á", "e": "é", "o": "ö", "u": "ú", "i": "í"})
#: Years never overlap between kinds of fact that can share a paragraph (a country's independence
#: is not a town's foundation), so a year in a lead is only ever its subject's.
YEARS = {"city": (800, 1500), "country": (1500, 1800), "born": (1800, 1986), "organisation": (1800, 1990),
         "band": (1955, 2016), "work": (1900, 2023)}


@dataclass(frozen=True)
class World:
    """Global, O(1)-size parameters; everything else is derived from them on demand."""

    seed: int
    entities: int

    @property
    def blocks(self) -> int:
        return (self.entities + BLOCK - 1) // BLOCK

    @functools.cached_property
    def coder(self):
        return make_coder(self.seed, 4 * self.entities + 4 * BLOCK)

    def word(self, code: int) -> str:
        return self.coder.word(code)


@dataclass(frozen=True)
class Group:
    """Entities of one slot in the blocks of a triple that share a name."""

    kind: str  # "family" (a surname), "town" or "work"
    members: tuple[int, ...]
    name: str
    primary: int | None = None  # member that holds the bare title (works only)
    years: tuple[str, ...] = ()  # works: one distinct year per member, in member order

    @property
    def disambiguation_title(self) -> str:
        return f"{self.name} (disambiguation)" if self.primary is not None else self.name


@dataclass(frozen=True)
class Entity:
    """One article subject. Relations hold entity indices; facts and details are strings."""

    index: int
    type: str
    name: str  # how prose names it: a person's surname, a town without its country
    title: str
    full_name: str  # the longer form links sometimes show: a person's full name, the river's title
    facts: dict[str, str]  # stated verbatim by the description, never next to a mention
    details: dict[str, str] = field(default_factory=dict)  # other attributes (in no description)
    relations: dict[str, int] = field(default_factory=dict)
    kind: str = ""  # an organisation's kind (its name already says it)
    group: Group | None = None
    redirects: tuple[str, ...] = ()
    double_redirect: str | None = None  # redirect to redirects[0]
    section_redirect: str | None = None  # redirect to "title#section"

    def all_redirects(self) -> list[str]:
        titles = list(self.redirects)
        titles += [t for t in (self.double_redirect, self.section_redirect) if t]
        return titles

    def shared(self, surface: str) -> bool:
        """Whether `surface` is the name this entity shares with the other members of its group."""
        return self.group is not None and surface == self.group.name


def slot_type(index: int) -> str:
    slot = index % BLOCK
    if slot == 0:
        return "country" if (index // BLOCK) % COUNTRY_EVERY == 0 else "city"
    if slot in PERSON_SLOTS:
        return "person"
    return FIXED_SLOTS[slot]


def country_of_block(block: int) -> int:
    return BLOCK * (block - block % COUNTRY_EVERY)


def block_cities(world: World, block: int) -> list[int]:
    slots = ((0,) if block % COUNTRY_EVERY else ()) + CITY_SLOTS
    return [BLOCK * block + s for s in slots if BLOCK * block + s < world.entities]


def _in_world(world: World, index: int) -> int:
    return index if 0 <= index < world.entities else -1


def pick(world: World, index: int, relation: str, kind: str, slots: tuple[int, ...]) -> int:
    """A pseudo-random entity of type `kind` in one of `slots` of another block; -1 if none."""
    r = rng(world.seed, index, "pick", relation)
    for _ in range(64):
        candidate = BLOCK * r.randrange(world.blocks) + r.choice(slots)
        if candidate < world.entities and candidate // BLOCK != index // BLOCK and slot_type(candidate) == kind:
            return candidate
    return -1


# ----- name groups ------------------------------------------------------------------------------
def triple_blocks(block: int) -> tuple[int, ...]:
    """The three blocks (of three different countries) whose same slots may share a name."""
    span = GROUP_SPAN * COUNTRY_EVERY
    base = span * (block // span) + block % COUNTRY_EVERY
    return tuple(base + COUNTRY_EVERY * k for k in range(GROUP_SPAN))


@functools.lru_cache(maxsize=1 << 12)
def slot_group(world: World, first_block: int, slot: int) -> Group | None:
    """The group of `slot` in the triple starting at `first_block`: a pure function of both."""
    kind = GROUP_SLOTS[slot]
    r = rng(world.seed, first_block, slot, "group")
    roll, size_roll, left_out = r.random(), r.random(), r.randrange(GROUP_SPAN)
    if roll >= GROUP_SHARE[kind]:
        return None
    blocks = triple_blocks(first_block)
    chosen = blocks if size_roll < 0.5 else tuple(b for k, b in enumerate(blocks) if k != left_out)
    members = tuple(BLOCK * b + slot for b in chosen if BLOCK * b + slot < world.entities)
    if len(members) < 2:
        return None
    word = world.word(3 * members[0] + 1)
    if kind != "work":
        return Group(kind, members, word)
    patterns = NOVEL_PATTERNS if FIXED_SLOTS[slot] == "novel" else FILM_PATTERNS
    low, high = YEARS["work"]
    years = tuple(str(y) for y in r.sample(range(low, high), len(members)))
    primary = members[0] if r.random() < WORK_PRIMARY_SHARE else None
    return Group(kind, members, r.choice(patterns).format(w=word), primary, years)


def group_of(world: World, index: int) -> Group | None:
    slot = index % BLOCK
    if slot not in GROUP_SLOTS:
        return None
    group = slot_group(world, triple_blocks(index // BLOCK)[0], slot)
    return group if group is not None and index in group.members else None


def red_link_word(world: World, *parts: object) -> str:
    """A word no entity, redirect or group uses: codes 4N + ... are never assigned."""
    return world.word(4 * world.entities + stable_int(world.seed, "red", *parts) % (4 * BLOCK))


# ----- attributes -------------------------------------------------------------------------------
def year(r, kind: str) -> str:
    low, high = YEARS[kind]
    return str(r.randrange(low, high))


def _person_relations(world: World, index: int, category: str) -> dict[str, int]:
    """Block-local relations (their inverses are stated on the targets' pages)."""
    block = index // BLOCK
    r = rng(world.seed, index, "relations")
    cities = block_cities(world, block)
    relations = {"born_in": r.choice(cities) if cities else -1,
                 "citizen_of": country_of_block(block),
                 "educated_at": _in_world(world, BLOCK * block + UNIVERSITY_SLOT)}
    local = {"politics": ("member_of", ORG_SLOT), "writing": ("notable_work", 9), "music": ("member_of", 6),
             "film": ("notable_work", 5), "science": ("employer", ORG_SLOT)}[category]
    relations[local[0]] = _in_world(world, BLOCK * block + local[1])
    return relations


def _attributes(world: World, index: int, kind: str, group: Group | None
                ) -> tuple[dict[str, str], dict[str, str], dict[str, int], str]:
    """(facts, details, relations, organisation kind); relations point to entities of the right type."""
    r = rng(world.seed, index, "attributes")
    block = index // BLOCK
    country = country_of_block(block)
    nationality = demonym(world.word(3 * country))
    facts: dict[str, str] = {}
    details: dict[str, str] = {}
    relations: dict[str, int] = {}
    org_kind = ""
    cities = block_cities(world, block)
    if kind == "country":
        relations["capital"] = _in_world(world, BLOCK * block + 2)
        facts.update(region=r.choice(REGIONS), independence=year(r, "country"))
        details.update(language=r.choice(LANG_CODES), population=str(r.randrange(200_000, 40_000_000)))
    elif kind == "city":
        facts.update(nationality=nationality, kind=r.choice(CITY_KINDS), founded=year(r, "city"))
        details["population"] = str(r.randrange(2_000, 3_000_000))
        relations["located_in"] = country
        relations["on_river"] = _in_world(world, BLOCK * block + 12)
        relations["twinned_with"] = pick(world, index, "twinned_with", "city", CITY_SLOTS)
    elif kind == "river":
        facts.update(nationality=nationality, length=f"{r.randrange(40, 2400)} km", mouth=r.choice(SEAS))
        relations["located_in"] = country
        relations["flows_through"] = r.choice(cities) if cities else -1
    elif kind == "person":
        category = PERSON_SLOTS[index % BLOCK]
        born = year(r, "born")
        facts.update(nationality=nationality, style=r.choice(STYLES[category]),
                     occupation=rng(world.seed, index, "occupation").choice(OCCUPATIONS[category]), born=born)
        if r.random() < 0.45:
            facts["died"] = str(r.randrange(int(born) + 30, min(int(born) + 95, 2024)))
        details["gender"] = r.choice(("female", "male"))
        relations.update(_person_relations(world, index, category))
    elif kind == "organisation":
        org_kind = "university" if index % BLOCK == UNIVERSITY_SLOT else r.choice(ORG_KINDS)
        facts.update(nationality=nationality, sector=r.choice(SECTORS[org_kind]), founded=year(r, "organisation"))
        relations["headquarters"] = r.choice(cities) if cities else -1
        relations["founded_by"] = _in_world(world, BLOCK * block + r.choice(tuple(PERSON_SLOTS)))
    elif kind == "band":
        facts.update(nationality=nationality, genre=r.choice(BAND_GENRES), formed=year(r, "band"))
        relations["origin"] = r.choice(cities) if cities else -1
        relations["member"] = _in_world(world, BLOCK * block + 7)
    elif kind in ("film", "novel"):
        released = group.years[group.members.index(index)] if group is not None else year(r, "work")
        genres = FILM_GENRES if kind == "film" else NOVEL_GENRES
        facts.update(year=released, nationality=nationality, genre=r.choice(genres))
        relations["set_in"] = r.choice(cities) if cities else -1
        if kind == "novel":
            relations["author"] = _in_world(world, BLOCK * block + 4)
        elif index % BLOCK == 5:
            relations["directed_by"] = _in_world(world, BLOCK * block + 10)
        else:
            relations["directed_by"] = pick(world, index, "directed_by", "person", (10,))
            relations["starring"] = _in_world(world, BLOCK * block + 10)
    relations = {k: v for k, v in relations.items() if v >= 0 and v != index}
    return facts, details, relations, org_kind


def _names(world: World, index: int, kind: str, facts: dict[str, str], org_kind: str, group: Group | None
           ) -> tuple[str, str, str, tuple[str, ...], str | None, str | None]:
    """(name, title, full name, redirects, double redirect, section redirect) of an entity."""
    r = rng(world.seed, index, "names")
    word = world.word(3 * index)
    double = section = None
    redirects: tuple[str, ...] = ()
    if kind == "person":
        surname = group.name if group is not None else word
        given = _distinct_given_name(world, index, group)
        full = f"{given} {surname}"
        if r.random() < 0.5:
            initial = r.choice("ABDEFGHKLMNPRSTV")
            redirects = (f"{given} {initial}. {surname}",)
            if r.random() < 0.2:
                double = f"{given} {initial} {surname}"
        if r.random() < 0.1:
            section = f"Early life of {full}"
        return surname, full, full, redirects, double, section
    if kind == "city":
        name = group.name if group is not None else word
        title = f"{name}, {world.word(3 * country_of_block(index // BLOCK))}"
        if group is None and r.random() < 0.6:
            redirects = (name,)
        return name, title, name, redirects, None, None
    if kind == "country":
        if r.random() < 0.7:
            redirects = (f"Republic of {word}",)
            if r.random() < 0.2:
                double = f"The Republic of {word}"
        return word, word, word, redirects, None, None
    if kind == "river":
        title = f"{word} River"
        return word, title, title, (f"River {word}",) if r.random() < 0.6 else (), None, None
    if kind == "organisation":
        pattern, short = ORG_NAMES[org_kind]
        title = pattern.format(w=word)
        return short.format(w=word), title, title, (short.format(w=word),) if r.random() < 0.3 else (), None, None
    if kind == "band":
        title = f"The {word}"
        return word, title, title, (f"{word} (band)",) if r.random() < 0.5 else (), None, None
    if group is not None:
        name = group.name
        title = name if index == group.primary else f"{name} ({facts['year']} {kind})"
        return name, title, name, (), None, None
    name = r.choice(FILM_PATTERNS if kind == "film" else NOVEL_PATTERNS).format(w=word)
    return name, name, name, (f"{name} ({kind})",) if r.random() < 0.5 else (), None, None


def _distinct_given_name(world: World, index: int, group: Group | None) -> str:
    """A given name no earlier member of the family has (their titles must differ)."""
    taken = set() if group is None else {_distinct_given_name(world, m, None) for m in group.members if m < index}
    salt = 0
    name = given_name(world.seed, index)
    while name in taken:
        salt += 1
        name = given_name(world.seed, index, salt)
    return name


@functools.lru_cache(maxsize=1 << 12)
def entity(world: World, index: int) -> Entity:
    """Entity `index` of the world; cached only as a bounded speed-up, never needed for correctness."""
    if not 0 <= index < world.entities:
        raise IndexError(index)
    kind = slot_type(index)
    group = group_of(world, index)
    facts, details, relations, org_kind = _attributes(world, index, kind, group)
    name, title, full, redirects, double, section = _names(world, index, kind, facts, org_kind, group)
    return Entity(index=index, type=kind, name=name, title=title, full_name=full, facts=facts, details=details,
                  relations=relations, kind=org_kind, group=group, redirects=redirects, double_redirect=double,
                  section_redirect=section)


def short_description(e: Entity) -> str:
    """The entity's description: its facts, verbatim, with type words only (no entity names)."""
    f = e.facts
    if e.type == "person":
        years = f"{f['born']}–{f['died']}" if "died" in f else f"born {f['born']}"
        return f"{f['nationality']} {f['style']} {f['occupation']} ({years})"
    if e.type == "country":
        return f"Country in the {f['region']}, independent since {f['independence']}"
    if e.type == "city":
        return f"{f['nationality']} {f['kind']} founded in {f['founded']}"
    if e.type == "river":
        return f"{f['nationality']} river, {f['length']} long, flowing into the {f['mouth']}"
    if e.type == "organisation":
        return f"{f['nationality']} {f['sector']} {e.kind} founded in {f['founded']}"
    if e.type == "band":
        return f"{f['nationality']} {f['genre']} band formed in {f['formed']}"
    return f"{f['year']} {f['nationality']} {f['genre']} {e.type}"


def demonym_of(world: World, country: int) -> str:
    return demonym(entity(world, country).name)


def native_spelling(name: str) -> str:
    """The name as written in the fictional local language (for `{{lang|xx|...}}`)."""
    return name[0] + name[1:].translate(ACCENTS)


def block_incoming(world: World, index: int) -> list[tuple[str, int]]:
    """(relation, source) for the entities of the same block that point at `index`, in index order."""
    block = index // BLOCK
    found = []
    for source in range(BLOCK * block, min(BLOCK * (block + 1), world.entities)):
        if source == index:
            continue
        for relation, target in entity(world, source).relations.items():
            if target == index and relation not in ("citizen_of", "located_in", "capital"):
                found.append((relation, source))
    return found


@functools.lru_cache(maxsize=64)
def round_permutation(world: World, round_: int) -> tuple[int, int]:
    """Affine bijection i -> (a*i + b) mod N: every entity is the target of one link per round."""
    n = world.entities
    a = stable_int(world.seed, "round-a", round_) % n or 1
    while math.gcd(a, n) != 1:
        a = a % n + 1
    return a, stable_int(world.seed, "round-b", round_) % n


def round_targets(world: World, index: int) -> list[int]:
    """The entities page `index` mentions in its connection sentences, one per round."""
    targets = []
    for round_ in range(MENTION_ROUNDS):
        a, b = round_permutation(world, round_)
        target = (a * index + b) % world.entities
        if target != index and target not in targets:
            targets.append(target)
    return targets
