"""The report's IFEval tables: the four accuracies with intervals and paired differences, and per task and
instruction id, n and each model's share followed, strict / loose; shown only for runs with IFEval tasks."""

import json
from pathlib import Path

from harness.report.comparison import build_comparison
from harness.report.instructions import ACCURACIES, accuracy_table, instruction_table
from harness.report.report import write_report
from harness.run.store import load_runs
from tests.support.synthetic_runs import write_run

# per prompt: (instruction ids, strict verdicts, loose verdicts)
PROMPTS = {
    "base": [
        (["punctuation:no_comma", "startend:quotation"], [True, True], [True, True]),
        (["punctuation:no_comma"], [True], [True]),
    ],
    "adapted": [
        (["punctuation:no_comma", "startend:quotation"], [False, True], [True, True]),
        (["punctuation:no_comma"], [False], [False]),
    ],
}


def _ifeval_run(root: Path, model: str) -> Path:
    """A finished ifeval run whose samples carry the docs' instruction ids and the verdicts of PROMPTS[model]."""
    run = write_run(root, model, "ifeval", 0.0, seed=1, n=len(PROMPTS[model]))
    for task in ("ru_ifeval", "en_ifeval"):
        samples = [
            {
                "doc_id": i,
                "doc": {"instruction_id_list": ids},
                "inst_level_strict_acc": strict,
                "inst_level_loose_acc": loose,
                "prompt_level_strict_acc": all(strict),
                "prompt_level_loose_acc": all(loose),
                "score": float(all(strict)),
                "filtered_resps": [f"{model} {i}"],
                "arguments": [[f"prompt {i}"]],
                "target": "",
            }
            for i, (ids, strict, loose) in enumerate(PROMPTS[model])
        ]
        (run / "samples" / f"{task}.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
        result_file = run / "tasks" / f"{task}.json"
        result = json.loads(result_file.read_text(encoding="utf-8"))
        result["metrics"] |= dict.fromkeys(ACCURACIES, 0.0)  # a real run lists every metric; values unused here
        result_file.write_text(json.dumps(result), encoding="utf-8")
    return run


def test_each_instruction_type_gets_its_share_per_model(tmp_path):
    runs = [_ifeval_run(tmp_path, "base"), _ifeval_run(tmp_path, "adapted")]
    table = instruction_table(load_runs(runs))
    assert table is not None
    ru = table[table["task"] == "ru_ifeval"].set_index("instruction")
    assert list(table["task"].unique()) == ["ru_ifeval", "en_ifeval"]
    assert ru.loc["punctuation:no_comma"].to_dict() == {
        "task": "ru_ifeval",
        "n": 2,
        "base": "1.000 / 1.000",
        "adapted": "0.000 / 0.500",
    }
    assert ru.loc["startend:quotation", "adapted"] == "1.000 / 1.000"


def test_the_report_shows_the_table_for_ifeval_runs_only(tmp_path):
    runs = [
        (_ifeval_run(tmp_path / "runs", "base"), "reference"),
        (_ifeval_run(tmp_path / "runs", "adapted"), "candidate"),
    ]
    write_report(build_comparison("t", runs, iterations=50), tmp_path / "ifeval")
    markdown = (tmp_path / "ifeval" / "report.md").read_text(encoding="utf-8")
    assert "## Instructions followed, by type (IFEval)" in markdown
    assert "## IFEval accuracies" in markdown and "| en_ifeval | instruction, loose  |   2 | 1.000 [" in markdown
    assert "| ru_ifeval | punctuation:no_comma |   2 | 1.000 / 1.000 | 0.000 / 0.500 |" in markdown
    assert "Instructions followed, by type" in (tmp_path / "ifeval" / "index.html").read_text(encoding="utf-8")
    other = write_run(tmp_path / "runs", "m", "ru-open", 0.0, seed=1, n=12, tasks=["ru_open_rubq"])
    assert instruction_table(load_runs([other])) is None  # the templates show the sections only for a table
    assert accuracy_table(load_runs([other]), "m") is None


def test_the_four_accuracies_come_with_intervals_and_paired_differences(tmp_path):
    runs = [_ifeval_run(tmp_path, "base"), _ifeval_run(tmp_path, "adapted")]
    table = accuracy_table(load_runs(runs), "base", iterations=50)
    assert table is not None
    ru = table[table["task"] == "ru_ifeval"].set_index("accuracy")
    assert list(ru.index) == ["prompt, strict", "prompt, loose", "instruction, strict", "instruction, loose"]
    assert set(ru["n"]) == {2}  # prompts: the resampling unit
    values = {name: (ru.loc[name, "base"][:5], ru.loc[name, "adapted"][:5]) for name in ru.index}
    assert values == {
        "prompt, strict": ("1.000", "0.000"),
        "prompt, loose": ("1.000", "0.500"),
        "instruction, strict": ("1.000", "0.333"),  # followed ÷ asked: 1 of 3, not the mean of 0/2 and 0/1
        "instruction, loose": ("1.000", "0.667"),
    }
    assert ru.loc["instruction, strict", "Δ adapted"].startswith("-0.667 [")
