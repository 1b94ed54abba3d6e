"""One pass on the training device, reusable without the Trainer (as torchvision's references' train_one_epoch,
train_step and evaluate are): the device, the seed, the precision, the optimizer, one step, one epoch, predictions.
The Trainer (trainer.py) runs them epoch after epoch; scripts/bench_train.py, scripts/bench_first_step.py and
scripts/sweep_recipe.py call them directly."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from thumbs.core.errors import ThumbsError
from thumbs.train_config import check_device

__all__ = ["EpochStats", "resolve_device", "seed_all", "autocast_for", "make_optimizer", "train_one_epoch",
           "train_step", "predict"]

LOG_EVERY = 20  # batches between the progress bar's running figures (each reading waits for the GPU once)


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


def resolve_device(name: str) -> torch.device:
    check_device(name)  # the spelling, and a GPU where no driver is: the settings' rule, told before PyTorch too
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ThumbsError(f"--device {name}: no CUDA GPU is usable here (torch.cuda.is_available() is False); "
                          "use --device cpu or auto")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ThumbsError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                          f"numbered from 0; use --device cuda:0 or auto")
    return device


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast_for(device: torch.device):
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """AdamW, fused (one kernel over every weight per step) where this PyTorch has that kernel for the device:
    PyTorch's CPU default, a Python loop over the tensors, took 60 ms of a ResNet-18 step against 8 fused (one
    thread)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4, fused=True)
    except RuntimeError:  # an older PyTorch, or a device without the fused kernel
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)


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
