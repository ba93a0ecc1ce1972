"""Backend settings: the cores vLLM gets, the compile setting and the GPU split; what each backend is started with
and what its fingerprint records."""

import json

import pytest

import harness.serving.server as serving
from harness.experiment import load_experiment
from harness.run.backends import BackendSettings, open_backend
from harness.run.model_spec import ModelSpec
from harness.speed.measure import machine_record, server_binding
from harness.speed.settings import SpeedSettings
from lep.errors import InputError


def test_enforce_eager_reaches_vllm_and_the_fingerprint(tmp_path, monkeypatch):
    spec = ModelSpec(name="m", path=str(tmp_path), max_length=2048)  # no config.json to read the context from
    eager, compiled = BackendSettings(backend="vllm-server", enforce_eager=True), BackendSettings(backend="vllm-server")
    assert eager.record(spec)["server"]["enforce_eager"]
    assert not compiled.record(spec)["server"]["enforce_eager"]
    assert BackendSettings(backend="vllm", enforce_eager=True).record(spec)["enforce_eager"]
    assert "enforce_eager" not in BackendSettings(backend="vllm").record(spec)  # earlier runs keep their fingerprints
    monkeypatch.setattr(serving, "_vllm_command", lambda: ["vllm"])
    assert "--enforce-eager" in serving.VllmServer(tmp_path, "m", eager.server_settings(spec)).command()
    assert "--enforce-eager" not in serving.VllmServer(tmp_path, "m", compiled.server_settings(spec)).command()
    config = tmp_path / "exp.yaml"
    config.write_text(f"models: [{{name: m, path: {tmp_path}}}]\nenforce_eager: true\n", encoding="utf-8")
    assert load_experiment(config).enforce_eager


@pytest.mark.parametrize(
    ("cores", "env", "binding"),
    [({0, 1}, None, "0,1"), ({3}, None, "3"), (set(range(8)), None, None), ({0, 1}, "auto", "auto")],
)
def test_a_small_cpu_gives_vllm_every_core_and_the_binding_is_recorded(tmp_path, monkeypatch, cores, env, binding):
    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: cores)
    if env is None:
        monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    else:
        monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", env)
    spec = ModelSpec(name="m", path=str(tmp_path), max_length=2048)
    server = BackendSettings(backend="vllm-server").record(spec)["server"]
    in_process = BackendSettings(backend="vllm").record(spec)
    assert server.get("cpu_binding") == binding
    assert in_process.get("cpu_binding") == binding
    assert serving.VllmServer(tmp_path, "m", serving.ServerSettings()).environment().get(
        "VLLM_CPU_OMP_THREADS_BIND"
    ) == (binding if binding is not None else env)


@pytest.mark.parametrize("env", ["7", "0-2", "zero", "0-"])
def test_a_binding_to_cores_the_machine_lacks_is_one_clear_error(tmp_path, monkeypatch, env):
    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", env)
    with pytest.raises(InputError, match=r"VLLM_CPU_OMP_THREADS_BIND=.* usable cores \(0,1\)"):
        BackendSettings(backend="vllm-server").record(ModelSpec(name="m", path=str(tmp_path), max_length=2048))
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1|0-1")
    assert serving.default_cpu_binding() == "1|0-1"


def test_an_hf_speed_run_ignores_vllms_binding_and_a_served_one_checks_it(tmp_path, monkeypatch):
    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "7")
    assert server_binding(SpeedSettings(backend="hf")) == {}
    assert machine_record()["thread_env"]["VLLM_CPU_OMP_THREADS_BIND"] == "7"  # as set, for the record
    with pytest.raises(InputError, match="VLLM_CPU_OMP_THREADS_BIND='7'"):
        server_binding(SpeedSettings(backend="vllm-server"))
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND")
    assert server_binding(SpeedSettings(backend="vllm-server")) == {"cpu_binding": "0,1"}


def test_tensor_parallel_size_reaches_vllm_and_the_fingerprint_only_when_above_one(tmp_path, monkeypatch):
    spec = ModelSpec(name="m", path=str(tmp_path), max_length=2048)  # no config.json to read the context from
    single, split = (
        BackendSettings(backend="vllm-server"),
        BackendSettings(backend="vllm-server", tensor_parallel_size=2),
    )
    assert "tensor_parallel_size" not in json.dumps(single.record(spec))
    assert split.record(spec)["server"]["tensor_parallel_size"] == 2
    assert BackendSettings(backend="vllm", tensor_parallel_size=4).record(spec)["tensor_parallel_size"] == 4
    monkeypatch.setattr(serving, "_vllm_command", lambda: ["vllm"])
    command = serving.VllmServer(tmp_path, "m", serving.ServerSettings(tensor_parallel_size=2)).command()
    assert command[command.index("--tensor-parallel-size") + 1] == "2"
    assert "--tensor-parallel-size" not in serving.VllmServer(tmp_path, "m").command()
    with pytest.raises(InputError, match="tensor_parallel_size=2 needs the vllm or vllm-server backend"):
        with open_backend(spec, BackendSettings(backend="hf", tensor_parallel_size=2)):
            pass
