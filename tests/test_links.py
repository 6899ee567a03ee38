"""The body of a lead-scope article is scanned, not parsed: its links, as the renderer would see them."""

from __future__ import annotations

from pipeline.links import scan_links
from pipeline.site import Site
from pipeline.wikitext import parse_article

EN = Site(dbname="enwiki", namespace_names=(("Talk", 1), ("File", 6), ("Template", 10), ("Help", 12),
                                            ("Category", 14)))


def test_anchors_trails_and_targets():
    assert scan_links(["A [[political philosophy]] of [[self-governance|self-governed]] [[apple]]s."], EN) == [
        ("political philosophy", "Political philosophy"), ("self-governed", "Self-governance"), ("apples", "Apple")]


def test_anchor_text_is_what_the_page_shows():
    block = "[[AT&amp;T|''AT&amp;T'' '''Inc''']] and [[Mercury (planet)|]] and [[ :river_Thames ]]"
    assert scan_links([block], EN) == [
        ("AT&T Inc", "AT&T"), ("Mercury", "Mercury (planet)"), ("river_Thames", "River Thames")]


def test_a_trail_goes_through_removed_markup_but_not_through_formatting():
    assert scan_links(["[[apple]]\ue000s and ''[[pear]]''s"], EN) == [("apples", "Apple"), ("pear", "Pear")]


def test_no_trail_in_scripts_written_without_spaces():
    assert scan_links(["[[東京]]都"], Site(dbname="jawiki")) == [("東京", "東京")]


def test_links_that_are_no_article_links_are_skipped():
    block = ("[[File:Map.png|thumb|A [[map]]]] [[Category:Rivers]] [[:Category:Rivers|rivers]] [[fr:Paris]] "
             "[[wikt:river|river]] [[Help:Contents]] [[#History|history]] [[Talk:Sea]] [[|empty]] [[Sea|]]")
    assert scan_links([block], EN) == [("map", "Map"), ("Sea", "Sea")]  # the caption's own link is an article link


def test_links_that_show_nothing_are_skipped():
    assert scan_links(["[[Sea|'''''']] [[Lake|\ue000]] [[River|x]]"], EN) == [("x", "River")]


BODY = """{{Short description|A town}}
'''Town''' lies on the [[River]].

== History ==
{{Infobox|a={{nested|[[Hidden]]}}}} The [[river Thames|Thames]]s flooded<ref>[[Cited]]</ref> the
[[mill]]<!-- [[Commented]] -->.
* [[Listed]]
{| class="wikitable"
| [[In a table]]
|}
[[File:Mill.jpg|thumb|The [[Caption]]]]

=== Today ===
It has a [[Bridge|bridge]].

== See also ==
[[Elsewhere]]
"""


def test_lead_scope_scans_the_body_links_that_article_scope_makes_mentions():
    lead = parse_article(BODY, EN, scope="lead")
    article = parse_article(BODY, EN, scope="article")
    assert [p.text for p in lead.paragraphs] == [p.text for p in article.paragraphs if p.in_lead] == \
        ["Town lies on the River."]
    body_mentions = [(m.surface, m.target) for p in article.paragraphs if not p.in_lead for m in p.mentions]
    assert lead.body_links == body_mentions == [("Thamess", "River Thames"), ("mill", "Mill"), ("bridge", "Bridge")]
    assert lead.short_description == "A town"
    assert article.body_links == []
