"""A vLLM OpenAI-compatible server as a managed subprocess on 127.0.0.1.

The server gets a free port and a random API key, is polled on /health until ready (the log
tail goes into the error when it dies or times out), and is always stopped: SIGTERM to its
process group, then SIGKILL to the group and to every descendant by PID, whatever the leader's
state, on success, error, Ctrl-C or SIGTERM (process_group.py, interruption.py beside this file);
a watchdog does the same the moment the leader dies. The log goes where the caller says (a run's
dir), else to a temporary file removed at stop. Scoring settings are explicit and
recorded: prefix caching off (it has produced wrong prompt log-probabilities), a fixed seed,
the dtype and the maximum length; on CPU machines the KV cache size comes from
VLLM_CPU_KVCACHE_SPACE (default 1 GiB), without which vLLM refuses to start, and the cores the
model runs on from VLLM_CPU_OMP_THREADS_BIND (`default_cpu_binding`).
"""

import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.serving.interruption import on_interrupt
from harness.serving.process_group import ProcessId, descendants, kill_all
from lep.errors import InputError, LepError

LOG_TAIL_LINES = 30
# vLLM's automatic binding keeps one core for its API server: on a 2-core machine that halves the model's cores,
# and SmolLM2's eager server took 1.5x as long with it (docs/backends.md, docs/log.md). Unmeasured above this.
ALL_CORES_UP_TO = 2


def _usable_cores() -> list[int]:
    # sched_getaffinity is Linux-only (vLLM's CPU build is too); elsewhere every core counts
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def _named_cores(binding: str) -> set[int]:
    """The core ids of a binding such as '0-2,4' (or '0-1|2-3': one list per worker), as vLLM parses it."""
    cores: set[int] = set()
    for part in re.split(r"[,|]", binding):
        low, dash, high = part.partition("-")
        cores.update(range(int(low), int(high if dash else low) + 1))
    return cores


def default_cpu_binding() -> str | None:
    """VLLM_CPU_OMP_THREADS_BIND for vLLM on a CPU: as set (checked: vLLM accepts cores the machine lacks and
    runs anyway), else every core this process may use on a machine of at most ALL_CORES_UP_TO of them, else
    None (vLLM's own `auto`)."""
    cores = _usable_cores()
    if "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
        return ",".join(map(str, cores)) if len(cores) <= ALL_CORES_UP_TO else None
    binding = os.environ["VLLM_CPU_OMP_THREADS_BIND"]
    if binding in ("auto", "nobind"):
        return binding
    try:
        known = _named_cores(binding) <= set(cores)
    except ValueError:
        known = False
    if not known:
        raise InputError(
            f"VLLM_CPU_OMP_THREADS_BIND={binding!r} is not a list of this machine's usable cores "
            f"({','.join(map(str, cores))}); set it to auto, nobind or such a list (e.g. 0-1), or unset it"
        )
    return binding


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log (a server's, a sweep job's): what an error shows of why a process died."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


class ServerError(LepError):
    """The vLLM server could not be started, died, or did not answer."""


@dataclass
class ServerSettings:
    """Everything that changes what the server computes; recorded with every run."""

    dtype: str = "float32"
    max_model_len: int = 2048
    seed: int = 0
    enable_prefix_caching: bool = False
    enforce_eager: bool = False
    cpu_kv_cache_gib: int = field(default_factory=lambda: int(os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")))
    cpu_binding: str | None = field(default_factory=default_cpu_binding)  # recorded when set: it orders float sums
    # 30-80 s on an idle 2-core CPU, but over 300 s when the machine is shared (seen with SmolLM2-135M)
    startup_timeout_s: float = field(default_factory=lambda: float(os.environ.get("LEP_VLLM_STARTUP_TIMEOUT", "900")))
    port: int | None = None
    tensor_parallel_size: int = 1  # recorded only when > 1, so single-GPU runs keep their fingerprints

    def engine_environment(self) -> dict[str, str]:
        """The variables vLLM's CPU engine reads its KV cache size and cores from (the server's and in-process)."""
        binding = {"VLLM_CPU_OMP_THREADS_BIND": self.cpu_binding} if self.cpu_binding is not None else {}
        return {"VLLM_CPU_KVCACHE_SPACE": str(self.cpu_kv_cache_gib)} | binding

    def record(self) -> dict:
        return {
            k: v
            for k, v in asdict(self).items()
            if k not in ("startup_timeout_s", "port")
            and not (k == "tensor_parallel_size" and v == 1)
            and not (k == "cpu_binding" and v is None)
        }


def _vllm_command() -> list[str]:
    script = Path(sys.executable).with_name("vllm")
    if not script.exists():
        raise ServerError(
            "vLLM is not installed in this environment; run ./setup.sh cpu (CPU) or ./setup.sh vllm (GPU)"
        )
    return [str(script)]


PORT_ATTEMPTS = 3  # a free port can be taken by another process in the seconds before vLLM binds it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_port(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ServerError(
                f"port {port} on 127.0.0.1 is already in use; pick another port or leave it unset"
            ) from None


class VllmServer:
    """`with VllmServer(model_dir, name) as server:` serves one model for as long as the block runs."""

    def __init__(
        self,
        model: Path,
        name: str,
        settings: ServerSettings | None = None,
        tokenizer: Path | None = None,
        log_path: Path | None = None,
    ):
        self.model, self.name = Path(model), name
        self.tokenizer = tokenizer
        self.settings = settings or ServerSettings()
        self.api_key = secrets.token_hex(16)
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.reaper: subprocess.Popen | None = None
        self.log_path = log_path
        self.temporary_log = log_path is None
        self.known: set[ProcessId] = set()  # the engine and workers, remembered by PID once ready
        self.stopped = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        s = self.settings
        command = _vllm_command() + ["serve", str(self.model), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--served-model-name", self.name, "--dtype", s.dtype, "--max-model-len", str(s.max_model_len)]
        command += [
            "--seed",
            str(s.seed),
            "--enable-prefix-caching" if s.enable_prefix_caching else "--no-enable-prefix-caching",
        ]
        command += ["--enforce-eager"] if s.enforce_eager else []
        command += ["--tensor-parallel-size", str(s.tensor_parallel_size)] if s.tensor_parallel_size > 1 else []
        command += ["--tokenizer", str(self.tokenizer)] if self.tokenizer else []
        return command

    def environment(self) -> dict[str, str]:
        """The server process's environment: this one's, offline, with its API key and the engine's CPU settings."""
        return (
            dict(os.environ)
            | {
                "VLLM_API_KEY": self.api_key,
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "VLLM_NO_USAGE_STATS": "1",
            }
            | self.settings.engine_environment()
        )

    def log_tail(self) -> str:
        return log_tail(self.log_path) if self.log_path is not None else "(no server log)"

    def start(self) -> "VllmServer":
        """Launch and wait for /health; a port picked here and taken before vLLM bound it is picked again."""
        if not (self.model / "config.json").is_file():
            raise ServerError(f"model {self.model} is not a local HF model dir (no config.json)")
        if self.settings.port is not None:
            _check_port(self.settings.port)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = self.settings.port or free_port()
            self._launch()
            if self._ready():
                self.known = descendants(self.process.pid) if self.process is not None else set()
                return self
            port_taken = self.settings.port is None and "Address already in use" in self.log_tail()
            if not port_taken or attempt == PORT_ATTEMPTS:
                break
            self._discard()  # another process took the port between our probe and vLLM's bind: try a new one
        if self.process is not None and self.process.poll() is not None:
            status = self.process.returncode
            message = f"vLLM exited with status {status} while starting {self.model}:\n{self.log_tail()}"
        else:
            message = (
                f"vLLM did not become ready within {self.settings.startup_timeout_s:.0f} s (set "
                f"LEP_VLLM_STARTUP_TIMEOUT to wait longer):\n{self.log_tail()}"
            )
        self.stop()
        raise ServerError(message)

    def _launch(self) -> None:
        """Start the server, its reaper and its watchdog on `self.port`."""
        if self.temporary_log or self.log_path is None:
            self.log_path = Path(tempfile.mkstemp(prefix="lep-vllm-", suffix=".log")[1])
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.stopped = threading.Event()  # one per launch: a discarded launch's watchdog keeps its own
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        # killed with the group if lep-bench dies without stopping it (SIGKILL, OOM): harness/serving/reaper.py
        self.reaper = subprocess.Popen(
            [sys.executable, "-m", "harness.serving.reaper", str(self.process.pid)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        on_interrupt(id(self), self.kill)
        watchdog = threading.Thread(
            target=self._watch, args=(self.process, self.stopped), name=f"vllm-watchdog-{self.name}", daemon=True
        )
        watchdog.start()

    def _ready(self) -> bool:
        """Wait until /health answers (True), the server exits or the startup time runs out (False)."""
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            if self.healthy():
                return True
            time.sleep(1.0)
        return False

    def _discard(self) -> None:
        """Stop a failed launch so that the next one starts clean."""
        self.stop()
        self.process, self.reaper, self.known = None, None, set()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self, within_s: float = 0.0) -> bool:
        """Whether the leader has exited, waiting up to `within_s` for a dying one (a reset connection comes first)."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _watch(self, process: subprocess.Popen, stopped: threading.Event) -> None:
        """When the leader dies on its own (killed, crashed), its engine and workers go at once."""
        while not stopped.wait(0.5):
            if process.poll() is not None:
                kill_all(process.pid, self.known, timeout_s=0)
                return

    def kill(self) -> None:
        """SIGKILL to the group and every known descendant now (a signal handler's first step)."""
        if self.process is not None:
            kill_all(self.process.pid, self.known, timeout_s=0)

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 30 s; then, whatever the leader's state, SIGKILL to
        the group and every descendant by PID, checked gone (a warning names any survivor)."""
        if self.process is None or self.stopped.is_set():
            return
        self.stopped.set()
        on_interrupt(id(self), None)
        if self.process.poll() is None:
            self.known |= descendants(self.process.pid)
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass  # the group is SIGKILLed below either way
        survivors = kill_all(self.process.pid, self.known)
        self.process.wait()
        if self.reaper is not None:  # the group is gone: stop the reaper without its kill (its PID may be reused)
            self.reaper.kill()
            self.reaper.wait()
            if self.reaper.stdin is not None:
                self.reaper.stdin.close()
        if survivors:
            pids = ", ".join(str(p.pid) for p in sorted(survivors, key=lambda p: p.pid))
            logging.getLogger(__name__).warning("vLLM processes %s survived SIGKILL; kill them by hand", pids)
        if self.temporary_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def complete(self, prompt: str | list[int], max_tokens: int = 16, **options) -> dict:
        """One /v1/completions request, from text or token ids (greedy unless options say otherwise)."""
        return self._post("completions", {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, **options})

    def chat(self, messages: list[dict[str, str]], max_tokens: int = 512, **options) -> str:
        """One /v1/chat/completions request through the served chat template; returns the answer text."""
        body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0, **options}
        return self._post("chat/completions", body)["choices"][0]["message"]["content"]

    def _post(self, endpoint: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/{endpoint}",
            data=json.dumps({"model": self.name, **body}).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            state = "died" if not self.alive() else "did not answer"
            raise ServerError(f"the vLLM server for {self.name} {state} ({error}):\n{self.log_tail()}") from None

    def __enter__(self) -> "VllmServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
