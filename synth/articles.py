"""Article wikitext for one entity, composed piece by piece with its answer key.

`compose_article(world, index)` is a pure function of (seed, entity count, index): it reads other
entities only through `world.entity`, which is itself pure. The paragraph/mention truth comes from
the same pieces that make the wikitext (see text.py), never from parsing the result.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

from synth.names import rng
from synth.text import Block, Mention, Piece, entity_ref, hidden, newline, render_plain, text
from synth.world import (
    LANG_CODES,
    Entity,
    World,
    demonym_of,
    entity,
    native_spelling,
    red_link_word,
    round_targets,
)

END_SECTIONS = ("See also", "Notes", "References", "Further reading", "External links")
SHORT_DESCRIPTION_SPELLINGS = ("{{{{Short description|{}}}}}", "{{{{short description|{}}}}}",
                               "{{{{Short description | {}}}}}", "{{{{Short description|{}|noreplace}}}}")
SUBJECT = {"city": "the city", "country": "the country", "river": "the river", "band": "the band",
           "film": "the film", "novel": "the novel"}
ORG_SUBJECT = {"university": "the university", "company": "the company", "museum": "the museum",
               "newspaper": "the newspaper", "party": "the party", "orchestra": "the orchestra"}
CATEGORY = {"person": "People", "city": "Cities", "river": "Rivers", "band": "Bands", "film": "Films",
            "novel": "Novels", "organisation": "Organisations", "country": "Countries"}
LANGUAGES = ("fr", "de", "es", "it", "nl", "pl", "ja", "uk")
_PARENTHESES = re.compile(r" ?\([^()]*\)")
_SPACES = re.compile(r"\s+")
#: Works' lead sentences: (creator relation, year scalar, " by" words, kind, description noun,
#: second relation, the sentence that links it).
_WORKS = {
    "film": ("directed_by", "released", " directed by ", "drama film", "film", "starring", "It stars "),
    "novel": ("author", "published", " by ", "novel", "novel", "set_in", "It is set in "),
}


@dataclass(frozen=True)
class Paragraph:
    number: int
    text: str
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class Article:
    """One entity page: its wikitext and what the pipeline must extract from it."""

    entity: Entity
    wikitext: str
    description: str
    description_source: str
    paragraphs: tuple[Paragraph, ...]


@dataclass
class Composer:
    """Per-page state: the page's random stream and the named refs already defined on it."""

    world: World
    subject: Entity
    r: random.Random
    ref_names: list[str] = field(default_factory=list)

    # ----- links -------------------------------------------------------------------------------
    def link(self, target: Entity, *, lead: bool = False, italic: bool = False) -> list[Piece]:
        """A wikilink to `target` in one of the forms editors write, as a mention piece.

        Lead sentences avoid redirect titles such as "Aldor K. Vance" (their dot would split the
        sentence that becomes the description).
        """
        r = self.r
        name, title = target.name, target.title
        roll = r.random()
        if target.type == "person" and roll < 0.25:
            wikitext, surface = f"[[{title}|{target.short_name}]]", target.short_name
        elif title != name:
            variant = _case_variant(r, title) if roll < 0.45 else title
            if target.redirects and roll > 0.85:
                variant = target.redirects[0]
            wikitext, surface = f"[[{variant}|{name}]]", name
        elif target.redirects and roll > 0.8 and not lead:
            wikitext, surface = f"[[{target.redirects[0]}]]", target.redirects[0]
        elif target.double_redirect and roll > 0.7:
            wikitext, surface = f"[[{target.double_redirect}|{name}]]", name
        elif target.section_redirect and roll > 0.6:
            wikitext, surface = f"[[{target.section_redirect}|{name}]]", name
        elif roll < 0.4 and " " in title:
            wikitext, surface = f"[[{_case_variant(r, title)}|{name}]]", name
        else:
            wikitext, surface = f"[[{title}]]", title
        mention = Piece(wikitext, surface, target.title)
        if not italic:
            return [mention]
        if r.random() < 0.15:
            inner = wikitext.replace(f"|{surface}]]", f"|''{surface}'']]") if "|" in wikitext else \
                f"[[{wikitext[2:-2]}|''{surface}'']]"
            return [Piece(inner, surface, target.title)]
        return [hidden("''"), mention, hidden("''")]

    def demonym_link(self, country: Entity) -> list[Piece]:
        """The nationality adjective linked to its country, often through a link trail."""
        adjective = demonym_of(self.world, country.index)
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

    def year_range(self, start: int) -> list[Piece]:
        end = start + self.r.randrange(2, 30)
        dash = entity_ref("ndash", "–") if self.r.random() < 0.7 else text("–")
        return [text(str(start)), dash, text(str(end))]


def _case_variant(r: random.Random, title: str) -> str:
    """The same target as some editors type it: lower-case first letter or underscores."""
    if r.random() < 0.5:
        return title[0].lower() + title[1:]
    return title.replace(" ", "_")


def _cap(value: str) -> str:
    return value[0].upper() + value[1:]


def _subject_ref(c: Composer, start: bool) -> str:
    """How a connection sentence names the page's own subject."""
    s = c.subject
    if s.type == "person" or c.r.random() < 0.4:
        phrase = s.short_name
    elif s.type == "organisation":
        phrase = ORG_SUBJECT[s.scalars["kind"]]
    else:
        phrase = SUBJECT[s.type]
    return _cap(phrase) if start else phrase


def _connection(c: Composer, target: Entity) -> list[Piece]:
    """A sentence that mentions `target` with a context cue for its type (for disambiguation)."""
    r, w = c.r, c.world
    year_ = str(r.randrange(1900, 2022))
    if target.type == "person":
        if r.random() < 0.5:
            return [text(f"{_subject_ref(c, True)} was praised by the {target.occupation} "), *c.link(target),
                    text(f" in {year_}")]
        return [text(f"The {target.occupation} "), *c.link(target),
                text(f" wrote an essay about {_subject_ref(c, False)}")]
    if target.type == "city":
        if r.random() < 0.5:
            return [text("A festival in the city of "), *c.link(target),
                    text(f" honoured {_subject_ref(c, False)} in {year_}")]
        return [text(f"{_subject_ref(c, True)} is well known in the city of "), *c.link(target)]
    if target.type == "country":
        if r.random() < 0.5:
            return [text(f"{_subject_ref(c, True)} is popular among "), *c.demonym_link(target), text(" audiences")]
        return [text(f"{_subject_ref(c, True)} received a national award from the country of "), *c.link(target),
                text(f" in {year_}")]
    if target.type == "river":
        return [text(f"A painting of {_subject_ref(c, False)} beside the river "), *c.link(target),
                text(" hangs in a private collection")]
    if target.type == "organisation":
        kind = target.scalars["kind"]
        cue = "" if kind in target.name.lower() else f"{kind} "
        return [text(f"{_subject_ref(c, True)} was the subject of a report by the {cue}"), *c.link(target)]
    if target.type == "band":
        return [text(f"The {target.scalars['genre']} band "), *c.link(target),
                text(f" recorded a song about {_subject_ref(c, False)}")]
    if target.type == "film":
        released = target.scalars["released"]
        return [text(f"{_subject_ref(c, True)} appears in the {released} film "), *c.link(target, italic=True)]
    author = target.relations.get("author")
    by = [text(" by "), text(entity(w, author).name)] if author is not None else []
    return [text(f"{_subject_ref(c, True)} is mentioned in the novel "), *c.link(target, italic=True), *by]


def _red_link(c: Composer) -> list[Piece]:
    """A link to a page that does not exist: visible text, never a mention."""
    word = red_link_word(c.world, "gazette", c.subject.index)
    return [text(f"{_subject_ref(c, True)} was reviewed in the "), Piece(f"[[{word} Gazette]]", f"{word} Gazette")]


def _sentences(c: Composer, sentences: list[list[Piece]]) -> list[Piece]:
    pieces: list[Piece] = []
    for i, sentence in enumerate(sentences):
        if i:
            pieces.append(newline() if c.r.random() < 0.1 else text(" "))
        pieces += sentence + c.sentence_end()
    return pieces


# ----- leads ------------------------------------------------------------------------------------
def _lead(c: Composer) -> tuple[list[Piece], list[Piece], str]:
    """(first sentence, optional second sentence, short description) of the subject."""
    s, w, r = c.subject, c.world, c.r
    bold = hidden("'''")
    if s.type == "person":
        born = s.scalars["born"]
        died = s.scalars.get("died")
        country = c.rel("citizen_of")
        life = [text(" ("), text(born), entity_ref("ndash", "–"), text(died), text(")")] if died else \
            [text(f" (born {born})")]
        verb = " was a " if died else " is a "
        nationality = [*c.demonym_link(country), text(" ")] if country else []
        first = [bold, text(s.name), bold, *life, text(verb), *nationality, text(s.occupation)]
        work = c.rel("notable_work")
        pronoun = "She" if s.scalars["gender"] == "female" else "He"
        second = [text(f"{pronoun} is best known for "), *c.link(work, italic=True)] if work else []
        adjective = demonym_of(w, country.index) + " " if country else ""
        years = f"{born[-4:]}–{died[-4:]}" if died else f"born {born[-4:]}"
        return first, second, f"{adjective}{s.occupation} ({years})"
    if s.type == "country":
        local = native_spelling(s.name)
        lang = [text(" ("), hidden(f"{{{{lang|{s.scalars['language']}|"), text(local), hidden("}}"), text(")")]
        first = [bold, text(s.name), bold, *lang, text(f" is a country in the {s.scalars['region']}")]
        capital = c.rel("capital")
        second = [text("Its capital is "), *c.link(capital)] if capital else []
        return first, second, f"Country in the {s.scalars['region']}"
    if s.type == "city":
        country = c.rel("located_in")
        lang_code = LANG_CODES[country.index % len(LANG_CODES)] if country else "vl"
        local = native_spelling(s.name)
        if r.random() < 0.3:  # decomposed accents: the pipeline must apply NFC
            local = _decomposed(local)
        lang = [text(" ("), hidden(f"{{{{lang|{lang_code}|"), Piece(local, local), hidden("}}"), text(")")]
        is_capital = country is not None and country.relations.get("capital") == s.index
        role = " is the capital of " if is_capital else " is a city in "
        first = [bold, text(s.name), bold, *(lang if r.random() < 0.5 else []), text(role), *c.link(country, lead=True)]
        river = c.rel("on_river")
        second = [text("It lies on the "), *c.link(river)] if river else []
        return first, second, f"Capital of {country.name}" if is_capital else f"City in {country.name}"
    if s.type == "river":
        country = c.rel("located_in")
        first = [text("The "), bold, text(s.name), bold, text(" is a river in "), *c.link(country, lead=True)]
        city = c.rel("flows_through")
        second = [text("It flows through "), *c.link(city)] if city and city.index != s.index else []
        return first, second, f"River in {country.name}"
    if s.type == "organisation":
        kind, city = s.scalars["kind"], c.rel("headquarters")
        the = [text("The ")] if s.name.startswith(("University", "Museum")) else []
        name = s.name[4:] if s.name.startswith("The ") else s.name
        the = [text("The ")] if s.name.startswith("The ") else the
        first = [*the, bold, text(name), bold, text(f" is a {kind} based in "), *c.link(city, lead=True)]
        founder = c.rel("founded_by")
        second = [text(f"It was founded in {s.scalars['founded']} by "), *c.link(founder)] if founder else []
        return first, second, f"{_cap(kind)} in {city.name}"
    if s.type == "band":
        city = c.rel("origin")
        country = entity(w, city.relations["located_in"])
        genre = s.scalars["genre"]
        first = [bold, text(s.name), bold, text(" is a "), *c.demonym_link(country), text(f" {genre} band from "),
                 *c.link(city, lead=True)]
        member = c.rel("member")
        second = [text("Its members have included "), *c.link(member)] if member else []
        return first, second, f"{demonym_of(w, country.index)} {genre} band"
    # works: film or novel, title in bold italics
    creator_rel, year_key, by_word, kind, noun, other_rel, other_lead = _WORKS[s.type]
    bold_italic = hidden("'''''")
    creator, year_ = c.rel(creator_rel), s.scalars[year_key]
    by = [text(by_word), *c.link(creator, lead=True)] if creator else []
    first = [bold_italic, text(s.name), bold_italic, text(f" is a {year_} {kind}"), *by]
    other = c.rel(other_rel)
    second = [text(other_lead), *c.link(other)] if other else []
    return first, second, f"{year_} {noun}" + (f" by {creator.name}" if creator else "")


def _decomposed(value: str) -> str:
    return unicodedata.normalize("NFD", value)


# ----- body -------------------------------------------------------------------------------------
def _body_sections(c: Composer) -> list[tuple[str, list[list[list[Piece]]]]]:
    """Sections as (heading, paragraphs), each paragraph a list of 1-3 sentences."""
    s, w, r = c.subject, c.world, c.r
    own: list[list[Piece]] = []
    if s.type == "person":
        pronoun = "She" if s.scalars["gender"] == "female" else "He"
        city = c.rel("born_in")
        if city:
            own.append([text(f"{s.short_name} was born in "), *c.link(city), text(f" in {s.scalars['born'][-4:]}")])
        for relation, phrase in (("educated_at", f"{pronoun} studied at the "), ("member_of", f"{pronoun} joined "),
                                 ("employer", f"{pronoun} worked at the ")):
            target = c.rel(relation)
            if target:
                cue = "the band " if target.type == "band" else "the "
                lead = [text(phrase)] if relation != "member_of" else [text(f"{pronoun} joined {cue}")]
                own.append([*lead, *c.link(target), text(" in "), *c.year_range(int(s.scalars["born"][-4:]) + 20)])
        work = c.rel("notable_work")
        if work:
            verb = "wrote the novel " if work.type == "novel" else "worked on the film "
            own.append([text(f"In {work.scalars.get('published', work.scalars.get('released'))}, {pronoun.lower()} "
                             f"{verb}"), *c.link(work, italic=True)])
    elif s.type == "country":
        own.append([text(f"{s.name} became independent in {s.scalars['founded']}")])
        own.append([text(f"It has a population of about {int(s.scalars['population']):,}"), entity_ref("nbsp", " "),
                    text("people")])
        word = red_link_word(w, "language", s.index)
        own.append([text("The official language is "),
                    Piece(f"[[{word} language|{demonym_of(w, s.index)}]]", demonym_of(w, s.index))])
    elif s.type == "city":
        local = native_spelling(s.name)
        code = s.scalars.get("language", "vl")
        own.append([text(f"{s.name} was founded in {s.scalars['founded']} and is locally known as "),
                    hidden(f"{{{{lang|{code}|"), text(local), hidden("}}")])
        own.append([text(f"The city had {int(s.scalars['population']):,}"), entity_ref("nbsp", " "),
                    text(f"inhabitants in {r.randrange(1990, 2022)}")])
        own.append([text("Its economy is based on trade "), entity_ref("amp", "&"), text(" crafts")])
    elif s.type == "river":
        own.append([text(f"The river is {s.scalars['length_km']}"), entity_ref("nbsp", " "), text("km long")])
        country = c.rel("located_in")
        if country:
            own.append([text("It is the longest river of "), *c.link(country)])
    elif s.type == "organisation":
        city = c.rel("headquarters")
        own.append([text(f"In {int(s.scalars['founded']) + r.randrange(1, 40)}, it opened a second office in "),
                    *c.link(city)])
        own.append([text("It employs about 2.5 thousand people "), entity_ref("ndash", "–"),
                    text(" far more than in its early years")])
    elif s.type == "band":
        own.append([text(f"The band was formed in {s.scalars['formed']}")])
        member = c.rel("member")
        if member:
            own.append([text(f"The {member.occupation} "), *c.link(member), text(" joined in "),
                        *c.year_range(int(s.scalars["formed"]))])
    elif s.type == "film":
        city = c.rel("set_in")
        if city:
            own.append([text("The film is set in the city of "), *c.link(city)])
        own.append([text(f"Filming took place over {r.randrange(20, 90)} days in {s.scalars['released']}")])
    elif s.type == "novel":
        author = c.rel("author")
        if author:
            own.append([text(f"{author.short_name} wrote the book over {r.randrange(2, 9)} years")])
        own.append([text("Dr. Orlen, a critic, called it "), hidden("''"), text("a quiet masterpiece"), hidden("''")])
    connections = [_connection(c, entity(w, t)) for t in round_targets(w, s.index)]
    if r.random() < 0.3:
        connections.append(_red_link(c))
    group = s.group
    if group is not None and group.kind == "word" and group.primary is None and r.random() < 0.5:
        # A link to the disambiguation page itself: visible text, not a mention.
        connections.append([text("Several other places and works are also called "),
                            Piece(f"[[{group.name}]]", group.name)])
    return _group("History" if s.type != "person" else "Life and career", own, r) + \
        _group("Legacy", connections, r)


def _group(heading: str, sentences: list[list[Piece]], r: random.Random) -> list[tuple[str, list]]:
    """Split sentences into paragraphs of 1-3 sentences under one heading."""
    paragraphs = []
    while sentences:
        size = r.choice((1, 2, 2, 3))
        paragraphs.append(sentences[:size])
        sentences = sentences[size:]
    return [(heading, paragraphs)] if paragraphs else []


def _infobox(c: Composer) -> str:
    s = c.subject
    kind = {"person": "person", "city": "settlement", "country": "country", "river": "river",
            "organisation": "organization", "band": "musical artist", "film": "film", "novel": "book"}[s.type]
    lines = [f"{{{{Infobox {kind}", f"| name = {s.name}"]
    for relation, index in sorted(s.relations.items()):
        lines.append(f"| {relation} = [[{entity(c.world, index).title}]]")
    for key, value in sorted(s.scalars.items()):
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
    first, second, short = _lead(c)
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
    lead_sentences = [first] + ([second] if second else [])
    lead = _sentences(c, lead_sentences)
    if r.random() < 0.2:
        lead = [_file_piece(c), newline(), *lead]
    blocks.append(Block(tuple([*_join_lines(top), *([newline()] if top else []), *lead]), paragraph=True))

    for heading, paragraphs in _body_sections(c):
        blocks.append(_heading(heading))
        if r.random() < 0.2:
            blocks.append(Block((hidden(f"{{{{Main|{subject.title}}}}}"),), paragraph=True))
        for number, sentences in enumerate(paragraphs):
            blocks.append(Block(tuple(_sentences(c, sentences)), paragraph=True))
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
    return Article(subject, wikitext, description, source, paragraphs)


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
        first_name, _, family = s.name.rpartition(" ")
        tail.insert(0, f"{{{{DEFAULTSORT:{family}, {first_name}}}}}")
    blocks.append(Block((hidden("\n".join(tail)),), False))
    languages = r.sample(LANGUAGES, r.randrange(0, 3))
    if languages:
        blocks.append(Block((hidden("\n".join(f"[[{code}:{s.title}]]" for code in sorted(languages))),), False))
    return blocks


def _paragraphs(blocks: list[Block]) -> tuple[Paragraph, ...]:
    """Number the blocks that render to text, up to the first end section (which never counts)."""
    out: list[Paragraph] = []
    for block in blocks:
        if not block.paragraph:
            heading = block.wikitext.strip("= ")
            if block.wikitext.startswith("==") and heading in END_SECTIONS:
                break
            continue
        plain, mentions = render_plain(block.pieces)
        if plain:
            out.append(Paragraph(len(out), plain, tuple(mentions)))
    return tuple(out)
