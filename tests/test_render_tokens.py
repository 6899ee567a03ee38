"""Paragraph blocks render from mwparserfromhell's tokens exactly as from its node tree: text, mention
offsets and targets, and the counts of links that are no mention, on made-up blocks and on every
paragraph block of the shared real dumps (en, uk, vi, hy)."""

from __future__ import annotations

import mwparserfromhell
import pytest
from mwparserfromhell.parser.builder import Builder

from pipeline import wikitext
from pipeline.markup import GONE, Templates, strip_markup
from pipeline.site import Site
from tests.dumps import sample_articles

EN = Site(dbname="enwiki", namespace_names=(("Talk", 1), ("File", 6), ("Template", 10), ("Category", 14)))


def by_tokens(block: str, site: Site = EN) -> tuple:
    counts: dict[str, int] = {}
    text, mentions = wikitext._Renderer(site, counts).render(block)
    return text, mentions, counts


def by_nodes(block: str, site: Site = EN) -> tuple:
    """The block's whole node tree walked as nodes: what the renderer falls back to for one construct."""
    counts: dict[str, int] = {}
    segments: list[tuple[str, str | None]] = []
    wikitext._Renderer(site, counts)._walk(mwparserfromhell.parse(block).nodes, segments)
    return (*wikitext._assemble(segments), counts)


class BuildCounter:
    """Counts the node trees mwparserfromhell's builder makes, and the constructs the renderer hands to it."""

    def __init__(self, monkeypatch) -> None:
        self.builds = self.handed = 0
        build, by_nodes_ = Builder.build, wikitext._Renderer._by_nodes

        def counted_build(builder, tokens):
            self.builds += 1
            return build(builder, tokens)

        def counted_by_nodes(renderer, toks, i, segments):
            self.handed += 1
            return by_nodes_(renderer, toks, i, segments)

        monkeypatch.setattr(Builder, "build", counted_build)
        monkeypatch.setattr(wikitext._Renderer, "_by_nodes", counted_by_nodes)


@pytest.mark.parametrize("block", [
    "A [[political philosophy]] of [[self-governance|self-governed]] [[apple]]s, [[Kyiv]]\ue000n and [[B]]'s.",
    "[[AT&amp;T]], [[a|b&nbsp;c]], [[x|''y'']], [[y|&#32;]] and [[z|[[w]]]]",  # markup in a title or label
    "''it'' '''bold''' a<br/>b<br>c</br>d<hr> <nowiki>[[x]]</nowiki> <ref name=a/> <ref>r [[q]]</ref> <span/>",
    "<span class=\"a{{b}}\" id=c>shown [[in]] a tag</span> <poem>dropped</poem> <abbr title=x>UN</abbr>",
    "&amp; &#65; &#x41; &nbsp; &bogus; &#xZZ; &#",
    "[http://x.org title] http://y.org [http://z.org] [http://w.org ''t''] [http://v.org/{{p}} x] http://u.org/&amp;",
    "[[fr:Paris]] [[Category:X]] [[:Category:Y|cat]] [[File:a.jpg|x]] [[Image:b.png]] [[wikt:word|word]] "
    "[[#sec|here]] [[Talk:Z]] [[:fr:Paris|Paris]]",
    "[[Paris (France)|]] and [[ :a ]] and [[b|  ]] and [[Help:c (d)|]] and [[|x]] and [[]]",
    "{{t|[[x]]}} <!-- c [[y]] --> {{{arg|[[z]]}}} text" + GONE + "s == h ==\nmore",
    "[[a\nb]] [[a|b\nc]] ''[[unclosed italic]] [[unclosed link",
])
def test_a_block_renders_from_tokens_as_from_nodes(block):
    assert by_tokens(block) == by_nodes(block)


def test_only_rare_constructs_are_built_as_nodes(monkeypatch):
    counter = BuildCounter(monkeypatch)
    by_tokens("A [[b]] of ''[[c|d]]'' &amp; [http://e.org f] <span>g</span>")
    assert (counter.builds, counter.handed) == (0, 0)
    assert by_tokens("[[AT&amp;T]] and [[x|''y'']]")[0] == "AT&T and y"
    assert (counter.builds, counter.handed) == (2, 2)


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "uk", "vi", "hy"])
def test_every_block_of_the_real_samples_renders_as_from_nodes(language, monkeypatch):
    blocks, built, differ = 0, 0, []
    for site, page in sample_articles(language):
        text, _, _ = strip_markup(page.text, Templates(site, frozenset({"short description"})))
        for kind, block in wikitext._blocks(text):
            if kind == "block":
                blocks += 1
                with monkeypatch.context() as patched:
                    counter = BuildCounter(patched)
                    fast = by_tokens(block, site)
                    assert counter.builds == counter.handed  # never the whole block's tree
                    handed = counter.handed
                if fast != by_nodes(block, site):
                    differ.append((page.title, block[:200]))
                built += bool(handed)
    assert blocks > 3000
    assert differ == []
    assert built < blocks / 20  # what is compared is the token walk, not the fallback
