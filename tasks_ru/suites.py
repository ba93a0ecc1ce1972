"""The suites: which tasks form each group, and how task scores add up to group scores and the total.

Darumeru's total is the paper's Micro-Avg, the mean of the 17 task scores, which weights the groups
3/8/2/2/2 (docs/method.md §7); ru-open's and ifeval's totals are the means of their task scores in the same way.
"""

import importlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

TASKS_DIR = Path(__file__).resolve().parent
# Scoring profiles (metrics.py): llmtf's formulas as they produced the published rows, and our fix where
# that code is wrong (the copy tasks). A task's own profile is its YAML `metadata.scoring`.
Profile = Literal["authors", "strict"]
SCORING_PROFILES: tuple[str, ...] = get_args(Profile)

SUITES: dict[str, dict[str, list[str]]] = {
    "darumeru": {
        "DaruMMLU": ["darumeru_rummlu", "darumeru_nlpcoreteam_rummlu", "darumeru_nlpcoreteam_enmmlu"],
        "DaruMERA": [
            "darumeru_multiq",
            "darumeru_parus",
            "darumeru_rcb",
            "darumeru_rwsd",
            "darumeru_use",
            "darumeru_ruopenbookqa",
            "darumeru_ruworldtree",
            "darumeru_rucola",
        ],
        "DaruSum": ["darumeru_gazeta_abstractive", "darumeru_gazeta_extractive"],
        "DaruCopy EN": ["darumeru_cp_sent_en", "darumeru_cp_para_en"],
        "DaruCopy RU": ["darumeru_cp_sent_ru", "darumeru_cp_para_ru"],
    },
    "ru-open": {
        "Understanding": ["ru_open_terra", "ru_open_rucola", "ru_open_xwinograd"],
        "Knowledge": ["ru_open_rubq"],
        "Translation": ["ru_open_flores_en_ru", "ru_open_flores_ru_en"],
        "Copy EN": ["ru_open_copy_sent_en", "ru_open_copy_para_en"],
        "Copy RU": ["ru_open_copy_sent_ru", "ru_open_copy_para_ru"],
    },
    "ifeval": {"IFEval": ["ru_ifeval", "en_ifeval"]},  # the authors' leaderboard category
    "likelihood": {"Bits/char": ["bits_per_char_ru", "bits_per_char_en"]},  # lower is better (likelihood.py)
}
TOTAL = {"darumeru": "Micro-Avg", "ru-open": "Mean", "ifeval": "Mean", "likelihood": "Mean"}
COPY_TASKS_RU = {
    "darumeru": ["darumeru_cp_sent_ru", "darumeru_cp_para_ru"],
    "ru-open": ["ru_open_copy_sent_ru", "ru_open_copy_para_ru"],
    "ifeval": [],
    "likelihood": [],
}
# `--generation paper` samples as llmtf does by default (harness/run/evaluation.py) except where the authors'
# benchmark config (llmtf_open 504bd7f, benchmark/llmtf_benchmark_instruct.yaml) sets a task's own: ruIFEval and
# enIFEval take 5 samples per prompt at temperature 0.3 (top-p 0.9 and top-k 40 are llmtf's defaults), and
# tasks_ru/ifeval.py counts an instruction followed when most samples follow it.
IFEVAL_SAMPLING: dict[str, Any] = {"samples": 5, "do_sample": True, "temperature": 0.3, "top_p": 0.9, "top_k": 40}
PAPER_GENERATION: dict[str, dict[str, Any]] = {"ru_ifeval": IFEVAL_SAMPLING, "en_ifeval": IFEVAL_SAMPLING}


def suite_tasks(suite: str) -> list[str]:
    """The tasks of a suite in report order; an unknown suite names the known ones."""
    if suite not in SUITES:
        raise KeyError(f"unknown suite {suite!r}: choose one of {', '.join(SUITES)}")
    return [task for tasks in SUITES[suite].values() for task in tasks]


def summarise(suite: str, task_scores: dict[str, float]) -> dict[str, float]:
    """Group scores (mean of their tasks) and the total (mean of all tasks) from per-task scores.

    A group or total is only given when all of its tasks were scored, so a partial run never
    passes for a full one.
    """
    out = {}
    for group, tasks in SUITES[suite].items():
        if all(t in task_scores for t in tasks):
            out[group] = sum(task_scores[t] for t in tasks) / len(tasks)
    tasks = suite_tasks(suite)
    if all(t in task_scores for t in tasks):
        out[TOTAL[suite]] = sum(task_scores[t] for t in tasks) / len(tasks)
    return out


class _TaggedLoader(yaml.SafeLoader):
    """Reads task YAMLs with lm-eval's `!function` tags kept as plain strings."""


_TaggedLoader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def _task_config(task: str) -> dict:
    config = yaml.load((TASKS_DIR / f"{task}.yaml").read_text(encoding="utf-8"), Loader=_TaggedLoader)
    include = config.pop("include", None)
    return {**_task_config_file(include), **config} if include else config


def _task_config_file(name: str) -> dict:
    return yaml.load((TASKS_DIR / name).read_text(encoding="utf-8"), Loader=_TaggedLoader)


def metric_aggregation(task: str, metric: str) -> Callable[[list], float]:
    """The function that turns a task's per-sample items of `metric` into its value (for resampling)."""
    aggregation = next(m for m in _task_config(task)["metric_list"] if m["metric"] == metric)["aggregation"]
    if aggregation == "mean":
        return lambda items: sum(items) / len(items)
    module, _, name = aggregation.removeprefix("!function ").rpartition(".")
    return getattr(importlib.import_module(f"tasks_ru.{module}"), name)


@cache  # the report asks for every row of every comparison; the YAMLs do not change while it runs
def higher_is_better(suite: str, row: str) -> bool:
    """Whether the larger score is the better one on a row of `suite`: a task, or a group or the total, which
    go as their tasks go (a suite does not mix directions); any other row (a figure that is no score) is."""
    tasks = SUITES[suite].get(row) or (suite_tasks(suite) if row == TOTAL[suite] else [])
    tasks = tasks or ([row] if row in suite_tasks(suite) else [])
    return all(_score_metric(task).get("higher_is_better", True) for task in tasks)


def _score_metric(task: str) -> dict:
    return next(m for m in _task_config(task)["metric_list"] if m["metric"] == "score")


def score_aggregation(task: str) -> Callable[[list], float]:
    """The function that turns a task's per-sample `score` items into its score (for resampling)."""
    return metric_aggregation(task, "score")
