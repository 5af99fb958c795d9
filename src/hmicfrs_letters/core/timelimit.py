"""A time limit on Python code run in the calling thread: a template rendered into HTML.

A PDF is made in a worker process that is killed when it takes too long (pool); a letter's HTML
is rendered in the thread that asks for it (a command, a preview request), where nothing can be
killed. So when the time is up a timer thread raises TimeLimitExceeded *in* the rendering thread
(CPython's PyThreadState_SetAsyncExc): it is delivered at the next bytecode the thread runs, which
a template that loops always reaches. Code that never returns to Python (one huge C call) is not
stopped, but nothing a template can write loops in C for long.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


class TimeLimitExceeded(Exception):
    """The code ran past its time limit and was stopped."""


class _Watch:
    """Raises TimeLimitExceeded in one thread after `seconds`, unless stopped first."""

    def __init__(self, seconds: float) -> None:
        self.thread = threading.get_ident()
        self.lock = threading.Lock()
        self.done = self.fired = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        with self.lock:
            if not self.done:
                self.fired = True
                _set_async_exc(self.thread, TimeLimitExceeded)

    def stop(self) -> None:
        self.timer.cancel()
        with self.lock:
            self.done = True
            if self.fired:  # raised but perhaps not yet delivered: take it back
                _set_async_exc(self.thread, ctypes.py_object())


def run_with_limit(seconds: float | None, call: Callable[[], T]) -> T:
    """`call()`, stopped with TimeLimitExceeded when it runs longer than `seconds` (no limit for None)."""
    if seconds is None:
        return call()
    watch = _Watch(seconds)
    try:
        watch.timer.start()
        try:
            return call()
        finally:
            watch.stop()
    except TimeLimitExceeded as exc:  # raised as a class, without words: given them, its traceback kept (where it looped)
        exc.args = (f"took longer than {seconds:g} s, the time limit",)
        raise
