"""Wikitext → plain paragraphs and mentions; site naming rules; lead-sentence descriptions."""

from __future__ import annotations

import pytest

from pipeline.site import Site
from pipeline.wikitext import lead_sentence, parse_article, redirect_target

EN = Site(dbname="enwiki", namespace_names=(("Talk", 1), ("File", 6), ("Template", 10), ("Category", 14)))


def paragraphs(text: str, **kwargs):
    return parse_article(text, EN, **kwargs).paragraphs


def mentions(text: str):
    (p,) = paragraphs(text)
    for m in p.mentions:
        assert p.text[m.start : m.end] == m.surface
    return p.text, [(m.surface, m.target) for m in p.mentions]


def test_links_keep_anchor_text_and_normalised_target():
    text, found = mentions("A [[political philosophy]] of [[self-governance|self-governed]] [[apple]]s.")
    assert text == "A political philosophy of self-governed apples."
    assert found == [("political philosophy", "Political philosophy"), ("self-governed", "Self-governance"),
                     ("apples", "Apple")]


def test_underscores_fragments_and_case_are_normalised():
    _, found = mentions("See [[velor_city#History|the city]] and [[ Foo  bar ]].")
    assert found == [("the city", "Velor city"), ("Foo bar", "Foo bar")]


def test_files_categories_and_interlanguage_links_disappear():
    text, found = mentions("[[File:X.jpg|thumb|A [[caption]] here]]Text [[Image:Y.png]]about "
                           "[[Category:Things]][[fr:Chose]] [[wikt:thing|thing]] [[:Category:Things|cats]].")
    assert text == "Text about thing cats."
    assert found == []


def test_refs_templates_comments_and_tables_are_removed():
    text, found = mentions(
        "Alpha<ref>cite [[Beta]]</ref> beta<ref name=\"x\"/> {{citation needed|date=May 2020}}gamma"
        "<!-- hidden [[Delta]] --> {{lang|fr|texte}} &amp; &nbsp;delta&ndash;x."
    )
    assert text == "Alpha beta gamma texte & delta–x."
    assert found == []
    text, _ = mentions("Crops<ref name=factb։\nNickel<ref name=x>cite</ref>.")
    assert text == "Crops Nickel."
    (p,) = paragraphs("{| class=wikitable\n|-\n| [[Cell]] || x\n|}\nAfter the [[table]].")
    assert p.text == "After the table."


def test_paragraphs_are_blank_line_blocks_and_lists_headings_are_not():
    text = ("{{Infobox person\n| name = X\n}}\n'''X''' is a [[painter]].\nSame paragraph.\n\n"
            "* a list [[item]]\n\n== Life ==\nSecond paragraph.\n\n== See also ==\n* [[Other]]\n\nNot text.")
    found = paragraphs(text)
    assert [p.text for p in found] == ["X is a painter. Same paragraph.", "Second paragraph."]
    assert [p.index for p in found] == [0, 1]
    assert [p.text for p in paragraphs(text, scope="lead")] == ["X is a painter. Same paragraph."]


def test_short_description_variants():
    def short(text):
        return parse_article(text + "\nBody.", EN).short_description

    assert short("{{Short description|Fictional character}}") == "Fictional character"
    assert short("{{short description | Velorian [[painter]] (1931–1999) }}") == "Velorian painter (1931–1999)"
    assert short("{{Short description|Town in {{lang|fr|Provence}}|noreplace}}") == "Town in Provence"
    article = parse_article("{{Short description|none}}\nBody.", EN)
    assert article.short_description is None and article.short_description_none


def test_unbalanced_markup_is_removed_and_counted():
    article = parse_article("Start [[broken link and {{unclosed template\n\nNext '''bold text.", EN)
    assert [p.text for p in article.paragraphs] == ["Start broken link and", "Next bold text."]
    assert article.unbalanced_markup >= 1
    assert all("[[" not in p.text and "{{" not in p.text for p in article.paragraphs)


def test_disambiguation_magic_word_and_redirect_in_any_language():
    assert parse_article("__DISAMBIG__\n'''Mercury''' may be:", EN).disambiguation_magic
    assert redirect_target("#đổi [[Hà Nội]]") == "Hà Nội"
    assert redirect_target("#ПЕРЕНАПРАВЛЕННЯ [[Київ#Історія]]") == "Київ"
    assert redirect_target("Not a redirect") is None


@pytest.mark.parametrize(
    ("language", "paragraph", "sentence"),
    [
        ("en", "Aldor Vance (born 12 March 1931) is a Velorian painter. He lived.",
         "Aldor Vance is a Velorian painter."),
        ("en", "Mercury (/ˈmɜːrkjʊri/; Latin: Mercurius) is a planet (see below). It is small.",
         "Mercury is a planet."),
        ("hy", "Երևան (հիմնադրվել է մ.թ.ա. 782), Հայաստանի մայրաքաղաքը։ Այն մեծ է։", "Երևան, Հայաստանի մայրաքաղաքը։"),
        ("ja", "東京（とうきょう）は日本の首都。人口は多い。", "東京は日本の首都。"),
    ],
)
def test_lead_sentence(language, paragraph, sentence):
    assert lead_sentence(paragraph, language) == sentence


def test_site_rules():
    site = Site(dbname="xwiki", namespace_names=(("Файл", 6), ("Категорія", 14)))
    assert site.parse_link_target("Image:X.png").namespace == 6  # canonical alias works everywhere
    assert site.parse_link_target("файл:X.png").namespace == 6
    assert site.parse_link_target("Категорія:Міста").namespace == 14
    assert site.parse_link_target("de:Berlin").interwiki == "interlanguage"
    assert site.parse_link_target("Re: Zero").namespace == 0
    assert site.normalize("élan_vital#x") == "Élan vital"
    assert Site(case="case-sensitive").normalize("iPhone") == "iPhone"
