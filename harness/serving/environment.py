"""What a process around the engines sets up: engines that read their settings from environment variables only
(vLLM's CPU settings, Ray's usage stats) get them for as long as they run in this process, then what was there
is put back, so that library code leaves the environment as it found it; and the libraries' log levels, which
only a process's entry point sets (the CLI, a Ray job)."""

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ while the block runs; restore each variable (or its absence) afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def quiet_library_logs() -> None:
    """For an entry point: lm-eval's info lines drown the progress, and a dying vLLM server makes aiohttp's pending
    requests log "Task exception was never retrieved" tracebacks while the runner reports the death itself."""
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
