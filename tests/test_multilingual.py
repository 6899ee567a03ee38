"""Any language: SentencePiece/mBART dictionaries, and the real uk/vi/hy samples through the pipeline."""

from __future__ import annotations

import json
import re

import pytest

from kilm import sequence as seq
from kilm.spm import from_spm_model, train_spm_model
from kilm.tokenizer import KilmTokenizer
from pipeline.run import main
from tests.dumps import read_jsonl_dir, shared_dump

RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|<ref|'''|&nbsp;|^\s*\|[-}]?", re.MULTILINE)
TEXTS = ["Київ — столиця України, місто на Дніпрі.", "Hà Nội là thủ đô của Việt Nam.", "Երևանը մայրաքաղաք է։"]


def test_mbart_layout_keeps_every_index_and_appends_ours(tmp_path):
    """fairseq mBART: sentence.bpe.model + dict.txt; language tokens and <mask> precede our five."""
    model_dir = tmp_path / "mbart.stand-in"
    model_dir.mkdir()
    model = train_spm_model(sorted(TEXTS * 30), 600, model_dir / "sentence.bpe")
    trained = from_spm_model(model)
    base = [s for s in trained.symbols[4:] if s not in (seq.MASK, *seq.SPECIAL_TOKENS)]
    seq.write_dict(model_dir / "dict.txt", base)
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
                 "--vocab-size", "4000"]) == 0
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
