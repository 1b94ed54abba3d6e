"""`thumbs train`: transfer learning (the whole network from the first epoch by default; optionally a head
stage on a frozen backbone first, then everything at a lower rate) in a new run folder. The Trainer (trainer.py)
runs the epochs; its parts, which scripts reuse, are in start.py (the folder, the images, the network) and
engine.py (the device, one step, one epoch, predictions); `thumbs train --resume` continues a run (resume.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from thumbs import train_config
from thumbs.core.files import check_writable_dir
from thumbs.train_config import TrainConfig
from thumbs.training import models
from thumbs.training.start import new_run_dir
from thumbs.training.trainer import Callbacks, Trainer, TrainResult

__all__ = ["TrainConfig", "train"]


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: it holds what was saved
        path.rmdir()


def train(cfg: TrainConfig, log: Callable[[str], None] = print,
          start: tuple[models.Normalized, str] | None = None, callbacks: Callbacks | None = None) -> TrainResult:
    """A new run in a new (or empty) folder; a folder left empty by a failure or Ctrl-C is removed. `start` and
    `callbacks`: see Trainer."""
    train_config.check(cfg)
    run_dir = new_run_dir(cfg.out)
    created = not run_dir.exists()
    check_writable_dir(run_dir)
    try:
        return Trainer(cfg, log, run_dir=run_dir, start=start, callbacks=callbacks).run()
    finally:
        if created:
            _remove_if_empty(run_dir)

