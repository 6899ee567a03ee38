"""Generate the knowledge span of a marked mention with any model (CLI and Python).

    python -m eval.describe --model kilm.pt --data OUT --text "The [[Joker]] fought Batman."
    python -m eval.describe --model hf_export/ --text "The Joker fought Batman." --start 4 --end 9

Python: ``describe(load(path, data), text, start, end)`` → ``Description(title, description, ...)``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from eval.data import fit_window
from eval.models import KilmModel, ModelError, load_model
from eval.probe import decode_span
from kilm import sequence as seq
from kilm.cli import Parser, run_dir
from kilm.records import language_token
from kilm.tokenizer import KilmTokenizer

_MARK_RE = re.compile(r"\[\[(.+?)\]\]")


@dataclass(frozen=True)
class Description:
    title: str
    description: str
    score: float  # length-normalised log-prob of the generated span


def parse_marked(text: str) -> tuple[str, int, int]:
    """``"... [[Joker]] ..."`` → (text without the brackets, start, end) of the first marked mention."""
    match = _MARK_RE.search(text)
    if match is None:
        raise ValueError(f"no [[mention]] marked in {text!r}")
    plain = text[: match.start()] + match.group(1) + _MARK_RE.sub(r"\1", text[match.end() :])
    return plain, match.start(), match.start() + len(match.group(1))


def load(path: str | Path, data: str | Path | None = None, device: str = "cpu") -> KilmModel:
    """A model with its tokenizer: ``data/tokenizer`` if given, else the Hugging Face export's own."""
    path = Path(path)
    if data is not None:
        tokenizer = KilmTokenizer.load(Path(data) / "tokenizer")
        return load_model(path, tokenizer, device, language_token(Path(data)))
    if path.is_dir():
        return load_model(path, KilmTokenizer.from_hf_dir(path), device)
    raise ModelError(f"{path}: a fairseq checkpoint needs --data OUT for its tokenizer")


def describe(model: KilmModel, text: str, start: int, end: int, beam: int = 4, max_new_tokens: int = 64
             ) -> Description:
    """The title and description the model generates for ``text[start:end]``."""
    window = fit_window(seq.Window(text, start, end, "", ""), model.tokenizer, model.max_positions,
                        max_new_tokens + 1)
    if window is None:
        raise ValueError(f"the mention {text[start:end]!r} alone does not fit the model")
    enc = model.tokenizer.encode_window(window)
    hyp = model.generate([enc.source], [model.decoder_prefix(enc.target[: enc.span_start])],
                         model.probe_settings(beam, max_new_tokens))[0]
    title, description = decode_span(model, hyp.tokens)
    return Description(title, description, hyp.score)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m eval.describe", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="fairseq checkpoint (.pt) or Hugging Face directory")
    p.add_argument("--data", type=Path, default=None, metavar="OUT",
                   help="the pipeline's output directory OUT (its tokenizer/); not needed for a Hugging Face export")
    p.add_argument("--text", required=True, help="text with the mention marked [[like this]], or use --start/--end")
    p.add_argument("--start", type=int, default=None, help="mention start (code points), with --end")
    p.add_argument("--end", type=int, default=None, help="mention end (code points, exclusive)")
    p.add_argument("--beam", type=int, default=4, help="beam size of the generated span")
    p.add_argument("--max-new-tokens", type=int, default=64, help="longest generated title + description")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    args = p.parse_args(argv)
    try:
        if (args.start is None) != (args.end is None):
            raise ValueError("--start and --end go together")
        if args.start is None:
            text, start, end = parse_marked(args.text)
        else:
            text, start, end = args.text, args.start, args.end
            seq.Window(text, start, end, "", "")  # validates the offsets
        model = load(args.model, run_dir(args.data) if args.data else None, args.device)
        result = describe(model, text, start, end, args.beam, args.max_new_tokens)
    except (ValueError, FileNotFoundError) as e:  # ModelError, TokenizerError, ConversionError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{text[start:end]} → {result.title} {seq.SEP} {result.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
