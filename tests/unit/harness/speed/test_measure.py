"""The interleaved measuring loop on simulated engines: both sides of a ratio measured back to back with the
collector paused, the order rotating, trials added until every ratio's interval is within the target or the
time cap, and what it reached recorded."""

import contextlib
import gc
import math
from collections.abc import Iterator

import numpy as np
import pytest

import harness.speed.measure as measure
from harness.run.model_spec import ModelSpec
from harness.speed.engines import Measurement
from harness.speed.precision import ratio_interval
from harness.speed.settings import SpeedSettings


class Machine:
    """A simulated machine: each call costs a second, runs at a speed that drifts from call to call and varies
    by `noise` (lognormal) around each model's true speed."""

    def __init__(self, speeds: dict[str, float], noise: float, seed: int = 0):
        self.speeds, self.noise, self.rng = speeds, noise, np.random.default_rng(seed)
        self.now, self.load, self.calls = 0.0, 1.0, list[tuple[str, str, str]]()

    def clock(self) -> float:
        return self.now

    def engine(self, name: str) -> "SimulatedEngine":
        return SimulatedEngine(self, name)


class SimulatedEngine:
    def __init__(self, machine: Machine, name: str):
        self.machine, self.name = machine, name

    def _measure(self, regime: str, prompts: list[list[int]]) -> Measurement:
        m = self.machine
        assert not gc.isenabled(), "the collector runs during a timed call"
        m.calls.append((self.name, regime, "ru" if prompts[0][0] == 1 else "en"))
        m.now += 1.0
        m.load *= math.exp(m.rng.normal(0, 0.02))  # slow drift: cancels in back-to-back pairs
        speed = m.speeds[self.name] / m.load * math.exp(m.rng.normal(0, m.noise))
        return Measurement(tokens=4 * len(prompts), seconds=4 * len(prompts) / speed, ttft_s=0.1, tpot_s=1 / speed)

    def latency(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        return self._measure("latency", prompts)

    def throughput(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        return self._measure("throughput", prompts)


def _run(machine: Machine, settings: SpeedSettings, monkeypatch) -> tuple[dict, list[list[str]], dict]:
    @contextlib.contextmanager
    def simulated(spec: ModelSpec, _settings: SpeedSettings) -> Iterator[SimulatedEngine]:
        yield machine.engine(spec.name)

    monkeypatch.setattr(measure, "open_engine", simulated)
    names = list(machine.speeds)
    specs = [ModelSpec(name=name, path=name) for name in names]
    ids = {name: {"ru": [[1, 5]], "en": [[2, 5]]} for name in names}
    chars = {name: {"ru": 2.0, "en": 4.0} for name in names}
    return measure._interleaved_trials(specs, settings, ids, chars, lambda _: None, clock=machine.clock)


def test_both_sides_of_a_ratio_are_measured_back_to_back_in_a_rotating_order(monkeypatch):
    machine = Machine({"a": 10.0, "b": 10.0, "c": 10.0}, noise=0.01)
    trials, orders, stopping = _run(machine, SpeedSettings(trials=5, warmup=1, batch=2, max_seconds=0), monkeypatch)
    assert stopping["trials"] == 6  # 5 rounded up to whole rotations of three models
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]] * 2 + [["a", "b", "c"]]
    for first in range(0, len(machine.calls), 3):  # every cell: the three models one after the other
        cells = machine.calls[first : first + 3]
        assert len({(regime, lang) for _, regime, lang in cells}) == 1
        assert [name for name, _, _ in cells] == orders[first // 12]
    assert all(len(rounds) == 6 for rounds in trials.values())
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_trials_run_until_every_ratio_is_known_to_the_target(monkeypatch):
    machine = Machine({"ref": 10.0, "cand": 11.0}, noise=0.03)
    settings = SpeedSettings(trials=5, warmup=1, batch=2, precision=0.02, max_seconds=10_000)
    trials, _, stopping = _run(machine, settings, monkeypatch)
    assert stopping["met"] and stopping["widest"] <= 0.02
    assert stopping["trials"] > 6 and stopping["trials"] % 2 == 0
    assert stopping["seconds"] == machine.now
    ratios = [
        c["latency"]["ru"].decode_tokens_per_s / r["latency"]["ru"].decode_tokens_per_s
        for c, r in zip(trials["cand"], trials["ref"])
    ]
    interval = ratio_interval(ratios)
    assert interval.low <= 1.1 <= interval.high  # the drift of the machine's load cancels within each trial


def test_a_run_that_cannot_reach_the_target_stops_at_the_time_cap(monkeypatch):
    machine = Machine({"ref": 10.0, "cand": 10.0}, noise=0.3)
    settings = SpeedSettings(trials=5, warmup=1, batch=2, precision=0.01, max_seconds=100)
    _, _, stopping = _run(machine, settings, monkeypatch)
    assert not stopping["met"] and stopping["widest"] > 0.01
    assert stopping["seconds"] <= 100  # a round is 8 simulated seconds; none is started that would end past the cap
    assert stopping["trials"] >= 10


@pytest.mark.parametrize("max_seconds", [0, 5])
def test_the_fewest_trials_run_whatever_the_cap(monkeypatch, max_seconds):
    machine = Machine({"ref": 10.0, "cand": 10.0}, noise=0.3)
    _, _, stopping = _run(machine, SpeedSettings(trials=7, batch=2, max_seconds=max_seconds), monkeypatch)
    assert stopping["trials"] == 8
