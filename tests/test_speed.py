"""`lep-bench speed`: exact output lengths, interleaved trials, robust summaries, engine metrics, reuse, bad input."""

import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import harness.speed as speed
from harness.compare import load_experiment
from harness.engine_metrics import GENERATED, TTFT, EngineDelta, scrape, server_times
from harness.model_spec import parse_spec
from harness.report import speed_figure, speed_section
from harness.speed import Measurement, SpeedSettings, measure_speed, speed_table, summarise
from lep.errors import InputError
from lep.small_models import build_small_model

FAST = SpeedSettings(new_tokens=4, trials=5, warmup=1, batch=2, prompts=1)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, reference_tokenizer) -> list[Path]:
    folder = tmp_path_factory.mktemp("speed")
    tokenizer = reference_tokenizer("openchat-3.5")
    return [
        build_small_model(tokenizer, folder / "a", architecture="mistral"),
        build_small_model(tokenizer, folder / "b", architecture="mistral", hidden_size=128, seed=1),
    ]


@pytest.fixture(scope="module")
def record(two_models, tmp_path_factory) -> dict:
    specs = [parse_spec(f"path={p},name={p.name}") for p in two_models]
    return json.loads(
        (
            measure_speed(specs, FAST, tmp_path_factory.mktemp("runs"), progress=lambda _: None) / "speed.json"
        ).read_text()
    )


def test_an_interleaved_hf_run_records_exact_lengths_spreads_and_ratios(record):
    assert record["order"] == [
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
        ["b", "a"],
    ]  # rotating, warm-up first
    for name in ("a", "b"):
        rounds = record["trials"][name]
        assert len(rounds) == 5  # the warm-up round is not kept
        assert all(
            r["latency"][lang]["tokens"] == 4 and r["throughput"][lang]["tokens"] == 8
            for r in rounds
            for lang in ("ru", "en")
        )
        cell = record["summary"][name]["latency/ru"]["decode_tokens_per_s"]
        assert cell["n"] == 5 and cell["q1"] <= cell["median"] <= cell["q3"] and cell["median"] > 0
        assert record["chars_per_token"][name]["ru"] > 1
    assert set(record["ratios"]) == {"b"} and record["ratios"]["b"]["latency/ru"]["chars_per_s"]["median"] > 0
    assert record["machine"]["torch_threads"] >= 1 and len(record["machine"]["load_before"]) == 3
    assert len(speed_table(record)) == 4


def test_the_report_shows_the_speed_run_with_its_method(record):
    section = speed_section(record)
    assert "exactly 4 tokens per request" in section["how"] and "interleaved" in section["how"]
    assert (
        list(section["table"]["model"]) == ["a", "a", "b", "b"]
        and section["table"]["× ref RU chars/s"].iloc[0] == "ref"
    )
    assert speed_figure(record).startswith(b"\x89PNG")
    assert speed_section(None)["table"] is None and "not measured" in speed_section(None)["how"]


def test_an_experiment_asks_for_speed_with_a_mapping(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("models: [{name: m, path: m}]\nspeed: {trials: 7, backend: hf}\n")
    assert load_experiment(config).speed == SpeedSettings(trials=7)
    config.write_text("models: [{name: m, path: m}]\n")
    assert load_experiment(config).speed is None
    for bad, problem in (
        ("speed: fast", "speed='fast': must be a valid dictionary"),
        ("speed: {trails: 5}", "unknown speed setting"),
        ("speed: {trials: 2}", "trials must be"),
    ):
        config.write_text(f"models: [{{name: m, path: m}}]\n{bad}\n")
        with pytest.raises(InputError, match=problem):
            load_experiment(config)


def test_a_finished_speed_run_is_reused_and_a_changed_setting_is_not(two_models, tmp_path, monkeypatch):
    specs = [parse_spec(f"path={two_models[0]},name=a")]
    first = measure_speed(specs, FAST, tmp_path, progress=lambda _: None)

    def no_engine(*_):
        raise AssertionError("a reused run must not load an engine")

    monkeypatch.setattr(speed, "open_engine", no_engine)
    assert measure_speed(specs, FAST, tmp_path, progress=lambda _: None) == first
    with pytest.raises(AssertionError, match="must not load"):
        measure_speed(
            specs, SpeedSettings(new_tokens=5, trials=5, batch=2, prompts=1), tmp_path, progress=lambda _: None
        )


def _m(decode_tokens_per_s: float) -> Measurement:
    return Measurement(tokens=10, seconds=10 / decode_tokens_per_s, ttft_s=0.1, tpot_s=1 / decode_tokens_per_s)


def test_summaries_are_medians_and_ratios_are_taken_within_each_trial():
    # the machine slows down trial by trial; the candidate is always exactly twice as fast within a trial
    ref_speeds, cand_speeds = [10, 20, 30, 40, 50], [20, 40, 60, 80, 100]
    trials = {
        name: [{regime: {lang: _m(v) for lang in ("ru", "en")} for regime in ("latency", "throughput")} for v in values]
        for name, values in (("ref", ref_speeds), ("cand", cand_speeds))
    }
    chars = {"ref": {"ru": 1.0, "en": 4.0}, "cand": {"ru": 3.0, "en": 4.0}}
    out = summarise(trials, chars, "ref")
    cell = out["summary"]["ref"]["latency/ru"]["decode_tokens_per_s"]
    assert (cell["median"], cell["q1"], cell["q3"]) == pytest.approx((30, 20, 40))
    ratio = out["ratios"]["cand"]["latency/ru"]
    assert ratio["decode_tokens_per_s"]["median"] == pytest.approx(2.0) and ratio["decode_tokens_per_s"][
        "q3"
    ] == pytest.approx(2.0)
    assert ratio["chars_per_s"]["median"] == pytest.approx(6.0)  # 2x the tokens/s, 3x the characters per token
    assert any("ref latency ru" in w for w in out["warnings"])  # 10..50 tok/s is far above 5% variation


class _FakeVllm(http.server.BaseHTTPRequestHandler):
    generated = 0.0

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = (
            f'# TYPE vllm:generation_tokens counter\nvllm:generation_tokens_total{{model_name="m"}} {self.generated}\n'
            f"# TYPE vllm:time_to_first_token_seconds histogram\n"
            f'vllm:time_to_first_token_seconds_bucket{{le="+Inf",model_name="m"}} {self.generated / 10}\n'
            f'vllm:time_to_first_token_seconds_sum{{model_name="m"}} {self.generated / 100}\n'
            f'vllm:time_to_first_token_seconds_count{{model_name="m"}} {self.generated / 10}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.fixture
def fake_vllm():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeVllm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()


def test_engine_figures_are_deltas_of_vllm_counters_and_histograms(fake_vllm):
    _FakeVllm.generated = 100.0
    before = scrape(fake_vllm)
    _FakeVllm.generated = 300.0
    delta = EngineDelta(before, scrape(fake_vllm))
    assert delta.delta(GENERATED) == 200 and delta.mean(TTFT) == pytest.approx(2.0 / 20)


# A process group shaped like `vllm serve`: the leader (the API server) starts a child named like vLLM's
# worker, which computes for 0.4 s and then blocks for 3 s, as an engine does between requests.
_WORKER = (
    'open("/proc/self/comm", "w").write("VLLM::Worker")\n'
    "import time\n"
    "time.sleep(0.3)\n"
    "stop = time.process_time() + 0.4\n"
    "while time.process_time() < stop:\n"
    "    pass\n"
    "time.sleep(3)\n"
)
_FAKE_SERVER = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {_WORKER!r}])\n"


def test_engine_busy_time_counts_the_model_threads_compute_not_its_idle_waits():
    import os
    import time

    leader = subprocess.Popen([sys.executable, "-c", _FAKE_SERVER], start_new_session=True)
    try:
        time.sleep(0.25)  # the worker is up, sleeping
        before, start = server_times(leader.pid), time.perf_counter()
        time.sleep(2.5)  # it computes 0.4 CPU seconds (longer on a busy machine), then blocks
        spent, wall = server_times(leader.pid) - before, time.perf_counter() - start
    finally:
        os.killpg(leader.pid, 9)
    assert 0.3 < spent.forward < 0.6 and spent.forward + spent.forward_wait < wall - 0.5, (spent, wall)
    assert spent.engine_cpu == pytest.approx(spent.forward, abs=0.1) and spent.api_cpu < 0.1, spent


@pytest.mark.parametrize(
    "settings, problem",
    [
        (SpeedSettings(trials=3), "trials must be a whole number from 5"),
        (SpeedSettings(new_tokens=1), "new_tokens"),
        (SpeedSettings(batch=0), "batch"),
        (SpeedSettings(backend="vllm"), "backend must be hf or vllm-server"),
    ],
)
def test_bad_settings_are_refused_before_any_model_loads(settings, problem, tmp_path):
    with pytest.raises(InputError, match=problem):
        measure_speed([parse_spec(str(tmp_path))], settings, tmp_path)


def test_the_cli_reports_a_bad_setting_on_one_line(two_models, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "speed", str(two_models[0]), "--trials", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: speed settings: trials must be a whole number from 5 to 1000 (got 2)"
    ]
    assert not (tmp_path / "speed").exists()


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_server_speed_comes_from_the_engine_metrics(two_models, tmp_path):
    settings = SpeedSettings(backend="vllm-server", new_tokens=8, trials=5, warmup=1, batch=4, prompts=2)
    record = json.loads(
        (
            measure_speed([parse_spec(str(two_models[0]))], settings, tmp_path, progress=lambda _: None) / "speed.json"
        ).read_text()
    )
    rounds = record["trials"]["a"]
    assert all(
        r["latency"][lang]["tokens"] == 16 and r["throughput"][lang]["tokens"] == 32
        for r in rounds
        for lang in ("ru", "en")
    )
    assert all(0 < r["latency"]["ru"]["ttft_s"] < r["latency"]["ru"]["seconds"] for r in rounds)
    assert all(r["latency"]["ru"]["tpot_s"] > 0 for r in rounds)
