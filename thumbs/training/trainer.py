"""The Trainer: runs a run's parts (start.py, engine.py) epoch after epoch, with its stages, validation as live
runs the model, checkpoints after every epoch (Ctrl-C loses at most the epoch in progress) and the report.
Callbacks (CALLBACKS, as Ultralytics' trainer has them) let a script or the studio's background job (job.py)
follow a run without reaching inside."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from thumbs import train_config
from thumbs.core import metrics, signals
from thumbs.core import threads as cpu
from thumbs.core.errors import Interrupted, ThumbsError
from thumbs.core.files import check_writable_dir, write_atomic
from thumbs.runtime.preprocess import canvas_size
from thumbs.train_config import TrainConfig
from thumbs.train_config import check_settings as check_config
from thumbs.training import augment, checkpoint, models, report, schedule
from thumbs.training.engine import autocast_for, make_optimizer, predict, resolve_device, seed_all, train_one_epoch
from thumbs.training.hand_data import LandmarkAugment
from thumbs.training.start import RunState, initial_model, load_images, new_run_dir
from thumbs.training.training_data import Prepared, TensorSet, batches, training_batches

__all__ = ["CALLBACKS", "Callbacks", "TrainResult", "Trainer"]

IMBALANCE_WEIGHTING = 1.5  # above this max/min class ratio the loss is class-weighted
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


def class_weights(prepared: Prepared) -> torch.Tensor | None:
    """Inverse class frequency when the classes are imbalanced beyond IMBALANCE_WEIGHTING, else None."""
    counts = prepared.counts("train")
    present = [c for c in counts if c]
    if max(present) / min(present) <= IMBALANCE_WEIGHTING:
        return None
    return torch.tensor([sum(counts) / (len(counts) * max(c, 1)) for c in counts], dtype=torch.float32)


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
            tuner = cpu.Tuner(torch.set_num_threads, torch.get_num_threads(), load=cpu.OtherLoad())
            self.add_callback("on_batch_end", lambda trainer, epoch, done, total: tuner.step(first=done == 1))
        seed_all(cfg.seed)
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

