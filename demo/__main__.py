"""``python -m demo --workdir runs/demo [--seeds N]``: world → pipeline → base → kilm and two controls → report.

Prints each stage's command and wall time, then the report of seed 1 and the seed table (mean ± sd
over the training seeds, with the knowledge-free baselines and the acceptance checks), written as
``REPORT/seeds.json`` and ``REPORT/seeds.md`` beside ``REPORT/report.{json,md}``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from demo import summary
from demo.flow import plan, run_step


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--workdir", type=Path, default=Path("runs/demo"),
                   help="where every stage writes (default runs/demo); finished stages there are reused")
    p.add_argument("--seeds", type=_positive, default=1,
                   help="training seeds of kilm and both controls (base is trained once; default 1)")
    p.add_argument("--entities", type=_positive, default=None,
                   help="size of the synthetic world (default: the generator's demo size)")
    p.add_argument("--world-seed", type=int, default=1, help="seed of the synthetic world (default 1)")
    p.add_argument("--base-passes", type=_positive, default=10, help="passes of the base BART (default 10)")
    p.add_argument("--kilm-passes", type=_positive, default=8,
                   help="passes of kilm and of each control (default 8)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    entities = args.entities
    if entities is None:
        from synth import DEFAULT_ENTITIES

        entities = DEFAULT_ENTITIES
    flow = plan(args.workdir, entities, args.world_seed, args.seeds, args.base_passes, args.kilm_passes)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    number, first_report = 1, None
    for step in flow.steps:
        timings.update({name: round(t, 1) for name, t in run_step(step, number, len(flow.stages)).items()})
        number += len(step)
        if any(stage.name == "evaluation" for stage in step) and all(timings.values()):
            first_report = time.perf_counter() - start  # seed 1's flow, every stage run by this command
    wall = {"whole": time.perf_counter() - start, "first_report": first_report}
    print(f"\nwhole flow: {wall['whole']:.0f} s (stages reused earlier count 0)\n")
    first = flow.reports[1]
    print((first / "report.md").read_text())
    command = shlex.join(["python", "-m", "demo", *(argv if argv is not None else sys.argv[1:])])
    _, md = summary.write(flow.reports, first, command, timings, wall)
    print(md.read_text())
    print(f"report: {first / 'report.md'} (also report.json, PNG charts); seeds: {md} and seeds.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
