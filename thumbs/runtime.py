"""Inference with ONNX Runtime (provider choice lives in `providers`), and the `Classifier` API for
users' own scripts. Needs only onnxruntime, OpenCV and numpy."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from thumbs.errors import ThumbsError
from thumbs.preprocess import Preprocessor
from thumbs.providers import choose_session


@dataclass
class Prediction:
    label: str
    score: float
    probs: np.ndarray  # one probability per class, in `classes` order
    latency_ms: float  # inference only


def _read_metadata(session: ort.InferenceSession, path: Path) -> tuple[list[str], int]:
    meta = session.get_modelmeta().custom_metadata_map
    if "thumbs.classes" not in meta:
        raise ThumbsError(f"'{path}' has no thumbs metadata (class names, input size): export it with `thumbs export`")
    classes, size = json.loads(meta["thumbs.classes"]), int(meta["thumbs.img_size"])
    labels = path.with_name("labels.txt")
    if labels.exists():
        listed = [line.strip() for line in labels.read_text().splitlines() if line.strip()]
        if listed != classes:
            raise ThumbsError(f"{labels} ({', '.join(listed)}) disagrees with the classes inside {path.name} "
                              f"({', '.join(classes)}): re-export, or delete the stale labels.txt")
    return classes, size


def _fresh(derived: Path, source: Path) -> bool:
    """An exported file is usable while it is at least as new as the checkpoint it came from."""
    return derived.exists() and derived.stat().st_mtime >= source.stat().st_mtime


def onnx_for(path: Path, log=print) -> Path:
    """A .pt checkpoint is exported once to <name>.onnx beside it (again only when the .pt is newer)."""
    target = path.with_name(f"{path.stem}.onnx")
    if _fresh(target, path):
        return target
    try:
        from thumbs.export import export
    except ImportError:
        raise ThumbsError(f"'{path}' is a PyTorch checkpoint: export it to .onnx on a machine with "
                          "`pip install 'thumbs[train]'` (thumbs export), then copy the .onnx here") from None
    log(f"exporting {path} to {target} (once)")
    return export(path, target, log=log).onnx_path


def newest_model(runs: str | Path = "runs") -> Path:
    """The most recent run's model: its model.onnx when that is up to date, else its best.pt."""
    runs = Path(runs)
    candidates = sorted(runs.glob("*/best.pt"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
    if not candidates:
        raise ThumbsError(f"no trained model found in {runs}/: train one with `thumbs train`, or pass --model PATH")
    onnx_path = candidates[-1].with_name("model.onnx")
    return onnx_path if _fresh(onnx_path, candidates[-1]) else candidates[-1]


class Classifier:
    """`Classifier.load("model.onnx")(bgr_frame) -> Prediction`: the whole runtime in one object."""

    def __init__(self, session: ort.InferenceSession, classes: list[str], img_size: int, path: Path) -> None:
        self.session, self.classes, self.img_size, self.path = session, classes, img_size, path
        self.input_name = session.get_inputs()[0].name
        self.provider = session.get_providers()[0]
        self.preprocess = Preprocessor(img_size)

    @classmethod
    def load(cls, path: str | Path, provider: str | None = None, fp16: bool = True, log=print) -> Classifier:
        path = Path(path)
        if not path.is_file():
            raise ThumbsError(f"model '{path}' does not exist (train one with `thumbs train`)")
        if path.suffix in (".pt", ".pth"):
            path = onnx_for(path, log)
        elif path.suffix != ".onnx":
            raise ThumbsError(f"model '{path}': expected an .onnx file or a .pt checkpoint")
        session, why = choose_session(path, provider, fp16=fp16, log=log)  # warmed up, fastest provider
        log(f"provider: {why}")
        classes, size = _read_metadata(session, path)
        return cls(session, classes, size, path)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """float32 NCHW in [0, 1] -> probabilities (N, classes)."""
        return self.session.run(None, {self.input_name: batch})[0]

    def infer(self, tensor: np.ndarray) -> Prediction:
        start = time.perf_counter()
        probs = self.predict_batch(tensor)[0]
        latency = (time.perf_counter() - start) * 1000
        top = int(probs.argmax())
        return Prediction(self.classes[top], float(probs[top]), probs, latency)

    def __call__(self, bgr: np.ndarray) -> Prediction:
        return self.infer(self.preprocess(bgr))
