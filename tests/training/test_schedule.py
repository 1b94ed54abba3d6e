"""The learning-rate schedule is a torch scheduler saved with last.pt: the rates of every optimizer step are those of
the hand formula it replaced, in a run and across a kill and --resume."""

from __future__ import annotations

import math

import pytest
import torch

from tests.training.test_train import QUIET, _cfg, _ctrl_c_in_epoch
from thumbs.training import checkpoint, models, train
from thumbs.training.resume import resume
from thumbs.training.trainer import Trainer


def hand_formula(lr: float, factor: float, epochs: int, freeze: int, epoch: int) -> float:
    """The schedule as it was written before the scheduler (train._stage_lr up to issue 31): the reference."""
    if epoch < freeze:
        return lr
    base = lr * (factor if freeze else 1.0)
    k, n = epoch - freeze, max(1, epochs - freeze)
    return base * (0.55 + 0.45 * math.cos(math.pi * k / n))


@pytest.fixture
def step_rates(monkeypatch):
    """The rate of every optimizer step, by epoch (the Trainer's on_batch_end says which epoch a step is in)."""
    rates: list[float] = []
    real = torch.optim.AdamW.step

    def step(self, *a, **k):
        rates.append(self.param_groups[0]["lr"])
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    return rates


@pytest.fixture
def weights(tmp_path):
    """A state dict file: only pretrained weights get the frozen head stage."""
    src = tmp_path / "w.pth"
    torch.save(models.ARCHS["mobilenet_v3_small"].build(weights=None).state_dict(), src)
    return src


def _per_epoch(rates: list[float], history: list[dict]) -> list[list[float]]:
    per = len(rates) // len(history)
    assert per * len(history) == len(rates)
    return [rates[i * per:(i + 1) * per] for i in range(len(history))]


@pytest.mark.parametrize("freeze", [0, 2])
def test_every_step_runs_at_the_hand_formulas_rate(demo_data, tmp_path, weights, step_rates, freeze):
    cfg = _cfg(demo_data, tmp_path / "run", weights=str(weights), epochs=4, freeze_epochs=freeze, lr=2e-3)
    result = train.train(cfg, **QUIET)
    want = [hand_formula(2e-3, cfg.finetune_lr_factor, 4, freeze, e) for e in range(4)]
    assert [h["lr"] for h in result.history] == want
    assert [set(epoch) for epoch in _per_epoch(step_rates, result.history)] == [{w} for w in want]


def test_a_killed_run_resumes_at_the_same_rates_from_the_saved_scheduler(demo_data, tmp_path, weights, step_rates,
                                                                         monkeypatch):
    cfg = _cfg(demo_data, tmp_path / "run", weights=str(weights), epochs=5, freeze_epochs=1, lr=2e-3)
    original = Trainer.train_epoch
    _ctrl_c_in_epoch(monkeypatch, 3)
    first = train.train(cfg, **QUIET)
    saved = checkpoint.load(first.last)
    assert first.interrupted and saved.epoch == 1 and saved.stage == "full"
    assert saved.scheduler and saved.scheduler["last_epoch"] == 1  # one full-stage epoch done
    monkeypatch.setattr(Trainer, "train_epoch", original)
    step_rates.clear()
    resumed = resume(first.last, **QUIET)
    want = [hand_formula(2e-3, cfg.finetune_lr_factor, 5, 1, e) for e in range(5)]
    assert [h["lr"] for h in resumed.history] == want
    assert [set(epoch) for epoch in _per_epoch(step_rates, resumed.history[2:])] == [{w} for w in want[2:]]
