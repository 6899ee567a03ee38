"""All pages of the dump and the truth records, per entity index.

Page ids are arithmetic (FIRST_ID + SLOTS * index + slot) so that a page's id, like its text,
depends only on (seed, entity count, index). Besides the article, an index may own redirects,
disambiguation pages (its group's first member), and noise pages in other namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from synth.articles import Article, compose_article
from synth.names import rng
from synth.world import Entity, Group, World, demonym_of, entity

FIRST_ID = 100
SLOTS = 10  # page-id slots per entity index
SITENAME = "Kilmpedia"
NAMESPACES: tuple[tuple[int, str], ...] = (
    (-2, "Media"), (-1, "Special"), (0, ""), (1, "Talk"), (2, "User"), (3, "User talk"), (4, SITENAME),
    (5, f"{SITENAME} talk"), (6, "File"), (7, "File talk"), (8, "MediaWiki"), (9, "MediaWiki talk"),
    (10, "Template"), (11, "Template talk"), (12, "Help"), (13, "Help talk"), (14, "Category"),
    (15, "Category talk"), (100, "Portal"), (101, "Portal talk"), (118, "Draft"), (119, "Draft talk"),
    (828, "Module"), (829, "Module talk"),
)


@dataclass(frozen=True)
class Page:
    """One `<page>` of the export."""

    page_id: int
    title: str
    ns: int
    text: str
    redirect: str | None = None  # the `<redirect title=...>` target (no fragment), for redirect pages
    model: str = "wikitext"
    format: str = "text/x-wiki"


def _template(page_id: int, name: str, text: str) -> Page:
    return Page(page_id, f"Template:{name}", 10, text)


def header_pages() -> list[Page]:
    """Templates and other non-article pages written before the entities.

    `Template:Hndis`, the second disambiguation template, is written after all entities
    (footer_pages): a reader cannot know which pages are disambiguations until the end.
    """
    dmbox = ("{{dmbox|type=disambig|text=This [[Help:Disambiguation|disambiguation]] page lists articles "
             "associated with the title '''{{PAGENAME}}'''.}}")
    return [
        _template(1, "Disambiguation", f"{dmbox}__DISAMBIG__<noinclude>\n[[Category:Disambiguation templates]]"
                                       "\n</noinclude>"),
        _template(2, "Short description", "{{#ifeq:{{lc:{{{1|}}}}}|none||<div class=\"shortdescription\">"
                                          "{{{1}}}</div>}}<noinclude>\n{{Documentation}}\n</noinclude>"),
        _template(3, "Infobox person", "{{Infobox\n| above = {{{name|{{PAGENAME}}}}}\n| label1 = Born\n"
                                       "| data1 = {{{born|}}}\n}}<noinclude>{{Documentation}}</noinclude>"),
        _template(4, "Cite web", "<includeonly>{{#invoke:Citation|web}}</includeonly><noinclude>"
                                 "{{Documentation}}</noinclude>"),
        _template(5, "Reflist", "<div class=\"reflist\">{{#tag:references|{{{refs|}}}}}</div>"),
        _template(6, "Lang", "<span lang=\"{{{1}}}\">{{{2}}}</span><noinclude>{{Documentation}}</noinclude>"),
        _template(7, "Citation needed", "<sup>[''[[Help:Citation|citation needed]]'']</sup>"),
        Page(8, f"{SITENAME}:About", 4, f"'''{SITENAME}''' is a fictional encyclopedia used to test the kilm "
                                        "pipeline.\n\nIts articles describe a world that does not exist."),
        Page(9, "Help:Contents", 12, "This page explains how to edit [[Help:Disambiguation|disambiguation]] "
                                     "pages.\n\n== Links ==\n\nUse [[Main Page]] to start."),
        Page(10, "Module:Citation", 828, "local p = {}\n\nfunction p.web(frame)\n  return frame.args.title\nend\n\n"
                                         "return p\n", model="Scribunto", format="text/plain"),
    ]


def footer_pages(world: World) -> list[Page]:
    return [_template(FIRST_ID + SLOTS * world.entities, "Hndis",
                      "{{dmbox|type=disambig|text=This page lists people with the same name.}}"
                      "<noinclude>\n[[Category:Disambiguation templates]]\n</noinclude>__DISAMBIG__")]


def surface_forms(world: World, e: Entity) -> list[str]:
    """Every anchor text the generator may write for a mention of `e`."""
    forms = {e.name, e.full_name}
    if e.type == "country":
        forms.add(demonym_of(world, e.index))
    return sorted(forms)


def _redirect_pages(e: Entity, base: int, r) -> list[Page]:
    def redirect(slot: int, title: str, target: str, fragment: str = "") -> Page:
        keyword = r.choice(("#REDIRECT", "#REDIRECT", "#redirect", "#Redirect"))
        tail = r.choice(("", "", "\n\n{{Redirect category shell|\n{{R from alternative name}}\n}}"))
        return Page(base + slot, title, 0, f"{keyword} [[{target}{fragment}]]{tail}", redirect=target)

    pages = [redirect(1, title, e.title) for title in e.redirects[:1]]
    if e.double_redirect:
        pages.append(redirect(2, e.double_redirect, e.redirects[0]))
    if e.section_redirect:
        pages.append(redirect(3, e.section_redirect, e.title, "#Life and career"))
    return pages


def _entry(world: World, e: Entity) -> str:
    """One line of a disambiguation page."""
    if e.type == "person":
        return f"* [[{e.title}]] (born {e.facts['born']}), {e.facts['nationality']} {e.facts['occupation']}"
    if e.type in ("film", "novel"):
        return f"* ''[[{e.title}]]'', a {e.facts['year']} {e.type}"
    country = entity(world, e.relations["located_in"])
    return f"* [[{e.title}]], a town in [[{country.title}]]"


def disambiguation_page(world: World, group: Group, page_id: int) -> Page:
    members = [entity(world, i) for i in group.members]
    template = "{{hndis|" + group.name + "}}" if group.kind == "family" else \
        rng(world.seed, page_id, "dab").choice(("{{disambiguation}}", "{{Disambiguation}}"))
    lines = [f"'''{group.name}''' may refer to:", "", *(_entry(world, e) for e in members)]
    if group.kind != "family":
        lines += ["", "== See also ==", "", f"* [[{group.name} (surname)]]"]
    return Page(page_id, group.disambiguation_title, 0, "\n".join([*lines, "", template]) + "\n")


def _noise_pages(world: World, e: Entity, base: int) -> list[Page]:
    """Talk, user, category and file pages: other namespaces the pipeline must skip."""
    r = rng(world.seed, e.index, "noise")
    user = f"{e.name.split(' ')[0]}{r.randrange(10, 99)}"
    pages = []
    if r.random() < 0.15:
        pages.append(Page(base + 6, f"Talk:{e.title}", 1,
                          f"== Sources ==\n\nThe dates in [[{e.title}|this article]] need a source. "
                          f"[[User:{user}|{user}]] ([[User talk:{user}|talk]]) 10:{r.randrange(10, 59)}, "
                          f"3 May 2021 (UTC)\n:I added one to the [[{e.title}#References|references]]. ~~~~\n"))
    if r.random() < 0.03:
        pages.append(Page(base + 7, f"User:{user}", 2, f"I write about [[{e.title}]] and its neighbours.\n\n"
                                                        "{{User en}}\n"))
    if e.type == "country":
        pages.append(Page(base + 8, f"Category:People of {e.name}", 14,
                          f"People associated with [[{e.title}]].\n\n[[Category:{e.name}]]\n"))
    if r.random() < 0.04:
        pages.append(Page(base + 9, f"File:{e.name} 1.jpg", 6,
                          f"== Summary ==\n{{{{Information|description=A view of [[{e.title}]]|source=own work}}}}"
                          "\n\n== Licensing ==\n{{self|cc-by-sa-4.0}}\n"))
    return pages


def _attributes(world: World, e: Entity) -> dict[str, object]:
    """Facts and details as strings (the description states the facts), relations as titles."""
    attributes: dict[str, object] = dict(sorted({**e.facts, **e.details}.items()))
    for name, index in sorted(e.relations.items()):
        attributes[name] = {"entity": entity(world, index).title}
    return attributes


def truth_records(world: World, article: Article, page_id: int) -> Iterator[dict]:
    """Entity, paragraph and mention records of one article, in page order."""
    e = article.entity
    yield {"kind": "entity", "title": e.title, "page_id": page_id, "type": e.type,
           "attributes": _attributes(world, e), "description": article.description,
           "description_source": article.description_source, "surface_forms": surface_forms(world, e),
           "redirects": e.all_redirects()}
    for paragraph in article.paragraphs:
        yield {"kind": "paragraph", "page_title": e.title, "paragraph": paragraph.number, "text": paragraph.text,
               "lead": paragraph.lead}
        for m in paragraph.mentions:
            yield {"kind": "mention", "page_title": e.title, "paragraph": paragraph.number, "start": m.start,
                   "end": m.end, "surface": m.surface, "entity": m.entity}


def entity_pages(world: World, index: int) -> tuple[list[Page], list[dict]]:
    """The pages owned by entity `index` and its truth records."""
    base = FIRST_ID + SLOTS * index
    article = compose_article(world, index)
    e = article.entity
    pages = [Page(base, e.title, 0, article.wikitext)]
    pages += _redirect_pages(e, base, rng(world.seed, index, "redirects"))
    if e.group is not None and e.group.members[0] == index:
        pages.append(disambiguation_page(world, e.group, base + 4))
    pages += _noise_pages(world, e, base)
    return pages, list(truth_records(world, article, base))
