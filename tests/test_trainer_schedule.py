"""``kilm_linear``: linear decay to 0 at the run's end, whether updates or training time end it."""

from __future__ import annotations

import pytest
from fairseq.optim import FairseqOptimizer

from trainer.schedule import KilmLinearConfig, KilmLinearSchedule, linear_rate


def test_linear_rate_by_updates_warmup_and_time() -> None:
    assert linear_rate(1.0, 0, 0, 100, 0.0, 0.0) == 1.0
    assert linear_rate(1.0, 25, 0, 100, 0.0, 0.0) == pytest.approx(0.75)
    assert linear_rate(1.0, 100, 0, 100, 0.0, 0.0) == 0.0
    assert linear_rate(1.0, 5, 10, 110, 0.0, 0.0) == pytest.approx(0.5)  # warmup
    assert linear_rate(1.0, 60, 10, 110, 0.0, 0.0) == pytest.approx(0.5)  # decay after warmup
    # a time cap that comes first ends the schedule; one that comes later changes nothing
    assert linear_rate(1.0, 10, 0, 100, 1.5, 2.0) == pytest.approx(0.25)
    assert linear_rate(1.0, 50, 0, 100, 0.1, 2.0) == pytest.approx(0.5)
    assert linear_rate(1.0, 10, 0, 100, 3.0, 2.0) == 0.0


class RecordingOptimizer(FairseqOptimizer):
    """Keeps the rate the schedule sets."""

    def __init__(self) -> None:
        super().__init__(None)
        self.lr = 0.0

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def get_lr(self) -> float:
        return self.lr


def test_training_time_survives_a_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("trainer.schedule.time.monotonic", lambda: clock[0])
    cfg = KilmLinearConfig(warmup_updates=0, total_num_update=1000, stop_time_hours=1.0, lr=[2.0])
    first = KilmLinearSchedule(cfg, RecordingOptimizer())
    assert first.optimizer.lr == 2.0
    first.step_update(1)
    clock[0] += 900  # a quarter of the hour
    assert first.step_update(2) == pytest.approx(1.5)
    saved = first.state_dict()
    clock[0] += 5000  # the machine is down; that time is not training time
    resumed = KilmLinearSchedule(cfg, RecordingOptimizer())
    resumed.load_state_dict(saved)
    resumed.step_update(3)
    clock[0] += 900
    assert resumed.step_update(4) == pytest.approx(1.0)  # half the hour trained in all
