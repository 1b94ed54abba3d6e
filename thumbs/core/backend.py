"""What every model backend is and returns, in one base module: the ONNX Runtime backend (live install) and the
PyTorch one (training install) both build on it, so neither imports the loader that imports them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thumbs.core.model_info import ModelInfo


@dataclass
class Prediction:
    label: str
    score: float
    probs: np.ndarray  # one probability per class, in `classes` order
    latency_ms: float  # inference only
    hands: list | None = None  # a hand model's hands, each with its label (runtime.hand_classifier.HandResult)


class Backend:
    """What every backend shares: the contract and the names read from it."""

    provider: str  # what really runs it: an ONNX Runtime provider, or "PyTorch CPU"/"PyTorch CUDA"
    why: str  # one line: why that provider (asked for, the fastest, the only one)

    def __init__(self, info: ModelInfo, path: Path) -> None:
        self.info, self.path = info, path
        self.classes, self.img_size, self.crop = list(info.classes), info.img_size, info.crop

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError
