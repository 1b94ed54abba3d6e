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
from thumbs.core.errors import ThumbsError
from thumbs.core.files import write_atomic
from thumbs.core.model_info import FORMAT_VERSION, ModelInfo
from thumbs.training import models

FORMAT = "thumbs-checkpoint"


def versions() -> dict[str, str]:
    return {"thumbs": thumbs.__version__, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "python": platform.python_version()}


def save(path: str | Path, model: models.Normalized, *, arch: str, classes: list[str], img_size: int,
         norm: str, settings: dict[str, Any], metrics: dict[str, Any], history: list[dict], epoch: int,
         stage: str, optimizer: dict | None = None) -> Path:
    """`settings["crop"]` (the training crop policy) and `settings["flip_average"]` go into the model's
    contract; defaults: centre, no averaging."""
    mean, std = models.norm_values(norm)
    info = ModelInfo(list(classes), int(img_size), norm, tuple(mean), tuple(std),
                     str(settings.get("crop") or "center"), arch, bool(settings.get("flip_average")))
    payload = {
        "format": FORMAT, "version": FORMAT_VERSION, "info": info.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "settings": settings, "metrics": metrics, "history": history, "epoch": epoch, "stage": stage,
        "optimizer": optimizer, "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_atomic(path, buf.getvalue())


def load(path: str | Path) -> dict[str, Any]:
    """The stored dict with `info` as a ModelInfo. Its fields are also offered under their old flat
    names (read-only views for training's resume); on disk the contract is stored once, in `info`."""
    path = Path(path)
    ckpt = models.read_torch_file(path, "checkpoint", "", "cannot be read; is the file complete?")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ThumbsError(f"'{path}' is not a thumbs checkpoint (train one with `thumbs train`)")
    try:
        info = ModelInfo.from_dict(ckpt.get("info") or ckpt)  # version 1 kept the fields flat
    except ValueError as e:
        raise ThumbsError(f"'{path}' is an incomplete thumbs checkpoint ({e}): train it again") from None
    flat = {**info.to_dict(), "mean": list(info.mean), "std": list(info.std)}
    return {**ckpt, **{k: flat[k] for k in ("classes", "img_size", "norm", "mean", "std", "arch", "crop")},
            "info": info}


def build_model(ckpt: dict[str, Any]) -> torch.nn.Module:
    """The trained network as its contract says it runs (flip-averaged or not), on the CPU, in eval mode."""
    info: ModelInfo = ckpt["info"]
    model, _ = models.build(info.arch, len(info.classes), weights="none", norm=info.norm)
    model.load_state_dict(ckpt["state_dict"])
    return (models.FlipAverage(model) if info.flip_average else model).eval()
