"""``kilm.noise``: BART/KILM text infilling as the paper does it (torch only, no fairseq)."""

from __future__ import annotations

import statistics

import pytest
import torch

from kilm import sequence as seq
from kilm.dictionary import build_dictionary_symbols
from kilm.noise import InfillingConfig, TextInfilling, example_generator, example_seed, regular_range, special_table

WORDS = [f"w{i}" for i in range(200)]
SYMBOLS = [*seq.FAIRSEQ_SPECIALS, *build_dictionary_symbols(WORDS)]
SPECIAL = seq.SpecialIds.from_symbols(SYMBOLS)
#: mBART's layout: language tokens between the words and ``<mask>``
MBART_SYMBOLS = [*seq.FAIRSEQ_SPECIALS, *build_dictionary_symbols(WORDS, language_tokens=("[en_XX]", "[uk_UA]"))]


def knowledge_row(generator: torch.Generator, special: seq.SpecialIds = SPECIAL) -> torch.Tensor:
    """``<s> text <ent> text </ent><ent_desc> <mask> </ent_desc> text </s>`` of random length."""
    def words(n: int) -> list[int]:
        return torch.randint(4, 4 + len(WORDS), (n,), generator=generator).tolist()

    a, b, c = (int(n) for n in torch.randint(0, 60, (3,), generator=generator))
    return torch.tensor([seq.BOS, *words(a + 1), special.ent, *words(b % 4 + 1), special.ent_end, special.desc,
                         special.mask, special.desc_end, *words(c), seq.EOS])


def collapse(tokens: torch.Tensor, masked: torch.Tensor, mask: int) -> list[int]:
    """The expected output of replace-length 1: each contiguous masked run becomes one ``<mask>``."""
    out: list[int] = []
    for i, token in enumerate(tokens.tolist()):
        if not masked[i]:
            out.append(token)
        elif i == 0 or not masked[i - 1]:
            out.append(mask)
    return out


def test_realised_share_span_lengths_and_one_mask_per_run() -> None:
    noise = TextInfilling.for_symbols(InfillingConfig(), SYMBOLS)
    is_special = special_table(SYMBOLS)
    shares, lengths, adjacent = [], [], 0
    for index in range(1200):
        tokens = knowledge_row(example_generator(0, 0, index))
        draw = noise.draw(tokens, example_generator(5, 1, index))
        maskable = ~is_special[tokens]
        assert not (draw.masked & ~maskable).any()  # never a special token, the span's <mask> included
        shares.append(int(draw.masked.sum()) / int(maskable.sum()))
        lengths += draw.lengths
        out = noise(tokens, example_generator(5, 1, index))
        assert out.tolist() == collapse(tokens, draw.masked, SPECIAL.mask)
        adjacent += int(((out[1:] == SPECIAL.mask) & (out[:-1] == SPECIAL.mask)).sum())
    assert 0.29 <= statistics.mean(shares) <= 0.31
    assert abs(statistics.mean(lengths) - 3.0) < 0.1  # Poisson(λ=3) draws, zeros included
    assert adjacent == 0


def test_every_row_spends_its_budget_whatever_the_overlaps() -> None:
    """A 100-token row masks exactly 30 tokens (0.3 × 100 has no fraction to round at random)."""
    noise = TextInfilling.for_symbols(InfillingConfig(), SYMBOLS)
    tokens = torch.tensor([seq.BOS, *range(4, 104), seq.EOS])
    for index in range(200):
        assert int(noise.draw(tokens, example_generator(1, 1, index)).masked.sum()) == 30


@pytest.mark.parametrize("replace_length", [-1, 0, 1])
def test_specials_survive_and_replacements_are_regular(replace_length: int) -> None:
    lang = MBART_SYMBOLS.index("[uk_UA]")
    config = InfillingConfig(replace_length=replace_length, random_ratio=0.3)
    noise = TextInfilling.for_symbols(config, MBART_SYMBOLS, lang_id=lang)
    special = seq.SpecialIds.from_symbols(MBART_SYMBOLS)
    low, high = regular_range(MBART_SYMBOLS)
    assert (low, high) == (len(seq.FAIRSEQ_SPECIALS), MBART_SYMBOLS.index("[en_XX]"))
    for index in range(100):
        tokens = torch.cat([knowledge_row(example_generator(2, 0, index), special), torch.tensor([lang])])
        masked = noise.draw(tokens, example_generator(2, 1, index)).masked
        out = noise(tokens, example_generator(2, 1, index))
        specials = [t for t in tokens.tolist() if noise.is_special[t]]
        assert [t for t in out.tolist() if noise.is_special[t] and t != special.mask] == \
               [t for t in specials if t != special.mask]
        assert out.tolist().count(special.mask) >= 1  # the knowledge span's <mask> at least
        replaced = [t for t in out.tolist() if not noise.is_special[t]]
        assert all(low <= t < high for t in replaced)
        kept = int((~masked).sum())
        runs = int((masked & ~torch.cat([torch.tensor([False]), masked[:-1]])).sum())
        assert len(out) == {-1: len(tokens), 0: kept, 1: kept + runs}[replace_length]


def test_seeded_per_example_and_epoch() -> None:
    noise = TextInfilling.for_symbols(InfillingConfig(), SYMBOLS)
    tokens = knowledge_row(example_generator(0, 0, 0))
    same = [noise(tokens, example_generator(1, 2, 3)).tolist() for _ in range(2)]
    assert same[0] == same[1]
    others = {tuple(noise(tokens, example_generator(*key)).tolist()) for key in [(1, 3, 3), (1, 2, 4), (2, 2, 3)]}
    assert tuple(same[0]) not in others
    assert example_seed(1, 2, 3) != example_seed(1, 3, 2)


def test_nothing_to_mask_and_bad_settings() -> None:
    noise = TextInfilling.for_symbols(InfillingConfig(), SYMBOLS)
    only_specials = torch.tensor([seq.BOS, SPECIAL.desc, SPECIAL.mask, SPECIAL.desc_end, seq.EOS])
    assert torch.equal(noise(only_specials, example_generator(0, 1, 0)), only_specials)
    off = TextInfilling.for_symbols(InfillingConfig(ratio=0.0), SYMBOLS)
    tokens = knowledge_row(example_generator(0, 0, 1))
    assert torch.equal(off(tokens, example_generator(0, 1, 0)), tokens)
    for bad in ({"replace_length": 2}, {"ratio": 1.5}, {"poisson_lambda": 0.0}):
        with pytest.raises(ValueError):
            InfillingConfig(**bad)
