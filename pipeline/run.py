"""``python -m pipeline.run --input DUMP [--input DUMP ...] --output DIR [options] [Beam options]``

Runs locally on Beam's FnApiRunner, the runner the tests use (also ``--direct_num_workers 2
--direct_running_mode multi_processing``), and, unchanged, with ``--runner`` on Dataflow, Prism, Flink or
Spark through Beam's own options (see README). ``--runner DataflowRunner --dry_run True`` builds the job,
reports it and runs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from kilm import records
from kilm import sequence as seq
from kilm.cli import Parser, unknown_options_message
from kilm.tokenizer import KilmTokenizer, TokenizerError
from pipeline.binarize import Binarize, RowRules
from pipeline.descriptions import ChooseDescriptions
from pipeline.dump import read_site
from pipeline.knowledge import BuildKnowledge, example_texts
from pipeline.manifest import WriteManifest, static_manifest
from pipeline.options import (
    KilmOptions,
    OptionError,
    check_options,
    description_sources,
    dump_language_token,
    language_tokens,
)
from pipeline.outcomes import DEAD_LETTER, STATS
from pipeline.parse import PageRules, ParsePages
from pipeline.read import ReadPages, open_raw
from pipeline.resolve import ResolveLinks, ResolveRedirects
from pipeline.runners import DryRun, check_dry_run, chosen_runner, is_dry_run
from pipeline.runs import RemoveRuns, RunSpill
from pipeline.sinks import WriteJsonl
from pipeline.site import NO_SITEINFO, Site, one_site
from pipeline.splits import SPLITS, SplitConfig
from pipeline.summary import summary
from pipeline.vocabulary import SaveTokenizer, TrainTokenizer

log = logging.getLogger("pipeline")


class InputError(ValueError):
    """A missing or unreadable input; the message names it."""


def expand_inputs(patterns: list[str]) -> list[str]:
    """Globs and paths → sorted file list; a pattern that matches nothing stops the run."""
    paths: list[str] = []
    for pattern in patterns:
        try:
            matched = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        except Exception as err:  # Beam raises BeamIOError with the filesystem's own reason
            raise InputError(f"--input {pattern}: cannot be read ({err})") from None
        if not matched:
            raise InputError(f"--input {pattern}: no such file")
        paths.extend(matched)
    return sorted(set(paths))


def site_of(paths: list[str]) -> Site:
    """The run's wiki from each file's head (:func:`pipeline.site.one_site`); a file without a usable
    head is left to the read, which records why, unless no file has one."""
    sites, unreadable = {}, []
    for path in paths:
        try:
            sites[path] = read_site(path, open_raw, max_page_bytes=64 << 20)
        except ValueError as err:
            unreadable.append(f"{path}: {err}")
    try:
        site = one_site(sites)
    except ValueError as err:
        raise InputError(f"--input: {err}" + (f" ({'; '.join(unreadable)})" if unreadable else "")) from None
    for path in site.without_siteinfo:
        log.warning("%s: %s", path, NO_SITEINFO)
    return site


def pretrained_tokenizer(options: KilmOptions) -> KilmTokenizer | None:
    if options.bart_dir:
        return KilmTokenizer.from_bart_dir(options.bart_dir)
    if options.hf_tokenizer:
        return KilmTokenizer.from_hf_dir(options.hf_tokenizer)
    if options.spm_model:
        from kilm.spm import from_spm_model

        return from_spm_model(options.spm_model, options.dict, language_tokens(options))
    return None


def build_pipeline(pipeline: beam.Pipeline, options: KilmOptions, paths: list[str], site: Site,
                   tokenizer: KilmTokenizer | None) -> None:
    """The whole graph, stage by stage (also used by tests to build it with Dataflow options, without
    running)."""
    output = options.output
    spill = RunSpill.under(output, options.sort_buffer_mb)
    splits = SplitConfig(options.valid_fraction, options.test_fraction, options.unseen_entity_fraction)
    rules = PageRules(
        site=site,
        scope=options.text_scope,
        short_description_names=frozenset(n.strip().casefold() for n in options.short_description_templates.split(",")),
        description_sources=description_sources(options),
    )
    disambiguation_templates = frozenset(
        site.normalize(n).casefold() for n in options.disambiguation_templates.split(",") if n.strip())

    read = (pipeline | "InputFiles" >> beam.Create(paths, reshuffle=False)  # ReadPages spreads the files
            | "ReadPages" >> ReadPages(options.max_page_bytes, options.streams_per_read))
    parsed = read["pages"] | "ParsePages" >> ParsePages(rules, disambiguation_templates, spill)
    languages = tuple(dict.fromkeys([site.language, *options.wikidata_fallback_languages.split(",")]))
    described = parsed["articles"] | "ChooseDescriptions" >> ChooseDescriptions(
        rules.description_sources, options.wikidata_descriptions, site, tuple(lang for lang in languages if lang))
    articles = described["articles"]
    page_index = (
        (articles | "IndexEntities" >> beam.Map(lambda a: (a["title"], ("entity", a["description"]))),
         parsed["disambiguations"] | "IndexDisambiguations" >> beam.Map(
             lambda d: (d["title"], ("disambiguation", None))))
        | "FlattenPageIndex" >> beam.Flatten()
    )
    redirects = ({"page_index": page_index, "redirects": parsed["redirects"]}
                 | "ResolveRedirects" >> ResolveRedirects(options.max_redirect_hops))
    links = {"articles": articles, "disambiguations": parsed["disambiguations"],
             "aliases": redirects["aliases"]} | "ResolveLinks" >> ResolveLinks(spill)
    knowledge = ({"articles": articles, "links": links["links"], "body_links": links["body_links"],
                  "aliases": redirects["aliases"],
                  "disambiguation_aliases": links["disambiguation_aliases"]}
                 | "BuildKnowledge" >> BuildKnowledge(splits, site.language, spill))
    examples = knowledge["examples"]

    if tokenizer is not None:
        tokenizer_json = pipeline | "PretrainedTokenizer" >> beam.Create([tokenizer.to_json()])
    else:
        tokenizer_json = (articles | "ExampleTexts" >> beam.FlatMap(example_texts, splits)
                          | "Tokenizer" >> TrainTokenizer(
            options.train_tokenizer, options.vocab_size, options.tokenizer_sample_fraction,
            options.tokenizer_sample_max, spill))
    tokenizer_info = tokenizer_json | "SaveTokenizer" >> SaveTokenizer(output, options.num_shards)

    # mBART: the trainer appends the dump's language token to every row; --max-tokens counts it.
    language = dump_language_token(options, site.language, tokenizer.symbols if tokenizer else ())
    row_rules = RowRules(splits, options.max_infills_per_paragraph, seq.row_limit(options.max_tokens, language),
                         options.plain_fraction, options.num_shards)
    binarized = {"examples": examples, "tokenizer": tokenizer_json} | "Binarize" >> Binarize(output, spill, row_rules)

    num_files = options.num_shards
    written_examples = examples | "WriteExamples" >> WriteJsonl(
        output, spill, [records.example_prefix(s) for s in SPLITS], num_files,
        lambda e: records.example_prefix(e["split"]), lambda e: e["id"], lambda e: (e["page_id"], e["paragraph"]),
        project=records.example_record)
    written_entities = knowledge["entities"] | "WriteEntities" >> WriteJsonl(
        output, spill, [records.ENTITY_PREFIX], num_files, lambda e: records.ENTITY_PREFIX, lambda e: e["title"],
        lambda e: e["title"])
    written_aliases = knowledge["aliases"] | "WriteAliases" >> WriteJsonl(
        output, spill, [records.ALIAS_PREFIX], num_files, lambda a: records.ALIAS_PREFIX, lambda a: a["surface"],
        lambda a: a["surface"])
    dead_letters = (
        (read[DEAD_LETTER], parsed[DEAD_LETTER], redirects[DEAD_LETTER])
        | "FlattenDeadLetters" >> beam.Flatten()
    )
    written_dead_letters = dead_letters | "WriteDeadLetters" >> WriteJsonl(
        output, spill, [records.DEAD_LETTER_PREFIX], 1, lambda d: records.DEAD_LETTER_PREFIX, lambda d: d["reason"],
        lambda d: (d["file"] or "", d["offset"], d.get("title") or "", d["reason"], json.dumps(d, sort_keys=True)))

    _ = ((written_examples, written_entities, written_aliases, written_dead_letters, binarized["counted"])
         | "FlattenWritten" >> beam.Flatten()
         | "RemoveRuns" >> RemoveRuns(spill))

    _ = (
        (read[STATS], parsed[STATS], described[STATS], redirects[STATS], links[STATS], knowledge[STATS],
         binarized[STATS], binarized["counted"],
         read["errors"] | "TagErrors" >> beam.Map(lambda e: ("errors", e)),
         read["inputs"] | "TagInputs" >> beam.Map(lambda i: ("inputs", i)),
         tokenizer_info | "TagTokenizer" >> beam.Map(lambda t: ("tokenizer", t)))
        | "FlattenManifestParts" >> beam.Flatten()
        | "Manifest" >> WriteManifest(output, static_manifest(options, site, splits, language))
    )


def beam_parser() -> argparse.ArgumentParser:
    """Every option Beam's options classes define."""
    parser = argparse.ArgumentParser(prog="Beam options (python -m pipeline.run ... [Beam options])",
                                     add_help=False, allow_abbrev=False)
    seen = set()

    def add(cls):
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                with contextlib.suppress(argparse.ArgumentError):  # options several classes share
                    sub._add_argparse_args(parser)
                add(sub)

    add(PipelineOptions)
    return parser


class _BeamHelp(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        beam_parser().print_help()
        parser.exit()


def command_parser() -> Parser:
    """Our options, with their defaults and why, for ``--help`` and for one-line option errors."""
    parser = Parser(prog="python -m pipeline.run", usage=__doc__.split("``")[1],
                    description=__doc__.split("\n\n", 1)[1].strip(),
                    epilog="Any other --flag goes to Beam (runner, workers, Dataflow/Flink/Spark settings, e.g. "
                           "--runner DataflowRunner, --direct_num_workers 2); --beam-help lists them.")
    KilmOptions._add_argparse_args(parser)
    parser.add_argument("--beam-help", action=_BeamHelp, nargs=0,
                        help="list Beam's own options (runners, workers, cloud settings) and exit")
    return parser


def split_args(argv: Sequence[str]) -> tuple[KilmOptions, list[str]]:
    """Our options, and the arguments that are Beam's: Beam sees only those, so it never reports ours
    as unparseable; a flag neither knows stops the run with the nearest option named."""
    ours = command_parser()
    _, rest = ours.parse_known_args(argv)  # --help, type and choice errors, on one line
    beam = beam_parser()
    _, unknown = beam.parse_known_args(rest)
    unknown = [u.split("=", 1)[0] for u in unknown if u.startswith("--")]
    if unknown:
        known = ours.option_names() + [o for a in beam._actions for o in a.option_strings]
        ours.error(unknown_options_message(unknown, known))
    return KilmOptions(list(argv)), rest


#: Beam's SDK worker processes (``--direct_running_mode multi_processing``) print every INFO line and warn
#: that they discard flags the DirectRunner adds itself; on a local run they keep warnings, errors and our
#: progress lines. A user's own values of these flags win.
QUIET_LOCAL_WORKERS = {
    "--default_sdk_harness_log_level": "WARNING",
    "--sdk_harness_log_level_overrides": json.dumps(
        {"__main__": "ERROR", "apache_beam.options.pipeline_options": "ERROR", "pipeline": "INFO"}),
}


def with_quiet_local_workers(beam_args: list[str]) -> list[str]:
    """``beam_args`` plus :data:`QUIET_LOCAL_WORKERS` for a local run (other runners log elsewhere)."""
    if PipelineOptions(beam_args).view_as(StandardOptions).runner not in (None, "DirectRunner", "direct"):
        return beam_args
    given = {arg.split("=", 1)[0] for arg in beam_args}
    return [*beam_args, *(f"{flag}={value}" for flag, value in QUIET_LOCAL_WORKERS.items() if flag not in given)]


def run(argv: list[str] | None = None, *, build_only: bool = False):
    """Parse options, check inputs, build and run the pipeline; returns the Beam result, or for a dry run
    the :class:`~pipeline.runners.DryRun` it built."""
    argv = list(sys.argv[1:] if argv is None else argv)
    options, beam_args = split_args(argv)
    check_options(options)
    paths = expand_inputs(options.input)
    if options.wikidata_descriptions:
        expand_inputs([options.wikidata_descriptions])
    site = site_of(paths)
    tokenizer = pretrained_tokenizer(options)
    beam_options = PipelineOptions(with_quiet_local_workers(beam_args))
    pipeline = beam.Pipeline(runner=chosen_runner(beam_options), options=beam_options)
    check_dry_run(pipeline)
    log.info("kilm pipeline: %d input file(s) from %s (%s), output %s, on the %s", len(paths), site.dbname,
             site.language, options.output, type(pipeline.runner).__name__)
    build_pipeline(pipeline, options, paths, site, tokenizer)
    if build_only:
        return pipeline
    result = pipeline.run()
    if is_dry_run(beam_options):
        return DryRun.of(pipeline, result, paths, f"{site.dbname} ({site.language})", options.output)
    result.wait_until_finish()
    return result


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        result = run(argv)
    except (OptionError, InputError, TokenizerError) as err:
        print(f"python -m pipeline.run: error: {err}", file=sys.stderr)
        return 2
    if isinstance(result, DryRun):
        print(result.report())
        return 0
    output = KilmOptions(argv).output
    with FileSystems.open(FileSystems.join(output, "manifest.json")) as f:
        manifest = json.loads(f.read())
    print(summary(manifest, output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
