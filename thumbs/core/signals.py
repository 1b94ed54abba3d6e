"""The one way every command stops on Ctrl-C, SIGTERM (`docker stop`, systemd) and SIGHUP (a closed terminal).

Inside `stop_signals()` the three signals mean "stop requested". Outside a critical section the request
stops the work at once (a `Stopped`, which is a KeyboardInterrupt, raised where the program is); inside
`deferred()` it is only recorded, so an atomic write or a frame with its event line and video frame is never
cut. A deferred request is handed on, never raised from inside a write: loops poll `requested()` or `check()`
at their safe points (between frames, files or epochs), and the outermost scope hands a request nobody took
on: the CLI turns it into the exit code 128 + the signal number (130, 143, 129); elsewhere the signal is
delivered again to the handler that was there before. A second signal stops at once, except inside a write:
a file is always finished (or its temp file removed), whatever comes.
Signals that are ignored (`nohup`) or handled by the program embedding thumbs are left alone."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_DEFAULTS = (signal.SIG_DFL, signal.default_int_handler)


class Stopped(KeyboardInterrupt):
    """A stop signal taken: `signum` says which one (the exit code is 128 + signum)."""

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(message)
        self.signum = signum


class _State:
    def __init__(self) -> None:
        self.depth = 0  # nested stop_signals() scopes
        self.deferring = 0  # nested deferred() sections
        self.holding = 0  # those of them that a second signal may not cut either (writes)
        self.signum: int | None = None  # the request, once one arrived
        self.previous: dict[int, object] = {}

    def handle(self, signum: int, frame) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if not (self.holding or (self.deferring and first)):
            raise Stopped(signum)


_state = _State()


def name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def exit_code(signum: int | None) -> int:
    """The shell's rule for a process ended by a signal: 128 + its number (130 Ctrl-C, 143 TERM, 129 HUP)."""
    return 128 + (signum or signal.SIGINT)


def requested() -> int | None:
    """The signal that asked to stop, or None: loops poll this at their safe points."""
    return _state.signum


def check() -> None:
    """A safe point: stop here (raise Stopped) when a stop was requested."""
    if _state.signum is not None:
        raise Stopped(_state.signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_signals(hand_on: bool = True) -> Iterator[None]:
    """Take Ctrl-C, SIGTERM and SIGHUP as stop requests in this block (nests; a no-op off the main thread).
    The outermost block with `hand_on` delivers a request nobody took to the handler that was there before."""
    if _state.depth or not _main_thread():
        _state.depth += 1
        try:
            yield
        finally:
            _state.depth -= 1
        return
    _state.signum = None
    _state.previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s, handler in _state.previous.items():
        if handler in _DEFAULTS:
            signal.signal(s, _state.handle)
    _state.depth = 1
    try:
        yield
    finally:
        _state.depth = 0
        for s, handler in _state.previous.items():
            if signal.getsignal(s) == _state.handle:
                signal.signal(s, handler)  # type: ignore[arg-type]
        pending, _state.signum = _state.signum, None
    if pending is not None and hand_on:
        os.kill(os.getpid(), pending)


@contextlib.contextmanager
def deferred(second_stops: bool = False) -> Iterator[None]:
    """A critical section: a stop request waits until it ends and then stays pending for the next safe point.
    With `second_stops` (a live frame, which a stuck camera or model could hold forever) a second signal
    stops at once; without (a write), nothing cuts it."""
    hold = 0 if second_stops else 1
    with stop_signals():
        _state.deferring += 1
        _state.holding += hold
        try:
            yield
        finally:
            _state.deferring -= 1
            _state.holding -= hold
