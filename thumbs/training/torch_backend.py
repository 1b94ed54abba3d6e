"""The PyTorch backend: a .pt checkpoint evaluated as trained, for `thumbs eval` and scripts on a
machine with the training extra. Imported only when a .pt is loaded (the live path stays torch-free)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from thumbs.core.backend import Backend
from thumbs.training import checkpoint, models


class TorchBackend(Backend):
    def __init__(self, path: Path) -> None:
        ckpt = checkpoint.load(path)
        super().__init__(ckpt.info, path)
        self.model = models.from_checkpoint(ckpt)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(self.model(torch.from_numpy(batch)), 1).numpy()
