"""Keep what litellm prints off the host application's stdout and stderr.

litellm 1.110.2 prints a "Give Feedback / Get Help" banner (ANSI colours and all) on stdout for
every exception it maps (`exception_type` in litellm_core_utils/exception_mapping_utils.py), and
a "Provider List" banner for a model with no known provider (get_llm_provider_logic.py). The
only switch is the module global `litellm.suppress_debug_info`, which we do not touch: it would
change litellm for everything else in the process that uses it. No per-call argument reaches
those prints, and they are `print()` calls, not log records a logging filter could stop.

So every call into litellm runs inside `quiet()`. A context variable marks the call's own task
(and what it starts: litellm's worker threads get a copy of the context); while at least one
call is in flight, `sys.stdout` and `sys.stderr` are thin proxies that drop writes made inside a
marked context and pass every other write through to the stream that was there. The
application's own prints, from any task or thread, arrive as before; handlers the application
set up keep the stream they captured. The streams are put back when the last call ends (unless
something else replaced them in the meantime, in which case that is left alone).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

_inside_litellm: ContextVar[bool] = ContextVar("router_inside_litellm", default=False)
_STREAMS = ("stdout", "stderr")


class _DropInsideLitellm:
    """A stand-in for a text stream: forwards everything, except writes made inside a call."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        if _inside_litellm.get():
            return len(text)
        return self.wrapped.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, isatty, buffer...
        return getattr(self.wrapped, name)


class _Installed:
    """The proxies, installed while at least one litellm call is in flight (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._proxies: dict[str, _DropInsideLitellm] = {}

    def enter(self) -> None:
        with self._lock:
            self._calls += 1
            if self._calls > 1:
                return
            for name in _STREAMS:
                stream = getattr(sys, name)
                if stream is not None and not isinstance(stream, _DropInsideLitellm):
                    self._proxies[name] = _DropInsideLitellm(stream)
                    setattr(sys, name, self._proxies[name])

    def leave(self) -> None:
        with self._lock:
            self._calls -= 1
            if self._calls > 0:
                return
            for name, proxy in self._proxies.items():
                if getattr(sys, name) is proxy:  # not replaced by someone else meanwhile
                    setattr(sys, name, proxy.wrapped)
            self._proxies.clear()


_installed = _Installed()


@contextmanager
def quiet() -> Iterator[None]:
    """Run the block (a call into litellm) with its writes to stdout and stderr dropped.

    Never yield to a caller from inside the block (an async generator must leave it before each
    `yield`): the mark is on the current context, which a generator shares with its consumer.
    """
    token = _inside_litellm.set(True)
    _installed.enter()
    try:
        yield
    finally:
        _inside_litellm.reset(token)
        _installed.leave()
