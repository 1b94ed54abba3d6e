"""What several test modules share: a small untrained checkpoint, and the `thumbs` command run as a user runs it."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from pathlib import Path

import torch

from thumbs.training import checkpoint, models

CLASSES = ["down", "none", "up"]


def make_checkpoint(path, arch="squeezenet1_1", size=64, classes=CLASSES, settings=None, seed=0):
    torch.manual_seed(seed)
    model, norm = models.build(arch, len(classes), weights="none", log=lambda m: None)
    return checkpoint.save(path, model.eval(), arch=arch, classes=classes, img_size=size, norm=norm,
                           settings=settings or {},
                           metrics={}, history=[], epoch=0, stage="full")



def installed_thumbs() -> list[str]:
    """The `thumbs` command pip installed beside this Python (pyproject's [project.scripts]): what a user runs,
    so its entry point is tested too (it once skipped cli.main(), which every `python -m thumbs.cli` hid)."""
    script = Path(sys.executable).with_name("thumbs")
    assert script.is_file(), f"{script} is missing: install the package (pip install -e .)"
    return [str(script)]


def thumbs(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    return subprocess.run([*installed_thumbs(), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, input=input, timeout=300)


def thumbs_in_process(*args: str, cwd=None):
    """`thumbs ...` in this process (typer's CliRunner), with stdout and stderr apart: no new Python that imports
    PyTorch again (seconds each). For the cases where no signal, pipe or exit of a real process is involved."""
    from typer.testing import CliRunner

    from thumbs.cli import app

    before = os.getcwd()
    os.chdir(cwd or before)
    try:
        return CliRunner().invoke(app, list(args), env={"DISPLAY": None, "COLUMNS": "200"})
    finally:
        os.chdir(before)


def refuse_writes_in(monkeypatch, folder) -> None:
    """Make `folder` read-only for thumbs.core.files.check_writable_dir (the tests run as root, whom chmod
    does not stop)."""
    from thumbs.core import files

    real = files.tempfile.TemporaryFile

    def temporary_file(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == Path(folder):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(files.tempfile, "TemporaryFile", temporary_file)

def fifo(path, unblock_after: float = 5.0):
    """A FIFO at `path`; from `unblock_after` seconds on, a thread keeps opening and closing its writing end
    for a while, so code that wrongly waits on it reads an empty file and fails its test (on the time it
    took) instead of hanging the suite."""
    import threading
    import time

    os.mkfifo(path)

    def unblock() -> None:
        deadline = time.monotonic() + unblock_after + 30
        time.sleep(unblock_after)
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # ENXIO while no one reads
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            time.sleep(0.05)

    threading.Thread(target=unblock, daemon=True).start()
    return path


def end_all(started: list[subprocess.Popen]) -> None:
    """Kill what a test started and did not end (a failed test must not leave commands running)."""
    while started:
        proc = started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
