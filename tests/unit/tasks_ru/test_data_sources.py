"""tasks_ru/data_sources.py: every file a task's loader opens lies under the paths its fingerprint hashes."""

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from harness.demo.build import embedded_tasks
from tasks_ru.data_sources import DATA_DIR_ENV, TASK_DATA, files_digest, resolve_data_dir, source_record
from tasks_ru.errors import TaskDataError
from tasks_ru.suites import TASKS_DIR, suite_tasks
from tests.support.cli import run_cli
from tests.support.darumeru_fixture import write_darumeru_fixture
from tests.support.ifeval_fixture import write_ifeval_fixture

OPENED: list[str] = []
sys.addaudithook(lambda event, args: OPENED.append(str(args[0])) if event == "open" and OPENED[:1] == ["on"] else None)


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _call_loader(task: str, data_dir: Path, tokenizer: Path) -> None:
    config = yaml.load((TASKS_DIR / f"{task}.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    module, _, name = config["custom_dataset"].rpartition(".")
    loader = getattr(__import__(f"tasks_ru.{module}", fromlist=[name]), name)
    loader(**config.get("dataset_kwargs", {}), data_dir=str(data_dir), tokenizer=str(tokenizer))


def _files_opened(task: str, data_dir: Path, tokenizer: Path) -> set[Path]:
    OPENED[:] = ["on"]
    try:
        _call_loader(task, data_dir, tokenizer)
    finally:
        opened, OPENED[:] = OPENED[1:], []
    return {Path(p).resolve() for p in opened if Path(p).resolve().is_relative_to(data_dir.resolve())}


def _covered(path: Path, root: Path, task: str) -> bool:
    return any(path.is_relative_to((root / relative).resolve()) for relative in TASK_DATA[task].paths)


@pytest.mark.parametrize("suite", ["ru-open", "darumeru", "ifeval", "likelihood"])
def test_every_file_a_task_reads_is_in_its_fingerprint(suite, tmp_path, reference_tokenizer):
    tokenizer = tmp_path / "tokenizer"
    reference_tokenizer("openchat-3.5").save_pretrained(tokenizer)
    roots = {
        "ru-open": embedded_tasks,
        "likelihood": embedded_tasks,
        "darumeru": lambda: write_darumeru_fixture(tmp_path / "darumeru"),
    }
    root = roots.get(suite, lambda: write_ifeval_fixture(tmp_path / "ifeval"))()
    for task in suite_tasks(suite):
        opened = _files_opened(task, root, tokenizer)
        assert opened, f"{task} read nothing under {root}"
        assert all(_covered(p, root, task) for p in opened), (task, sorted(opened))


def test_the_digest_follows_contents_not_times(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(embedded_tasks(), data)
    paths = TASK_DATA["ru_open_terra"].paths
    before = files_digest(data, paths)
    (data / "tasks" / "terra" / "val.jsonl").touch()
    assert files_digest(data, paths) == before
    with (data / "tasks" / "terra" / "val.jsonl").open("a") as handle:
        handle.write("\n")
    assert files_digest(data, paths) != before


def test_the_data_dir_falls_back_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LEP_DATA_DIR", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path.resolve()
    assert resolve_data_dir(tmp_path / "given") == (tmp_path / "given").resolve()
    monkeypatch.delenv("LEP_DATA_DIR")
    assert resolve_data_dir(None) is None


def test_a_local_only_task_without_a_data_folder_is_refused_before_any_model_loads(
    tmp_path, capsys, monkeypatch, tiny_model
):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(TaskDataError, match="ru_open_copy_sent_en read\\(s\\) local files only: pass --data-dir"):
        source_record(["ru_open_copy_sent_en"], None)
    argv = [
        "run",
        "--model",
        str(tiny_model),
        "--suite",
        "ru-open",
        "--tasks",
        "ru_open_copy_sent_en",
        "--backend",
        "hf",
    ]
    status, _, err = run_cli([*argv, "--out", str(tmp_path / "runs")], capsys)
    assert status == 2
    assert err.count("error:") == 1 and "local files only" in err
    assert not (tmp_path / "runs").exists()
