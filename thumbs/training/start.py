"""What a run starts from: its folder, its images (the prepare step) and its network; for a resumed run, where it
stands (RunState). The Trainer (trainer.py) starts from them; scripts/bench_train.py takes the same images and
network without it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from thumbs import train_config
from thumbs.core.errors import DataError
from thumbs.train_config import TrainConfig, refuse_used_run_dir
from thumbs.training import models, warm_start
from thumbs.training.checkpoint import Checkpoint
from thumbs.training.hand_data import HandInput
from thumbs.training.image_cache import LIMIT_ENV, ImageCache, default_dir, limit_bytes
from thumbs.training.training_data import Prepared, prepare, training_batches

__all__ = ["RunState", "new_run_dir", "load_images", "initial_model"]


@dataclass
class RunState:
    """Where a resumed run stands: its last.pt, the folder it writes to, and its best.pt when there is one."""

    last: Checkpoint
    run_dir: Path
    best: Checkpoint | None = None

    @property
    def start_epoch(self) -> int:
        return self.last.epoch + 1


def new_run_dir(out: str | None) -> Path:
    """The folder for a new run: refuses one that already holds files, so no run is ever replaced."""
    if out is None:
        base = Path(f"runs/{datetime.now():%Y%m%d-%H%M%S}")
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path
    path = Path(out)
    refuse_used_run_dir(path)
    return path


def load_images(cfg: TrainConfig, size: int, log: Callable[[str], None] = print,
                classes: list[str] | None = None) -> Prepared:
    """The prepare step: check, split and decode the data set (through the decoded-image cache), say what was
    skipped and cached, and refuse a training part that makes no batch."""
    cache = ImageCache(default_dir() if cfg.cache else None)
    limit = limit_bytes() if cache.root else 0  # a bad $THUMBS_CACHE_MB is refused before any work
    kind = train_config.model_input(cfg)
    hands = None if kind == "frame" else HandInput.open(kind, cfg.cache, log)
    prepared = prepare(cfg.data, size, cfg.val_fraction, classes=classes, crop=cfg.crop, cache=cache, hands=hands)
    for p in prepared.skipped:
        log(f"skipped unreadable image {p}")
    if hands is not None:
        log(f"hands: {hands.found.hits} photos from the found-hands cache, {hands.found.misses} through the front end")
    if cache.root:
        log(f"images: {cache.hits} from the decoded-image cache, {cache.misses} decoded ({cache.root})")
        deleted, freed = cache.prune(limit)
        if deleted:
            log(f"decoded-image cache: removed {deleted} least recently used entries ({freed / 2**20:.0f} MB) "
                f"to stay under ${LIMIT_ENV} = {limit / 2**20:.0f} MB")
    n = len(prepared.train)
    if training_batches(n, cfg.batch_size) == 0:
        raise DataError(f"'{cfg.data}' leaves {n} training image(s) after the validation split: no batch of 2 can "
                        "train; record more images per class")
    return prepared


def initial_model(cfg: TrainConfig, classes: list[str], log: Callable[[str], None] = print,
                  resume: RunState | None = None) -> tuple[models.Normalized, str]:
    """The network training starts from and its normalisation name: a resumed run's last.pt; with --from, the
    trained model with its head rows mapped by class name (warm_start.py); else the configured weights with a
    fresh head. (`Trainer(start=...)` takes another start instead.)"""
    if resume is None and cfg.start_from:
        model, norm, _ = warm_start.build(cfg.start_from, classes, log)
        return model, norm
    if resume is None:
        return models.build(cfg.arch, len(classes), cfg.weights, cfg.norm, log)
    model, norm = models.build(cfg.arch, len(classes), "none", resume.last.info.norm, log)
    return models.load_trained(model, resume.last), norm

