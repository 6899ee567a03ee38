"""Fast tests of the eval pieces that need no trained model."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from eval.describe import parse_marked
from eval.metrics import bootstrap_ci, exact_match, normalize_text, rouge_l, token_f1, tokens, weighted_mean
from eval.retention import NoiseSettings, infill_noise
from eval.run import UsageError, main, parse_model, parse_tasks
from eval.search import BeamSettings, PrefixTrie, beam_search
from kilm import sequence as seq
from kilm.dictionary import build_dictionary_symbols
from kilm.noise import TextInfilling, example_generator

# ---- metrics ------------------------------------------------------------------------------------


def test_normalize_text_folds_case_underscores_and_spaces():
    assert normalize_text("  Joker_(character)\u00a0 ") == "joker (character)"
    assert exact_match("JOKER  (Character)", "Joker_(character)") == 1.0
    assert exact_match("Joker", "Joker (character)") == 0.0


def test_token_f1():
    assert token_f1("fictional character in DC comics", "Fictional character in DC Comics.") == 1.0
    assert token_f1("a b", "b c") == pytest.approx(0.5)
    assert token_f1("", "") == 1.0
    assert token_f1("", "x") == 0.0
    assert token_f1("x", "y") == 0.0


def test_tokens_split_cjk_characters():
    assert tokens("東京都の首都") == list("東京都の首都")
    assert token_f1("東京の都市", "東京都") > 0


def test_rouge_l_handles_non_ascii():
    assert rouge_l("город в России", "город в России") == pytest.approx(1.0)
    assert rouge_l("a b c d", "a c d") == pytest.approx(2 * 0.75 * 1.0 / 1.75)
    assert rouge_l("東京", "東京") == pytest.approx(1.0)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [float(i % 7) for i in range(200)]
    lo, hi = bootstrap_ci(values, seed=3)
    assert (lo, hi) == bootstrap_ci(values, seed=3)
    assert lo < weighted_mean(values) < hi
    assert bootstrap_ci([5.0, 5.0]) == (5.0, 5.0)
    assert all(math.isnan(x) for x in bootstrap_ci([]))


def test_weighted_bootstrap_is_a_ratio_of_sums():
    assert weighted_mean([1.0, 3.0], [3, 1]) == pytest.approx(1.5)
    lo, hi = bootstrap_ci([1.0, 3.0, 2.0], [1, 1, 100], seed=0)
    assert 1.0 <= lo <= hi <= 3.0


# ---- search -------------------------------------------------------------------------------------


def test_trie_allows_continuations_and_never_blocks_everything():
    trie = PrefixTrie([[5, 6], [5, 7, 8], [9]], end=2)
    assert sorted(trie.allowed([])) == [5, 9]
    assert sorted(trie.allowed([5])) == [6, 7]
    assert trie.allowed([5, 6]) == [2]
    assert trie.allowed([4, 4]) == [2]  # unknown prefix: may only end, never []


def _table_step(table: dict[tuple[int, ...], dict[int, float]], vocab: int, start: list[int]):
    """A fake model: next-token log-probs looked up by the generated suffix."""

    def step(rows, tokens, lengths):
        out = torch.full((tokens.shape[0], vocab), -30.0)
        for r in range(tokens.shape[0]):
            generated = tuple(tokens[r, start[int(rows[r])] : lengths[r]].tolist())
            for tok, p in table.get(generated, {}).items():
                out[r, tok] = math.log(p)
        return torch.log_softmax(out, dim=-1)

    return step


def test_beam_search_beats_greedy_and_honours_prefixes():
    end = 2
    # greedy takes 4 (0.6) then must pay 0.2; beam finds 5 (0.4) then 1.0 → 0.4 > 0.12
    table = {(): {4: 0.6, 5: 0.4}, (4,): {end: 0.2, 6: 0.2, 7: 0.6}, (4, 7): {end: 0.2, 8: 0.8}, (5,): {end: 1.0}}
    prefixes = [[2, 0, 9], [2, 0, 9, 9, 9]]
    step = _table_step(table, 12, [len(p) for p in prefixes])
    settings = BeamSettings(beam=2, max_new_tokens=4, length_penalty=0.0, stop_ids=(end,))
    hyps = beam_search(step, prefixes, settings, pad=1)
    assert [h.tokens for h in hyps] == [[5], [5]]
    assert hyps[0].logprob == pytest.approx(math.log(0.4), abs=1e-4)
    greedy = beam_search(step, prefixes[:1], BeamSettings(beam=1, max_new_tokens=4, length_penalty=0.0,
                                                          stop_ids=(end,)), pad=1)
    assert greedy[0].tokens != [5]


def test_beam_search_respects_allowed_tokens():
    table = {(): {4: 0.9, 5: 0.1}, (4,): {2: 1.0}, (5,): {2: 1.0}}
    step = _table_step(table, 8, [2])
    trie = PrefixTrie([[5]], end=2)
    hyps = beam_search(step, [[2, 0]], BeamSettings(beam=2, max_new_tokens=3, stop_ids=(2,)), pad=1,
                       allowed=lambda i, prefix: trie.allowed(prefix))
    assert hyps[0].tokens == [5]


def test_beam_settings_are_explicit():
    with pytest.raises(ValueError):
        BeamSettings(no_repeat_ngram_size=3, stop_ids=(2,))
    with pytest.raises(ValueError):
        BeamSettings()


# ---- retention noise ----------------------------------------------------------------------------


def test_retention_noise_is_the_training_noise():
    """Paragraph ``i`` is noised as training noises row ``i`` in epoch 1 (the trainer adds ``<s>``)."""
    symbols = [*seq.FAIRSEQ_SPECIALS, *build_dictionary_symbols([f"w{i}" for i in range(120)])]
    settings = NoiseSettings(seed=4)
    noise = TextInfilling.for_symbols(settings.infilling, symbols)
    mask = symbols.index(seq.MASK)
    row = [*range(10, 110), seq.EOS]
    for index in range(20):
        noised = infill_noise(row, noise, index, settings.seed)
        trained = noise(torch.tensor([seq.BOS, *row]), example_generator(settings.seed, 1, index)).tolist()
        assert noised == trained[1:]
        assert noised[-1] == seq.EOS
        assert all(not (x == y == mask) for x, y in itertools.pairwise(noised))  # each run is one <mask>
    assert infill_noise(row, noise, 0, 4) != infill_noise(row, noise, 1, 4)


# ---- CLI parsing --------------------------------------------------------------------------------


def test_parse_model_and_tasks_name_the_bad_value(tmp_path):
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"")
    assert parse_model(f"kilm={ckpt}").name == "kilm"
    for bad in ("kilm", f"=={ckpt}", f"a b={ckpt}", "x=/does/not/exist"):
        with pytest.raises(UsageError, match="--model"):
            parse_model(bad)
    assert parse_tasks("probe, ed") == ["probe", "ed"]
    with pytest.raises(UsageError, match="bogus"):
        parse_tasks("probe,bogus")


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"not a checkpoint")
    assert main(["--data", str(tmp_path / "missing"), "--model", f"a={ckpt}", "--out", str(tmp_path / "r")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["--data", str(tmp_path), "--model", f"a={ckpt}", "--out", str(tmp_path / "r"), "--tasks", "x"]) == 2
    assert "unknown task x" in capsys.readouterr().err
    assert main(["--data", str(tmp_path), "--model", f"a={ckpt}", "--out", str(tmp_path / "r")]) == 2
    assert "not a kilm pipeline output" in capsys.readouterr().err


def test_parse_marked():
    assert parse_marked("The [[Joker]] met [[Batman]].") == ("The Joker met Batman.", 4, 9)
    with pytest.raises(ValueError):
        parse_marked("no mark")
