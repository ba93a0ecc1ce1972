"""A port taken between the probe and the server's bind is picked again (seen in CI: two test workers, one port)."""

import socket
import sys
import textwrap
from pathlib import Path

import pytest

from harness.serving import server as server_module
from harness.serving.server import ServerError, ServerSettings, VllmServer

# stands in for `vllm serve`: binds --port like vLLM does (failing the same way), then answers /health
FAKE_VLLM = textwrap.dedent(
    """
    import http.server, sys
    port = int(sys.argv[sys.argv.index("--port") + 1])

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
    except OSError as error:
        print(f"OSError: {error}", flush=True)
        sys.exit(1)
    """
)


@pytest.fixture
def fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake_vllm.py"
    script.write_text(FAKE_VLLM)
    monkeypatch.setattr(server_module, "_vllm_command", lambda: [sys.executable, str(script)])
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return model


def test_a_picked_port_taken_before_the_bind_is_picked_again(fake_server: Path, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        picks = iter([taken.getsockname()[1], server_module.free_port()])
        monkeypatch.setattr(server_module, "free_port", lambda: next(picks))
        with VllmServer(fake_server, "fake", ServerSettings(startup_timeout_s=30)) as server:
            assert server.port != taken.getsockname()[1]
            assert server.healthy()


def test_a_port_the_user_chose_is_not_swapped_and_says_so(fake_server: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            VllmServer(fake_server, "fake", ServerSettings(port=port)).start()
