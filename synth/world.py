"""The fictional world: every entity is a pure function of (seed, entity count, index).

Layout: indices come in blocks of 16 slots with a fixed type per slot, so "a random city" or
"the capital of this country" is arithmetic on indices, never a lookup in a table built over
all entities. Ambiguous names are decided per block (its members have distinct types or
occupations, so `Name (qualifier)` titles never collide); every other name is the image of
the entity's own code under a bijection (names.WordCoder), hence unique.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from synth.names import demonym, given_name, make_coder, rng, stable_int

BLOCK = 16
COUNTRY_EVERY = 4  # one country per 4 blocks: about 13 cities per country

PERSON_SLOTS = {1: "politics", 4: "writing", 7: "music", 10: "film", 13: "science"}
OCCUPATIONS = {
    "politics": ("politician", "diplomat", "judge"),
    "writing": ("novelist", "poet", "essayist"),
    "music": ("singer", "composer", "guitarist"),
    "film": ("film director", "actor", "screenwriter"),
    "science": ("physicist", "botanist", "mathematician"),
}
FIXED_SLOTS = {2: "city", 3: "organisation", 5: "film", 6: "band", 8: "city", 9: "novel", 11: "organisation",
               12: "river", 14: "film", 15: "city"}
TYPE_SLOTS = {
    "city": (0, 2, 8, 15),
    "organisation": (3, 11),
    "film": (5, 14),
    "band": (6,),
    "novel": (9,),
    "river": (12,),
}
AMBIGUOUS_TYPES = ("city", "river", "film", "band", "novel")
QUALIFIER = {"city": "city", "river": "river", "film": "film", "band": "band", "novel": "novel"}
QUALIFIER_SYNONYM = {"city": "town", "river": "stream", "film": "movie", "band": "musical group", "novel": "book"}
WORD_GROUP_SHARE = 0.55
PERSON_PAIR_SHARE = 0.3
MENTION_ROUNDS = 3  # incoming connection links per entity: each round is a bijection

ORG_KINDS = ("university", "company", "museum", "newspaper", "party", "orchestra")
GENRES = ("rock", "folk", "jazz", "electronic", "pop", "punk")
REGIONS = ("Northern Reach", "Amber Coast", "Eastern Vale", "Southern Steppe", "Lake Country", "High Marches")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
LANG_CODES = ("vl", "kz", "tq", "mr", "sd", "ox")
ACCENTS = str.maketrans({"a": "á", "e": "é", "o": "ö", "u": "ú", "i": "í"})


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
    """Entities of one block that share a surface name ("Mercury"-style)."""

    kind: str  # "word" (cities, films, ...) or "person" (two people with one name)
    members: tuple[int, ...]
    name: str
    primary: int | None  # member that holds the bare title, or None: the bare title is the disambiguation page

    @property
    def disambiguation_title(self) -> str:
        return f"{self.name} (disambiguation)" if self.primary is not None else self.name


@dataclass(frozen=True)
class Entity:
    """One article subject. Relations hold entity indices; scalars are plain values."""

    index: int
    type: str
    name: str
    title: str
    relations: dict[str, int] = field(default_factory=dict)
    scalars: dict[str, str] = field(default_factory=dict)
    group: Group | None = None
    redirects: tuple[str, ...] = ()
    double_redirect: str | None = None  # redirect to redirects[0]
    section_redirect: str | None = None  # redirect to "title#section"

    @property
    def short_name(self) -> str:
        """How later sentences refer to the entity: family name for people, else the name."""
        return self.name.split(" ")[-1] if self.type == "person" else self.name

    @property
    def occupation(self) -> str:
        return self.scalars.get("occupation", "")

    def all_redirects(self) -> list[str]:
        titles = list(self.redirects)
        titles += [t for t in (self.double_redirect, self.section_redirect) if t]
        return titles


def slot_type(index: int) -> str:
    slot = index % BLOCK
    if slot == 0:
        return "country" if (index // BLOCK) % COUNTRY_EVERY == 0 else "city"
    if slot in PERSON_SLOTS:
        return "person"
    return FIXED_SLOTS[slot]


def country_of_block(block: int) -> int:
    return BLOCK * (block - block % COUNTRY_EVERY)


def pick(world: World, index: int, relation: str, kind: str, slots: tuple[int, ...] = ()) -> int:
    """A pseudo-random entity of type `kind` (in one of `slots` if given), never `index` itself.

    Returns -1 when a tiny world has none: the relation is then simply absent.
    """
    slots = slots or (tuple(PERSON_SLOTS) if kind == "person" else TYPE_SLOTS[kind])
    r = rng(world.seed, index, "pick", relation)
    for _ in range(64):
        candidate = BLOCK * r.randrange(world.blocks) + r.choice(slots)
        if candidate < world.entities and candidate != index and slot_type(candidate) == kind:
            return candidate
    return -1


def person_of(world: World, index: int, relation: str, category: str) -> int:
    slot = next(s for s, c in PERSON_SLOTS.items() if c == category)
    return pick(world, index, relation, "person", (slot,))


@functools.lru_cache(maxsize=1 << 12)
def block_groups(world: World, block: int) -> tuple[Group, ...]:
    """The ambiguity groups of a block: a pure function of (seed, block)."""
    r = rng(world.seed, block, "groups")
    groups: list[Group] = []
    base = BLOCK * block
    if r.random() < WORD_GROUP_SHARE:
        types = r.sample(AMBIGUOUS_TYPES, r.choice((2, 2, 3)))
        members = []
        for kind in types:
            slots = [s for s in TYPE_SLOTS[kind] if s != 0]
            index = base + r.choice(slots)
            if index < world.entities:
                members.append(index)
        if len(members) >= 2:
            primary = members[0] if r.random() < 0.4 else None
            groups.append(Group("word", tuple(members), world.word(3 * block + 1), primary))
    if r.random() < PERSON_PAIR_SHARE:
        slots = r.sample(tuple(PERSON_SLOTS), 2)
        members = [base + s for s in slots if base + s < world.entities]
        if len(members) == 2:
            name = f"{given_name(world.seed, -1 - block)} {world.word(3 * block + 2)}"
            groups.append(Group("person", tuple(members), name, None))
    return tuple(groups)


def group_of(world: World, index: int) -> Group | None:
    for group in block_groups(world, index // BLOCK):
        if index in group.members:
            return group
    return None


def red_link_word(world: World, *parts: object) -> str:
    """A word no entity, redirect or group uses: codes 4N + ... are never assigned."""
    return world.word(4 * world.entities + stable_int(world.seed, "red", *parts) % (4 * BLOCK))


def year(r, low: int = 1820, high: int = 2015) -> str:
    return str(r.randrange(low, high))


def date(r, low: int = 1850, high: int = 1995) -> str:
    return f"{r.randrange(1, 29)} {r.choice(MONTHS)} {r.randrange(low, high)}"


def _scalars_and_relations(world: World, index: int, kind: str) -> tuple[dict[str, str], dict[str, int]]:
    """Typed attributes; relations point to entities of the right type only."""
    r = rng(world.seed, index, "attributes")
    block = index // BLOCK
    scalars: dict[str, str] = {}
    relations: dict[str, int] = {}
    if kind == "country":
        capital = BLOCK * block + 2
        if capital < world.entities:
            relations["capital"] = capital
        scalars.update(region=r.choice(REGIONS), founded=year(r, 1500, 1950), language=r.choice(LANG_CODES),
                       population=str(r.randrange(200_000, 40_000_000)))
    elif kind == "city":
        relations["located_in"] = country_of_block(block)
        river = BLOCK * block + 12
        if river < world.entities and index % BLOCK != 0:
            relations["on_river"] = river
        scalars.update(founded=year(r, 900, 1900), population=str(r.randrange(2_000, 3_000_000)))
    elif kind == "river":
        relations["flows_through"] = BLOCK * block + 2
        relations["located_in"] = country_of_block(block)
        scalars["length_km"] = str(r.randrange(40, 2400))
    elif kind == "person":
        category = PERSON_SLOTS[index % BLOCK]
        r2 = rng(world.seed, index, "occupation")
        scalars["occupation"] = r2.choice(OCCUPATIONS[category])
        born = date(r)
        scalars["born"] = born
        if r.random() < 0.45:
            scalars["died"] = date(r, int(born[-4:]) + 30, int(born[-4:]) + 90)
        scalars["gender"] = r.choice(("female", "male"))
        relations["born_in"] = pick(world, index, "born_in", "city")
        relations["citizen_of"] = country_of_block(relations["born_in"] // BLOCK) if relations["born_in"] >= 0 else -1
        if category == "politics":
            relations["member_of"] = pick(world, index, "member_of", "organisation")
        elif category == "writing":
            relations["notable_work"] = pick(world, index, "notable_work", "novel")
            relations["educated_at"] = pick(world, index, "educated_at", "organisation")
        elif category == "music":
            relations["member_of"] = pick(world, index, "member_of", "band")
        elif category == "film":
            relations["notable_work"] = pick(world, index, "notable_work", "film")
        else:
            relations["employer"] = pick(world, index, "employer", "organisation")
    elif kind == "organisation":
        scalars.update(kind=r.choice(ORG_KINDS), founded=year(r))
        relations["headquarters"] = pick(world, index, "headquarters", "city")
        relations["founded_by"] = pick(world, index, "founded_by", "person")
    elif kind == "band":
        scalars.update(genre=r.choice(GENRES), formed=year(r, 1955, 2015))
        relations["origin"] = pick(world, index, "origin", "city")
        relations["member"] = person_of(world, index, "member", "music")
    elif kind == "film":
        scalars["released"] = year(r, 1920, 2020)
        relations["directed_by"] = person_of(world, index, "directed_by", "film")
        relations["starring"] = person_of(world, index, "starring", "film")
        relations["set_in"] = pick(world, index, "set_in", "city")
    elif kind == "novel":
        scalars["published"] = year(r, 1850, 2020)
        relations["author"] = person_of(world, index, "author", "writing")
        relations["set_in"] = pick(world, index, "set_in", "city")
    relations = {k: v for k, v in relations.items() if v >= 0 and v != index}
    return scalars, relations


ORG_PATTERNS = {
    "university": ("University of {w}", "{w} University"),
    "company": ("{w} Industries", "{w} Industries Limited"),
    "museum": ("{w} Museum", "Museum of {w}"),
    "newspaper": ("The {w} Courier", "{w} Courier"),
    "party": ("{w} Unity Party", "Unity Party of {w}"),
    "orchestra": ("{w} Philharmonic Orchestra", "{w} Philharmonic"),
}
FILM_PATTERNS = ("{w}", "The {w}", "Return to {w}", "{w} Nights")
NOVEL_PATTERNS = ("{w}", "The {w} Letters", "A Winter in {w}", "The House of {w}")
BAND_PATTERNS = ("{w}", "The {w}")


def _name_and_redirects(world: World, index: int, kind: str, scalars: dict[str, str],
                        group: Group | None) -> tuple[str, str, tuple[str, ...], str | None, str | None]:
    """(name, title, redirects, double redirect, section redirect) of an entity."""
    r = rng(world.seed, index, "names")
    word = world.word(3 * index)
    if group is not None:
        name = group.name
        qualifier = scalars["occupation"] if kind == "person" else QUALIFIER[kind]
        title = name if index == group.primary else f"{name} ({qualifier})"
        redirects = () if kind == "person" else (f"{name} ({QUALIFIER_SYNONYM[kind]})",)
        return name, title, redirects, None, None
    double = section = None
    redirects: tuple[str, ...] = ()
    if kind == "person":
        given = given_name(world.seed, index)
        name = f"{given} {word}"
        initial = r.choice("ABDEFGHKLMNPRSTV")
        if r.random() < 0.5:
            redirects = (f"{given} {initial}. {word}",)
            if r.random() < 0.2:
                double = f"{given} {initial} {word}"
        if r.random() < 0.1:
            section = f"Early life of {name}"
        return name, name, redirects, double, section
    if kind in ("country", "city"):
        if kind == "country" and r.random() < 0.7:
            redirects = (f"Republic of {word}",)
            if r.random() < 0.2:
                double = f"The Republic of {word}"
        elif kind == "city" and r.random() < 0.4:
            redirects = (f"{word} City",)
        return word, word, redirects, None, None
    if kind == "river":
        name = f"{word} River"
        return name, name, (f"River {word}",) if r.random() < 0.6 else (), None, None
    if kind == "organisation":
        pattern, alternative = ORG_PATTERNS[scalars["kind"]]
        name = pattern.format(w=word)
        return name, name, (alternative.format(w=word),) if r.random() < 0.5 else (), None, None
    patterns = {"band": BAND_PATTERNS, "film": FILM_PATTERNS, "novel": NOVEL_PATTERNS}[kind]
    name = r.choice(patterns).format(w=word)
    return name, name, (f"{name} ({kind})",) if r.random() < 0.5 else (), None, None


@functools.lru_cache(maxsize=1 << 12)
def entity(world: World, index: int) -> Entity:
    """Entity `index` of the world; cached only as a bounded speed-up, never needed for correctness."""
    if not 0 <= index < world.entities:
        raise IndexError(index)
    kind = slot_type(index)
    scalars, relations = _scalars_and_relations(world, index, kind)
    group = group_of(world, index)
    name, title, redirects, double, section = _name_and_redirects(world, index, kind, scalars, group)
    return Entity(index=index, type=kind, name=name, title=title, relations=relations, scalars=scalars,
                  group=group, redirects=redirects, double_redirect=double, section_redirect=section)


def demonym_of(world: World, country: int) -> str:
    return demonym(entity(world, country).name)


def native_spelling(name: str) -> str:
    """The name as written in the fictional local language (for `{{lang|xx|...}}`)."""
    return name[0] + name[1:].translate(ACCENTS)


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
