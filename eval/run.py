"""Evaluate models side by side: ``python -m eval.run --data OUT --model NAME=PATH ... --out REPORT_DIR``.

PATH is a fairseq checkpoint (``.pt``) or a Hugging Face directory. Tasks: ``probe`` (description
generation, seen/unseen entities), ``ed`` (zero-shot entity disambiguation), ``retention`` (text-infilling
loss on held-out plain paragraphs). Writes ``report.json``, ``report.md``, PNG charts and per-item
predictions (``NAME.probe.jsonl``, ``NAME.ed.jsonl``).
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
from eval.ed import ed_metrics, run_ed
from eval.external import suite as external
from eval.models import ModelError, load_model
from eval.probe import probe_metrics, run_probe
from eval.retention import NoiseSettings, retention_metrics, run_retention
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


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m eval.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, metavar="OUT",
                   help="the pipeline's output directory OUT: test items, entities, tokenizer")
    p.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                   help="a model to evaluate (repeat for several): fairseq .pt or Hugging Face directory")
    p.add_argument("--out", type=Path, required=True, help="report directory")
    p.add_argument("--tasks", default=",".join(TASKS),
                   help=f"comma-separated subset of {','.join(TASKS)}, or none (external benchmarks only)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N items per task (the first N, file order; default: all)")
    p.add_argument("--batch-size", type=int, default=16, help="mentions (probe, ed) or paragraphs per batch")
    p.add_argument("--beam", type=int, default=4, help="probe beam size")
    p.add_argument("--max-new-tokens", type=int, default=64, help="longest generated knowledge span")
    p.add_argument("--ed-constrained", action="store_true",
                   help="also run GENRE-style trie-constrained title generation for ED")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--noise-seed", type=int, default=1, help="retention noise seed (same for every model)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    external.add_arguments(p)
    return p


def evaluate(args: argparse.Namespace, specs: list[ModelSpec], tasks: list[str],
             suite: external.Suite | None = None) -> dict[str, dict[str, Any]]:
    """Run every task on every model; items are built once and shared."""
    tokenizer = KilmTokenizer.load(args.data / "tokenizer")
    entities = load_entities(args.data)
    progress = not args.no_progress
    items = probe_items(args.data, entities, args.limit) if "probe" in tasks else []
    edset = ed_items(args.data, load_alias(args.data), args.limit) if "ed" in tasks else None
    rows = plain_rows(args.data, "test", args.limit) if "retention" in tasks else []
    language = language_token(args.data)
    results: dict[str, dict[str, Any]] = {}
    for spec in specs:
        model = load_model(spec.path, tokenizer, args.device, language)
        values: dict[str, Any] = {}
        ci: dict[str, list[float]] = {}
        if "probe" in tasks:
            records, skipped = run_probe(model, items, args.batch_size, args.beam, args.max_new_tokens, progress)
            _merge(values, ci, probe_metrics(records, args.seed))
            values["probe_skipped"] = skipped
            _write_records(args.out / f"{spec.name}.probe.jsonl", records)
        if edset is not None:
            records, skipped = run_ed(model, edset, entities, args.batch_size, args.ed_constrained, progress)
            _merge(values, ci, ed_metrics(records, edset, args.seed))
            values["ed_skipped"] = skipped
            _write_records(args.out / f"{spec.name}.ed.jsonl", records)
        if rows:
            records = run_retention(model, rows, args.batch_size, NoiseSettings(seed=args.noise_seed), progress)
            _merge(values, ci, retention_metrics(records, args.seed))
        if suite is not None:
            suite.run(spec.name, model)
        results[spec.name] = {**values, "ci": ci, "prompt": model.prompt, "backend": model.kind, "path": str(spec.path)}
    return results


def _merge(values: dict[str, Any], ci: dict[str, list[float]], metrics: tuple[dict, dict]) -> None:
    values.update(metrics[0])
    ci.update(metrics[1])


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
        args.data = run_dir(args.data)
        check_data_dir(args.data)
        args.out.mkdir(parents=True, exist_ok=True)
        suite = external.load(args)
        models = evaluate(args, specs, tasks, suite)
    except (UsageError, DataError, ModelError, ConversionError, TokenizerError, RunDirError,
            FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = {"tasks": tasks, "limit": args.limit, "beam": args.beam, "max_new_tokens": args.max_new_tokens,
                "length_penalty": 1.0, "no_repeat_ngram_size": 0, "bootstrap_seed": args.seed,
                "retention_noise": dataclasses.asdict(NoiseSettings(seed=args.noise_seed)), "data": str(args.data)}
    report.write_json(models, args.out / "report.json", settings, **(suite.section() if suite else {}))
    (args.out / "report.md").write_text(report.markdown(report.clean_nan(models))
                                        + ("\n" + suite.markdown() if suite else ""))
    report.plot(report.clean_nan(models), args.out)
    print(f"wrote {args.out / 'report.json'}, {args.out / 'report.md'} and charts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
