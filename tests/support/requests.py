"""A run request of the tiny test model on three tasks of the demo task set, two items each."""

from pathlib import Path

from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import parse_spec
from harness.run.request import RunRequest

TASKS = ("ru_open_terra", "ru_open_rubq", "ru_open_copy_sent_ru")


def run_request(model: Path, out: Path, data_dir: Path, backend: str = "hf", tasks=TASKS, **spec) -> RunRequest:
    """`spec` entries become the model spec's key=value pairs (max_length=1024, name=tiny)."""
    fields = ",".join(f"{k}={v}" for k, v in {"path": model, "kind": "instruct", **spec}.items())
    return RunRequest(
        spec=parse_spec(fields),
        suite="ru-open",
        tasks=tuple(tasks),
        out=out,
        data_dir=data_dir,
        backend=BackendSettings(backend=backend),
        prompts=PromptSettings(limit=2),
    )
