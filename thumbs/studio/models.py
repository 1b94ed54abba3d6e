"""The studio's live model and its swap: the model that classifies the preview (on its own thread, smoothed as
live smooths), the new one held back because the trainer says it has not learned, and the switch between two
frames."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thumbs.live.latency import frame_rate
from thumbs.live.loop import Step
from thumbs.live.overlay import draw_live
from thumbs.live.smoothing import Smoother
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.loader import exported_from, exported_path
from thumbs.sources.readers import Frame
from thumbs.studio import panel
from thumbs.studio.classify import NewestFrameClassifier


@dataclass
class LiveModel:
    classifier: Classifier
    onnx: Path
    checkpoint: Path | None  # what t retrains from (None: an .onnx given alone)
    accuracy: float | None = None
    headline: str = "validation accuracy"

    def describe(self) -> str:
        """Its file and score in a few words: 'runs/X/best.onnx: 92% on a new session'."""
        if self.accuracy is None:
            return str(self.onnx)
        new = "new session" in self.headline
        return f"{self.onnx}: {self.accuracy:.0%} {'on a new session' if new else 'on held-out frames'}"


class LiveModels:
    """The live model (None until one is trained or given), the held-back one, and the newest step."""

    def __init__(self, provider: str, smooth: int, threshold: float) -> None:
        self.provider, self.smooth, self.threshold = provider, smooth, threshold
        self.live: LiveModel | None = None
        self.held: LiveModel | None = None  # a new model the trainer says has not learned: HELD_KEY puts it live
        self.classifying: NewestFrameClassifier | None = None  # the live model, on its own thread
        self.smoother: Smoother | None = None
        self.step: Step | None = None  # the newest frame it classified
        self.fps, self.classified_at = 0.0, 0.0

    def load(self, event: dict) -> LiveModel:
        """In the job's reader thread: the new model is opened before it replaces the live one."""
        onnx = Path(event["onnx"])
        clf = Classifier.load(onnx, self.provider, log=lambda m: None)
        return LiveModel(clf, onnx, Path(event["checkpoint"]), event.get("accuracy"),
                         event.get("headline") or "validation accuracy")

    def opened(self, path: Path, log: Callable[[str], None]) -> LiveModel | None:
        """--from: the model, when its .onnx is at hand; None when a checkpoint must be exported first."""
        if path.suffix.lower() == ".onnx":
            beside = path.with_suffix(".pt")
            checkpoint = beside if exported_from(path, beside) else None
            return LiveModel(Classifier.load(path, self.provider, log=log), path, checkpoint)
        if exported_from(exported_path(path), path):
            onnx = exported_path(path)
            return LiveModel(Classifier.load(onnx, self.provider, log=log), onnx, path)
        return None

    def swap(self, model: LiveModel) -> None:
        """The new model classifies from the next frame on, with a fresh smoothing window."""
        self.live = model
        self.close()
        self.classifying, self.step = NewestFrameClassifier(model.classifier), None
        self.smoother = Smoother(model.classifier.classes, self.smooth, self.threshold)

    def take_held(self) -> LiveModel | None:
        model, self.held = self.held, None
        return model

    def classify(self, frame: Frame) -> list[Step]:
        """Offer the frame to the live model's thread; each frame it classified since becomes a step."""
        if self.classifying is None:
            return []
        self.classifying.offer(frame)
        clf = self.classifying.classifier
        steps = []
        for classified, pred in self.classifying.results():
            now = time.perf_counter()
            if self.step is not None:
                self.fps = frame_rate(self.fps if self.fps else None, now - self.classified_at)
            self.classified_at = now
            stable, score = self.smoother.update(pred.probs)
            self.step = Step(classified, pred, stable, score, self.fps, clf.classes, self.threshold, clf.crop)
            steps.append(self.step)
        return steps

    def view(self, frame: Frame) -> np.ndarray:
        """This frame, with the newest prediction's overlay once a model is live."""
        step = self.step
        if step is None:
            return panel.preview(frame.image)
        return draw_live(frame.image, step.classes, step.pred.probs, step.stable, step.score, self.fps,
                         step.pred.latency_ms, step.threshold, step.crop, hands=step.pred.hands)

    def close(self) -> None:
        if self.classifying is not None:
            self.classifying.close()
        self.classifying = None
