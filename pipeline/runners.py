"""Where a run goes. Without ``--runner`` it runs here, on Beam's FnApiRunner: the runner every test
exercises, whatever the machine can download. (Beam's DirectRunner first tries the PrismRunner, whose
binary it downloads at first use, and falls back to the FnApiRunner when that fails, as it does
offline.) ``--runner`` names any other, and Dataflow's ``--dry_run`` builds a job without running it."""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, StandardOptions, TestOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner
from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo, FnApiRunner
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.runners.runner import PipelineResult, PipelineRunner

from pipeline.options import OptionError

#: Inputs a dry-run report names before it only counts the rest.
INPUTS_NAMED = 3


class LocalRunner(PipelineRunner):
    """What Beam's DirectRunner runs here after Prism failed, without trying Prism: the FnApiRunner, given
    the pipeline options as the DirectRunner gives them, so that its SDK worker processes
    (``--direct_running_mode multi_processing``) read their log levels from them. ``--direct_num_workers``
    and ``--direct_running_mode`` work as on the DirectRunner."""

    def run_pipeline(self, pipeline: beam.Pipeline, options: PipelineOptions) -> PipelineResult:
        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        provision = ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return FnApiRunner(provision_info=provision).run_pipeline(pipeline, options)


def chosen_runner(options: PipelineOptions) -> PipelineRunner | str:
    """The runner ``--runner`` names (Beam creates it), else :class:`LocalRunner`."""
    return options.view_as(StandardOptions).runner or LocalRunner()


def is_dry_run(options: PipelineOptions) -> bool:
    """``--dry_run`` given with any value (Beam's DataflowRunner reads ``--dry_run False`` as true too)."""
    return bool(options.view_as(TestOptions).dry_run)


def check_dry_run(pipeline: beam.Pipeline) -> None:
    """Only the DataflowRunner builds a job without running it: other runners ignore ``--dry_run`` and
    would run the whole job, so that stops at once."""
    if is_dry_run(pipeline.options) and not isinstance(pipeline.runner, DataflowRunner):
        raise OptionError(f"--dry_run: only the DataflowRunner builds a job without running it; "
                          f"{type(pipeline.runner).__name__} would run the whole job (drop --dry_run to run it)")


@dataclass(frozen=True)
class DryRun:
    """What a dry run built. Nothing ran and nothing was written, so there is no ``manifest.json`` to
    summarise; this is the run's report instead."""

    runner: str
    job_name: str
    project: str | None
    region: str | None
    inputs: tuple[str, ...]
    wiki: str
    output: str
    steps: tuple[str, ...]
    transforms: int
    primitive_transforms: int

    @classmethod
    def of(cls, pipeline: beam.Pipeline, result: PipelineResult, inputs: list[str], wiki: str,
           output: str) -> DryRun:
        """From a dry run's result: Dataflow's returns the job it would have submitted."""
        transforms = result.job.proto_pipeline.components.transforms
        cloud = pipeline.options.view_as(GoogleCloudOptions)
        return cls(runner=type(pipeline.runner).__name__, job_name=cloud.job_name or result.job.proto.name,
                   project=cloud.project, region=cloud.region, inputs=tuple(inputs), wiki=wiki, output=output,
                   steps=tuple(part.full_label for part in pipeline.transforms_stack[0].parts),
                   transforms=len(transforms),
                   primitive_transforms=sum(1 for t in transforms.values() if not t.subtransforms))

    def report(self) -> str:
        named = ", ".join(self.inputs[:INPUTS_NAMED])
        more = len(self.inputs) - INPUTS_NAMED
        return "\n".join([
            f"dry run: the {self.runner} built job {self.job_name} (project {self.project}, region {self.region}) "
            "and did not submit it; nothing ran and nothing was written.",
            f"  input: {len(self.inputs)} file(s) of {self.wiki}: {named}" + (f" and {more} more" if more > 0 else ""),
            f"  output: {self.output}",
            f"  job graph: {self.transforms} transforms ({self.primitive_transforms} primitive) in "
            f"{len(self.steps)} steps: {', '.join(self.steps)}",
            "To run it, give the same command without --dry_run.",
        ])
