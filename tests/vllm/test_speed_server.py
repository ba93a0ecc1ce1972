"""`lep-bench speed` on a vLLM server: the figures come from the engine's own metrics."""

import json
from pathlib import Path

import pytest

from harness.demo.small_models import build_small_model
from harness.run.model_spec import parse_spec
from harness.speed.measure import measure_speed
from harness.speed.settings import SpeedSettings


@pytest.fixture(scope="module")
def model(tmp_path_factory, reference_tokenizer) -> Path:
    return build_small_model(reference_tokenizer("openchat-3.5"), tmp_path_factory.mktemp("speed") / "a", "mistral")


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_server_speed_comes_from_the_engine_metrics(model, tmp_path):
    settings = SpeedSettings(
        backend="vllm-server", new_tokens=8, trials=5, warmup=1, batch=4, prompts=2, reload="once"
    )  # one server start per model: a start per round is the same code path at 40 s each
    record = json.loads(
        (
            measure_speed([parse_spec(str(model))], settings, tmp_path, progress=lambda _: None) / "speed.json"
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
