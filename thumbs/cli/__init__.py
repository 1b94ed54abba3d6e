"""The `thumbs` command: parses options and calls library functions; no logic of its own.

Each family of commands is a module here (data_commands, train_command, model_commands, live_commands,
studio_command, demo_commands; what they share is common); this one makes the app, lists the commands in their
`thumbs --help` order, and is the entry point (`main`).

Heavy imports (torch, onnxruntime) happen inside the commands that need them, so `thumbs live` on a Jetson never
loads the training stack and `thumbs --help` is instant."""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from thumbs.cli.common import err
from thumbs.cli.data_commands import collect, data
from thumbs.cli.demo_commands import demo_cmd, demo_data
from thumbs.cli.live_commands import live, review
from thumbs.cli.model_commands import doctor, eval_, export
from thumbs.cli.studio_command import studio
from thumbs.cli.train_command import train
from thumbs.core.errors import SHOW_NAMES

app = typer.Typer(
    name="thumbs",
    help="Train a hand-gesture classifier on your camera in minutes and run it live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# The commands, in the order `thumbs --help` lists them.
app.command("collect")(collect)
app.command("data")(data)
app.command("demo-data")(demo_data)
app.command("train")(train)
app.command("eval")(eval_)
app.command("export")(export)
app.command("live")(live)
app.command("review")(review)
app.command("doctor")(doctor)
app.command("demo")(demo_cmd)
app.command("studio")(studio)


class _Stdout:
    """sys.stdout that notes when its reader went away (`thumbs ... | head -1`): a closed pipe is the reader's
    choice, so main() exits 0 and quietly, wherever the write happened (a command, --help, the final flush)."""

    def __init__(self, stream) -> None:
        self.stream, self.reader_gone = stream, False

    def _guard(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            self.reader_gone = True
            devnull = os.open(os.devnull, os.O_WRONLY)  # Python's recipe: later writes and the exit flush go nowhere
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
            raise

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def main() -> None:
    """The entry point: where the process's own streams fail (a closed pipe, a full disk, names that are not
    UTF-8), once for every command."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=SHOW_NAMES)
    stdout = sys.stdout = _Stdout(sys.stdout)
    try:
        try:
            app(prog_name="thumbs")
            code = 0
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()
    except BrokenPipeError:
        code = 0
    except OSError as e:  # typer's own output (--help) or the last flush, e.g. `thumbs data > /dev/full`
        from thumbs.core.files import os_error_line

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.stream.fileno())
        what = "cannot write to standard output" if e.filename is None else None
        err.print(f"[bold red]error:[/] {os_error_line(e, what)}", highlight=False, soft_wrap=True)
        code = 1
    sys.exit(0 if stdout.reader_gone else code)
