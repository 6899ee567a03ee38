"""Over the shared real dumps (en, uk, vi, hy): no example text or description holds what markup
removal can leave (empty or comma-led brackets, dangling dashes, HTML tags, file-link remnants),
judged by :mod:`tests.residue`. Texts and descriptions are made as the pipeline makes them, per page."""

from __future__ import annotations

import pytest

from pipeline.wikitext import lead_sentence, parse_article
from tests.dumps import sample_articles
from tests.residue import page_forms, residue

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.mark.parametrize("language", ["en", "uk", "vi", "hy"])
def test_no_markup_residue_in_texts_or_descriptions(language):
    found, texts = [], 0
    for site, page in sample_articles(language):
        article = parse_article(page.text, site)
        lead = lead_sentence(article.paragraphs[0].text, site.language) if article.paragraphs else ""
        forms = page_forms(page.text)
        for text in [p.text for p in article.paragraphs] + [d for d in (article.short_description, lead) if d]:
            texts += 1
            found += [(page.title, kind, match) for kind, match in residue(text, forms)]
    assert texts > 1000
    assert found == []
