"""The KILM sequence format: text form, ids, dictionary (the contract every part imports)."""

from __future__ import annotations

import pytest

from kilm import sequence as seq
from kilm.dictionary import build_dictionary_symbols
from kilm.indexed import read_indexed, write_indexed
from kilm.tokenizer import EncodedText, KilmTokenizer

CORPUS = [
    "The Joker is a supervillain in DC Comics. He first appeared in Batman #1.",
    "Gotham City is a fictional city. Batman protects Gotham from the Joker's plans.",
    "Երևանը Հայաստանի մայրաքաղաքն է։ 東京は日本の首都。 Hà Nội là thủ đô của Việt Nam.",
]


@pytest.fixture(scope="module", params=["bpe", "spm"])
def tokenizer(request):
    """Both trainable kinds: byte-level BPE and SentencePiece BPE."""
    if request.param == "spm":
        from kilm.spm import train_spm_tokenizer

        return train_spm_tokenizer(sorted(CORPUS * 20), vocab_size=600)
    return KilmTokenizer.train_bpe(sorted(CORPUS * 20), vocab_size=400)


def test_text_form_and_its_inverse():
    window = seq.Window("Later, the Joker's plan fails.", 11, 16, "Joker (character)", "Fictional villain")
    text = seq.infilled_text(window)
    assert text == ("Later, the <ent> Joker </ent><ent_desc> Joker (character) <sep> Fictional villain "
                    "</ent_desc>'s plan fails.")
    masked = "Later, the <ent> Joker </ent><ent_desc> <mask> </ent_desc>'s plan fails."
    assert seq.infilled_text(window, masked=True) == masked
    assert seq.strip_knowledge(text) == window.text
    assert seq.split_knowledge_span(seq.extract_generated_span(text)) == ("Joker (character)", "Fictional villain")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("Later, the Joker's plan fails.", 11, 16), ("Joker laughs.", 0, 5), ("Ask the Joker", 8, 13),
     ("東京は日本の首都。", 0, 2), ("Ở Hà Nội, trời mưa.", 2, 8), ("Երևանը մայրաքաղաք է։", 0, 5)],
)
def test_ids_decode_to_the_text_form(tokenizer, text, start, end):
    window = seq.Window(text, start, end, "Title (qualifier)", "A description, with punctuation.")
    encoded = tokenizer.encode_window(window)
    assert tokenizer.decode(encoded.target) == seq.infilled_text(window)
    assert tokenizer.decode(encoded.source) == seq.infilled_text(window, masked=True)
    assert seq.strip_knowledge(tokenizer.decode(encoded.target)) == text
    span = tokenizer.decode(encoded.target[encoded.span_start : encoded.span_end])
    assert span.strip() == seq.knowledge_span(window.title, window.description)  # title encoded after a space
    assert encoded.source[-1] == encoded.target[-1] == seq.EOS
    assert encoded.source.count(tokenizer.special.mask) == 1


def test_mention_keeps_its_running_text_tokens(tokenizer):
    window = seq.Window("Batman protects Gotham from the Joker.", 32, 37, "Joker", "Villain")
    encoded = tokenizer.encode_window(window)
    mention = encoded.target[encoded.target.index(tokenizer.special.ent) + 1 : encoded.target.index(
        tokenizer.special.ent_end)]
    plain = tokenizer.encode(window.text)
    assert any(plain[i : i + len(mention)] == mention for i in range(len(plain))), "same tokens as in plain text"


@pytest.mark.parametrize("text", [*CORPUS, "anti-Joker's  plan (the Joker), 1999 – ‘Zed’ café!",
                                  " Gotham  City ", "Joker"])
def test_pieces_of_a_text_encoded_once_equal_each_piece_encoded(tokenizer, text):
    whole = EncodedText(tokenizer, text)
    assert whole.ids == tokenizer.encode(text)
    for a in range(len(text) + 1):
        for b in range(a, len(text) + 1):
            assert whole.piece(a, b) == tokenizer.encode(text[a:b]), (a, b)


def test_a_window_from_pieces_equals_the_window_encoded(tokenizer):
    text = CORPUS[1]
    whole = EncodedText(tokenizer, text)
    for start, end in [(0, 6), (7, 11), (16, 22), (32, 37), (32, 39), (69, 74)]:
        window = seq.Window(text, start, end, "Title", "A description")
        assert seq.encode_window(window, tokenizer.encode, tokenizer.special, piece=whole.piece) == \
            tokenizer.encode_window(window)


def test_dictionary_appends_without_moving_indices():
    base = ["the", "of", "50118"]
    symbols = build_dictionary_symbols(base)
    assert symbols[:3] == base and symbols[3] == seq.MASK
    assert tuple(symbols[-5:]) == seq.SPECIAL_TOKENS
    mbart = build_dictionary_symbols(base, language_tokens=["[en_XX]", "[uk_UA]"], model_rows=12)
    assert mbart[3:6] == ["[en_XX]", "[uk_UA]", seq.MASK]
    assert mbart[6:8] == ["madeupword0000", "madeupword0001"]
    assert len(seq.FAIRSEQ_SPECIALS) + len(mbart) - len(seq.SPECIAL_TOKENS) == 12
    assert build_dictionary_symbols(symbols) == symbols  # idempotent on a KILM dictionary
    with pytest.raises(ValueError, match="fewer than"):
        build_dictionary_symbols(base, model_rows=5)


def test_dict_file_roundtrip_matches_fairseq(tmp_path, tokenizer):
    from fairseq.data import Dictionary

    tokenizer.save(tmp_path)
    dictionary = Dictionary.load(str(tmp_path / "dict.txt"))
    assert [dictionary[i] for i in range(len(dictionary))] == tokenizer.symbols
    again = KilmTokenizer.load(tmp_path)
    assert again.encode(CORPUS[0]) == tokenizer.encode(CORPUS[0])


def test_indexed_rows_roundtrip_with_fairseq(tmp_path):
    from fairseq.data import Dictionary, data_utils

    rows = [[5, 6, 7, 2], [8, 2], [9, 10, 11, 12, 13, 2]]
    write_indexed(tmp_path / "train.source", rows, vocab_size=100)
    dictionary = Dictionary()
    for i in range(96):
        dictionary.add_symbol(str(i))
    dataset = data_utils.load_indexed_dataset(str(tmp_path / "train.source"), dictionary)
    assert [dataset[i].tolist() for i in range(len(dataset))] == rows
    assert [r.tolist() for r in read_indexed(tmp_path / "train.source")] == rows
    with pytest.raises(ValueError, match="outside a vocabulary"):
        write_indexed(tmp_path / "bad", [[100]], vocab_size=100)


@pytest.mark.parametrize("variant", ["roberta_post_processor", "prefix_space", "single_word_token"])
def test_pieces_equal_each_piece_encoded_for_hugging_face_tokenizer_dirs(tmp_path, variant):
    """HF BART directories trim offsets in their post-processor, some add a prefix space to every
    text, some have single-word added tokens: slices must still equal the pieces encoded alone."""
    from tokenizers import AddedToken, pre_tokenizers, processors

    hf = KilmTokenizer.train_bpe(sorted(CORPUS * 20), vocab_size=400).tokenizer
    if variant == "roberta_post_processor":
        hf.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True)
    elif variant == "prefix_space":
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    else:
        hf.add_tokens([AddedToken("Joker", single_word=True)])
    hf.save(str(tmp_path / "tokenizer.json"))
    tokenizer = KilmTokenizer.from_hf_dir(tmp_path)
    for text in ["bar baz (qux), the Joker's plan", "aJoker Joker-like  Gotham"]:
        whole = EncodedText(tokenizer, text)
        for a in range(len(text) + 1):
            for b in range(a, len(text) + 1):
                assert whole.piece(a, b) == tokenizer.encode(text[a:b]), (a, b)


# ---- rows as the model reads them ----------------------------------------------------------------


def test_model_row_layout_and_decoder_prefix():
    row = [7, 8, seq.EOS]
    assert seq.model_row(row) == [seq.BOS, 7, 8, seq.EOS]
    assert seq.model_row(row, language=99) == [seq.BOS, 7, 8, seq.EOS, 99]
    assert [seq.added_positions(None), seq.added_positions(99)] == [1, 2]
    assert [seq.row_limit(512, None), seq.row_limit(512, "[uk_UA]")] == [512, 511]
    assert seq.decoder_prefix([7]) == [seq.EOS, seq.BOS, 7]
    assert seq.decoder_prefix([7], language=99) == [99, seq.BOS, 7]
    assert seq.fit_plain_row([5, 6, 7, 8, seq.EOS], 4) == [5, 6, seq.EOS]
    assert seq.fit_plain_row([5, seq.EOS], 4) == [5, seq.EOS]


def test_span_bounds_stripping_and_mask_check(tokenizer):
    window = seq.Window("Later, the Joker's plan fails.", 11, 16, "Joker (character)", "Fictional villain")
    encoded = tokenizer.encode_window(window)
    assert seq.span_bounds(encoded.target, tokenizer.special) == (encoded.span_start, encoded.span_end)
    assert seq.span_bounds(seq.model_row(encoded.target), tokenizer.special) == (encoded.span_start + 1,
                                                                                 encoded.span_end + 1)
    assert seq.span_bounds(tokenizer.encode_plain(window.text), tokenizer.special) is None
    with pytest.raises(ValueError, match="without </ent_desc>"):
        seq.span_bounds(encoded.target[: encoded.span_end], tokenizer.special)
    assert tokenizer.decode(seq.strip_span_ids(encoded.target, tokenizer.special)) == window.text
    assert seq.masks_span(encoded.source, tokenizer.special)
    assert not seq.masks_span(encoded.target, tokenizer.special)


@pytest.mark.parametrize("reserve", [None, 6])
def test_fit_window_is_the_widest_cut_that_fits(tokenizer, reserve):
    words = " ".join(f"w{i}" for i in range(200))
    text = f"{words} the Joker {words}"
    start = len(words) + 5
    window = seq.Window(text, start, start + 5, "Joker (character)", "Fictional villain")
    whole = EncodedText(tokenizer, text)
    fitted = seq.fit_window(window, tokenizer.encode, tokenizer.special, 64, reserve=reserve, piece=whole.piece)
    assert fitted.window.surface == "Joker" and text[fitted.start : fitted.end] == fitted.window.text
    assert seq.row_positions(fitted.encoded, reserve) <= 64
    assert fitted.encoded == tokenizer.encode_window(fitted.window)
    wider = seq.word_window(text, start, start + 5, max(start - fitted.start, fitted.end - start - 5) + 8)
    cut = seq.Window(text[wider[0] : wider[1]], start - wider[0], start + 5 - wider[0], window.title,
                     window.description)
    assert seq.row_positions(tokenizer.encode_window(cut), reserve) > 64, "a wider window would have fitted"
    short = seq.Window("the Joker", 4, 9, window.title, window.description)
    assert seq.fit_window(short, tokenizer.encode, tokenizer.special, 64, reserve=reserve).start == 0
    assert seq.fit_window(window, tokenizer.encode, tokenizer.special, 8, reserve=reserve) is None


def test_plain_rows_fit_and_decode_to_their_text(tokenizer):
    text = " ".join(CORPUS[:2])
    rows = seq.plain_rows(text, tokenizer.encode, 16)
    assert len(rows) > 1 and all(len(r.row) + 1 <= 16 and r.row[-1] == seq.EOS for r in rows)
    assert all(tokenizer.decode(r.row) == text[r.start : r.end] for r in rows)
    assert " ".join(text[r.start : r.end] for r in rows) == text
    assert seq.plain_rows(text, tokenizer.encode, 1000) == [seq.PlainRow(0, len(text), tokenizer.encode_plain(text))]
