"""`Classifier`: a backend plus the model's own preprocessing, the API for users' own scripts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core.backend import Backend, Prediction
from thumbs.runtime.hand_classifier import HandClassifier
from thumbs.runtime.loader import load_model
from thumbs.runtime.preprocess import Preprocessor


class Classifier:
    """`Classifier.load("model.onnx")(bgr_frame) -> Prediction`: a backend plus the model's own
    preprocessing (its size and crop policy)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.info, self.classes, self.img_size = backend.info, backend.classes, backend.img_size
        self.path, self.provider = backend.path, backend.provider
        self.crop = backend.crop  # which part of a frame the model sees (windows outline it)
        self.preprocess = Preprocessor(backend.img_size, backend.crop)

    @classmethod
    def load(cls, path: str | Path, provider: str | None = None, fp16: bool = True,
             log: Callable[[str], None] = print, max_hands: int = 1) -> Classifier | HandClassifier:
        """Any model file; a hand model (its contract's input) comes behind the hand front end."""
        backend = load_model(path, provider, fp16, log)
        if backend.info.input == "frame":
            return cls(backend)
        return HandClassifier(backend, max_hands, provider, log)

    @property
    def sees(self) -> str:
        """What the model is fed, for the log line."""
        return f"{self.img_size}px"

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """float32 NCHW in [0, 1] -> probabilities (N, classes)."""
        return self.backend.predict_batch(batch)

    def infer(self, tensor: np.ndarray) -> Prediction:
        start = time.perf_counter()
        probs = self.predict_batch(tensor)[0]
        latency = (time.perf_counter() - start) * 1000
        top = int(probs.argmax())
        return Prediction(self.classes[top], float(probs[top]), probs, latency)

    def __call__(self, bgr: np.ndarray) -> Prediction:
        return self.infer(self.preprocess(bgr))

