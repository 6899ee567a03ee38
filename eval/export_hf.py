"""Export a fairseq KILM checkpoint as a Hugging Face ``BartForConditionalGeneration`` + fast tokenizer.

``python -m eval.export_hf --checkpoint CKPT --data OUT --out DIR``; then, offline::

    tok = AutoTokenizer.from_pretrained(DIR); model = BartForConditionalGeneration.from_pretrained(DIR)

The tokenizer's ids ARE the fairseq dictionary indices (``<s> <pad> </s> <unk>`` first, ``<mask>`` and
the five KILM tokens as special tokens), so the weights need no reordering. The special tokens strip
the spaces next to them the way :func:`kilm.sequence.encode_window` places them, so the text form
``... the <ent> Joker </ent><ent_desc> <mask> </ent_desc> ...`` tokenizes as the model was trained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eval.models import EXPORT_INFO, ModelError, fairseq_model_args, fit_rows, trained_on_knowledge
from kilm import sequence as seq
from kilm.checkpoint import load_checkpoint
from kilm.cli import Parser, RunDirError, run_dir
from kilm.hf_convert import ConversionError, fairseq_to_hf
from kilm.tokenizer import KilmTokenizer, TokenizerError


def hf_tokenizer_json(tokenizer: KilmTokenizer) -> dict[str, Any]:
    """The ``tokenizer.json`` of a fast tokenizer whose ids are ``tokenizer``'s dictionary indices."""
    config = json.loads(tokenizer.tokenizer.to_str())
    if config["model"].get("type") != "BPE":
        raise TokenizerError(f"only BPE tokenizers can be exported, not {config['model'].get('type')}")
    specials = {*seq.FAIRSEQ_SPECIALS, seq.MASK, *seq.SPECIAL_TOKENS}
    vocab: dict[str, int] = {}
    for index, symbol in enumerate(tokenizer.symbols):
        token = tokenizer.tokenizer.id_to_token(int(symbol)) if tokenizer.symbol_mode == "id" and \
            symbol.isdigit() else symbol
        vocab[token if token is not None else symbol] = index
    for token in config["model"]["vocab"]:  # BPE pieces outside the dictionary encode as <unk>, as in fairseq
        vocab.setdefault(token, seq.UNK)
    config["model"]["vocab"] = vocab
    config["model"]["unk_token"] = "<unk>"
    config["added_tokens"] = [
        {"id": vocab[t], "content": t, "single_word": False, "lstrip": seq.HF_STRIP.get(t, (False, False))[0],
         "rstrip": seq.HF_STRIP.get(t, (False, False))[1], "normalized": False, "special": True}
        for t in tokenizer.symbols if t in specials
    ]
    config["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("<s>", "</s>")},
    }
    return config


def export(checkpoint_path: Path, data: Path, out: Path) -> Path:
    """Write model, tokenizer, generation config and ``kilm_export.json`` to ``out``."""
    from tokenizers import Tokenizer
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    tokenizer = KilmTokenizer.load(data / "tokenizer")
    checkpoint = load_checkpoint(checkpoint_path)
    state = dict(checkpoint["model"])
    added = fit_rows(state, ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                             "decoder.output_projection.weight"], len(tokenizer))
    s = tokenizer.special
    model = fairseq_to_hf(state, fairseq_model_args(checkpoint), mask_token_id=s.mask)
    model.generation_config = GenerationConfig(
        num_beams=4, no_repeat_ngram_size=0, length_penalty=1.0, early_stopping=True, max_new_tokens=64,
        decoder_start_token_id=seq.DECODER_START, bos_token_id=seq.BOS, pad_token_id=seq.PAD,
        eos_token_id=[s.desc_end, seq.EOS], forced_bos_token_id=None, forced_eos_token_id=None)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(hf_tokenizer_json(tokenizer))),
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        extra_special_tokens=list(seq.SPECIAL_TOKENS), model_max_length=model.config.max_position_embeddings)
    fast.save_pretrained(str(out))
    task = checkpoint.get("cfg", {}).get("task") or {}
    info = {"source_checkpoint": str(checkpoint_path), "task": task.get("_name") if isinstance(task, dict) else None,
            "knowledge_trained": trained_on_knowledge(checkpoint), "rows_appended": added, "data": str(data)}
    (out / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m eval.export_hf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="fairseq checkpoint (.pt)")
    parser.add_argument("--data", type=Path, required=True, metavar="OUT",
                        help="the pipeline's output directory OUT (its tokenizer/ gives the ids)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the Hugging Face model to")
    args = parser.parse_args(argv)
    try:
        export(args.checkpoint, run_dir(args.data), args.out)
    except (FileNotFoundError, ModelError, ConversionError, TokenizerError, RunDirError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
