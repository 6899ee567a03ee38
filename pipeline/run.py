"""``python -m pipeline.run --input DUMP [--input DUMP ...] --output DIR [options] [Beam options]``

Runs locally (DirectRunner, also ``--direct_num_workers 2 --direct_running_mode multi_processing``)
and, unchanged, on Dataflow, Flink or Spark through Beam's own options (see README).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from importlib import metadata

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from kilm.tokenizer import KilmTokenizer, TokenizerError
from pipeline import transforms as T
from pipeline.dump import read_site
from pipeline.examples import SPLITS, SplitConfig, stable_unit
from pipeline.options import (
    KilmOptions,
    OptionError,
    check_options,
    description_sources,
    dump_language_token,
    language_tokens,
)
from pipeline.pages import PageRules
from pipeline.site import NO_SITEINFO, Site, one_site

FORMAT_VERSION = 1
LICENSE = ("Text derived from Wikipedia is licensed CC BY-SA (https://creativecommons.org/licenses/by-sa/4.0/); "
           "derived data keeps that license and needs attribution.")
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
            sites[path] = read_site(path, T.open_raw, max_page_bytes=64 << 20)
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


def _manifest(parts: list, static: dict) -> bytes:
    manifest = dict(static)
    counts: dict[str, dict[str, int]] = {}
    errors, inputs, tokenizer = [], [], {}
    for part in parts:
        kind = part[0]
        if kind == "errors":
            errors.append(part[1])
        elif kind == "inputs":
            inputs.append(part[1])
        elif kind == "tokenizer":
            tokenizer = part[1]
        else:
            section, key, n = part
            counts.setdefault(section, {})[key] = counts.get(section, {}).get(key, 0) + n
    outcomes = counts.pop("outcomes", {})
    manifest["inputs"] = sorted(inputs, key=lambda i: i["path"])
    manifest["tokenizer"] = {**static.get("tokenizer", {}), **tokenizer}
    manifest["counts"] = {"pages_read": sum(outcomes.values()), "outcomes": dict(sorted(outcomes.items()))}
    manifest["links"] = dict(sorted(counts.pop("links", {}).items()))
    manifest["redirects"] = dict(sorted(counts.pop("redirects", {}).items()))
    for section in ("examples", "sequences", "plain_sequences"):  # per split, zeros included
        found = counts.pop(section, {})
        manifest[section] = {split: found.get(split, 0) for split in SPLITS}
    manifest["statistics"] = {k: dict(sorted(v.items())) for k, v in sorted(counts.items())}
    manifest["errors"] = sorted(errors, key=lambda e: (e["file"], e.get("stream_offset", 0), e["offset"], e["reason"],
                                                       json.dumps(e, sort_keys=True)))
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for package in ("apache-beam", "mwparserfromhell", "mwxml", "tokenizers", "sentencex"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def build_pipeline(pipeline: beam.Pipeline, options: KilmOptions, paths: list[str], site: Site,
                   tokenizer: KilmTokenizer | None) -> None:
    """The whole graph (also used by tests to build it with Dataflow options, without running)."""
    output = options.output
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
            | "ReadPages" >> T.ReadPages(options.max_page_bytes, options.streams_per_read))
    parsed = read["pages"] | "ParsePages" >> T.ParsePages(rules, disambiguation_templates)
    languages = tuple(dict.fromkeys([site.language, *options.wikidata_fallback_languages.split(",")]))
    described = parsed["articles"] | "ChooseDescriptions" >> T.ChooseDescriptions(
        rules.description_sources, options.wikidata_descriptions, site, tuple(lang for lang in languages if lang))
    articles = described["articles"]
    page_index = (
        (articles | "IndexEntities" >> beam.Map(lambda a: (a["title"], ("entity", a["description"]))),
         parsed["disambiguations"] | "IndexDisambiguations" >> beam.Map(
             lambda d: (d["title"], ("disambiguation", None))))
        | "FlattenPageIndex" >> beam.Flatten()
    )
    redirects = ({"page_index": page_index, "redirects": parsed["redirects"]}
                 | "ResolveRedirects" >> T.ResolveRedirects(options.max_redirect_hops))
    links = {"articles": articles, "disambiguations": parsed["disambiguations"],
             "aliases": redirects["aliases"]} | "ResolveLinks" >> T.ResolveLinks()
    knowledge = ({"articles": articles, "links": links["links"], "aliases": redirects["aliases"],
                  "disambiguation_aliases": links["disambiguation_aliases"]}
                 | "BuildKnowledge" >> T.BuildKnowledge(splits, site.language))
    examples = knowledge["examples"]

    if tokenizer is not None:
        tokenizer_json = pipeline | "PretrainedTokenizer" >> beam.Create([tokenizer.to_json()])
    else:
        fraction, kind, vocab = options.tokenizer_sample_fraction, options.train_tokenizer, options.vocab_size
        tokenizer_json = (
            examples
            | "TokenizerSample" >> beam.Filter(lambda e: stable_unit(e["id"], "tokenizer") < fraction)
            | "SampleText" >> beam.Map(lambda e: e["text"])
            | "CollectSample" >> beam.combiners.ToList()
            | "TrainTokenizer" >> beam.Map(T.train_tokenizer, kind, vocab)
        )
    tokenizer_info = tokenizer_json | "SaveTokenizer" >> T.SaveTokenizer(output, options.num_shards)

    # mBART: the trainer appends the dump's language token to every row; --max-tokens counts it.
    language = dump_language_token(options, site.language, tokenizer.symbols if tokenizer else ())
    binarized = {"examples": examples, "tokenizer": tokenizer_json} | "Binarize" >> T.Binarize(
        output, splits, options.max_infills_per_paragraph, options.max_tokens - (language is not None),
        options.plain_fraction, options.num_shards)

    num_files = options.num_shards
    _ = examples | "WriteExamples" >> T.WriteJsonl(
        output, [f"examples/{s}" for s in SPLITS], num_files, lambda e: f"examples/{e['split']}",
        lambda e: e["id"], lambda e: (e["page_id"], e["paragraph"]), project=T.public_example)
    _ = knowledge["entities"] | "WriteEntities" >> T.WriteJsonl(
        output, ["entities/entities"], num_files, lambda e: "entities/entities", lambda e: e["title"],
        lambda e: e["title"])
    _ = knowledge["aliases"] | "WriteAliases" >> T.WriteJsonl(
        output, ["alias/alias"], num_files, lambda a: "alias/alias", lambda a: a["surface"], lambda a: a["surface"])
    dead_letters = (
        (read[T.DEAD_LETTER], parsed[T.DEAD_LETTER], redirects[T.DEAD_LETTER])
        | "FlattenDeadLetters" >> beam.Flatten()
    )
    _ = dead_letters | "WriteDeadLetters" >> T.WriteJsonl(
        output, ["dead_letter/dead_letter"], 1, lambda d: "dead_letter/dead_letter", lambda d: d["reason"],
        lambda d: (d["file"] or "", d["offset"], d.get("title") or "", d["reason"], json.dumps(d, sort_keys=True)))

    static = {
        "format_version": FORMAT_VERSION,
        "options": _public_options(options),
        "site": site.manifest_record(),
        "tokenizer": {"source": _tokenizer_source(options),
                      "language_token": language},
        "versions": _versions(),
        "split": {"valid_fraction": splits.valid_fraction, "test_fraction": splits.test_fraction,
                  "unseen_entity_fraction": splits.unseen_entity_fraction,
                  "hash": "blake2b-64 of (salt, title); salts 'page', 'entity'",
                  "plain_fraction": options.plain_fraction},
        "license": LICENSE,
    }
    _ = (
        (read[T.STATS], parsed[T.STATS], described[T.STATS], redirects[T.STATS], links[T.STATS], knowledge[T.STATS],
         binarized[T.STATS], binarized["counted"],
         read["errors"] | "TagErrors" >> beam.Map(lambda e: ("errors", e)),
         read["inputs"] | "TagInputs" >> beam.Map(lambda i: ("inputs", i)),
         tokenizer_info | "TagTokenizer" >> beam.Map(lambda t: ("tokenizer", t)))
        | "FlattenManifestParts" >> beam.Flatten()
        | "CollectManifest" >> beam.combiners.ToList()
        | "WriteManifest" >> beam.Map(
            lambda parts: T._write_bytes(FileSystems.join(output, "manifest.json"), _manifest(parts, static)))
    )


def _tokenizer_source(options: KilmOptions) -> str:
    if options.bart_dir:
        return f"bart-dir:{options.bart_dir}"
    if options.hf_tokenizer:
        return f"hf-tokenizer:{options.hf_tokenizer}"
    if options.spm_model:
        return f"spm-model:{options.spm_model}" + (f",dict:{options.dict}" if options.dict else "")
    return f"trained-{options.train_tokenizer}:vocab={options.vocab_size}"


def _public_options(options: KilmOptions) -> dict:
    """Our options as run (Beam's runner options are not part of the data's identity)."""
    ours = {}
    parser = argparse.ArgumentParser(add_help=False)
    KilmOptions._add_argparse_args(parser)
    for action in parser._actions:
        if action.dest != "help":
            ours[action.dest] = getattr(options, action.dest, None)
    ours["input"] = sorted(ours["input"] or [])
    return ours


def _unknown_flags(argv: list[str]) -> list[str]:
    """Flags neither we nor any Beam options class define (Beam would drop them with a warning)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    seen = set()

    def add(cls):
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                with contextlib.suppress(argparse.ArgumentError):  # options several classes share
                    sub._add_argparse_args(parser)
                add(sub)

    add(PipelineOptions)
    _, unknown = parser.parse_known_args(argv)
    return [u.split("=", 1)[0] for u in unknown if u.startswith("--")]


def run(argv: list[str] | None = None, *, build_only: bool = False):
    """Parse options, check inputs, build and run the pipeline; returns the Beam result."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pipeline_options = PipelineOptions(argv)
    options = pipeline_options.view_as(KilmOptions)
    unknown = _unknown_flags(argv)
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(unknown)} (see python -m pipeline.run --help)")
    check_options(options)
    paths = expand_inputs(options.input)
    if options.wikidata_descriptions:
        expand_inputs([options.wikidata_descriptions])
    site = site_of(paths)
    tokenizer = pretrained_tokenizer(options)
    log.info("kilm pipeline: %d input file(s) from %s (%s), output %s", len(paths), site.dbname, site.language,
             options.output)
    pipeline = beam.Pipeline(options=pipeline_options)
    build_pipeline(pipeline, options, paths, site, tokenizer)
    if build_only:
        return pipeline
    result = pipeline.run()
    result.wait_until_finish()
    return result


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apache_beam", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        run(argv)
    except (OptionError, InputError, TokenizerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output = KilmOptions(argv if argv is not None else sys.argv[1:]).output
    manifest_path = FileSystems.join(output, "manifest.json")
    with FileSystems.open(manifest_path) as f:
        manifest = json.loads(f.read())
    print(summary(manifest, output))
    return 0


def summary(manifest: dict, output: str) -> str:
    counts = manifest["counts"]
    lines = [f"pages read: {counts['pages_read']}"]
    lines += [f"  {k}: {v}" for k, v in counts["outcomes"].items()]
    lines.append(f"links: {manifest['links']}")
    lines.append(f"examples (paragraphs): {manifest['examples']}")
    lines.append(f"sequences (binarized rows): {manifest['sequences']}")
    if manifest["errors"]:
        lines.append(f"damaged inputs: {len(manifest['errors'])} (see manifest.json 'errors' and dead_letter/)")
    lines.append(f"output: {output}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
