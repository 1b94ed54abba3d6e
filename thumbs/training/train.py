"""`thumbs train`: transfer learning (the whole network from the first epoch by default; optionally a head
stage on a frozen backbone first, then everything at a lower rate), with checkpoints after every epoch so
Ctrl-C loses at most the epoch in progress.

The parts, for the trainer and for scripts (scripts/bench_train.py, scripts/sweep_recipe.py): `load_images`
(the prepare step), `initial_model`, `train_one_epoch` and `predict`; `Trainer` runs them epoch after epoch with
validation, checkpoints and the report; `train` starts a run, `resume` continues one. Callbacks (CALLBACKS, as
Ultralytics' trainer has them) let a script or the studio's background job (job.py) follow a run without reaching
inside."""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from thumbs import train_config
from thumbs.core import metrics, signals
from thumbs.core import threads as cpu
from thumbs.core.errors import DataError, Interrupted, ThumbsError
from thumbs.core.files import check_writable_dir, write_atomic
from thumbs.data import dataset
from thumbs.runtime.preprocess import canvas_size
from thumbs.train_config import TrainConfig, field_names, flag, refuse_used_run_dir, spelled
from thumbs.train_config import check_settings as check_config
from thumbs.training import augment, checkpoint, models, report, schedule, warm_start
from thumbs.training.checkpoint import Checkpoint
from thumbs.training.hand_data import HandInput, LandmarkAugment
from thumbs.training.image_cache import LIMIT_ENV, ImageCache, default_dir, limit_bytes
from thumbs.training.training_data import Prepared, TensorSet, batches, prepare, training_batches

__all__ = ["TrainConfig", "Trainer", "RunState", "EpochStats", "load_images", "initial_model", "train_one_epoch",
           "train_step", "predict", "train", "resume"]

IMBALANCE_WEIGHTING = 1.5  # above this max/min class ratio the loss is class-weighted
LOG_EVERY = 20  # batches between the progress bar's running figures (each reading waits for the GPU once)
# what --resume may change, applied and said: how long, where, and the image cache; not what the run learns from
RESUME_APPLIES = ("epochs", "device", "cache")
# Trainer.callbacks: on_batch_end(trainer, epoch_index0, batches_done, batches_total) after every training batch;
# on_epoch_end(trainer, history_row) after the epoch is saved
CALLBACKS = ("on_batch_end", "on_epoch_end")
Callbacks = dict[str, list[Callable]]


@dataclass
class TrainResult:
    run_dir: Path
    best: Path
    last: Path
    scores: metrics.Scores  # the headline part of the best epoch (validation.headline)
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    validation: metrics.Validation | None = None  # both validation parts of the best model


@dataclass
class RunState:
    """Where a resumed run stands: its last.pt, the folder it writes to, and its best.pt when there is one."""

    last: Checkpoint
    run_dir: Path
    best: Checkpoint | None = None

    @property
    def start_epoch(self) -> int:
        return self.last.epoch + 1


@dataclass
class EpochStats:
    """One training epoch: the mean loss and accuracy over the images it trained on, and its speed."""

    loss: float
    accuracy: float
    images: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def row(self) -> dict:
        return {"train_loss": self.loss, "train_acc": self.accuracy, "images": self.images, "seconds": self.seconds,
                "images_per_s": self.images_per_s}


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


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: it holds what was saved
        path.rmdir()


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise ThumbsError(f"--device '{name}': use auto, cpu, cuda or cuda:N (N a GPU number, e.g. cuda:0)")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ThumbsError(f"--device {name}: no CUDA GPU is usable here (torch.cuda.is_available() is False); "
                          "use --device cpu or auto")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ThumbsError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                          f"numbered from 0; use --device cuda:0 or auto")
    return device


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast_for(device: torch.device):
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def class_weights(prepared: Prepared) -> torch.Tensor | None:
    """Inverse class frequency when the classes are imbalanced beyond IMBALANCE_WEIGHTING, else None."""
    counts = prepared.counts("train")
    present = [c for c in counts if c]
    if max(present) / min(present) <= IMBALANCE_WEIGHTING:
        return None
    return torch.tensor([sum(counts) / (len(counts) * max(c, 1)) for c in counts], dtype=torch.float32)


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """AdamW, fused (one kernel over every weight per step) where this PyTorch has that kernel for the device:
    PyTorch's CPU default, a Python loop over the tensors, took 60 ms of a ResNet-18 step against 8 fused (one
    thread)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4, fused=True)
    except RuntimeError:  # an older PyTorch, or a device without the fused kernel
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)


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


def train_one_epoch(model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                    data: Iterable[tuple[torch.Tensor, torch.Tensor]], autocast=None,
                    scaler: torch.amp.GradScaler | None = None,
                    progress: Callable[[str | None], None] | None = None) -> EpochStats:
    """One pass over `data` (as torchvision's references/classification train_one_epoch). The loss sum and the
    correct count stay on the device and are read once at the end, so the GPU never waits for bookkeeping;
    `progress` is called after every batch, with the running figures every LOG_EVERY batches (one read each).
    The caller sets the model's train mode (a frozen backbone keeps its BatchNorm statistics)."""
    loss_sum = correct = torch.zeros(())
    seen, start = 0, time.perf_counter()
    for step, (x, y) in enumerate(data, 1):
        loss, logits = train_step(model, loss_fn, optimizer, x, y, autocast, scaler)
        loss_sum = loss_sum.to(loss.device) + loss.detach() * len(y)
        correct = correct.to(y.device) + (logits.argmax(1) == y).sum()
        seen += len(y)
        if progress:
            progress(_running(loss_sum, correct, seen, start) if step % LOG_EVERY == 0 else None)
    total_loss, total_correct = torch.stack([loss_sum.float(), correct.float()]).tolist()  # the one host sync
    return EpochStats(total_loss / max(seen, 1), total_correct / max(seen, 1), seen, time.perf_counter() - start)


def train_step(model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, autocast=None, scaler: torch.amp.GradScaler | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step in the given precision; the loss and logits stay on the device, unread."""
    with autocast or contextlib.nullcontext():
        logits = model(x)
        loss = loss_fn(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    if scaler:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return loss, logits


def _running(loss_sum: torch.Tensor, correct: torch.Tensor, seen: int, start: float) -> str:
    loss, right = torch.stack([loss_sum.float(), correct.float()]).tolist()
    return f"loss {loss / seen:.3f} acc {right / seen:.3f} {seen / (time.perf_counter() - start):.0f} img/s"


@torch.no_grad()
def predict(model: nn.Module, data: Iterable[torch.Tensor], autocast=None) -> torch.Tensor:
    """Log-probabilities (N, classes) of every image, in order, on the host: one transfer at the end. `model`
    may return logits or log-probabilities (models.FlipAverage); it is put in eval mode."""
    model.eval()
    autocast = autocast or contextlib.nullcontext()
    out = []
    for x in data:
        with autocast:
            out.append(model(x).float().log_softmax(1))
    return torch.cat(out).cpu()


class Trainer:
    """Runs the parts epoch after epoch: stages, validation as live runs the model, checkpoints, the report."""

    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] = print, resume: RunState | None = None,
                 run_dir: Path | None = None, start: tuple[models.Normalized, str] | None = None,
                 callbacks: Callbacks | None = None) -> None:
        """`start`: the model to train and its normalisation name, instead of `initial_model`'s (a warm start).
        `callbacks`: name -> functions, see CALLBACKS (more with add_callback)."""
        cfg = train_config.resolved(cfg)
        check_config(cfg)
        self.cfg, self.log, self.resume = cfg, log, resume
        self.callbacks: Callbacks = {name: [] for name in CALLBACKS}
        for name, functions in (callbacks or {}).items():
            for fn in functions:
                self.add_callback(name, fn)
        self.notes: list[str] = []
        self.kept: dict[str, int] = {}  # file name -> epoch it holds, for messages after a failure
        self.best_eval: tuple[metrics.Validation, list[int], list[int], list[float]] | None = None
        self.interactive = Console().is_terminal  # a progress bar only where someone watches it
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu" and cpu.current().tunes:  # fewer threads while other work holds a core
            tuner = cpu.Tuner(torch.set_num_threads, torch.get_num_threads())
            self.add_callback("on_batch_end", lambda trainer, epoch, done, total: tuner.step(first=done == 1))
        _seed(cfg.seed)
        self.size = cfg.img_size or models.get_arch(cfg.arch).img_size
        self.prepared = load_images(cfg, self.size, log, resume.last.info.classes if resume else None)
        self.notes += self.prepared.notes + _session_notes(self.prepared)
        self.model, self.norm = start or initial_model(cfg, self.prepared.classes, log, resume)
        self._set_recipe()
        self._place_data()
        self.run_dir = run_dir or (resume.run_dir if resume else new_run_dir(cfg.out))
        check_writable_dir(self.run_dir)

    def add_callback(self, name: str, fn: Callable) -> None:
        """A name that is not in CALLBACKS is refused: a misspelt hook would otherwise never be called."""
        if name not in self.callbacks:
            raise ValueError(f"unknown trainer callback '{name}': use one of {', '.join(CALLBACKS)}")
        self.callbacks[name].append(fn)

    def run_callbacks(self, name: str, *args: object) -> None:
        for fn in self.callbacks[name]:
            fn(self, *args)

    def _set_recipe(self) -> None:
        """The stages, the mirror averaging, the loss and the precision this run trains with."""
        cfg = self.cfg
        self.freeze_epochs = 0 if cfg.weights == "none" else min(cfg.freeze_epochs, cfg.epochs)
        if cfg.weights == "none":
            self.notes.append("random initialisation (--weights none): the whole network trains from the start")
        self.flip_average = cfg.flip and cfg.flip_average
        weights = class_weights(self.prepared)
        if weights is not None:
            counts = ", ".join(f"{n} {c}" for n, c in zip(self.prepared.classes, self.prepared.counts("train")))
            self.notes.append(f"classes are imbalanced ({counts}): the loss is weighted by inverse class frequency")
        self.loss_fn = nn.CrossEntropyLoss(weight=weights.to(self.device) if weights is not None else None,
                                           label_smoothing=cfg.label_smoothing)
        self.autocast, self.scaler = autocast_for(self.device)

    def _place_data(self) -> None:
        """Model and images on the training device; augmentation and shuffling seeded there."""
        self.memory_format = models.memory_format(self.cfg.arch, self.size, self.device)
        self.model.to(self.device, memory_format=self.memory_format)
        # what is validated: the trained weights run as live will run them (flip-averaged or not)
        self.inference_model = models.FlipAverage(self.model) if self.flip_average else self.model
        self.train_data: TensorSet = self.prepared.train.to(self.device)
        self.val_data: TensorSet = self.prepared.val.to(self.device)
        generator = torch.Generator(self.device).manual_seed(self.cfg.seed)
        self.augment = LandmarkAugment(self.cfg.flip, generator) if self.cfg.input == train_config.LANDMARKS else \
            augment.BatchAugment(self.size, canvas_size(self.size), augment.recipe(self.cfg.augment, self.cfg.flip),
                                 generator)
        self.shuffle = torch.Generator().manual_seed(self.cfg.seed)
        self.log(_device_line(self.device, self.autocast, self.train_data))

    def train_batches(self) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of shuffled, augmented training batches on the device."""
        return batches(self.train_data, self.cfg.batch_size, self.device, self.augment, self.shuffle,
                       self.memory_format)

    def val_images(self) -> Iterable[torch.Tensor]:
        """The validation images in order, as live sees them, in batches on the device."""
        return (x for x, _ in batches(self.val_data, self.cfg.batch_size, self.device,
                                      memory_format=self.memory_format))

    def train_epoch(self, optimizer: torch.optim.Optimizer, stage: str, epoch: int) -> dict:
        models.backbone_train_mode(self.model, self.cfg.arch, frozen=stage == "head")
        columns = [TextColumn(f"epoch {epoch + 1}/{self.cfg.epochs} {stage:>4}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[stats]}"), TimeRemainingColumn()]
        total = training_batches(len(self.train_data), self.cfg.batch_size)
        done = 0
        with Progress(*columns, transient=True, disable=not self.interactive) as bar:
            task = bar.add_task("train", total=total, stats="")

            def advance(stats: str | None) -> None:
                nonlocal done
                done += 1
                if self.interactive:
                    bar.update(task, advance=1, **({"stats": stats} if stats else {}))
                self.run_callbacks("on_batch_end", epoch, done, total)

            watched = self.interactive or bool(self.callbacks["on_batch_end"])
            stats = train_one_epoch(self.model, self.loss_fn, optimizer, self.train_batches(), self.autocast,
                                    self.scaler, advance if watched else None)
        self._check_finite(stats.loss, "training loss", epoch, stage)
        return stats.row()

    def validate(self) -> tuple[float, list[int], list[int], list[float]]:
        """Loss, true and predicted classes and the prediction's probability, in validation-set order."""
        log_probs = predict(self.inference_model, self.val_images(), self.autocast)
        targets = self.val_data.targets.cpu()
        loss = float(nn.functional.nll_loss(log_probs, targets))
        confidence, predicted = log_probs.exp().max(1)
        return loss, targets.tolist(), predicted.tolist(), confidence.tolist()

    def evaluate(self) -> tuple[metrics.Validation, list[int], list[int], list[float]]:
        """Validate and score the new-session and same-session parts apart."""
        loss, y_true, y_pred, confidence = self.validate()
        p = self.prepared
        validation = metrics.score_parts(*p.with_rule(y_true, y_pred), p.classes, loss)  # hand models: the rule too
        return validation, y_true, y_pred, confidence

    def _check_finite(self, value: float, what: str, epoch: int, stage: str) -> None:
        """A loss that is NaN or infinite never recovers: stop at once, before anything diverged is saved."""
        if not math.isfinite(value):
            raise ThumbsError(f"the {what} became {value} in epoch {epoch + 1} ({stage} stage): training diverged "
                              f"and stopped; use a smaller --lr (this run: {self.cfg.lr:g}; 1e-3 is usual)")

    def _settings(self) -> dict:
        return {**asdict(self.cfg), "data": str(Path(self.cfg.data).resolve()), "img_size": self.size,
                "norm": self.norm, "device_used": str(self.device), "input": train_config.model_input(self.cfg),
                "freeze_epochs": self.freeze_epochs, "flip_average": self.flip_average}

    def _save(self, name: str, epoch: int, stage: str, history: list[dict], scores: metrics.Scores,
              optimizer: torch.optim.Optimizer | None, scheduler: LRScheduler | None = None) -> Path:
        return checkpoint.save(self.run_dir / name, self.model, arch=self.cfg.arch, classes=self.prepared.classes,
                               img_size=self.size, norm=self.norm, settings=self._settings(),
                               metrics=scores.to_dict(), history=history, epoch=epoch, stage=stage,
                               optimizer=optimizer.state_dict() if optimizer else None,
                               scheduler=scheduler.state_dict() if scheduler else None)

    def _stage_optimizer(self, stage: str, epoch: int, start_epoch: int) -> tuple[torch.optim.Optimizer, LRScheduler]:
        """A fresh optimizer and learning-rate scheduler per stage (the frozen stage has no state for the
        backbone); a resumed run gets their saved states back when it continues inside the same stage."""
        models.set_backbone_frozen(self.model, self.cfg.arch, frozen=stage == "head")
        optimizer = make_optimizer(self.model)
        last = self.resume.last if self.resume else None
        same = bool(last and last.stage == stage and epoch == start_epoch)
        if same and last.optimizer:
            optimizer.load_state_dict(last.optimizer)
        saved = last.scheduler if same else None
        return optimizer, schedule.scheduler_for(optimizer, self.cfg, stage, self.freeze_epochs, epoch, saved)

    def _resumed_best(self, history: list[dict]) -> tuple[tuple[float, float], metrics.Scores | None, int]:
        """The best epoch and its scores from one source, so report.md agrees with the history: best.pt when
        it holds the history's best epoch, else last.pt when that is the best (a run killed between writing
        last.pt and best.pt; best.pt is rewritten from it)."""
        if not self.resume or not history:
            return (-1.0, 0.0), None, 0
        row = max(history, key=lambda h: (h["val_acc"], -h["val_loss"]))
        key, best, last = (row["val_acc"], -row["val_loss"]), self.resume.best, self.resume.last
        if best and best.epoch + 1 == row["epoch"]:
            return key, _scores(best.metrics), row["epoch"]
        if last.epoch + 1 == row["epoch"]:
            scores = _scores(last.metrics)
            self._save("best.pt", last.epoch, last.stage, history, scores, None)
            self.kept["best.pt"] = row["epoch"]
            return key, scores, row["epoch"]
        self.notes.append(f"best.pt did not hold the best epoch in last.pt's history (epoch {row['epoch']}): the "
                          "best model is chosen again among the epochs trained from here on")
        return (-1.0, 0.0), None, 0

    def _save_epoch(self, epoch: int, stage: str, history: list[dict], scores: metrics.Scores,
                    optimizer: torch.optim.Optimizer, scheduler: LRScheduler, improved: bool, best: dict) -> None:
        """last.pt, then best.pt, then metrics.json, as one step that Ctrl-C cannot cut in half. last.pt first:
        a run killed in between still finds its best epoch in last.pt (see _resumed_best)."""
        with signals.deferred():
            self._save("last.pt", epoch, stage, history, scores, optimizer, scheduler)
            self.kept["last.pt"] = epoch + 1
            if improved:
                self._save("best.pt", epoch, stage, history, scores, None)
                self.kept["best.pt"] = epoch + 1
            self._write_metrics(history, best, interrupted=False)
            self._log_epoch(history[-1], improved)

    def _write_metrics(self, history: list[dict], best: dict, interrupted: bool) -> None:
        """metrics.json; `interrupted` marks a run stopped by a signal (epochs_done below epochs without it: still
        running, or killed)."""
        state = {"epochs_done": len(history), "epochs": self.cfg.epochs, "interrupted": interrupted}
        write_atomic(self.run_dir / "metrics.json", json.dumps({"history": history, **best, **state},
                                                               indent=2).encode())

    def kept_note(self) -> str:
        if not self.kept:
            return "nothing was saved"
        return "kept " + " and ".join(f"{self.run_dir / name} (epoch {e})" for name, e in self.kept.items())

    def _log_epoch(self, row: dict, improved: bool) -> None:
        self.log(f"epoch {row['epoch']:>2}/{self.cfg.epochs} {row['stage']:>4}  train loss {row['train_loss']:.3f} "
                 f"acc {row['train_acc']:.3f}  val loss {row['val_loss']:.3f} {_val_accuracies(row)}  "
                 f"{row['images_per_s']:.0f} img/s  {row['seconds']:.1f} s" + ("  *best" if improved else ""))

    def run(self) -> TrainResult:
        history: list[dict] = list(self.resume.last.history) if self.resume else []
        start_epoch = self.resume.start_epoch if self.resume else 0
        self.kept = {"last.pt": start_epoch} if self.resume else {}
        best_key, best_scores, best_epoch = self._resumed_best(history)
        optimizer, scheduler, current_stage, interrupted = None, None, None, False
        try:
            for epoch in range(start_epoch, self.cfg.epochs):
                signals.check()  # a stop that came while the last epoch was being saved ends the run here
                stage = schedule.stage_of(epoch, self.freeze_epochs)
                if stage != current_stage:
                    (optimizer, scheduler), current_stage = self._stage_optimizer(stage, epoch, start_epoch), stage
                lr = optimizer.param_groups[0]["lr"]
                stats = self.train_epoch(optimizer, stage, epoch)
                scheduler.step()  # last.pt keeps the next epoch's place
                evaluated = self.evaluate()
                validation, val_loss = evaluated[0], evaluated[0].loss
                self._check_finite(val_loss, "validation loss", epoch, stage)
                scores = validation.headline  # picks the best epoch: the new-session part when there is one
                history.append({"epoch": epoch + 1, "stage": stage, "lr": lr, **stats, "val_loss": val_loss,
                                "val_acc": scores.accuracy, "val_new_acc": _acc(validation.new),
                                "val_same_acc": _acc(validation.same)})
                improved = (scores.accuracy, -val_loss) > best_key
                if improved:
                    best_key, best_scores, best_epoch = (scores.accuracy, -val_loss), scores, epoch + 1
                    self.best_eval = evaluated
                self._save_epoch(epoch, stage, history, scores, optimizer, scheduler, improved,
                                 {"best_epoch": best_epoch, "best": best_scores.to_dict(),
                                  "validation": self.best_eval[0].to_dict() if self.best_eval else None})
                self.run_callbacks("on_epoch_end", dict(history[-1]))
        except KeyboardInterrupt:
            interrupted = True
        except ThumbsError as e:  # a diverged run or a full disk: say what is safe on disk
            raise type(e)(f"{e}; {self.kept_note()}") from None
        if best_scores is None:
            if interrupted:
                raise Interrupted("before the first epoch finished: nothing was saved")
            raise ThumbsError("nothing to train: --epochs is not above the resumed epoch")
        validation = self._finish(history, best_scores, best_epoch, interrupted)
        return TrainResult(self.run_dir, self.run_dir / "best.pt", self.run_dir / "last.pt", best_scores, history,
                           interrupted, self.notes, validation)

    def _best_evaluation(self) -> tuple[metrics.Validation, list[int], list[int], list[float]]:
        """The best epoch's validation; a resumed run that did not improve re-validates its best.pt."""
        if self.best_eval is None:
            models.load_trained(self.model, checkpoint.load(self.run_dir / "best.pt"))
            self.best_eval = self.evaluate()
        return self.best_eval

    def _wrong(self, y_true: list[int], y_pred: list[int], confidence: list[float]) -> list[report.Wrong]:
        p, out = self.prepared, []
        for i, (t, q, c) in enumerate(zip(y_true, y_pred, confidence)):
            if t != q and i < len(p.val):  # past them: photos the no-hand rule answered (no image of the model's)
                out.append(report.Wrong(p.val.image(i), p.classes[t], p.classes[q], c,
                                        p.val_samples[i].session))
        return out

    def _finish(self, history: list[dict], best: metrics.Scores, best_epoch: int,
                interrupted: bool = False) -> metrics.Validation:
        """Say plainly when the model learned nothing, then write report.md, curves.png, misclassified.png; a
        stopped run is marked partial in report.md and metrics.json, with the command that continues it (a
        resumed run that finishes rewrites both without the mark)."""
        only = metrics.only_prediction(best)
        if only is not None:
            self.notes.append(f"the model predicts '{only}' for every validation "
                              "image: it has not learned. Use pretrained weights, more epochs or another --arch "
                              "(SqueezeNet and AlexNet from random initialisation often stall like this)")
        settings = {**self._settings(), "classes": ", ".join(self.prepared.classes),
                    "train images": len(self.prepared.train), "val images": len(self.prepared.val)}
        report.curves_png(history, self.run_dir / "curves.png")
        validation, y_true, y_pred, confidence = self._best_evaluation()
        wrong_png = report.misclassified_png(self._wrong(y_true, y_pred, confidence),
                                             self.run_dir / "misclassified.png")
        one_session = [c for c in self.prepared.classes if self.prepared.sessions.get(c) == 1]
        stopped = None
        if interrupted:
            stopped = (f"**Interrupted after epoch {len(history)} of {self.cfg.epochs}**: this run is partial. "
                       f"Continue it with `thumbs train --resume {self.run_dir / 'last.pt'}`.")
            self._write_metrics(history, {"best_epoch": best_epoch, "best": best.to_dict(),
                                          "validation": validation.to_dict()}, interrupted=True)
        report.report_md(self.run_dir, validation, settings, history, best_epoch, self.notes, one_session, wrong_png,
                         stopped)
        return validation


def _device_line(device: torch.device, autocast, data: TensorSet) -> str:
    """Once at start: where training runs, in which precision and layout, and where the images live."""
    if device.type != "cuda":
        return f"training on the CPU ({torch.get_num_threads()} threads), float32; augmentation batched on the CPU"
    name = torch.cuda.get_device_name(device)
    precision = str(autocast.fast_dtype).replace("torch.", "") if autocast.is_enabled() else "float32"
    where = "on the GPU" if data.images.is_cuda else "in pinned host memory (too many for the GPU)"
    return (f"training on {name}: {precision} autocast, channels-last; images {where}, augmented there in "
            "batches")


def _val_accuracies(row: dict) -> str:
    if row.get("val_new_acc") is None:
        return f"acc {row['val_acc']:.3f}"
    same = "" if row.get("val_same_acc") is None else f" same-session {row['val_same_acc']:.3f}"
    return f"new-session acc {row['val_new_acc']:.3f}{same}"


def _acc(scores: metrics.Scores | None) -> float | None:
    return None if scores is None else scores.accuracy


def _session_notes(prepared: Prepared) -> list[str]:
    """Which figure the run reports, and how to get an honest one where it is optimistic."""
    if any(prepared.val_new):
        return []
    single = [c for c in prepared.classes if prepared.sessions.get(c, 0) <= 1]
    return [("every class was recorded in one session" if len(single) == len(prepared.classes) else
             f"no whole session could be held out ({', '.join(single) or 'shared sessions'})")
            + ": validation uses held-out frames of the training sessions, which is optimistic (same room, light "
            "and hand). Record another session of each class (another day, room or light) for an honest "
            "'accuracy on a new session'"]


def _scores(saved: dict) -> metrics.Scores:
    return metrics.Scores(**{**saved, "per_class": [metrics.ClassScore(**c) for c in saved["per_class"]]})



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
