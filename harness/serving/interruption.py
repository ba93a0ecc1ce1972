"""SIGINT and SIGTERM stop a command within seconds, with exit status 130 or 143.

lm-eval's API client runs its requests in an asyncio loop, which once swallowed a Ctrl-C (the run
went on and exited 0), and SIGTERM (`timeout`, a scheduler) was not handled at all, so `vllm serve`
outlived lep-bench. The handler first kills every live server (registered with `on_interrupt`), so
no request can succeed after the signal, then raises `Interrupted`; the signal is also remembered,
so the exit status says "interrupted" even if some library caught the exception. Finished tasks are
files already written, so they are kept.
"""

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HANDLED = (signal.SIGINT, signal.SIGTERM)
_callbacks: dict[int, Callable[[], None]] = {}
_received: list[int] = []


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when SIGINT or SIGTERM arrives (a KeyboardInterrupt, so asyncio re-raises it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def on_interrupt(key: int, callback: Callable[[], None] | None) -> None:
    """Run `callback` (e.g. kill a server) as soon as a signal arrives; None removes it."""
    if callback is None:
        _callbacks.pop(key, None)
    else:
        _callbacks[key] = callback


def _handle(signum: int, frame: object) -> None:
    _received.append(signum)
    for callback in list(_callbacks.values()):
        callback()
    raise Interrupted(signum)


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], int | None]]:
    """Handle SIGINT and SIGTERM while the block runs; yields a function giving the first signal received."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    previous = {signum: signal.signal(signum, _handle) for signum in HANDLED}
    _received.clear()
    try:
        yield lambda: _received[0] if _received else None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_status(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum
