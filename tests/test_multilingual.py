"""Any language: SentencePiece/mBART dictionaries, and the real uk/vi/hy samples through the pipeline."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from kilm import sequence as seq
from kilm.dictionary import read_dict_symbols, write_dict
from kilm.indexed import read_indexed
from kilm.spm import from_spm_model, train_spm_model
from kilm.tokenizer import KilmTokenizer
from pipeline.run import main
from tests.dumps import Page, read_jsonl_dir, shared_dump, write_dump

RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|<ref|'''|&nbsp;|^\s*\|[-}]?", re.MULTILINE)
TEXTS = ["Київ — столиця України, місто на Дніпрі.", "Hà Nội là thủ đô của Việt Nam.", "Երևանը մայրաքաղաք է։"]


def test_mbart_layout_keeps_every_index_and_appends_ours(tmp_path):
    """fairseq mBART: sentence.bpe.model + dict.txt; language tokens and <mask> precede our five."""
    model_dir = tmp_path / "mbart.stand-in"
    model_dir.mkdir()
    model = train_spm_model(sorted(TEXTS * 30), 600, model_dir / "sentence.bpe")
    trained = from_spm_model(model)
    base = [s for s in trained.symbols[4:] if s not in (seq.MASK, *seq.SPECIAL_TOKENS)]
    write_dict(model_dir / "dict.txt", base)
    languages = ["[uk_UA]", "[vi_VN]", "[hy_AM]"]
    tokenizer = from_spm_model(model_dir / "sentence.bpe.model", model_dir / "dict.txt", languages)
    assert tokenizer.symbols[4 : 4 + len(base)] == base
    assert tokenizer.symbols[4 + len(base) : 4 + len(base) + 4] == [*languages, seq.MASK]
    assert tuple(tokenizer.symbols[-5:]) == seq.SPECIAL_TOKENS
    window = seq.Window(TEXTS[0], 0, 4, "Київ", "столиця України")
    assert tokenizer.decode(tokenizer.encode_window(window).target) == seq.infilled_text(window)


def test_hf_tokenizer_directory(tmp_path):
    trained = KilmTokenizer.train_bpe(sorted(TEXTS * 30), vocab_size=300)
    trained.tokenizer.save(str(tmp_path / "tokenizer.json"))
    tokenizer = KilmTokenizer.from_hf_dir(tmp_path)
    assert tokenizer.encode(TEXTS[1]) == trained.encode(TEXTS[1])


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(("wiki", "tokenizer"), [("ukwiki", "bpe"), ("viwiki", "bpe"), ("hywiki", "spm")])
def test_real_samples_in_other_languages(tmp_path, wiki, tokenizer):
    dump = shared_dump(f"{wiki}-pages-articles-sample.xml.bz2")
    out = tmp_path / wiki
    assert main(["--input", str(dump), "--output", str(out), "--train-tokenizer", tokenizer,
                 "--vocab-size", "4000", "--text-scope", "article"]) == 0  # every body paragraph
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["site"]["language"] == wiki[:2]
    assert sum(manifest["counts"]["outcomes"].values()) == manifest["counts"]["pages_read"]
    entities = read_jsonl_dir(out / "entities")
    described = [e for e in entities if e["description"]]
    assert len(described) / len(entities) >= 0.90
    assert not [e["description"] for e in described if RESIDUE.search(e["description"])]
    examples = read_jsonl_dir(out / "examples")
    for example in examples:
        assert not RESIDUE.search(example["text"])
        for m in example["mentions"]:
            assert example["text"][m["start"] : m["end"]] == m["surface"]
    assert sum(len(e["mentions"]) for e in examples) > 100
    assert manifest["tokenizer"]["kind"] == ("sentencepiece" if tokenizer == "spm" else "trained-bpe")


def write_bart_dir(directory, texts: list[str]):
    """A stand-in ``bart.base`` directory in fairseq's files: GPT-2 ``encoder.json``/``vocab.bpe`` and a
    ``dict.txt`` of GPT-2 ids as symbols, in frequency order (not id order), as fairseq ships it."""
    trained = KilmTokenizer.train_bpe(sorted(texts * 20), vocab_size=400)
    directory.mkdir()
    trained.tokenizer.model.save(str(directory))
    (directory / "vocab.json").rename(directory / "encoder.json")
    (directory / "merges.txt").rename(directory / "vocab.bpe")
    counts: dict[int, int] = {}
    for text in texts:
        for token_id in trained.tokenizer.encode(text).ids:
            counts[token_id] = counts.get(token_id, 0) + 1
    vocab = trained.tokenizer.get_vocab()
    ids = sorted(vocab.values(), key=lambda i: (-counts.get(i, 0), i))
    write_dict(directory / "dict.txt", [str(i) for i in ids], {str(i): counts.get(i, 0) for i in ids})
    return [str(i) for i in ids]


def test_pipeline_with_a_bart_directory(tmp_path):
    texts = ["Velor is a city in Norland.", "Norland is a country; its capital is Velor.", "Rivers run to the sea."]
    base_symbols = write_bart_dir(tmp_path / "bart.base", texts)
    dump = write_dump(tmp_path / "d.xml.bz2", [
        Page("Velor", "'''Velor''' is a city in [[Norland]].\n\nThe capital of [[Norland]] is Velor."),
        Page("Norland", "'''Norland''' is a country. Its capital is [[Velor]]."),
    ])
    out = tmp_path / "out"
    assert main(["--input", str(dump), "--output", str(out), "--bart-dir", str(tmp_path / "bart.base"),
                 "--valid-fraction", "0", "--test-fraction", "0", "--unseen-entity-fraction", "0"]) == 0
    symbols = read_dict_symbols(out / "bin" / "shard0" / "dict.txt")
    assert symbols[: len(base_symbols)] == base_symbols  # every bart.base index unchanged
    assert symbols[len(base_symbols) :] == [seq.MASK, *seq.SPECIAL_TOKENS]
    tokenizer = KilmTokenizer.load(out / "tokenizer")
    assert tokenizer.kind == "gpt2-bpe"
    rows = read_indexed(out / "bin" / "shard0" / "train.target")
    examples = {e["id"]: e for e in read_jsonl_dir(out / "examples")}
    with gzip.open(out / "bin" / "shard0" / "train.rows.jsonl.gz", "rt") as f:
        meta = [json.loads(line) for line in f]
    assert len(rows) == len(meta) > 0
    for row, info in zip(rows, meta):
        start, end = info["window"]
        assert seq.strip_knowledge(tokenizer.decode(row.tolist())) == examples[info["example"]]["text"][start:end]


def test_the_dumps_language_token_is_chosen_or_named() -> None:
    """mBART runs record the dump's language token, one of the dictionary's codes (fairseq's ``[uk_UA]``,
    Hugging Face's ``uk_UA``); an unknown or ambiguous choice stops with a message naming the option."""
    from pipeline.options import KilmOptions, OptionError, check_options, dump_language_token

    def options(*argv: str) -> KilmOptions:
        return KilmOptions(["--input", "x.xml", "--output", "out", *argv])

    fairseq = ["<s>", "<pad>", "</s>", "<unk>", "a", "[en_XX]", "[uk_UA]", "[vi_VN]", seq.MASK, *seq.SPECIAL_TOKENS]
    assert dump_language_token(options(), "uk", fairseq) == "[uk_UA]"
    assert dump_language_token(options(), "vi", fairseq) == "[vi_VN]"
    with pytest.raises(OptionError, match=r"have none for the dump's language 'hy'.*--dump-language-token"):
        dump_language_token(options(), "hy", fairseq)
    assert dump_language_token(options("--dump-language-token", "[en_XX]"), "hy", fairseq) == "[en_XX]"
    hugging_face = ["<s>", "a", "en_XX", "uk_UA", seq.MASK]
    assert dump_language_token(options(), "uk", hugging_face) == "uk_UA"
    bart = ["<s>", "a", seq.MASK, *seq.SPECIAL_TOKENS]
    assert dump_language_token(options(), "uk", bart) is None  # BART: no language token
    with pytest.raises(OptionError, match=r"--dump-language-token uk_UA: not one of the tokenizer's language tokens"):
        dump_language_token(options("--dump-language-token", "uk_UA"), "uk", bart)
    with pytest.raises(OptionError, match=r"--language-tokens goes with --spm-model"):
        check_options(options("--train-tokenizer", "--language-tokens", "[uk_UA]"))


def test_hugging_face_mbart_tokenizer_matches_the_fairseq_layout(tmp_path):
    """A Hugging Face mBART ``tokenizer.json`` (``<s> <pad> </s> <unk>``, the pieces, language codes,
    ``<mask>``; a ``▁`` prepended to every text) gives fairseq mBART's indices, and KILM rows built from
    it decode to the infilled text exactly (the dummy prefix is turned off)."""
    from tokenizers import AddedToken, decoders, pre_tokenizers

    from kilm.spm import SPM_SPECIALS, _bpe_from_pieces, _pieces

    model = train_spm_model(sorted(TEXTS * 30), 600, tmp_path / "sentence.bpe")
    pieces = [p for p in _pieces(str(model)) if p[0] not in SPM_SPECIALS]
    write_dict(tmp_path / "dict.txt", [p for p, _ in pieces])
    codes = ["en_XX", "uk_UA"]
    names = ["<s>", "<pad>", "</s>", "<unk>"]
    hf = _bpe_from_pieces([(n, 0.0) for n in names] + pieces + [(c, 0.0) for c in [*codes, seq.MASK]])
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    hf.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    hf.add_special_tokens([AddedToken(t, special=True) for t in [*names, *codes, seq.MASK]])
    (tmp_path / "hf").mkdir()
    hf.save(str(tmp_path / "hf" / "tokenizer.json"))

    tokenizer = KilmTokenizer.from_hf_dir(tmp_path / "hf")
    fairseq = from_spm_model(model, tmp_path / "dict.txt", [f"[{c}]" for c in codes])
    assert [s.strip("[]") for s in fairseq.symbols] == tokenizer.symbols
    for text in TEXTS:
        assert tokenizer.encode(text) == fairseq.encode(text)
    window = seq.Window(TEXTS[0], 0, 4, "Київ", "столиця України")
    assert tokenizer.decode(tokenizer.encode_window(window).target) == seq.infilled_text(window)
