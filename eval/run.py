"""Evaluate models side by side: ``python -m eval.run --data OUT --model NAME=PATH ... --out REPORT_DIR``.

PATH is a fairseq checkpoint (``.pt``) or a Hugging Face directory. Tasks: ``probe`` (description
generation, seen/unseen entities), ``ed`` (zero-shot entity disambiguation), ``retention`` (text-infilling
loss on held-out plain paragraphs). Knowledge-free baselines run on the same items; with ``--truth`` (the
synthetic world's answer key) the probe also scores description facts. Differences between models
(``kilm`` minus each other model by default) come with paired intervals that resample entities. Writes
``report.json`` (``models``, ``baselines``, ``differences``, ``settings``), ``report.md``, PNG charts and
per-item predictions (``NAME.probe.jsonl``, ``NAME.ed.jsonl``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import report
from eval.data import (
    DataError,
    check_data_dir,
    ed_items,
    load_alias,
    load_entities,
    plain_rows,
    probe_items,
)
from eval.ed import ed_baselines, ed_columns, ed_counts, run_ed
from eval.external import suite as external
from eval.metrics import Column, differences, summarize
from eval.models import ModelError, load_model
from eval.probe import probe_baselines, probe_columns, probe_item_counts, run_probe
from eval.retention import NoiseSettings, retention_metrics, run_retention
from eval.truth import load_facts
from kilm.cli import Parser, RunDirError, run_dir
from kilm.hf_convert import ConversionError
from kilm.records import language_token
from kilm.tokenizer import KilmTokenizer, TokenizerError

TASKS = ("probe", "ed", "retention")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class UsageError(ValueError):
    """A bad command-line value; the message names it."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path


@dataclass
class Evaluation:
    """Everything ``report.json`` holds besides the settings."""

    models: dict[str, dict[str, Any]]
    baselines: dict[str, Any]
    differences: dict[str, dict[str, dict[str, object]]]


def parse_model(text: str) -> ModelSpec:
    """``NAME=PATH``; the name becomes a report column and a file name, so it is kept simple."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise UsageError(f"--model {text!r}: expected NAME=PATH (e.g. kilm=runs/kilm/checkpoint_best.pt)")
    if not _NAME_RE.match(name):
        raise UsageError(f"--model {text!r}: NAME may only hold letters, digits, '_', '.', '-'")
    if not Path(path).exists():
        raise UsageError(f"--model {text!r}: {path} does not exist")
    return ModelSpec(name, Path(path))


def parse_tasks(text: str) -> list[str]:
    if text == "none":  # external benchmarks only
        return []
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise UsageError(f"--tasks {text!r}: unknown task {', '.join(unknown) or '(none)'}; choose from {TASKS}")
    return tasks


def parse_compare(text: str, names: list[str]) -> list[tuple[str, str]]:
    """``A-B,C-D`` → pairs of model names; ``auto``: ``kilm`` minus each other model (none without kilm)."""
    if text == "auto":
        return [("kilm", n) for n in names if n != "kilm"] if "kilm" in names else []
    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        splits = [(part[:i], part[i + 1 :]) for i, c in enumerate(part) if c == "-"]  # names may hold '-'
        found = [(a, b) for a, b in splits if a in names and b in names and a != b]
        if len(found) != 1:
            raise UsageError(f"--compare {part!r}: expected A-B with two different --model names from {names}")
        pairs.append(found[0])
    return pairs


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m eval.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, metavar="OUT",
                   help="the pipeline's output directory OUT: test items, entities, tokenizer")
    p.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                   help="a model to evaluate (repeat for several): fairseq .pt or Hugging Face directory; "
                        "none: only the knowledge-free baselines and item counts")
    p.add_argument("--out", type=Path, required=True, help="report directory")
    p.add_argument("--tasks", default=",".join(TASKS),
                   help=f"comma-separated subset of {','.join(TASKS)}, or none (external benchmarks only)")
    p.add_argument("--split", choices=("test", "valid", "train"), default="test",
                   help="whose mentions and paragraphs are the items: test (pages held out from training: what "
                        "the model knows); train measures what it memorised of its own training pages")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N items per task (the first N, file order; default: all)")
    p.add_argument("--batch-size", type=int, default=16, help="mentions (probe, ed) or paragraphs per batch")
    p.add_argument("--beam", type=int, default=4, help="probe beam size")
    p.add_argument("--max-new-tokens", type=int, default=64, help="longest generated knowledge span")
    p.add_argument("--ed-constrained", action="store_true",
                   help="also run GENRE-style trie-constrained title generation for ED")
    p.add_argument("--truth", type=Path, default=None,
                   help="the synthetic world's answer key (world.truth.jsonl): adds probe fact accuracy")
    p.add_argument("--compare", default="auto", metavar="A-B,...",
                   help="model differences with paired intervals (default auto: kilm minus each other model)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--noise-seed", type=int, default=1, help="retention noise seed (same for every model)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    external.add_arguments(p)
    return p


def evaluate(args: argparse.Namespace, specs: list[ModelSpec], tasks: list[str],
             compare: list[tuple[str, str]], suite: external.Suite | None = None) -> Evaluation:
    """Run every task on every model; items and baselines are built once and shared."""
    tokenizer = KilmTokenizer.load(args.data / "tokenizer")
    entities = load_entities(args.data)
    facts = load_facts(args.truth) if args.truth is not None else None
    progress = not args.no_progress
    items = probe_items(args.data, entities, args.limit, args.split) if "probe" in tasks else []
    edset = ed_items(args.data, load_alias(args.data), args.limit, args.split) if "ed" in tasks else None
    rows = plain_rows(args.data, args.split, args.limit) if "retention" in tasks else []
    language = language_token(args.data)
    baseline_columns = {**(probe_baselines(items, facts) if "probe" in tasks else {}),
                        **(ed_baselines(edset, entities) if edset is not None else {})}
    values, ci = summarize(baseline_columns, args.seed)
    baselines: dict[str, Any] = {**values, "ci": ci, **_item_counts(items, edset)}
    _say_if_empty(tasks, items, edset, rows)
    results: dict[str, dict[str, Any]] = {}
    columns: dict[str, dict[str, Column]] = {}
    for spec in specs:
        model = load_model(spec.path, tokenizer, args.device, language)
        own: dict[str, Column] = {}
        counts: dict[str, Any] = {}
        retention_ci: dict[str, list[float]] = {}
        if "probe" in tasks:
            records, skipped = run_probe(model, items, args.batch_size, args.beam, args.max_new_tokens, progress,
                                         facts)
            probe, probe_counts = probe_columns(records, facts is not None)
            own.update(probe)
            counts.update(probe_counts, probe_skipped=skipped)
            _write_records(args.out / f"{spec.name}.probe.jsonl", records)
        if edset is not None:
            records, skipped = run_ed(model, edset, entities, args.batch_size, args.ed_constrained, progress)
            own.update(ed_columns(records))
            counts.update(ed_counts(records, edset), ed_skipped=skipped)
            _write_records(args.out / f"{spec.name}.ed.jsonl", records)
        if rows:
            retained = run_retention(model, rows, args.batch_size, NoiseSettings(seed=args.noise_seed), progress)
            retention_values, retention_ci = retention_metrics(retained, args.seed)
            counts.update(retention_values)
            ids = tuple(str(i) for i in range(len(retained)))
            own["retention_loss"] = Column(ids, tuple(r.nll / r.tokens for r in retained), ids,
                                           tuple(float(r.tokens) for r in retained))
        if suite is not None:
            suite.run(spec.name, model)
        values, model_ci = summarize({k: c for k, c in own.items() if k != "retention_loss"}, args.seed)
        results[spec.name] = {**values, **counts, "ci": {**model_ci, **retention_ci}, "prompt": model.prompt,
                              "backend": model.kind, "path": str(spec.path)}
        columns[spec.name] = own
    diffs = {f"{a}-{b}": differences(columns[a], columns[b], args.seed) for a, b in compare}
    return Evaluation(results, baselines, diffs)


def _item_counts(items: list, edset: Any) -> dict[str, int | float]:
    """What the baselines were computed on (the models' own counts may be smaller: skipped items)."""
    counts: dict[str, int | float] = {}
    if items:
        counts.update(probe_item_counts(items))
    if edset is not None:
        counts.update(ed_counts([], edset), ed_n=len(edset.items))
    return counts


def _say_if_empty(tasks: list[str], items: list, edset: Any, rows: list) -> None:
    """One line per task that has nothing to score, with why, instead of an empty progress bar."""
    if "probe" in tasks and not items:
        print("probe: no items (no test-page mention of an entity with a description)", file=sys.stderr)
    if edset is not None and not edset.items:
        print(f"ed: no items ({edset.ambiguous} ambiguous test mentions of {edset.mentions}; none with its gold "
              "entity among the train alias candidates)", file=sys.stderr)
    if "retention" in tasks and not rows:
        print("retention: no items (no held-out plain paragraph)", file=sys.stderr)


def _write_records(path: Path, records: list[Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        tasks = parse_tasks(args.tasks)
        specs = [parse_model(m) for m in args.model]
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise UsageError(f"--model names must differ, got {names}")
        if args.limit is not None and args.limit < 1:
            raise UsageError(f"--limit {args.limit}: must be at least 1")
        compare = parse_compare(args.compare, names)
        args.data = run_dir(args.data)
        check_data_dir(args.data)
        args.out.mkdir(parents=True, exist_ok=True)
        suite = external.load(args)
        evaluation = evaluate(args, specs, tasks, compare, suite)
    except (UsageError, DataError, ModelError, ConversionError, TokenizerError, RunDirError,
            FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = {"tasks": tasks, "split": args.split, "limit": args.limit, "beam": args.beam,
                "max_new_tokens": args.max_new_tokens,
                "length_penalty": 1.0, "no_repeat_ngram_size": 0, "bootstrap_seed": args.seed,
                "retention_noise": dataclasses.asdict(NoiseSettings(seed=args.noise_seed)), "data": str(args.data),
                "truth": None if args.truth is None else str(args.truth),
                "intervals": "95% percentile bootstrap, 1000 resamples of gold entities (paragraphs for retention); "
                             "differences paired: the same resample for both models"}
    summary = report.clean_nan({"models": evaluation.models, "baselines": evaluation.baselines,
                                "differences": evaluation.differences, "settings": settings,
                                **(suite.section() if suite else {})})
    report.write_json(summary, args.out / "report.json")
    (args.out / "report.md").write_text(report.markdown(summary) + ("\n" + suite.markdown() if suite else ""))
    if summary["models"]:
        report.plot(summary["models"], args.out)
    print(f"wrote {args.out / 'report.json'}, {args.out / 'report.md'} and charts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
