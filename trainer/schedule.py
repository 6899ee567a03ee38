"""``kilm_linear``: the learning rate decays linearly to 0 at the end of the run, whichever cap ends it.

KILM's reference (Hugging Face Trainer) decays linearly to 0 at its last step. fairseq's
``polynomial_decay`` does so at ``--total-num-update`` only; a run stopped earlier by
``--stop-time-hours`` (the launcher's ``--max-minutes``) would end at a high rate. Here the run's
progress is the larger of updates done over ``--total-num-update`` and training time over
``--stop-time-hours``, so the rate reaches 0 at whichever cap comes first. The training time so far is
kept in the checkpoint, so a resumed run continues the same schedule.
"""


import time
from dataclasses import dataclass, field
from typing import List  # noqa: UP035  (fairseq reads the annotation)

from fairseq.dataclass import FairseqDataclass
from fairseq.optim.lr_scheduler import FairseqLRScheduler, register_lr_scheduler
from omegaconf import II


@dataclass
class KilmLinearConfig(FairseqDataclass):
    warmup_updates: int = field(default=0, metadata={"help": "raise the rate linearly over the first N updates"})
    total_num_update: float = field(default=II("optimization.max_update"),
                                    metadata={"help": "updates at which the rate reaches 0"})
    stop_time_hours: float = field(default=II("optimization.stop_time_hours"),
                                   metadata={"help": "training hours at which the rate reaches 0 (0: no cap)"})
    lr: List[float] = field(default=II("optimization.lr"))  # noqa: UP006  (fairseq's parser needs typing.List)


def linear_rate(peak: float, updates: int, warmup: int, total: float, hours: float, budget_hours: float) -> float:
    """The rate after ``updates`` updates and ``hours`` of training: warmup, then linear decay to 0 at
    ``total`` updates or at ``budget_hours`` (0: no time cap), whichever comes first."""
    if warmup > 0 and updates <= warmup:
        return peak * updates / warmup
    progress = (updates - warmup) / max(total - warmup, 1)
    if budget_hours > 0:
        progress = max(progress, hours / budget_hours)
    return peak * max(0.0, 1.0 - progress)


@register_lr_scheduler("kilm_linear", dataclass=KilmLinearConfig)
class KilmLinearSchedule(FairseqLRScheduler):
    def __init__(self, cfg: KilmLinearConfig, optimizer) -> None:
        super().__init__(cfg, optimizer)
        self.earlier_seconds = 0.0  # training time of the runs this one resumes
        self.started: float | None = None
        self.optimizer.set_lr(linear_rate(cfg.lr[0], 0, cfg.warmup_updates, cfg.total_num_update, 0.0,
                                          cfg.stop_time_hours))

    def seconds(self) -> float:
        return self.earlier_seconds + (time.monotonic() - self.started if self.started is not None else 0.0)

    def step_update(self, num_updates: int) -> float:
        if self.started is None:
            self.started = time.monotonic()
        lr = linear_rate(self.cfg.lr[0], num_updates, self.cfg.warmup_updates, self.cfg.total_num_update,
                         self.seconds() / 3600, self.cfg.stop_time_hours)
        self.optimizer.set_lr(lr)
        return lr

    def state_dict(self) -> dict:
        return {**super().state_dict(), "seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.earlier_seconds = float(state_dict.get("seconds", 0.0))
        self.started = None
