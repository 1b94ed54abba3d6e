"""`thumbs train`: transfer learning (the whole network from the first epoch by default; optionally a head
stage on a frozen backbone first, then everything at a lower rate), with checkpoints after every epoch so
Ctrl-C loses at most the epoch in progress."""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from thumbs.core import metrics
from thumbs.core.errors import Interrupted, ThumbsError
from thumbs.core.files import check_writable_dir, interrupt_deferred, write_atomic
from thumbs.data import dataset
from thumbs.runtime.preprocess import CROPS, DEFAULT_CROP, canvas_size
from thumbs.training import augment, checkpoint, models, report
from thumbs.training.image_cache import LIMIT_ENV, ImageCache, default_dir, limit_bytes
from thumbs.training.training_data import Prepared, TensorSet, batches, prepare, training_batches

IMBALANCE_WEIGHTING = 1.5  # above this max/min class ratio the loss is class-weighted
MIN_IMG_SIZE, MAX_IMG_SIZE = 32, 1024  # above 1024 px a batch no longer fits in memory on common machines


@dataclass
class TrainConfig:
    data: str = "dataset"
    arch: str = "resnet18"
    weights: str = "imagenet"  # imagenet | none | path to a state dict
    norm: str | None = None  # imagenet | inception; default: what the weights expect
    epochs: int = 10
    freeze_epochs: int = 0  # head-only epochs first; 0 measured best (scripts/sweep_recipe.py, README)
    batch_size: int = 32
    lr: float = 1e-3
    finetune_lr_factor: float = 0.1
    img_size: int | None = None  # default: the architecture's (224)
    device: str = "auto"
    out: str | None = None  # default runs/<timestamp>
    seed: int = 0
    val_fraction: float = 0.2
    crop: str = DEFAULT_CROP  # which part of the frame the model sees (preprocess.CROPS), in training and live
    augment: str = "light"  # training augmentation strength (augment.AUGMENTS)
    flip: bool = True  # mirror images left-right (off for gestures whose side matters: point left / right)
    flip_average: bool = True  # with flip: validation and live average each frame with its mirror image
    cache: bool = True  # keep decoded images for the next run (image_cache.py)
    label_smoothing: float = 0.0  # soft targets: less over-confidence on frames unlike the training ones


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


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings that cannot work before any image is decoded."""
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ThumbsError(f"--lr {cfg.lr}: the learning rate must be a positive number, e.g. 1e-3")
    if cfg.img_size is not None and not MIN_IMG_SIZE <= cfg.img_size <= MAX_IMG_SIZE:
        raise ThumbsError(f"--img-size {cfg.img_size}: use {MIN_IMG_SIZE} to {MAX_IMG_SIZE} pixels (224 is usual)")
    for name, value, low in (("--epochs", cfg.epochs, 1), ("--batch-size", cfg.batch_size, 1),
                             ("--freeze-epochs", cfg.freeze_epochs, 0)):
        if value is not None and value < low:
            raise ThumbsError(f"{name} {value}: use {low} or more")
    for name, value, allowed in (("--crop", cfg.crop, CROPS), ("--augment", cfg.augment, augment.AUGMENTS)):
        if value not in allowed:
            raise ThumbsError(f"{name} {value}: use one of {', '.join(allowed)}")


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
    if path.is_dir() and any(path.iterdir()):
        hint = f"`thumbs train --resume {path / 'last.pt'}`" if (path / "last.pt").exists() else "another --out"
        raise ThumbsError(f"run folder '{path}' is not empty: a new run would replace its files; continue that run "
                          f"with {hint}, or choose another --out (an empty or new folder)")
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


def _autocast(device: torch.device):
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def _class_weights(prepared: Prepared, notes: list[str]) -> torch.Tensor | None:
    counts = prepared.counts("train")
    present = [c for c in counts if c]
    if max(present) / min(present) <= IMBALANCE_WEIGHTING:
        return None
    weights = torch.tensor([sum(counts) / (len(counts) * max(c, 1)) for c in counts], dtype=torch.float32)
    notes.append("classes are imbalanced (" + ", ".join(f"{n} {c}" for n, c in zip(prepared.classes, counts))
                 + "): the loss is weighted by inverse class frequency")
    return weights


def _stage_lr(cfg: TrainConfig, epoch: int, freeze_epochs: int) -> tuple[str, float]:
    """Head stage at a flat rate; the full stage at lr * factor with a cosine decay."""
    if epoch < freeze_epochs:
        return "head", cfg.lr
    base = cfg.lr * (cfg.finetune_lr_factor if freeze_epochs else 1.0)
    k, n = epoch - freeze_epochs, max(1, cfg.epochs - freeze_epochs)
    return "full", base * (0.55 + 0.45 * math.cos(math.pi * k / n))


def _optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-4)


class Trainer:
    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] = print, resume: dict | None = None,
                 run_dir: Path | None = None) -> None:
        check_config(cfg)
        self.cfg, self.log, self.resume = cfg, log, resume
        self.notes: list[str] = []
        self.kept: dict[str, int] = {}  # file name -> epoch it holds, for messages after a failure
        self.interactive = Console().is_terminal  # a progress bar only where someone watches it
        self.device = resolve_device(cfg.device)
        _seed(cfg.seed)
        size = cfg.img_size or models.get_arch(cfg.arch).img_size
        self.size = size
        cache = ImageCache(default_dir() if cfg.cache else None)
        limit = limit_bytes() if cache.root else 0  # a bad $THUMBS_CACHE_MB is refused before any work
        self.prepared = prepare(cfg.data, size, cfg.val_fraction, classes=resume["classes"] if resume else None,
                                crop=cfg.crop, cache=cache)
        for p in self.prepared.skipped:
            log(f"skipped unreadable image {p}")
        if cache.root:
            log(f"images: {cache.hits} from the decoded-image cache, {cache.misses} decoded ({cache.root})")
            deleted, freed = cache.prune(limit)
            if deleted:
                log(f"decoded-image cache: removed {deleted} least recently used entries ({freed / 2**20:.0f} MB) "
                    f"to stay under ${LIMIT_ENV} = {limit / 2**20:.0f} MB")
        self.notes += self.prepared.notes + _session_notes(self.prepared)
        self.best_eval: tuple[metrics.Validation, list[int], list[int], list[float]] | None = None
        if resume:
            self.model, self.norm = models.build(cfg.arch, len(self.prepared.classes), "none", resume["norm"], log)
            self.model.load_state_dict(resume["state_dict"])
        else:
            self.model, self.norm = models.build(cfg.arch, len(self.prepared.classes), cfg.weights, cfg.norm, log)
        self.freeze_epochs = 0 if cfg.weights == "none" else min(cfg.freeze_epochs, cfg.epochs)
        if cfg.weights == "none":
            self.notes.append("random initialisation (--weights none): the whole network trains from the start")
        self.model.to(self.device)
        self.flip_average = cfg.flip and cfg.flip_average
        # what is validated: the trained weights run as live will run them (flip-averaged or not)
        self.inference_model = models.FlipAverage(self.model) if self.flip_average else self.model
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        weights = _class_weights(self.prepared, self.notes)
        self.loss_fn = nn.CrossEntropyLoss(weight=weights.to(self.device) if weights is not None else None,
                                           label_smoothing=cfg.label_smoothing)
        self.autocast, self.scaler = _autocast(self.device)
        self.train_data: TensorSet = self.prepared.train.to(self.device)
        self.val_data: TensorSet = self.prepared.val.to(self.device)
        self.augment = augment.BatchAugment(size, canvas_size(size), augment.recipe(cfg.augment, cfg.flip),
                                            torch.Generator(self.device).manual_seed(cfg.seed))
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        log(_device_line(self.device, self.autocast, self.train_data))
        self.run_dir = run_dir or (Path(resume["run_dir"]) if resume else new_run_dir(cfg.out))
        check_writable_dir(self.run_dir)

    def train_epoch(self, optimizer: torch.optim.Optimizer, stage: str, epoch: int) -> dict:
        models.backbone_train_mode(self.model, self.cfg.arch, frozen=stage == "head")
        total, correct, loss_sum, start = 0, 0, 0.0, time.perf_counter()
        columns = [TextColumn(f"epoch {epoch + 1}/{self.cfg.epochs} {stage:>4}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[stats]}"), TimeRemainingColumn()]
        with Progress(*columns, transient=True, disable=not self.interactive) as bar:
            total = training_batches(len(self.train_data), self.cfg.batch_size)
            task = bar.add_task("train", total=total, stats="")
            for x, y in batches(self.train_data, self.cfg.batch_size, self.device, self.augment, self.shuffle):
                with self.autocast:
                    logits = self.model(x)
                    loss = self.loss_fn(logits.float(), y)
                self._check_finite(loss.item(), "training loss", epoch, stage)
                optimizer.zero_grad(set_to_none=True)
                if self.scaler:
                    self.scaler.scale(loss).backward()
                    self.scaler.step(optimizer)
                    self.scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                total += len(y)
                correct += int((logits.argmax(1) == y).sum())
                loss_sum += loss.item() * len(y)
                rate = total / (time.perf_counter() - start)
                bar.update(task, advance=1, stats=f"loss {loss_sum / total:.3f} acc {correct / total:.3f} "
                                                 f"{rate:.0f} img/s")
        seconds = time.perf_counter() - start
        return {"train_loss": loss_sum / total, "train_acc": correct / total, "seconds": seconds,
                "images_per_s": total / seconds}

    @torch.no_grad()
    def validate(self) -> tuple[float, list[int], list[int], list[float]]:
        """Loss, true and predicted classes and the prediction's probability, in validation-set order."""
        model = self.inference_model
        model.eval()
        loss_sum, y_true, y_pred, confidence = 0.0, [], [], []
        for x, y in batches(self.val_data, self.cfg.batch_size, self.device):
            with self.autocast:
                logits = model(x).float()
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            probs, predicted = logits.softmax(1).max(1)
            y_true += y.tolist()
            y_pred += predicted.tolist()
            confidence += probs.tolist()
        return loss_sum / len(y_true), y_true, y_pred, confidence

    def evaluate(self) -> tuple[metrics.Validation, list[int], list[int], list[float]]:
        """Validate and score the new-session and same-session parts apart."""
        loss, y_true, y_pred, confidence = self.validate()
        p = self.prepared
        validation = metrics.score_parts(y_true, y_pred, p.val_new, [s.session for s in p.val_samples], p.classes,
                                         loss)
        return validation, y_true, y_pred, confidence

    def _check_finite(self, value: float, what: str, epoch: int, stage: str) -> None:
        """A loss that is NaN or infinite never recovers: stop at once, before anything diverged is saved."""
        if not math.isfinite(value):
            raise ThumbsError(f"the {what} became {value} in epoch {epoch + 1} ({stage} stage): training diverged "
                              f"and stopped; use a smaller --lr (this run: {self.cfg.lr:g}; 1e-3 is usual)")

    def _settings(self) -> dict:
        return {**asdict(self.cfg), "data": str(Path(self.cfg.data).resolve()), "img_size": self.size,
                "norm": self.norm, "device_used": str(self.device),
                "freeze_epochs": self.freeze_epochs, "flip_average": self.flip_average}

    def _save(self, name: str, epoch: int, stage: str, history: list[dict], scores: metrics.Scores,
              optimizer: torch.optim.Optimizer | None) -> Path:
        return checkpoint.save(self.run_dir / name, self.model, arch=self.cfg.arch, classes=self.prepared.classes,
                               img_size=self.size, norm=self.norm, settings=self._settings(),
                               metrics=scores.to_dict(), history=history, epoch=epoch, stage=stage,
                               optimizer=optimizer.state_dict() if optimizer else None)

    def _stage_optimizer(self, stage: str, epoch: int, start_epoch: int) -> torch.optim.Optimizer:
        """A fresh optimizer per stage (the frozen stage has no state for the backbone); a resumed run
        gets its saved state back when it continues inside the same stage."""
        models.set_backbone_frozen(self.model, self.cfg.arch, frozen=stage == "head")
        optimizer = _optimizer(self.model)
        r = self.resume
        if r and r["stage"] == stage and r.get("optimizer") and epoch == start_epoch:
            optimizer.load_state_dict(r["optimizer"])
        return optimizer

    def _resumed_best(self, history: list[dict]) -> tuple[tuple[float, float], metrics.Scores | None, int]:
        """The best epoch and its scores from one source, so report.md agrees with the history: best.pt when
        it holds the history's best epoch, else last.pt when that is the best (a run killed between writing
        last.pt and best.pt; best.pt is rewritten from it)."""
        if not self.resume or not history:
            return (-1.0, 0.0), None, 0
        row = max(history, key=lambda h: (h["val_acc"], -h["val_loss"]))
        key, best = (row["val_acc"], -row["val_loss"]), self.resume.get("best")
        if best and best["epoch"] + 1 == row["epoch"]:
            return key, _scores(best["metrics"]), row["epoch"]
        if self.resume["epoch"] + 1 == row["epoch"]:
            scores = _scores(self.resume["metrics"])
            self._save("best.pt", self.resume["epoch"], self.resume["stage"], history, scores, None)
            self.kept["best.pt"] = row["epoch"]
            return key, scores, row["epoch"]
        self.notes.append(f"best.pt did not hold the best epoch in last.pt's history (epoch {row['epoch']}): the "
                          "best model is chosen again among the epochs trained from here on")
        return (-1.0, 0.0), None, 0

    def _save_epoch(self, epoch: int, stage: str, history: list[dict], scores: metrics.Scores,
                    optimizer: torch.optim.Optimizer, improved: bool, best: dict) -> None:
        """last.pt, then best.pt, then metrics.json, as one step that Ctrl-C cannot cut in half. last.pt first:
        a run killed in between still finds its best epoch in last.pt (see _resumed_best)."""
        with interrupt_deferred():
            self._save("last.pt", epoch, stage, history, scores, optimizer)
            self.kept["last.pt"] = epoch + 1
            if improved:
                self._save("best.pt", epoch, stage, history, scores, None)
                self.kept["best.pt"] = epoch + 1
            write_atomic(self.run_dir / "metrics.json", json.dumps({"history": history, **best}, indent=2).encode())
            self._log_epoch(history[-1], improved)

    def kept_note(self) -> str:
        if not self.kept:
            return "nothing was saved"
        return "kept " + " and ".join(f"{self.run_dir / name} (epoch {e})" for name, e in self.kept.items())

    def _log_epoch(self, row: dict, improved: bool) -> None:
        self.log(f"epoch {row['epoch']:>2}/{self.cfg.epochs} {row['stage']:>4}  train loss {row['train_loss']:.3f} "
                 f"acc {row['train_acc']:.3f}  val loss {row['val_loss']:.3f} {_val_accuracies(row)}  "
                 f"{row['images_per_s']:.0f} img/s  {row['seconds']:.1f} s" + ("  *best" if improved else ""))

    def run(self) -> TrainResult:
        history: list[dict] = list(self.resume["history"]) if self.resume else []
        start_epoch = self.resume["epoch"] + 1 if self.resume else 0
        self.kept = {"last.pt": start_epoch} if self.resume else {}
        best_key, best_scores, best_epoch = self._resumed_best(history)
        optimizer, current_stage, interrupted = None, None, False
        try:
            for epoch in range(start_epoch, self.cfg.epochs):
                stage, lr = _stage_lr(self.cfg, epoch, self.freeze_epochs)
                if stage != current_stage:
                    optimizer, current_stage = self._stage_optimizer(stage, epoch, start_epoch), stage
                for group in optimizer.param_groups:
                    group["lr"] = lr
                stats = self.train_epoch(optimizer, stage, epoch)
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
                self._save_epoch(epoch, stage, history, scores, optimizer, improved,
                                 {"best_epoch": best_epoch, "best": best_scores.to_dict(),
                                  "validation": self.best_eval[0].to_dict() if self.best_eval else None})
        except KeyboardInterrupt:
            interrupted = True
        except ThumbsError as e:  # a diverged run or a full disk: say what is safe on disk
            raise type(e)(f"{e}; {self.kept_note()}") from None
        if best_scores is None:
            if interrupted:
                raise Interrupted("before the first epoch finished: nothing was saved")
            raise ThumbsError("nothing to train: --epochs is not above the resumed epoch")
        validation = self._finish(history, best_scores, best_epoch)
        return TrainResult(self.run_dir, self.run_dir / "best.pt", self.run_dir / "last.pt", best_scores, history,
                           interrupted, self.notes, validation)

    def _best_evaluation(self) -> tuple[metrics.Validation, list[int], list[int], list[float]]:
        """The best epoch's validation; a resumed run that did not improve re-validates its best.pt."""
        if self.best_eval is None:
            self.model.load_state_dict(checkpoint.load(self.run_dir / "best.pt")["state_dict"])
            self.best_eval = self.evaluate()
        return self.best_eval

    def _wrong(self, y_true: list[int], y_pred: list[int], confidence: list[float]) -> list[report.Wrong]:
        p, out = self.prepared, []
        for i, (t, q, c) in enumerate(zip(y_true, y_pred, confidence)):
            if t != q:
                out.append(report.Wrong(p.val.image(i), p.classes[t], p.classes[q], c,
                                        p.val_samples[i].session))
        return out

    def _finish(self, history: list[dict], best: metrics.Scores, best_epoch: int) -> metrics.Validation:
        """Say plainly when the model learned nothing, then write report.md, curves.png, misclassified.png."""
        predicted = [c for c, column in enumerate(zip(*best.confusion)) if sum(column)]
        if len(predicted) == 1:
            self.notes.append(f"the model predicts '{self.prepared.classes[predicted[0]]}' for every validation "
                              "image: it has not learned. Use pretrained weights, more epochs or another --arch "
                              "(SqueezeNet and AlexNet from random initialisation often stall like this)")
        settings = {**self._settings(), "classes": ", ".join(self.prepared.classes),
                    "train images": len(self.prepared.train), "val images": len(self.prepared.val)}
        report.curves_png(history, self.run_dir / "curves.png")
        validation, y_true, y_pred, confidence = self._best_evaluation()
        wrong_png = report.misclassified_png(self._wrong(y_true, y_pred, confidence),
                                             self.run_dir / "misclassified.png")
        one_session = [c for c in self.prepared.classes if self.prepared.sessions.get(c) == 1]
        report.report_md(self.run_dir, validation, settings, history, best_epoch, self.notes, one_session, wrong_png)
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


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    """A new run in a new (or empty) folder; a folder left empty by a failure or Ctrl-C is removed."""
    check_config(cfg)
    run_dir = new_run_dir(cfg.out)
    created = not run_dir.exists()
    check_writable_dir(run_dir)
    try:
        return Trainer(cfg, log, run_dir=run_dir).run()
    finally:
        if created:
            _remove_if_empty(run_dir)


def resume(path: str | Path, epochs: int | None = None, log: Callable[[str], None] = print) -> TrainResult:
    """Continue a run from its last.pt with the settings it was started with (and its own epoch count
    unless `epochs` is given)."""
    ckpt = checkpoint.load(path)
    settings = {"flip_average": False,  # a run started before flip averaging keeps running without it
                **{k: v for k, v in ckpt["settings"].items() if k in TrainConfig.__dataclass_fields__}}
    cfg = TrainConfig(**settings)
    if epochs is not None:
        cfg.epochs = epochs
    done = ckpt["epoch"] + 1
    if cfg.epochs <= done:
        raise ThumbsError(f"'{path}' has trained {done} of {cfg.epochs} epochs: nothing left to do; give "
                          f"--epochs above {done} to train it further")
    run_dir = Path(path).parent
    check_writable_dir(run_dir)
    best_path = run_dir / "best.pt"
    best = checkpoint.load(best_path) if best_path.exists() else None
    state = {**ckpt, "run_dir": str(run_dir), "best": best and {"epoch": best["epoch"], "metrics": best["metrics"]}}
    log(f"resuming {path} after epoch {done} of {cfg.epochs}")
    added = sorted(set(dataset.class_names(cfg.data)) - set(ckpt["classes"]))
    trainer = Trainer(cfg, log, resume=state)
    if added:
        note = (f"class(es) {', '.join(added)} in '{cfg.data}' came after this run started and are not trained "
                f"(the run keeps its classes {', '.join(ckpt['classes'])}); start a new run to include them")
        trainer.notes.append(note)
    return trainer.run()
