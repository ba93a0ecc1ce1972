"""Every kind of bad input through the CLI: exit 2, one `error:` line, no traceback, nothing written.

One row per case of issue 15's classes: (1) numbers out of range, (3) names that would leave the
output dir, (4) inputs found bad only after work, (5) tracebacks where a clear error belongs,
(6) silent nonsense, (7) leftovers. Each case runs `lep-bench` in this process (`main(argv)`) in a
fresh folder with a fresh temporary dir, and compares that folder and the fixtures before and after,
so a stray output dir, staging dir, checkpoint dir or server log fails the case (an exception would
fail it too). A few cases also run as a real process, where the exit status and the absence of a
traceback are the process's own.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.synthetic_runs import write_run

TINY_SUITE_TASKS = ["ru_open_terra", "ru_open_rubq"]


def _safetensors(path: Path, declared: int, actual: int) -> None:
    """A safetensors file whose header declares `declared` data bytes but that holds `actual`."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [declared // 4], "data_offsets": [0, declared]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * actual)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_model) -> dict[str, Path]:
    """Fixture files: a real tiny model, corrupt and truncated models, a corpus, runs and bad baselines."""
    root = tmp_path_factory.mktemp("inputs")
    tiny = tiny_model
    corrupt, truncated = root / "corrupt", root / "truncated"
    for folder in (corrupt, truncated):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 32}))
    (corrupt / "model.safetensors").write_bytes(b"\xff" * 64)
    _safetensors(truncated / "model.safetensors", declared=4096, actual=100)
    corpus = root / "corpus.txt"
    corpus.write_text("Привет, мир. Это короткий текст.\n" * 50, encoding="utf-8")
    run = write_run(root / "runs", "m", "ru-open", 0.5, seed=1, n=40, tasks=TINY_SUITE_TASKS)
    summary = json.loads((run / "summary.json").read_text())
    baselines = {
        "strings": summary | {"tasks": {t: "0.5" for t in summary["tasks"]}},
        "lists": summary | {"tasks": {t: [0.5] for t in summary["tasks"]}},
        "nulls": summary | {"groups": {g: None for g in summary["groups"]}},
        "empty": {"suite": "ru-open", "tasks": {}, "groups": {}},
    }
    for name, content in baselines.items():
        (root / f"baseline-{name}.json").write_text(json.dumps(content))
    (root / "a-file").write_text("not a directory")
    (root / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    readonly = root / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    return {
        "tiny": tiny,
        "corrupt": corrupt,
        "truncated": truncated,
        "corpus": corpus,
        "run": run,
        "file": root / "a-file",
        "binary": root / "binary.yaml",
        "readonly": readonly,
        **{f"baseline-{name}": root / f"baseline-{name}.json" for name in baselines},
    }


def _experiment(body: str) -> str:
    return "name: exp\nruns: out/runs\nreports: out/reports\n" + body


PIPELINE = "workdir: out/work\nbase_model: {tiny}\ninstruct_model: {tiny}\ncorpus: [{corpus}]\n"
TRAIN = ["adapt", "train", "--model", "{tiny}", "--corpus", "{corpus}", "--out", "out/trained"]
TOKENIZER = ["adapt", "tokenizer", "--base", "openchat-3.5", "--corpus", "{corpus}", "--out", "out/tok"]
RUN = ["run", "--suite", "ru-open", "--backend", "hf", "--out", "out/runs"]
COMPARE = ["compare", "{run}", "--reports", "out/reports"]
GATE = ["gate", "--candidate", "{run}", "--baseline"]

# (case id, class, argv, config file text or None, what stderr must say)
CASES = [
    ("train-seq-len-0", 1, [*TRAIN, "--seq-len", "0"], None, "seq_len=0: must be greater than or equal to 8"),
    ("train-seq-len-100000", 1, [*TRAIN, "--seq-len", "100000"], None, "seq_len=100000: must be less than or equal"),
    ("train-seq-len-past-model", 1, [*TRAIN, "--seq-len", "4096"], None, "longer than the model's 2048 positions"),
    ("train-lr-negative", 7, [*TRAIN, "--learning-rate", "-1"], None, "learning_rate=-1.0: must be greater than 0"),
    ("train-batch-0", 1, [*TRAIN, "--per-device-batch", "0"], None, "per_device_batch=0"),
    ("train-warmup-negative", 1, [*TRAIN, "--warmup-steps", "-3"], None, "warmup_steps=-3"),
    ("train-max-steps-0", 6, [*TRAIN, "--max-steps", "0"], None, "max_steps=0 would train nothing"),
    (
        "train-batch-not-multiple",
        6,
        [*TRAIN, "--global-batch", "10", "--per-device-batch", "8"],
        None,
        "global_batch=10 is not a multiple of per_device_batch=8",
    ),
    ("train-two-problems", 1, [*TRAIN, "--seq-len", "0", "--epochs", "0"], None, "seq_len=0"),
    ("train-repeat-over-1", 1, [*TRAIN, "--repeat-share", "1.5"], None, "repeat_share=1.5: must be less than or equal"),
    (
        "train-repeat-with-distill",
        6,
        [*TRAIN, "--objective", "distill", "--repeat-share", "0.5"],
        None,
        "repeat_share is a setting of objective lm",
    ),
    ("train-out-is-file", 4, [*TRAIN[:-1], "{file}"], None, "is a file, not a directory"),
    ("train-corrupt-weights", 5, [*TRAIN[:3], "{corrupt}", *TRAIN[4:]], None, "its header length is past the end"),
    ("train-truncated-weights", 5, [*TRAIN[:3], "{truncated}", *TRAIN[4:]], None, "it is truncated"),
    (
        "tokenizer-keep-over-vocab",
        6,
        [*TOKENIZER, "--method", "optimize", "--keep", "5000", "--vocab-size", "3000", "--new-vocab-size", "1000"],
        None,
        "keep=5000 is not below vocab_size=3000",
    ),
    ("tokenizer-vocab-0", 6, [*TOKENIZER, "--method", "bpe", "--vocab-size", "0"], None, "vocab_size=0"),
    ("tokenizer-new-vocab-negative", 1, [*TOKENIZER, "--method", "extend", "--new-vocab-size", "-5"], None, "-5"),
    ("tokenizer-out-is-file", 5, [*TOKENIZER[:-1], "{file}", "--method", "bpe"], None, "is a file"),
    (
        "init-corrupt",
        5,
        ["adapt", "init", "--model", "{corrupt}", "--tokenizer", "{tiny}", "--out", "out/i"],
        None,
        "corrupt weights",
    ),
    (
        "propagate-truncated",
        5,
        [
            "adapt",
            "propagate",
            "--mode",
            "swap",
            "--base",
            "{truncated}",
            "--adapted",
            "{tiny}",
            "--instruct",
            "{tiny}",
            "--out",
            "out/p",
        ],
        None,
        "it is truncated",
    ),
    (
        "run-limit-0",
        1,
        [*RUN, "--model", "{tiny}", "--limit", "0"],
        None,
        "limit=0: must be greater than or equal to 1",
    ),
    ("run-shots-negative", 1, [*RUN, "--model", "{tiny}", "--shots", "-1"], None, "num_fewshot=-1"),
    ("run-choice-shots-99", 1, [*RUN, "--model", "{tiny}", "--choice-shots", "99"], None, "choice_shots=99"),
    ("run-batch-size-0", 1, [*RUN, "--model", "{tiny}", "--batch-size", "0"], None, "batch_size=0"),
    ("run-port-99999", 1, [*RUN, "--model", "{tiny}", "--port", "99999"], None, "port=99999: must be less than"),
    ("run-all-numbers-at-once", 1, [*RUN, "--model", "{tiny}", "--limit", "0", "--port", "0"], None, "limit=0"),
    ("spec-dtype", 5, [*RUN, "--model", "path={tiny},dtype=float99"], None, "dtype='float99'"),
    ("spec-max-length", 1, [*RUN, "--model", "path={tiny},max_length=-5"], None, "max_length=-5"),
    ("spec-name-escapes", 3, [*RUN, "--model", "path={tiny},name=../../x"], None, "would leave the output dir"),
    ("spec-kind", 5, [*RUN, "--model", "path={tiny},kind=chat"], None, "kind='chat'"),
    ("run-out-is-file", 5, [*RUN[:-1], "{file}", "--model", "{tiny}"], None, "is a file, not a directory"),
    ("run-out-read-only", 5, [*RUN[:-1], "{readonly}/runs", "--model", "{tiny}"], None, "is not writable"),
    ("run-corrupt-weights", 5, [*RUN, "--model", "path={corrupt},kind=base"], None, "corrupt weights"),
    ("compare-iterations-0", 5, [*COMPARE, "--iterations", "0"], None, "iterations=0"),
    ("compare-max-drop-negative", 1, [*COMPARE, "--max-drop", "-1"], None, "max_drop=-1.0"),
    ("compare-name-escapes", 3, [*COMPARE, "--name", "../../x"], None, "would leave the output dir"),
    ("compare-published-unknown", 6, [*COMPARE, "--published", "table9"], None, "'table9' is not one of the paper's"),
    ("compare-baseline-is-dir", 4, [*COMPARE, "--write-baseline", "{readonly}"], None, "is a directory, not a file"),
    ("compare-reports-is-file", 4, [*COMPARE[:-1], "{file}"], None, "--reports {file} is a file"),
    ("tokenizers-out-is-file", 5, ["tokenizers", "--out", "{file}"], None, "--out {file} is a file, not a directory"),
    ("import-out-is-file", 4, ["import", "smollm2-135m-instruct", "--out", "{file}"], None, "is a file, not a"),
    ("speed-out-is-file", 4, ["speed", "{tiny}", "--out", "{file}"], None, "--out {file} is a file, not a directory"),
    ("speed-trials-2", 1, ["speed", "{tiny}", "--trials", "2"], None, "trials=2: must be greater than or equal to 5"),
    ("speed-precision-2", 1, ["speed", "{tiny}", "--precision", "2"], None, "precision=2.0: must be less than or"),
    (
        "calibrate-rank-0",
        1,
        ["adapt", "calibrate", "--model", "{tiny}", "--mode", "sft", "--data", "{corpus}", "--rank", "0", "--out", "o"],
        None,
        "rank=0: must be greater than or equal to 1",
    ),
    ("compare-gate-missing", 4, [*COMPARE, "--gate", "missing.json"], None, "is not a lep-bench run dir or summary"),
    ("compare-gate-strings", 4, [*COMPARE, "--gate", "{baseline-strings}"], None, "must be a valid number"),
    ("gate-strings", 5, [*GATE, "{baseline-strings}"], None, "must be a valid number"),
    ("gate-lists", 5, [*GATE, "{baseline-lists}"], None, "must be a valid number"),
    ("gate-nulls", 5, [*GATE, "{baseline-nulls}"], None, "must be a valid number"),
    ("gate-empty-baseline", 6, [*GATE, "{baseline-empty}"], None, "an empty baseline gates nothing"),
    ("gate-iterations-0", 1, [*GATE, "{run}", "--iterations", "0"], None, "iterations=0"),
    ("gate-max-drop-2", 1, [*GATE, "{run}", "--max-drop", "2"], None, "max_drop=2.0"),
    ("gate-json-is-dir", 4, [*GATE, "{run}", "--json", "{run}"], None, "is a directory, not a file"),
    (
        "experiment-suites-string",
        6,
        ["compare", "config.yaml"],
        _experiment("models: [{name: a, path: '{tiny}'}]\nsuites: ru-open\n"),
        "suites='ru-open': must be a valid list",
    ),
    (
        "experiment-models-string",
        5,
        ["compare", "config.yaml"],
        _experiment("models: '{tiny}'\n"),
        "must be a valid list",
    ),
    (
        "experiment-limit-string",
        5,
        ["compare", "config.yaml"],
        _experiment("models: [{name: a, path: '{tiny}'}]\nlimit: ten\n"),
        "limit='ten': must be a valid integer",
    ),
    (
        "experiment-typo",
        6,
        ["compare", "config.yaml"],
        _experiment("models: [{name: a, path: '{tiny}'}]\nsuits: [ru-open]\n"),
        "unknown setting 'suits'",
    ),
    (
        "experiment-second-model-missing",
        4,
        ["compare", "config.yaml"],
        _experiment("models: [{name: a, path: '{tiny}'}, {name: b, path: nowhere}]\ntasks: [ru_open_terra]\n"),
        "nowhere does not exist",
    ),
    (
        "experiment-model-name-escapes",
        3,
        ["compare", "config.yaml"],
        _experiment("models: [{name: ../x, path: '{tiny}'}]\n"),
        "would leave the output dir",
    ),
    (
        "experiment-same-name-twice",
        6,
        ["compare", "config.yaml"],
        _experiment("models: [{name: a, path: '{tiny}'}, {name: a, path: '{tiny}'}]\n"),
        "models a appear more than once",
    ),
    ("experiment-binary", 5, ["compare", "{binary}"], None, "is not a text file"),
    (
        "pipeline-vocab-string",
        5,
        ["adapt", "pipeline", "config.yaml"],
        PIPELINE + "stages: {tokenizer: {method: extend, new_vocab_size: lots}}\n",
        "new_vocab_size='lots': must be a valid integer",
    ),
    (
        "pipeline-stage-not-mapping",
        5,
        ["adapt", "pipeline", "config.yaml"],
        PIPELINE + "stages: {tokenizer: 5}\n",
        "stages.tokenizer=5: must be a dictionary",
    ),
    (
        "pipeline-train-checked-first",
        4,
        ["adapt", "pipeline", "config.yaml"],
        PIPELINE + "stages: {tokenizer: {method: extend, new_vocab_size: 300}, init: {}, train: {seq_len: 0}}\n",
        "seq_len=0",
    ),
    (
        "pipeline-typo",
        6,
        ["adapt", "pipeline", "config.yaml"],
        PIPELINE + "stagse: {init: {}}\n",
        "unknown setting 'stagse'",
    ),
    ("pipeline-binary", 5, ["adapt", "pipeline", "{binary}"], None, "is not a text file"),
]


def _fill(text: str, inputs: dict[str, Path]) -> str:
    """`{name}` placeholders replaced by fixture paths (YAML's own braces left alone)."""
    for name, path in inputs.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def _tree(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every path under the roots with its size and mtime: any write shows as a difference."""
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for root in roots
        for p in [root, *root.rglob("*")]
        if p.exists()
    }


@pytest.mark.parametrize("case, kind, argv, config, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_leaves_nothing(
    inputs, tmp_path, tmp_path_factory, monkeypatch, capsys, case, kind, argv, config, message
):
    if case == "run-out-read-only" and os.geteuid() == 0:
        pytest.skip("root can write to a read-only folder, so there is no permission error to report")
    argv = [_fill(arg, inputs) for arg in argv]
    if config is not None:
        (tmp_path / "config.yaml").write_text(_fill(config, inputs))
    temporary = tmp_path_factory.mktemp("tmpdir")  # the command's temporary dir: a server log or staging file shows
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    before = _tree(tmp_path, inputs["tiny"].parent)
    status, _, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert _fill(message, inputs) in lines[0]
    assert _tree(tmp_path, inputs["tiny"].parent) == before, f"{case} wrote or left something"
    assert not list(temporary.iterdir()), f"{case} left temporary files"


PROCESS_CASES = ["train-seq-len-0", "experiment-typo", "gate-empty-baseline"]


@pytest.mark.parametrize("case", PROCESS_CASES)
def test_a_real_process_exits_2_with_one_line_and_no_traceback(inputs, tmp_path, case):
    _, _, argv, config, message = next(c for c in CASES if c[0] == case)
    if config is not None:
        (tmp_path / "config.yaml").write_text(_fill(config, inputs))
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", *(_fill(arg, inputs) for arg in argv)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["adapt", "train", "--model", ".", "--corpus", "README.md", "--out", "o", "--seq-len", "0"],
        ["compare", "nowhere", "--iterations", "0"],
    ],
    ids=["train-seq-len-0", "compare-iterations-0"],
)
def test_a_bad_number_stops_before_torch_is_imported(args, tmp_path):
    """`--seq-len 0` once grew to 24 GB; now the error comes from the settings alone, before torch loads."""
    probe = f"import sys; from harness.cli import main; status = main({args!r}); print(status, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1
