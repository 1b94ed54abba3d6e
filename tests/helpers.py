"""What several test modules share: a small untrained checkpoint, and the `thumbs` command run as a user runs it."""

from __future__ import annotations

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



def thumbs(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "thumbs.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, input=input, timeout=300)


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

