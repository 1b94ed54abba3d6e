"""The learning-rate schedule, as a torch scheduler (LambdaLR) that is saved in last.pt and restored by --resume.

The head stage (frozen backbone, pretrained weights only) runs at a flat --lr. The full stage runs at
lr * finetune_lr_factor after a head stage (lr alone without one), with a cosine from 1 down towards FLOOR of that
over its epochs. Each stage has its own optimizer (the frozen stage has no state for the backbone), so each has its
own scheduler, stepped once per epoch; its position is the epoch inside the stage."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR

from thumbs.train_config import TrainConfig

FLOOR = 0.1  # the full stage's cosine ends near this share of its rate


def stage_of(epoch: int, freeze_epochs: int) -> str:
    return "head" if epoch < freeze_epochs else "full"


def stage_start(stage: str, freeze_epochs: int) -> int:
    return 0 if stage == "head" else freeze_epochs


def scheduler_for(optimizer: torch.optim.Optimizer, cfg: TrainConfig, stage: str, freeze_epochs: int,
                  epoch: int, saved: dict | None = None) -> LambdaLR:
    """The stage's scheduler over a fresh optimizer, at `epoch` (0-based, of the run). `saved` (last.pt's state
    of this stage) puts it where the run stopped; the cosine is always that of the run's settings now, so a
    resume that changes --epochs stretches it, as the rate was always figured."""
    base = cfg.lr if stage == "head" or not freeze_epochs else cfg.lr * cfg.finetune_lr_factor
    for group in optimizer.param_groups:
        group["lr"] = base
    if stage == "head":
        scheduler = LambdaLR(optimizer, _flat)
    else:
        n = max(1, cfg.epochs - freeze_epochs)
        scheduler = LambdaLR(optimizer, lambda k: (1 + FLOOR) / 2 + (1 - FLOOR) / 2 * math.cos(math.pi * k / n))
    if saved:
        scheduler.load_state_dict(saved)
    _move_to(scheduler, scheduler.last_epoch if saved else epoch - stage_start(stage, freeze_epochs))
    return scheduler


def _flat(k: int) -> float:
    return 1.0


def _move_to(scheduler: LambdaLR, k: int) -> None:
    """The optimizer's rates at the stage's epoch `k` (a loaded state sets the count, not the rates)."""
    scheduler.last_epoch = k
    rates = [base * factor(k) for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
    for group, rate in zip(scheduler.optimizer.param_groups, rates):
        group["lr"] = rate
    scheduler._last_lr = rates  # what get_last_lr() says, as step() would have set it
