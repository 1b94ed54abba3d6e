"""Trainer callbacks, and the mark a stopped run carries until a resume finishes it (the trainer in-process;
tests/training/test_job.py drives the same through real signals)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from thumbs.training import engine, train
from thumbs.training.resume import resume
from thumbs.training.trainer import Trainer
from thumbs.training.training_data import training_batches

QUIET = {"log": lambda m: None}


def _cfg(data, out, **kw) -> train.TrainConfig:
    return train.TrainConfig(**{**dict(data=str(data), arch="mobilenet_v2_x0_35", weights="none", epochs=2,
                                       img_size=32, batch_size=16, cache=False, out=str(out)), **kw})


def test_callbacks_fire_after_every_batch_and_every_saved_epoch_with_its_figures(demo_data, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "LOG_EVERY", 2)  # the running figures, each one read from the device
    reads = []
    running = engine._running
    monkeypatch.setattr(engine, "_running", lambda *a: reads.append(1) or running(*a))
    batches, rows = [], []

    def on_epoch_end(trainer, row):
        assert json.loads((trainer.run_dir / "metrics.json").read_text())["history"][-1] == row  # saved first
        rows.append(row)
        images.append(len(trainer.train_data))

    images: list[int] = []

    result = train.train(_cfg(demo_data, tmp_path / "run"), callbacks={"on_batch_end": [
        lambda trainer, *figures: batches.append(figures)], "on_epoch_end": [on_epoch_end]}, **QUIET)
    total = training_batches(images[0], 16)
    assert total >= 4
    assert batches == [(epoch, done, total) for epoch in (0, 1) for done in range(1, total + 1)]
    assert rows == result.history and [r["epoch"] for r in rows] == [1, 2]
    assert len(reads) == 2 * (total // 2)  # one device read per LOG_EVERY batches, none added per batch


def test_add_callback_refuses_a_name_that_would_never_be_called(demo_data, tmp_path):
    trainer = Trainer(_cfg(demo_data, tmp_path / "run"), **QUIET)
    trainer.add_callback("on_epoch_end", print)
    assert trainer.callbacks["on_epoch_end"] == [print]
    with pytest.raises(ValueError, match="unknown trainer callback 'on_epoch_ends'"):
        trainer.add_callback("on_epoch_ends", print)


def test_a_stopped_run_is_marked_partial_until_a_resume_finishes_it(demo_data, tmp_path, monkeypatch):
    original = Trainer.train_epoch
    calls = {"n": 0}

    def ctrl_c_in_the_second_epoch(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *a, **k)

    monkeypatch.setattr(Trainer, "train_epoch", ctrl_c_in_the_second_epoch)
    run = tmp_path / "run"
    result = train.train(_cfg(demo_data, run, epochs=3), **QUIET)
    metrics, report = json.loads((run / "metrics.json").read_text()), (run / "report.md").read_text()
    assert result.interrupted and (metrics["interrupted"], metrics["epochs_done"], metrics["epochs"]) == (True, 1, 3)
    assert metrics["best_epoch"] == 1 and [h["epoch"] for h in metrics["history"]] == [1]
    assert report.splitlines()[2] == (f"**Interrupted after epoch 1 of 3**: this run is partial. Continue it with "
                                      f"`thumbs train --resume {run / 'last.pt'}`.")
    monkeypatch.setattr(Trainer, "train_epoch", original)
    rows = []
    resumed = resume(run / "last.pt", callbacks={"on_epoch_end": [lambda t, row: rows.append(row["epoch"])]},
                           **QUIET)
    metrics, report = json.loads((run / "metrics.json").read_text()), (run / "report.md").read_text()
    assert not resumed.interrupted and rows == [2, 3]
    assert (metrics["interrupted"], metrics["epochs_done"]) == (False, 3) and "Interrupted" not in report


@pytest.mark.parametrize(("arch", "channels_last"), [("mobilenet_v2_x0_35", True), ("resnet18", False)])
def test_the_trainer_trains_and_validates_in_the_architectures_layout(demo_data, tmp_path, arch, channels_last):
    """The weights and every batch, training and validation, in models.memory_format's layout: a batch in the
    other layout would be converted at every convolution, costing what the layout saves."""
    trainer = Trainer(_cfg(demo_data, tmp_path / "run", arch=arch), **QUIET)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    conv = next(m for m in trainer.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=layout)
    for x in (next(iter(trainer.train_batches()))[0], next(iter(trainer.val_images()))):
        assert x.is_contiguous(memory_format=layout) and x.is_contiguous() != channels_last
