"""`thumbs train --resume`: continue a run from its last.pt with the settings it was started with; the options
given with it are applied where they may change (RESUME_APPLIES) and refused where they would change what the run
learns from."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir
from thumbs.data import dataset
from thumbs.train_config import TrainConfig, field_names, flag, spelled
from thumbs.training import checkpoint
from thumbs.training.checkpoint import Checkpoint
from thumbs.training.start import RunState
from thumbs.training.trainer import Callbacks, Trainer, TrainResult

__all__ = ["resume", "resumed_config"]

# what --resume may change, applied and said: how long, where, and the image cache; not what the run learns from
RESUME_APPLIES = ("epochs", "device", "cache")


def _last_of(path: Path, log: Callable[[str], None]) -> Path:
    """A run continues from its last.pt (the last epoch and the optimizer state). Given its best.pt, resuming
    from there would replace last.pt with a rerun of later epochs: the last.pt beside it is taken, and said."""
    if path.name == "last.pt" or not path.is_file():
        return path
    last = path.with_name("last.pt")
    if not last.is_file():
        raise ThumbsError(f"'{path}' is not a run's last.pt, and '{path.parent}' has none: a run continues from its "
                          f"last.pt; to train further from this model, start a new run with --weights {path}")
    log(f"resuming from {last}, not {path.name}: a run continues from its last epoch ({path.name} is kept as is)")
    return last


def _same(name: str, given: object, run: object) -> bool:
    if name == "data":
        return Path(str(given)).resolve() == Path(str(run)).resolve()
    if isinstance(run, float) or isinstance(given, float):
        return math.isclose(float(given), float(run))  # type: ignore[arg-type]
    return given == run


def resumed_config(last: Checkpoint, run_dir: Path, changes: dict[str, object],
                   log: Callable[[str], None] = print) -> TrainConfig:
    """The run's own settings. Options given with --resume: RESUME_APPLIES ones are applied and said; any other
    that differs from the run's is refused in one line (a resumed run never quietly trains on other settings)."""
    known = field_names()
    cfg = TrainConfig(**{"flip_average": False,  # a run started before flip averaging keeps running without it
                         **{k: v for k, v in last.settings.items() if k in known}})
    conflicts = []
    for name, given in changes.items():
        run = run_dir if name == "out" else getattr(cfg, name)
        if name == "out" and Path(str(given)).resolve() == run_dir.resolve():
            continue
        if name in RESUME_APPLIES:
            if given != run:
                setattr(cfg, name, given)
                log(f"{spelled(name, given)}: applied (the run had {_shown(name, run)})")
        elif name == "out" or not _same(name, given, run):
            conflicts.append(f"{spelled(name, given)} (the run has {_shown(name, run)})")
    if conflicts:
        raise ThumbsError(f"--resume continues a run with its own settings; {', '.join(conflicts)}: drop "
                          f"{'this option' if len(conflicts) == 1 else 'these options'}, or start a new run with "
                          "them (another --out)")
    return cfg


def _shown(name: str, value: object) -> str:
    return flag(name, value) if isinstance(value, bool) else str(value)


def _best_of_run(run_dir: Path, last: Checkpoint) -> Checkpoint | None:
    """The run's best.pt, refused when it belongs to another run (another architecture or class list)."""
    path = run_dir / "best.pt"
    if not path.exists():
        return None
    best = checkpoint.load(path)
    if (best.info.arch, best.info.classes) != (last.info.arch, last.info.classes):
        raise ThumbsError(f"'{path}' is a model of {best.describe()}, but '{last.path}' of {last.describe()}: they "
                          "are not one run; move the one that does not belong out of the folder")
    return best


def resume(path: str | Path, changes: dict[str, object] | None = None,
           log: Callable[[str], None] = print, callbacks: Callbacks | None = None) -> TrainResult:
    """Continue a run from its last.pt with the settings it was started with (its own epoch count unless
    `changes` gives one; see resumed_config for the other options). `callbacks`: see Trainer."""
    last_path = _last_of(Path(path), log)
    last = checkpoint.load(last_path)
    run_dir = last_path.parent
    if last.settings.get("arch", last.info.arch) != last.info.arch:
        raise ThumbsError(f"'{last_path}' says it trained {last.settings.get('arch')} but holds {last.info.arch}: "
                          "the checkpoint is broken; start a new run")
    cfg = resumed_config(last, run_dir, dict(changes or {}), log)
    done = last.epoch + 1
    if cfg.epochs <= done:
        raise ThumbsError(f"'{last_path}' has trained {done} of {cfg.epochs} epochs: nothing left to do; give "
                          f"--epochs above {done} to train it further")
    check_writable_dir(run_dir)
    best = _best_of_run(run_dir, last)
    log(f"resuming {last_path} after epoch {done} of {cfg.epochs} with the run's own settings: {cfg.arch} on "
        f"{cfg.data}, lr {cfg.lr:g}, batch {cfg.batch_size}, {last.info.img_size} px, augment {cfg.augment}, "
        f"{flag('flip', cfg.flip)}")
    added = sorted(set(dataset.class_names(cfg.data)) - set(last.info.classes))
    trainer = Trainer(cfg, log, resume=RunState(last, run_dir, best), callbacks=callbacks)
    if added:
        trainer.notes.append(f"class(es) {', '.join(added)} in '{cfg.data}' came after this run started and are "
                             f"not trained (the run keeps its classes {', '.join(last.info.classes)}); start a new "
                             "run to include them")
    return trainer.run()
