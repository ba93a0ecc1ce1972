"""Engines that read their settings from environment variables only (vLLM's CPU settings, Ray's usage stats):
set them for as long as the engine runs in this process, then put back what was there, so that library code
leaves the process's environment as it found it."""

import contextlib
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
