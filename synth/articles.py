"""Article wikitext for one entity, composed piece by piece with its answer key.

`compose_article(world, index)` is a pure function of (seed, entity count, index): it reads other
entities only through `world.entity`, which is itself pure. The paragraph/mention truth comes from
the same pieces that make the wikitext (see text.py), never from parsing the result.

Where knowledge lives: the first paragraph states the subject's facts (its description) and links
only its country; the following lead paragraphs state relations, one short paragraph each, and
carry every other mention, each beside a related entity (the cue that tells shared names apart).
`Composer.guard` then unlinks any mention whose paragraph still holds one of its leaks (see `leaks`).
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from dataclasses import dataclass, field

from synth.names import rng
from synth.text import Block, Mention, Piece, entity_ref, hidden, newline, render_plain, text
from synth.world import (
    BLOCK,
    COUNTRY_EVERY,
    LANG_CODES,
    Entity,
    World,
    block_incoming,
    country_of_block,
    demonym_of,
    entity,
    native_spelling,
    red_link_word,
    round_targets,
    short_description,
)

END_SECTIONS = ("See also", "Notes", "References", "Further reading", "External links")
SHORT_DESCRIPTION_SPELLINGS = ("{{{{Short description|{}}}}}", "{{{{short description|{}}}}}",
                               "{{{{Short description | {}}}}}", "{{{{Short description|{}|noreplace}}}}")
CATEGORY = {"person": "People", "city": "Cities", "river": "Rivers", "band": "Bands", "film": "Films",
            "novel": "Novels", "organisation": "Organisations", "country": "Countries"}
LANGUAGES = ("fr", "de", "es", "it", "nl", "pl", "ja", "uk")
#: Title words that say a kind, not which entity ("University of X"): they may stand near a mention.
GENERIC_TITLE_WORDS = frozenset({"of", "the", "a", "in", "to", "river", "university", "museum", "art", "industries",
                                 "courier", "unity", "party", "philharmonic", "orchestra", "letters", "winter",
                                 "house", "return", "nights", "republic"})
#: Forward relations as prose: `{s}` is the subject, the target follows.
FORWARD = {
    "born_in": "{s} grew up in ", "educated_at": "{s} studied at ", "employer": "{s} worked for ",
    "notable_work": "{s} is best known for ", "on_river": "{s} lies on ", "twinned_with": "{s} is twinned with ",
    "flows_through": "{s} flows through ", "headquarters": "{s} is based in ", "founded_by": "{s} was founded by ",
    "origin": "{s} come from ", "member": "The members of {s} have included ", "directed_by": "{s} was directed by ",
    "starring": "{s} stars ", "set_in": "{s} is set in ", "author": "{s} was written by ",
}
#: Incoming relations (from the same block) as prose: `{s}` is the subject, the sources follow.
INCOMING = {
    "born_in": "{s} is the birthplace of ", "educated_at": "The alumni of {s} include ",
    "member_of": "The members of {s} have included ", "employer": "{s} has employed ",
    "on_river": "Towns on {s} include ", "headquarters": "{s} is home to ", "origin": "{s} is home to ",
    "set_in": "{s} is the setting of ", "founded_by": "{s} founded ", "starring": "{s} also appeared in ",
    "directed_by": "{s} also directed ",
}
#: How a connection sentence names a related entity of its target: (before the cue, after it).
CUE = {
    "born_in": ", who grew up in ", "educated_at": ", who studied at ", "member_of": ", a member of ",
    "employer": ", who worked for ", "notable_work": ", known for ", "on_river": " on ",
    "twinned_with": ", twinned with ", "flows_through": " near ", "headquarters": " in ",
    "founded_by": ", founded by ", "origin": " from ", "member": ", with ", "directed_by": " by ",
    "author": " by ", "starring": ", starring ", "set_in": ", set in ",
}
CONNECTIONS = ("{s} is often compared with ", "Critics have linked {s} with ", "{s} has close ties to ",
               "A study of {s} also discusses ", "Guides to {s} also cover ")
_PARENTHESES = re.compile(r" ?\([^()]*\)")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Paragraph:
    number: int
    text: str
    mentions: tuple[Mention, ...]
    lead: bool  # before the first heading: what `--text-scope lead` keeps


@dataclass(frozen=True)
class Article:
    """One entity page: its wikitext and what the pipeline must extract from it."""

    entity: Entity
    wikitext: str
    description: str
    description_source: str
    paragraphs: tuple[Paragraph, ...]
    unlinked: int  # mentions `Composer.guard` turned into plain text


@functools.lru_cache(maxsize=1 << 14)
def leaks(world: World, index: int, surface: str) -> frozenset[str]:
    """Strings whose presence near a mention of `target` written as `surface` would tell a reader who
    knows nothing what knowledge should tell: the facts of the target and of every entity sharing the
    surface, and the words of their titles that the surface lacks (a country, a year, a given name)."""
    target = entity(world, index)
    found: set[str] = set()
    members = target.group.members if target.shared(surface) else (index,)
    shown = {w.casefold() for w in _WORDS.findall(surface)}
    for index in members:
        e = entity(world, index)
        found.update(e.facts.values())
        found.update(w for w in _WORDS.findall(e.title) if w.casefold() not in shown | GENERIC_TITLE_WORDS)
    return frozenset(phrase(f) for f in found)


def phrase(value: str) -> str:
    """A string as its case-folded words joined by one space: how leaks are matched."""
    return " ".join(_WORDS.findall(value.casefold()))


def phrases(text_: str, longest: int = 4) -> set[str]:
    """Every run of up to `longest` words of `text_` (as `phrase` writes them)."""
    words = _WORDS.findall(text_.casefold())
    return {" ".join(words[i:i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)}


def leaked(text_: str, strings: frozenset[str]) -> bool:
    """Whether any of `strings` (as `phrase` writes them) occurs in `text_` as whole words, ignoring
    case (the rule that tests and bench/world_baselines.py check too)."""
    return not strings.isdisjoint(phrases(text_))


@dataclass
class Composer:
    """Per-page state: the page's random stream and the named refs already defined on it."""

    world: World
    subject: Entity
    r: random.Random
    ref_names: list[str] = field(default_factory=list)
    linked: dict[str, Entity] = field(default_factory=dict)  # title -> entity of every mention made
    unlinked: int = 0

    # ----- links -------------------------------------------------------------------------------
    def link(self, target: Entity, *, full: bool = False) -> list[Piece]:
        """A wikilink to `target` in one of the forms editors write, as a mention piece.

        The shown text is usually shorter than the title: a surname, a town without its country,
        a river without "River", an organisation's short name.
        """
        r = self.r
        surface = target.full_name if full or r.random() < _FULL_SHARE[target.type] else target.name
        if target.type == "river" and surface == target.name:
            alternatives = [t for t in target.redirects if t.startswith("River ")]
        elif target.type == "city" and not target.redirects:
            alternatives = []
        else:
            alternatives = list(target.redirects)
        roll = r.random()
        if surface in alternatives and roll < 0.5:
            wikitext = f"[[{surface}]]"  # through a redirect: the alias table learns it
        elif surface == target.title and roll < 0.6:
            wikitext = f"[[{surface}]]"
        elif alternatives and roll < 0.75:
            wikitext = f"[[{r.choice(alternatives)}|{surface}]]"
        elif target.double_redirect and roll < 0.8:
            wikitext = f"[[{target.double_redirect}|{surface}]]"
        elif target.section_redirect and roll < 0.85:
            wikitext = f"[[{target.section_redirect}|{surface}]]"
        elif roll < 0.93:
            wikitext = f"[[{_case_variant(r, target.title)}|{surface}]]"
        else:
            wikitext = f"[[{target.title}|{surface}]]"
        mention = Piece(wikitext, surface, target.title)
        self.linked[target.title] = target
        if target.type not in ("film", "novel"):
            return [mention]
        if r.random() < 0.15:
            inner = wikitext.replace(f"|{surface}]]", f"|''{surface}'']]") if "|" in wikitext else \
                f"[[{wikitext[2:-2]}|''{surface}'']]"
            return [Piece(inner, surface, target.title)]
        return [hidden("''"), mention, hidden("''")]

    def demonym_link(self, country: Entity) -> list[Piece]:
        """The nationality adjective linked to its country, often through a link trail."""
        adjective = demonym_of(self.world, country.index)
        self.linked[country.title] = country
        suffix = adjective[len(country.name):]
        roll = self.r.random()
        if roll < 0.5:
            return [Piece(f"[[{country.title}]]{suffix}", adjective, country.title)]
        if roll < 0.8 or not country.redirects:
            return [Piece(f"[[{country.title}|{adjective}]]", adjective, country.title)]
        return [Piece(f"[[{country.redirects[0]}|{adjective}]]", adjective, country.title)]

    def rel(self, name: str) -> Entity | None:
        index = self.subject.relations.get(name)
        return None if index is None else entity(self.world, index)

    # ----- noise -------------------------------------------------------------------------------
    def ref(self) -> list[Piece]:
        """A citation after a sentence: removed entirely from the plain text."""
        r = self.r
        roll = r.random()
        if self.ref_names and roll < 0.25:
            return [hidden(f'<ref name="{r.choice(self.ref_names)}"/>')]
        site = self.subject.name.replace(" ", "_")
        cite = (f"{{{{cite web|url=https://example.org/{site}/{r.randrange(1000)}|title={self.subject.name}"
                f"|publisher=The {red_link_word(self.world, 'press', self.subject.index)} Review"
                f"|access-date={r.randrange(1, 28)} May {r.randrange(2005, 2024)}}}}}")
        if roll < 0.5:
            name = f"src{len(self.ref_names) + 1}"
            self.ref_names.append(name)
            return [hidden(f'<ref name="{name}">{cite}</ref>')]
        if roll < 0.7:
            target = self.subject.title
            return [hidden(f"<ref>Interview with [[{target}]], {r.randrange(1950, 2020)}, p.&nbsp;4.</ref>")]
        return [hidden(f"<ref>{cite}</ref>")]

    def sentence_end(self) -> list[Piece]:
        pieces = [text(".")]
        roll = self.r.random()
        if roll < 0.3:
            pieces += self.ref()
        elif roll < 0.34:
            pieces.append(hidden("{{citation needed|date=March 2021}}"))
        elif roll < 0.36:
            pieces.append(hidden("<!-- check this date -->"))
        return pieces

    # ----- the leak guard ----------------------------------------------------------------------
    def guard(self, pieces: list[Piece]) -> list[Piece]:
        """Unlink every mention whose paragraph names one of its leaks outside the mention itself.

        Unlinking keeps the plain text as it is, so one pass settles the whole paragraph.
        """
        plain, mentions = render_plain(pieces)
        present = phrases(plain)
        at = iter(mentions)
        guarded = []
        for piece in pieces:
            if piece.entity is not None:
                m = next(at)
                found = leaks(self.world, self.linked[piece.entity].index, m.surface)
                if not found.isdisjoint(present) and leaked(plain[:m.start] + " | " + plain[m.end:], found):
                    self.unlinked += 1
                    piece = text(m.surface)
            guarded.append(piece)
        return guarded


DEMONYM_LINK_SHARE = 0.3
_FULL_SHARE = {"person": 0.3, "city": 0.0, "country": 0.0, "river": 0.25, "organisation": 0.3, "band": 0.3,
               "film": 0.0, "novel": 0.0}


def _case_variant(r: random.Random, title: str) -> str:
    """The same target as some editors type it: lower-case first letter or underscores."""
    if r.random() < 0.5 or " " not in title:
        return title[0].lower() + title[1:]
    return title.replace(" ", "_")


def _cap(value: str) -> str:
    return value[0].upper() + value[1:]


def _name_in_prose(c: Composer, e: Entity, *, full: bool = False) -> list[Piece]:
    """The subject named in its own page's prose (never a link): works in italics."""
    if e.type == "country":
        return [text("the country")]
    if e.type == "river":
        return [text(f"the {e.name}")]
    name = e.full_name if full and e.type == "person" else e.name
    if e.type in ("film", "novel"):
        return [hidden("''"), text(name), hidden("''")]
    return [text(name)]


def _fill(c: Composer, template: str, subject: Entity, *, full: bool = False) -> list[Piece]:
    """`template` with `{s}` replaced by the subject's name; capitalised at a sentence start."""
    before, _, after = template.partition("{s}")
    name = _name_in_prose(c, subject, full=full)
    if not before and name[0].plain:
        name = [text(_cap(name[0].plain)), *name[1:]]
    return [*([text(before)] if before else []), *name, *([text(after)] if after else [])]


def _mention(c: Composer, target: Entity, *, full: bool = False) -> list[Piece]:
    return [*([text("the ")] if target.type == "river" else []), *c.link(target, full=full)]


def _listing(c: Composer, targets: list[Entity]) -> list[Piece]:
    """`A`, `A and B`, `A, B and C`."""
    pieces: list[Piece] = []
    for i, target in enumerate(targets):
        if i:
            pieces.append(text(" and " if i == len(targets) - 1 else ", "))
        pieces += _mention(c, target)
    return pieces


def _sentences(c: Composer, sentences: list[list[Piece]]) -> list[Piece]:
    pieces: list[Piece] = []
    for i, sentence in enumerate(sentences):
        if i:
            pieces.append(newline() if c.r.random() < 0.1 else text(" "))
        pieces += sentence + c.sentence_end()
    return pieces


# ----- the first paragraph: facts ---------------------------------------------------------------
def _lead(c: Composer) -> tuple[list[Piece], list[Piece]]:
    """(first sentence, optional second sentence) of the subject: its facts, its country linked."""
    s, r, f = c.subject, c.r, c.subject.facts
    bold = hidden("'''")
    country = entity(c.world, country_of_block(s.index // BLOCK))
    if s.type == "country":
        nationality = []
    elif r.random() < DEMONYM_LINK_SHARE:
        nationality = c.demonym_link(country)
    else:  # plain: countries would otherwise be the most mentioned entities by far
        nationality = [text(demonym_of(c.world, country.index))]
    second: list[Piece] = []
    if s.type == "person":
        died = f.get("died")
        life = [text(" ("), text(f["born"]), entity_ref("ndash", "–"), text(died), text(")")] if died else \
            [text(f" (born {f['born']})")]
        first = [bold, text(s.full_name), bold, *life, text(" was a " if died else " is a "), *nationality,
                 text(f" {f['style']} {f['occupation']}")]
        return first, second
    if s.type == "country":
        lang = [text(" ("), hidden(f"{{{{lang|{s.details['language']}|"), text(native_spelling(s.name)),
                hidden("}}"), text(")")]
        first = [bold, text(s.name), bold, *lang,
                 text(f" is a country in the {f['region']}, independent since {f['independence']}")]
        second = [text(f"It has a population of about {int(s.details['population']):,}"), entity_ref("nbsp", " "),
                  text("people")]
        return first, second if r.random() < 0.5 else []
    if s.type == "city":
        local = native_spelling(s.name)
        if r.random() < 0.3:  # decomposed accents: the pipeline must apply NFC
            local = unicodedata.normalize("NFD", local)
        code = LANG_CODES[country.index % len(LANG_CODES)]
        lang = [text(" ("), hidden(f"{{{{lang|{code}|"), Piece(local, local), hidden("}}"), text(")")]
        first = [bold, text(s.name), bold, *(lang if r.random() < 0.5 else []), text(" is a "), *nationality,
                 text(f" {f['kind']} founded in {f['founded']}")]
        second = [text(f"It had {int(s.details['population']):,}"), entity_ref("nbsp", " "),
                  text(f"inhabitants in {r.randrange(1990, 2022)}")]
        return first, second if r.random() < 0.5 else []
    if s.type == "river":
        length, unit = f["length"].split(" ")
        first = [text("The "), bold, text(s.title), bold, text(" is a "), *nationality, text(f" river, {length}"),
                 entity_ref("nbsp", " "), text(f"{unit} long, flowing into the {f['mouth']}")]
        return first, second
    if s.type == "organisation":
        the = [text("The ")] if s.title.startswith("The ") else []
        first = [*the, bold, text(s.title.removeprefix("The ")), bold, text(" is a "), *nationality,
                 text(f" {f['sector']} {s.kind} founded in {f['founded']}")]
        second = [text("It employs about 2.5 thousand people "), entity_ref("ndash", "–"),
                  text(" far more than in its early years")]
        return first, second if r.random() < 0.4 else []
    if s.type == "band":
        first = [bold, text(s.title), bold, text(" is a "), *nationality, text(f" {f['genre']} band formed in "
                                                                              f"{f['formed']}")]
        return first, second
    bold_italic = hidden("'''''")
    first = [bold_italic, text(s.name), bold_italic, text(f" is a {f['year']} "), *nationality,
             text(f" {f['genre']} {s.type}")]
    return first, second


# ----- the relation paragraphs ------------------------------------------------------------------
def _relation_sentences(c: Composer) -> list[list[Piece]]:
    """What the subject is related to, and (from its block) what is related to it: one sentence each,
    naming a person subject in full (its surname alone may be shared)."""
    s, w = c.subject, c.world
    sentences: list[list[Piece]] = []
    forward = {k: v for k, v in s.relations.items() if k not in ("citizen_of", "located_in")}
    for relation, index in forward.items():
        target = entity(w, index)
        if relation == "capital":
            sentences.append([text("The capital is "), *_mention(c, target)])
        elif relation in ("member_of", "member"):
            template = FORWARD["member"] if relation == "member" else (
                "{s} played with " if target.type == "band" else "{s} joined ")
            sentences.append([*_fill(c, template, s, full=True), *_mention(c, target)])
        else:
            sentences.append([*_fill(c, FORWARD[relation], s, full=True), *_mention(c, target)])
    if s.type == "country":
        towns = [entity(w, BLOCK * (s.index // BLOCK + k) + 2) for k in range(1, COUNTRY_EVERY)
                 if BLOCK * (s.index // BLOCK + k) + 2 < w.entities]
        if towns:
            sentences.append([text("Other towns include "), *_listing(c, towns[:3])])
    incoming: dict[str, list[Entity]] = {}
    for relation, source in block_incoming(w, s.index):
        if source not in forward.values():
            incoming.setdefault(relation, []).append(entity(w, source))
    for relation, sources in incoming.items():
        if relation in INCOMING:
            sentences.append([*_fill(c, INCOMING[relation], s, full=True), *_listing(c, sources[:3])])
    return sentences


def _cue(c: Composer, target: Entity) -> list[Piece]:
    """A related entity of `target`, so that a shared name can be told apart by knowledge."""
    options = [(k, v) for k, v in sorted(target.relations.items())
               if k in CUE and v != c.subject.index and not _same_group(entity(c.world, v), c.subject)]
    if not options:
        return []
    relation, index = c.r.choice(options)
    return [text(CUE[relation]), *_mention(c, entity(c.world, index))]


def _same_group(a: Entity, b: Entity) -> bool:
    return a.index == b.index or (a.group is not None and a.group == b.group)


def _connection_sentences(c: Composer) -> list[list[Piece]]:
    """The page's round targets (every entity is one page's target per round), each with a cue."""
    s, w = c.subject, c.world
    if s.type == "country":
        return []
    sentences = []
    for index in round_targets(w, s.index):
        target = entity(w, index)
        if target.type == "country" or _same_group(target, s):
            continue
        frame = c.r.choice(CONNECTIONS)
        sentences.append([*_fill(c, frame, s), *_mention(c, target), *_cue(c, target)])
    return sentences


def _paragraphs_of(c: Composer, sentences: list[list[Piece]], sizes: tuple[int, ...]) -> list[list[Piece]]:
    """Sentences grouped into short paragraphs (sizes drawn from `sizes`), each guarded."""
    out = []
    while sentences:
        size = c.r.choice(sizes)
        out.append(c.guard(_sentences(c, sentences[:size])))
        sentences = sentences[size:]
    return out


# ----- body -------------------------------------------------------------------------------------
def _body(c: Composer) -> list[list[Piece]]:
    """One section of subject-only prose and noise links (a red link, the shared name's page)."""
    s, w, r = c.subject, c.world, c.r
    sentences: list[list[Piece]] = []
    if s.type == "person":
        sentences.append([*_fill(c, "{s} spent most of a long career in public life", s)])
    elif s.type in ("city", "country"):
        sentences.append([text("Its economy is based on trade "), entity_ref("amp", "&"), text(" crafts")])
    else:
        sentences.append([*_fill(c, "{s} has been discussed in many guides", s)])
    if r.random() < 0.3:
        word = red_link_word(w, "gazette", s.index)
        sentences.append([*_fill(c, "{s} was reviewed in the ", s), Piece(f"[[{word} Gazette]]", f"{word} Gazette")])
    group = s.group
    if group is not None and group.primary is None and r.random() < 0.5:
        # A link to the disambiguation page itself: visible text, not a mention.
        sentences.append([text("Other entries share the name "), Piece(f"[[{group.name}]]", group.name)])
    paragraphs = [c.guard(_sentences(c, sentences))]
    forward = [entity(w, v) for k, v in sorted(s.relations.items()) if k in FORWARD]
    if forward and r.random() < 0.4:
        target = r.choice(forward)
        paragraphs.append(c.guard(_sentences(c, [[*_fill(c, "Later accounts of {s} return to ", s),
                                                 *_mention(c, target)]])))
    return paragraphs


def _infobox(c: Composer) -> str:
    s = c.subject
    kind = {"person": "person", "city": "settlement", "country": "country", "river": "river",
            "organisation": "organization", "band": "musical artist", "film": "film", "novel": "book"}[s.type]
    lines = [f"{{{{Infobox {kind}", f"| name = {s.name}"]
    for relation, index in sorted(s.relations.items()):
        lines.append(f"| {relation} = [[{entity(c.world, index).title}]]")
    for key, value in sorted({**s.facts, **s.details}.items()):
        lines.append(f"| {key} = {value}")
    if c.r.random() < 0.5:
        lines.append(f"| image = {s.name.replace(' ', '_')}.jpg")
    return "\n".join(lines) + "\n}}"


def _file_piece(c: Composer) -> Piece:
    target = entity(c.world, next(iter(c.subject.relations.values()), c.subject.index))
    prefix = "File" if c.r.random() < 0.7 else "Image"
    return hidden(f"[[{prefix}:{c.subject.name} {c.r.randrange(1, 9)}.jpg|thumb|right|A view related to "
                  f"[[{target.title}|{target.name}]] in {c.r.randrange(1900, 2020)}]]")


def _table(c: Composer) -> str:
    rows = ["{| class=\"wikitable\"", "|+ Selected dates", "|-", "! Year !! Event"]
    for _ in range(c.r.randrange(2, 4)):
        rows += ["|-", f"| {c.r.randrange(1900, 2020)} || Visit to [[{c.subject.title}]] &ndash; report"]
    return "\n".join([*rows, "|}"])


def compose_article(world: World, index: int) -> Article:
    """The article of entity `index` with its paragraphs, mentions and description."""
    subject = entity(world, index)
    c = Composer(world, subject, rng(world.seed, index, "article"))
    r = c.r
    first, second = _lead(c)
    short = short_description(subject)
    blocks: list[Block] = []

    top: list[Piece] = []
    use_short = r.random() < 0.5
    if use_short:
        top.append(hidden(r.choice(SHORT_DESCRIPTION_SPELLINGS).format(short)))
    elif r.random() < 0.05:
        top.append(hidden("{{Short description|none}}"))
    if subject.group is not None and subject.group.primary == index:
        top.append(hidden(f"{{{{Other uses|{subject.group.disambiguation_title}}}}}"))
    if r.random() < 0.7:
        top.append(hidden(_infobox(c)))
    if r.random() < 0.3 and top:  # templates alone in their block: empty after removal, not a paragraph
        blocks.append(Block(tuple(_join_lines(top)), paragraph=True))
        top = []
    lead = c.guard(_sentences(c, [first, *([second] if second else [])]))
    if r.random() < 0.2:
        lead = [_file_piece(c), newline(), *lead]
    blocks.append(Block(tuple([*_join_lines(top), *([newline()] if top else []), *lead]), paragraph=True))
    for pieces in _paragraphs_of(c, _relation_sentences(c), (1, 1, 2)):
        blocks.append(Block(tuple(pieces), paragraph=True))
    for pieces in _paragraphs_of(c, _connection_sentences(c), (1, 1, 2)):
        blocks.append(Block(tuple(pieces), paragraph=True))

    blocks.append(_heading("History" if subject.type != "person" else "Life and career"))
    if r.random() < 0.2:
        blocks.append(Block((hidden(f"{{{{Main|{subject.title}}}}}"),), paragraph=True))
    for number, pieces in enumerate(_body(c)):
        blocks.append(Block(tuple(pieces), paragraph=True))
        if number == 0 and r.random() < 0.25:
            blocks.append(Block((_file_piece(c),), paragraph=True))
    if r.random() < 0.3:
        blocks.append(Block((hidden(_table(c)),), paragraph=False))
    if r.random() < 0.3:
        related = entity(world, next(iter(subject.relations.values()), index))
        blocks.append(Block((hidden(f"* [[{related.title}]] ({r.randrange(1900, 2020)})\n* Other works"),),
                            paragraph=False))
    blocks += _end_sections(c)

    paragraphs = _paragraphs(blocks)
    if use_short:
        description, source = short, "short_description"
    else:
        # The first sentence of paragraph 0 is exactly `first` + "." (what precedes it renders to nothing).
        description, source = lead_description(render_plain([*first, text(".")])[0]), "lead_sentence"
    wikitext = "\n\n".join(b.wikitext for b in blocks) + "\n"
    return Article(subject, wikitext, description, source, paragraphs, c.unlinked)


def lead_description(sentence: str) -> str:
    """DESIGN's lead-sentence description: parenthesised groups (and the space before) removed."""
    return _SPACES.sub(" ", _PARENTHESES.sub("", sentence)).strip()


def _join_lines(pieces: list[Piece]) -> list[Piece]:
    joined: list[Piece] = []
    for i, piece in enumerate(pieces):
        if i:
            joined.append(newline())
        joined.append(piece)
    return joined


def _heading(title: str, level: int = 2) -> Block:
    marks = "=" * level
    return Block((hidden(f"{marks} {title} {marks}"),), paragraph=False)


def _end_sections(c: Composer) -> list[Block]:
    """See also / References / External links, categories and interlanguage links: never text."""
    s, w, r = c.subject, c.world, c.r
    blocks: list[Block] = []
    related = [entity(w, t) for t in round_targets(w, s.index)[:2]]
    if related:
        blocks += [_heading("See also"), Block((hidden("\n".join(f"* [[{e.title}]]" for e in related)),), False)]
    if r.random() < 0.3:
        blocks += [_heading("Further reading"),
                   Block((hidden(f"A longer account of [[{s.title}]] appears in the annual report."),), False)]
    blocks += [_heading("References"), Block((hidden(r.choice(("{{reflist}}", "{{Reflist}}", "<references />"))),),
                                             False)]
    site = s.name.replace(" ", "_")
    blocks += [_heading("External links"),
               Block((hidden(f"* [https://example.org/{site} Official website]\n* {{{{Commons category|{s.name}}}}}"),),
                     False)]
    tail = []
    country = s.relations.get("citizen_of", s.relations.get("located_in"))
    if country is not None:
        tail.append(f"[[Category:{CATEGORY[s.type]} of {entity(w, country).name}]]")
    tail.append(f"[[Category:{s.type.capitalize()} articles]]")
    if s.type == "person":
        first_name, _, family = s.full_name.rpartition(" ")
        tail.insert(0, f"{{{{DEFAULTSORT:{family}, {first_name}}}}}")
    blocks.append(Block((hidden("\n".join(tail)),), False))
    languages = r.sample(LANGUAGES, r.randrange(0, 3))
    if languages:
        blocks.append(Block((hidden("\n".join(f"[[{code}:{s.title}]]" for code in sorted(languages))),), False))
    return blocks


def _paragraphs(blocks: list[Block]) -> tuple[Paragraph, ...]:
    """Number the blocks that render to text, up to the first end section (which never counts)."""
    out: list[Paragraph] = []
    lead = True
    for block in blocks:
        if not block.paragraph:
            heading = block.wikitext.strip("= ")
            if block.wikitext.startswith("=="):
                lead = False
                if heading in END_SECTIONS:
                    break
            continue
        plain, mentions = render_plain(block.pieces)
        if plain:
            out.append(Paragraph(len(out), plain, tuple(mentions), lead))
    return tuple(out)
