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


UK = Site(dbname="ukwiki", language="uk", namespace_names=(("Файл", 6), ("Шаблон", 10), ("Категорія", 14)))
VI = Site(dbname="viwiki", language="vi", namespace_names=(("Tập tin", 6), ("Bản mẫu", 10), ("Thể loại", 14)))
HY = Site(dbname="hywiki", language="hy", namespace_names=(("Պատկեր", 6), ("Կաղապար", 10)))


def rendered(text: str, site: Site = EN) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every paragraph's text and mentions; mention offsets checked on the way."""
    found = []
    for p in parse_article(text, site).paragraphs:
        for m in p.mentions:
            assert p.text[m.start : m.end] == m.surface
        found.append((p.text, [(m.surface, m.target) for m in p.mentions]))
    return found


@pytest.mark.parametrize(
    ("wikitext", "site", "text"),
    [
        ("'''Alabama''' ({{IPAc-en|æ|l|ə}}) is a [[U.S. state|state]].", EN, "Alabama is a state."),
        ("'''Achilles''' ({{IPAc-en|ə|k}}; {{lang-grc|Ἀχιλλεύς}}, ''Akhilleus'', {{IPA-el|akʰ|pron}}) was a "
         "[[hero]].", EN, "Achilles (Ἀχιλλεύς, Akhilleus) was a hero."),
        ("'''Andorra''' ({{IPAc-en|æ}}; {{IPA-ca|ən}}, {{IPA-ca|an}}), officially [[Andorra]].", EN,
         "Andorra, officially Andorra."),
        ("'''Aruba''' ( {{IPAc-en|ə}} ; {{IPA-nl|aː}} ) is a [[country]].", EN, "Aruba is a country."),
        ("'''Бурко''' ({{нар}} {{ДН|14|3|1854|2}}, [[Гайсин]], [[Україна]]&nbsp;— {{ДС|26|5|1912|13}}) — "
         "[[лікар]].", UK, "Бурко (14 березня 1854, Гайсин, Україна — 26 травня 1912) — лікар."),
        ("'''Бурко''' ({{невідомий шаблон|x}}, [[Хомутинці]], … — {{ще один}},) — лікар.", UK,
         "Бурко (Хомутинці, …) — лікар."),
        ("'''Իսպաներեն''' ({{lang-es|}}; {{IPA-es|es}}), [[լեզու]]։", HY, "Իսպաներեն, լեզու։"),
        ("A, {{x}}, B and C {{y}}, D {{z}}.", EN, "A, B and C, D."),
        ("{{coord|1|2}}, born in [[Velor]].", EN, "born in Velor."),
        ("北京（{{IPA|x}}）是中国的[[首都]]。", EN, "北京是中国的首都。"),
        ("CO<sub>2</sub>,<ref>x</ref>) and 37%", EN, "CO2) and 37%"),
    ],
)
def test_removed_templates_leave_no_hole(wikitext, site, text):
    ((found, _),) = rendered(wikitext, site)
    assert found == text


def test_brackets_and_punctuation_the_article_writes_are_kept():
    text = "The [[printf]]() function, the marks (,) and (:) and ASCII's \"#$%_&'() – 1950 (2004 –)."
    assert rendered(text) == [("The printf() function, the marks (,) and (:) and ASCII's \"#$%_&'() – 1950 "
                               "(2004 –).", [("printf", "Printf")])]


@pytest.mark.parametrize(
    ("wikitext", "site", "text"),
    [
        ("'''Lincoln''' ({{IPAc-en|l}}; {{birth date|1809|2|12}} – {{death date and age|1865|4|15|1809|2|12}}) "
         "was a [[president]].", EN, "Lincoln (February 12, 1809 – April 15, 1865) was a president."),
        ("'''Connes''' (born {{birth date and age|1947|04|01|df=y}}) is a [[mathematician]].", EN,
         "Connes (born 1 April 1947) is a mathematician."),
        ("'''X''' (born {{Birth year and age|1950}}) is a painter.", EN, "X (born 1950) is a painter."),
        ("'''X''' ({{birth date|unknown}} – {{death date|2001|7}}) was a painter.", EN, "X (July 2001) was a painter."),
        ("'''Ngô Quyền''' ({{ngày sinh|898|4|17}} – {{ngày mất và tuổi|944|2|14|898}}) là vua.", VI,
         "Ngô Quyền (17 tháng 4 năm 898 – 14 tháng 2 năm 944) là vua."),
        ("'''X''' ({{Дата народження|2|3|1950}}) — художник.", UK, "X (2 березня 1950) — художник."),
    ],
)
def test_date_templates_render_their_date(wikitext, site, text):
    ((found, _),) = rendered(wikitext, site)
    assert found == text


@pytest.mark.parametrize(
    ("wikitext", "site"),
    [
        ("[[Hình:Methane.png|thumb|upright=1.1|right|A [[methane]] model.]]\n'''Hydrocarbon''' is a compound.", VI),
        ("[[Tập tin:DIMendeleevCab.jpg|trái|nhỏ|228x228px|Nhà bác học\nở [[Nga]]]]\n'''Hydrocarbon''' is a "
         "compound.", VI),
        ("[[Ảnh:Không đuôi|nhỏ|phải|400px|A model]]'''Hydrocarbon''' is a compound.", VI),
        ("'''Hydrocarbon''' is a compound.[[Պատկեր:春夏秋冬.jpg|մինի|110px|աջից|Շունկաշուտո՝ գարուն]]", HY),
        ("[[Файл:Haeckel drawings.jpg|міні|праворуч|250пкс|Паралелізм у\nрозвитку]]'''Hydrocarbon''' is a "
         "compound.", UK),
        ("xxxxnhỏ|321x321px|So sánh kích thước]]\n'''Hydrocarbon''' is a compound.", VI),
        ("[[Tập tin:Unclosed.jpg|nhỏ|a caption that never closes\n\n'''Hydrocarbon''' is a compound.", VI),
    ],
)
def test_file_links_go_by_namespace_or_shape_with_their_captions(wikitext, site):
    texts = [text for text, _ in rendered(wikitext, site)]
    assert texts[-1].endswith("Hydrocarbon is a compound.")
    assert not any("|" in t or ".jpg" in t or "nhỏ" in t or "model" in t or "Nhà" in t for t in texts), texts


def test_a_file_link_unclosed_in_its_block_ends_there():
    wikitext = "[[Файл:Haeckel.jpg|міні|250пкс|Паралелізм [[Хребетні|хребетних]]\n\nOne.\n\n[[Two]]]] and more."
    assert [text for text, _ in rendered(wikitext, UK)] == ["One.", "Two and more."]


def test_links_with_a_colon_are_not_taken_for_files():
    assert rendered("See [[Star Wars: Episode I|left]] and [[Re: Zero]].") == [
        ("See left and Re: Zero.", [("left", "Star Wars: Episode I"), ("Re: Zero", "Re: Zero")])]


def test_html_tags_and_tables_never_reach_the_text():
    text = ('<div style="float: right; margin: 5px;">\n[[Velor]] is a <span class="x">city</span>.\n\n'
            "<center>More text</center></div>\n\n<blockquote>A quote.\n\nIts end.</blockquote>\n\n"
            "<TABLE><TR><TD><table border=1><tr><td>cell</td></tr></table>outer cell</TD></TR></TABLE>After.")
    assert [t for t, _ in rendered(text)] == ["Velor is a city.", "More text", "A quote.", "Its end.", "After."]
