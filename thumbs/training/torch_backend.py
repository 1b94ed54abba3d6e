"""The PyTorch backend: a .pt checkpoint evaluated as trained, for `thumbs eval` and scripts on a
machine with the training extra. Imported only when a .pt is loaded (the live path stays torch-free).

It honours the provider it is given the way PyTorch can (cuda: the GPU, cpu: the CPU, auto: the GPU when PyTorch
sees one), refuses TensorRT (an ONNX Runtime provider: export first), and reports what really runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from thumbs.core.backend import Backend
from thumbs.core.errors import ThumbsError
from thumbs.runtime.providers import ORDER, SHORT
from thumbs.training import checkpoint, models


def device_for(provider: str | None, path: Path) -> tuple[torch.device, str]:
    """The device a .pt runs on for `--provider`, and why; a provider PyTorch cannot honour is one error line."""
    name = provider or "auto"
    cuda = torch.cuda.is_available()
    if name == "auto":
        return (torch.device("cuda"), "PyTorch CUDA, the GPU PyTorch sees") if cuda else \
            (torch.device("cpu"), "PyTorch CPU, PyTorch sees no CUDA GPU")
    full = SHORT.get(name.lower(), name)
    if full == ORDER[2]:
        return torch.device("cpu"), "PyTorch CPU as asked"
    if full == ORDER[1]:
        if not cuda:
            raise ThumbsError(f"provider '{name}' for '{path}': PyTorch {torch.__version__} sees no CUDA GPU here; "
                              "use --provider cpu or auto")
        return torch.device("cuda"), "PyTorch CUDA as asked"
    if full == ORDER[0]:
        raise ThumbsError(f"provider '{name}' runs ONNX models, and '{path}' is a PyTorch checkpoint: "
                          f"`thumbs export {path}`, then pass the .onnx")
    raise ThumbsError(f"unknown provider '{name}': use auto, tensorrt, cuda or cpu")


class TorchBackend(Backend):
    def __init__(self, path: Path, provider: str | None = None) -> None:
        device, self.why = device_for(provider, path)  # refused before the checkpoint is read
        ckpt = checkpoint.load(path)
        super().__init__(ckpt.info, path)
        self.device = device
        self.provider = f"PyTorch {device.type.upper()}"
        self.model = models.from_checkpoint(ckpt).to(device)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(self.model(torch.from_numpy(batch).to(self.device)), 1).cpu().numpy()
