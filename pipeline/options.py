"""Our command-line options (Beam's own options pass through to Beam)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from kilm.dictionary import language_code_for, language_codes

DESCRIPTION_SOURCES = ("short_description", "wikidata", "lead_sentence")
TEXT_SCOPES = ("lead", "article")
TOKENIZER_KINDS = ("bpe", "spm")
DEFAULT_DISAMBIGUATION_TEMPLATES = "Disambiguation,Disambig,Dab,Hndis,Geodis,Surname,Given name"


class OptionError(ValueError):
    """A wrong option value; the message names the option."""


#: Paragraphs a trained tokenizer sees at most: ~100 MB of text on enwiki, more than byte-level BPE's
#: merges at these vocabulary sizes need; every sample here and the demo world have fewer.
TOKENIZER_SAMPLE_MAX = 200_000
SORT_BUFFER_MB = 16


def _fraction(value: str) -> float:
    """argparse type for shares; argparse names the option in its error."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value}")
    return number


def _count(value: str, least: int, kind: str) -> int:
    """argparse type for counts of at least ``least``; argparse names the option in its error."""
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < least:
        raise argparse.ArgumentTypeError(f"expected {kind} integer, got {value!r}")
    return number


def _positive(value: str) -> int:
    return _count(value, 1, "a positive")


def _non_negative(value: str) -> int:
    return _count(value, 0, "a non-negative")


class KilmOptions:
    """``python -m pipeline.run --input DUMP --output DIR [...]``; every other flag goes to Beam.

    Not a Beam ``PipelineOptions`` view: Beam serialises every registered view's options for its
    workers, which do not know ours and log them as "Discarding unparseable args"; Beam gets only its
    own flags (:func:`pipeline.run.split_args`).
    """

    def __init__(self, flags: Sequence[str] = ()) -> None:
        parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
        self._add_argparse_args(parser)
        namespace, _ = parser.parse_known_args(list(flags))
        self.__dict__.update(vars(namespace))

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("kilm pipeline")
        group.add_argument("--input", action="append", default=None,
                           help="MediaWiki export (.xml, .xml.bz2, .xml.gz), a glob, local or any Beam "
                                "filesystem (gs://...); repeat for several files")
        group.add_argument("--output", default=None, help="output directory (local or gs://...)")
        tok = group.add_mutually_exclusive_group()
        tok.add_argument("--bart-dir", default=None,
                         help="fairseq bart.base/bart.large directory: encoder.json, vocab.bpe, dict.txt")
        tok.add_argument("--hf-tokenizer", default=None, help="Hugging Face tokenizer directory (tokenizer.json)")
        tok.add_argument("--spm-model", default=None,
                         help="SentencePiece model (fairseq mBART layout: sentence.bpe.model, with --dict)")
        tok.add_argument("--train-tokenizer", nargs="?", const="bpe", default=None, choices=TOKENIZER_KINDS,
                         help="train a tokenizer on the corpus itself (bare flag: byte-level BPE)")
        group.add_argument("--dict", default=None, help="fairseq dict.txt that goes with --spm-model")
        group.add_argument("--language-tokens", default="",
                           help="comma-separated language tokens the base model appends before <mask> "
                                "(mBART: [en_XX],[uk_UA],...); ours follow them")
        group.add_argument("--dump-language-token", default=None,
                           help="the language token of this dump's text, recorded in manifest.json for the "
                                "trainer (default: the one of --language-tokens whose code is the wiki's "
                                "language, e.g. [uk_UA] for ukwiki)")
        group.add_argument("--vocab-size", type=_positive, default=8000,
                           help="vocabulary size of a tokenizer trained with --train-tokenizer")
        group.add_argument("--tokenizer-sample-fraction", type=_fraction,
                           default=1.0, help="share of train paragraphs (stable hash) a trained tokenizer sees")
        group.add_argument("--tokenizer-sample-max", type=_positive, default=TOKENIZER_SAMPLE_MAX,
                           help="at most this many of those paragraphs (the lowest hashes): the sample, held "
                                "in memory to train the tokenizer, stops growing with the dump")
        group.add_argument("--sort-buffer-mb", type=_positive, default=SORT_BUFFER_MB,
                           help="records a writing step holds before it spills them, sorted, to a run file "
                                "under the output (merged into each output file at the end); memory stays "
                                "flat however large the dump")
        group.add_argument("--max-tokens", type=_positive, default=512,
                           help="tokens per sequence, <s>, </s>, the knowledge span and mBART's language token "
                                "included")
        group.add_argument("--max-infills-per-paragraph", type=_positive, default=3,
                           help="candidate knowledge rows kept per paragraph (one mention each); the trainer "
                                "trains one of them per pass, so they take turns (set it high to keep every "
                                "eligible mention)")
        group.add_argument("--plain-fraction", type=_fraction, default=1.0,
                           help="share of paragraphs without a usable mention kept as plain rows")
        group.add_argument("--num-shards", type=_positive, default=1,
                           help="train shards bin/shard0..K-1 (fairseq reads one per epoch)")
        group.add_argument("--text-scope", choices=TEXT_SCOPES, default="lead",
                           help="lead: the paragraphs before the first heading (KILM's primary setting); the rest is "
                                "scanned for its links (alias table, link counts), not parsed; "
                                "article: every body paragraph (KILM's \"data upscaling\" setting)")
        group.add_argument("--valid-fraction", type=_fraction, default=0.05,
                           help="share of pages (stable hash of the title) held out for validation")
        group.add_argument("--test-fraction", type=_fraction, default=0.05,
                           help="share of pages held out for eval (probe, ED, retention read only these)")
        group.add_argument("--unseen-entity-fraction", type=_fraction, default=0.05,
                           help="entities whose knowledge never appears in train (their pages go to test)")
        group.add_argument("--max-redirect-hops", type=_positive, default=3,
                           help="redirect chains longer than this are dead letters (loops end there too)")
        group.add_argument("--streams-per-read", type=_non_negative, default=50,
                           help="a .xml.bz2 with Wikimedia's multistream index beside it (X-index.txt.bz2) is "
                                "read in tasks of this many bz2 streams (100 pages each), spread over the "
                                "workers; 0 reads every file whole")
        group.add_argument("--max-page-bytes", type=_positive, default=5 * 1024 * 1024,
                           help="pages larger than this go to the dead letters")
        group.add_argument("--description-sources", default="short_description,wikidata,lead_sentence",
                           help=f"comma-separated, in order of preference, from {DESCRIPTION_SOURCES}")
        group.add_argument("--wikidata-descriptions", default=None,
                           help="Wikidata JSON dump (latest-all.json.bz2 format) for the 'wikidata' source")
        group.add_argument("--wikidata-fallback-languages", default="en",
                           help="comma-separated languages whose Wikidata description is used when the "
                                "dump's own language has none")
        group.add_argument("--disambiguation-templates", default=DEFAULT_DISAMBIGUATION_TEMPLATES,
                           help="templates marking disambiguation pages, besides those whose page in the "
                                "dump contains __DISAMBIG__")
        group.add_argument("--short-description-templates", default="Short description",
                           help="comma-separated names of the short-description template")


def check_options(options: KilmOptions) -> None:
    """Stop at once, naming the option, on what argparse cannot check alone."""
    if not options.input:
        raise OptionError("--input is required (a MediaWiki export: .xml, .xml.bz2, a glob or gs:// path)")
    if not options.output:
        raise OptionError("--output is required (a directory)")
    if not (options.bart_dir or options.hf_tokenizer or options.spm_model or options.train_tokenizer):
        raise OptionError("choose a tokenizer: --bart-dir DIR, --hf-tokenizer DIR, --spm-model FILE or "
                          "--train-tokenizer")
    if options.dict and not options.spm_model:
        raise OptionError("--dict goes with --spm-model")
    if options.language_tokens and not options.spm_model:
        raise OptionError("--language-tokens goes with --spm-model (other tokenizers bring their own)")
    if options.valid_fraction + options.test_fraction >= 1.0:
        raise OptionError("--valid-fraction + --test-fraction must leave some pages for train")
    sources = [s.strip() for s in options.description_sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in DESCRIPTION_SOURCES]
    if unknown or not sources:
        raise OptionError(f"--description-sources: unknown {unknown or sources}; choose from {DESCRIPTION_SOURCES}")
    if "wikidata" in sources and options.wikidata_descriptions is None:
        sources.remove("wikidata")
    if options.max_tokens < 16:
        raise OptionError(f"--max-tokens {options.max_tokens} is too small for a knowledge span (at least 16)")
    options.description_sources = ",".join(sources)


def language_tokens(options: KilmOptions) -> list[str]:
    """``--language-tokens`` as a list (mBART's codes, in the order its tasks add them)."""
    return [t.strip() for t in options.language_tokens.split(",") if t.strip()]


def dump_language_token(options: KilmOptions, language: str, symbols: Sequence[str] = ()) -> str | None:
    """The token mBART-style models put after this dump's text, one of the dictionary's language codes
    (``language_codes``: fairseq's ``[uk_UA]`` or Hugging Face's ``uk_UA``): ``--dump-language-token``,
    or the one code of the wiki's language; ``None`` for a dictionary without language codes (BART).
    """
    codes = language_codes(symbols)
    if options.dump_language_token:
        if options.dump_language_token not in codes:
            raise OptionError(f"--dump-language-token {options.dump_language_token}: not one of the tokenizer's "
                              f"language tokens ({', '.join(codes) or 'it has none'})")
        return options.dump_language_token
    if not codes:
        return None
    matches = language_code_for(codes, language)
    if len(matches) != 1:
        found = "none" if not matches else ", ".join(matches)
        raise OptionError(f"the tokenizer's language tokens have {found} for the dump's language {language!r}; "
                          "name the dump's token with --dump-language-token")
    return matches[0]


def description_sources(options: KilmOptions) -> tuple[str, ...]:
    return tuple(s.strip() for s in options.description_sources.split(",") if s.strip())
