"""Self-describing checkpoints: everything needed to rebuild, evaluate, export or resume a model."""

from __future__ import annotations

import io
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torchvision

import thumbs
from thumbs import models
from thumbs.errors import ThumbsError
from thumbs.files import write_atomic

FORMAT = "thumbs-checkpoint"
VERSION = 1


def versions() -> dict[str, str]:
    return {"thumbs": thumbs.__version__, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version()}


def save(path: str | Path, model: models.Normalized, *, arch: str, classes: list[str], img_size: int,
         norm: str, settings: dict[str, Any], metrics: dict[str, Any], history: list[dict], epoch: int,
         stage: str, optimizer: dict | None = None) -> Path:
    mean, std = models.norm_values(norm)
    payload = {
        "format": FORMAT, "version": VERSION, "arch": arch, "classes": list(classes), "img_size": img_size,
        "norm": norm, "mean": list(mean), "std": list(std), "input": "float32 NCHW RGB in [0, 1]",
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "settings": settings, "metrics": metrics, "history": history, "epoch": epoch, "stage": stage,
        "optimizer": optimizer, "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_atomic(path, buf.getvalue())


def load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    ckpt = models.read_torch_file(path, "checkpoint", "", "cannot be read; is the file complete?")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ThumbsError(f"'{path}' is not a thumbs checkpoint (train one with `thumbs train`)")
    return ckpt


def build_model(ckpt: dict[str, Any]) -> models.Normalized:
    """The trained network, on the CPU, in eval mode."""
    model, _ = models.build(ckpt["arch"], len(ckpt["classes"]), weights="none", norm=ckpt["norm"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
