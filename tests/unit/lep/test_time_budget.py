"""The training time budget: it stops at its minutes, and a resumed run gets only what is left."""

from transformers import TrainerControl, TrainerState, TrainingArguments

from lep import embedding_training
from lep.embedding_training import TimeBudget, spent_before


def _steps(budget: TimeBudget, clock: list[float], seconds: list[float]) -> list[bool]:
    """Run `budget` over steps taking `seconds` each on a fake clock; whether it stopped after each."""
    args, state = TrainingArguments(output_dir="unused", report_to=[]), TrainerState()
    budget.on_train_begin(args, state, TrainerControl())
    stops = []
    for step in seconds:
        clock[0] += step
        stops.append(budget.on_step_end(args, state, TrainerControl()).should_training_stop)
    return stops


def test_budget_stops_and_saves_at_its_minutes_and_carries_the_time_spent_over_a_resume(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(embedding_training.time, "perf_counter", lambda: clock[0])
    budget = TimeBudget(minutes=1.0)
    assert _steps(budget, clock, [20.0, 20.0]) == [False, False]
    resumed = TimeBudget(1.0, budget.state()["attributes"]["spent_seconds"])  # as a resumed run builds it
    assert resumed.spent_seconds == 40.0
    clock[0] += 3600.0  # the hour the run lay dead does not count
    assert _steps(resumed, clock, [15.0, 10.0]) == [False, True]
    assert resumed.spent_seconds == 65.0


def test_a_resumed_run_starts_from_the_seconds_its_checkpoint_had_spent(tmp_path):
    checkpoint = tmp_path / "checkpoint-30"
    checkpoint.mkdir()
    budget = TimeBudget(minutes=10.0, spent_seconds=123.5)
    state = TrainerState(stateful_callbacks=[budget])  # what the Trainer writes into each checkpoint
    state.save_to_json(str(checkpoint / "trainer_state.json"))
    assert spent_before(str(checkpoint)) == 123.5
    TrainerState().save_to_json(str(checkpoint / "trainer_state.json"))  # saved by a run without a budget
    assert spent_before(str(checkpoint)) == 0.0
    assert spent_before(None) == 0.0
