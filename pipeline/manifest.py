"""``manifest.json``: what a run read, with which options and versions, and its counts, summed from
the ``(section, key, n)`` statistics every stage emits (see :mod:`pipeline.outcomes`)."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from kilm.records import MANIFEST, manifest_bytes
from pipeline.options import KilmOptions
from pipeline.sinks import write_bytes
from pipeline.splits import SPLITS, SplitConfig

#: 2: ``plain_sequences`` became ``denoising_sequences``; ``sequences`` split by kind into
#: ``sequences_with_knowledge`` and ``sequences_without_knowledge`` (were ``statistics.rows_by_kind``).
FORMAT_VERSION = 2
#: Rows counted per split, zeros included: paragraphs; KILM rows (``bin/shardK``), all and by kind;
#: rows of the plain-text corpus for fairseq's ``denoising`` task (``bin/plain``: base, control, retention).
PER_SPLIT_SECTIONS = ("examples", "sequences", "sequences_with_knowledge", "sequences_without_knowledge",
                      "denoising_sequences")
LICENSE = ("Text derived from Wikipedia is licensed CC BY-SA (https://creativecommons.org/licenses/by-sa/4.0/); "
           "derived data keeps that license and needs attribution.")


def build_manifest(parts: list, static: dict) -> dict:
    """The manifest from ``static`` and the collected parts: ``("errors", e)``, ``("inputs", i)``,
    ``("tokenizer", t)`` and ``(section, key, n)`` statistics."""
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
    for section in PER_SPLIT_SECTIONS:
        found = counts.pop(section, {})
        manifest[section] = {split: found.get(split, 0) for split in SPLITS}
    manifest["statistics"] = {k: dict(sorted(v.items())) for k, v in sorted(counts.items())}
    manifest["errors"] = sorted(errors, key=lambda e: (e["file"], e.get("stream_offset", 0), e["offset"], e["reason"],
                                                       json.dumps(e, sort_keys=True)))
    return manifest


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for package in ("apache-beam", "mwparserfromhell", "mwxml", "tokenizers", "sentencex"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def tokenizer_source(options: KilmOptions) -> str:
    if options.bart_dir:
        return f"bart-dir:{options.bart_dir}"
    if options.hf_tokenizer:
        return f"hf-tokenizer:{options.hf_tokenizer}"
    if options.spm_model:
        return f"spm-model:{options.spm_model}" + (f",dict:{options.dict}" if options.dict else "")
    return f"trained-{options.train_tokenizer}:vocab={options.vocab_size}"


def public_options(options: KilmOptions) -> dict:
    """Our options as run (Beam's runner options are not part of the data's identity)."""
    ours = {}
    parser = argparse.ArgumentParser(add_help=False)
    KilmOptions._add_argparse_args(parser)
    for action in parser._actions:
        if action.dest != "help":
            ours[action.dest] = getattr(options, action.dest, None)
    ours["input"] = sorted(ours["input"] or [])
    return ours


def static_manifest(options: KilmOptions, site, splits: SplitConfig, language_token: str | None) -> dict:
    """The part of the manifest known before the run."""
    return {
        "format_version": FORMAT_VERSION,
        "options": public_options(options),
        "site": site.manifest_record(),
        "tokenizer": {"source": tokenizer_source(options), "language_token": language_token},
        "versions": versions(),
        "split": {"valid_fraction": splits.valid_fraction, "test_fraction": splits.test_fraction,
                  "unseen_entity_fraction": splits.unseen_entity_fraction,
                  "hash": "blake2b-64 of (salt, title); salts 'page', 'entity'",
                  "plain_fraction": options.plain_fraction},
        "license": LICENSE,
    }


@beam.ptransform_fn
def WriteManifest(parts, output: str, static: dict):
    """The flattened manifest parts → ``OUTPUT/manifest.json``."""
    return (
        parts
        | "CollectManifest" >> beam.combiners.ToList()
        | "WriteManifest" >> beam.Map(
            lambda collected: write_bytes(FileSystems.join(output, MANIFEST),
                                          manifest_bytes(build_manifest(collected, static))))
    )
