"""Self-describing checkpoints: everything needed to rebuild, evaluate, export or resume a model.

One typed `Checkpoint` and one parser (`parse`) for every reader: eval, export, the PyTorch backend, resume, and
a checkpoint given as `--weights`. On disk the model contract is stored once, in `info`; the flat keys of format
version 1 are still read."""

from __future__ import annotations

import io
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torchvision

import thumbs
from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file, write_atomic
from thumbs.core.model_info import FORMAT_VERSION, ModelInfo
from thumbs.core.norms import norm_values
from thumbs.training import UNREADABLE

FORMAT = "thumbs-checkpoint"


@dataclass
class Checkpoint:
    info: ModelInfo  # the contract: classes, input size, normalisation, crop, architecture, flip averaging
    state_dict: dict[str, torch.Tensor]  # of models.Normalized (its mean/std buffers included)
    settings: dict[str, Any] = field(default_factory=dict)  # the run's TrainConfig, as resolved
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics.Scores of this epoch
    history: list[dict] = field(default_factory=list)
    epoch: int = 0  # 0-based: the epoch this model finished
    stage: str = "full"  # head (frozen backbone) or full
    optimizer: dict | None = None  # last.pt only: the optimizer state a resumed run continues with
    scheduler: dict | None = None  # last.pt only: the learning-rate scheduler's state (training/schedule.py)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    path: Path | None = None  # where it was read from

    def describe(self) -> str:
        return f"{self.info.arch} ({', '.join(self.info.classes)})"


def versions() -> dict[str, str]:
    return {"thumbs": thumbs.__version__, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version()}


def save(path: str | Path, model: torch.nn.Module, *, arch: str, classes: list[str], img_size: int,
         norm: str, settings: dict[str, Any], metrics: dict[str, Any], history: list[dict], epoch: int,
         stage: str, optimizer: dict | None = None, scheduler: dict | None = None) -> Path:
    """`settings["crop"]` (the training crop policy), `settings["flip_average"]` and `settings["input"]` (what the
    model is fed) go into the model's contract; defaults: centre, no averaging, the frame."""
    mean, std = norm_values(norm)
    info = ModelInfo(list(classes), int(img_size), norm, tuple(mean), tuple(std),
                     str(settings.get("crop") or "center"), arch, bool(settings.get("flip_average")),
                     str(settings.get("input") or "frame"))
    payload = {
        "format": FORMAT, "version": FORMAT_VERSION, "info": info.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "settings": settings, "metrics": metrics, "history": history, "epoch": epoch, "stage": stage,
        "optimizer": optimizer, "scheduler": scheduler, "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_atomic(path, buf.getvalue())


def read_torch_file(path: Path, what: str, hint: str, unreadable: str) -> Any:
    """torch.load without executing code from the file (weights_only), with one-line errors."""
    existing_file(path, what, hint)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ThumbsError(f"{what} '{path}' {unreadable} ({type(e).__name__})") from None


def is_checkpoint(content: object) -> bool:
    return isinstance(content, dict) and content.get("format") == FORMAT


def parse(content: object, path: Path) -> Checkpoint:
    """The one reading of a checkpoint's content (format 2, and format 1's flat contract keys)."""
    if not is_checkpoint(content):
        raise ThumbsError(f"'{path}' is not a thumbs checkpoint (train one with `thumbs train`)")
    assert isinstance(content, dict)
    try:
        info = ModelInfo.from_dict(content.get("info") or content)  # version 1 kept the fields flat
        state = content["state_dict"]
        if not isinstance(state, dict):
            raise ValueError(f"its state_dict is a {type(state).__name__}")
    except (KeyError, ValueError) as e:
        raise ThumbsError(f"'{path}' is an incomplete thumbs checkpoint ({e}): train it again") from None
    return Checkpoint(info, state, settings=dict(content.get("settings") or {}),
                      metrics=dict(content.get("metrics") or {}), history=list(content.get("history") or []),
                      epoch=int(content.get("epoch", 0)), stage=str(content.get("stage", "full")),
                      optimizer=content.get("optimizer"), scheduler=content.get("scheduler"),
                      versions=dict(content.get("versions") or {}), created=str(content.get("created", "")), path=path)


def load(path: str | Path) -> Checkpoint:
    path = Path(path)
    return parse(read_torch_file(path, "checkpoint", "", UNREADABLE), path)
