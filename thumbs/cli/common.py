"""What every command shares: the one way a command ends (`friendly`), the path parsers, the two consoles and
the log that says the thread policy first."""

from __future__ import annotations

import functools
import signal
from pathlib import Path
from typing import Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from thumbs.core.errors import ThumbsError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable)
MAX_SEED = 2**32 - 1  # what NumPy's and PyTorch's generators take
MAX_FPS = 1000.0  # a camera frame rate to request; more is a typo
MAX_SMOOTH = 1000  # frames averaged for the stable label; more would never change it


def friendly(fn: F) -> F:
    """The one place that ends a command: a ThumbsError is one red line and exit code 1; a stop (Ctrl-C, SIGTERM,
    SIGHUP; thumbs.core.signals) is "interrupted" and exit code 128 + the signal number: 130, 143 or 129.

    A command that was stopped but kept something prints its summary, then raises
    `thumbs.core.errors.Interrupted("what was kept")`: this prints "interrupted: what was kept"."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from thumbs.core import signals

        with signals.stop_signals(hand_on=False):
            try:
                result = fn(*args, **kwargs)
            except ThumbsError as e:
                err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            except KeyboardInterrupt as e:
                _stopped(signals.requested() or getattr(e, "signum", None), str(e))
            except BrokenPipeError:
                raise  # the reader of stdout went away: main() ends quietly
            except OSError as e:  # what no command words itself: a name too long, a full disk, /dev/full
                from thumbs.core.files import os_error_line

                err.print(f"[bold red]error:[/] {escape(os_error_line(e))}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            except RuntimeError as e:  # Path.resolve() before Python 3.13 says a link loop so, not as an OSError
                if not str(e).startswith("Symlink loop"):
                    raise
                err.print(f"[bold red]error:[/] {escape(str(e))}: a link leads back to itself; give the real path",
                          highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            if signals.requested():  # it came during the last write: all is written, still say it
                _stopped(signals.requested(), "after the work was finished and saved")
        return result

    return wrapper  # type: ignore[return-value]


def _stopped(signum: Optional[int], note: str) -> None:
    from thumbs.core import signals

    what = "interrupted" if signum in (None, signal.SIGINT) else f"stopped by {signals.name(signum)}"
    err.print(f"[yellow]{what}[/]" + (f": {escape(note)}" if note else ""), highlight=False)
    raise typer.Exit(signals.exit_code(signum))


def parse_path(value: str) -> Path:
    """A path as typed. Typer would read an empty one as '.', and a command would write into the current folder."""
    if not value:
        raise typer.BadParameter("an empty path: give a file or folder name")
    return Path(value)


def parse_path_or_url(value: str) -> str:
    """A model path as typed, or a URL kept as text (a Path would turn grpc://host into grpc:/host)."""
    parse_path(value)  # '' is refused
    return value


PATH = {"parser": parse_path, "metavar": "<path>"}  # every path option (arguments: parser=parse_path): '' is refused


def log_line(message: str) -> None:
    out.print(message, highlight=False, markup=False)  # library text, printed as written: 'thumbs[train]' stays


def say_cpu(log: Callable[[str], None] = log_line) -> None:
    """The thread policy (thumbs/core/threads.py), said first: how this command will use the cores."""
    from thumbs.core import threads

    log(threads.current().line())


def cpu_first(log: Callable[[str], None]) -> Callable[[str], None]:
    """`log`, saying the thread policy before its first line: a command that refuses its input before it says
    anything still prints only the one error line."""
    said = []

    def first(message: str) -> None:
        if not said:
            said.append(True)
            say_cpu(log)
        log(message)

    return first
