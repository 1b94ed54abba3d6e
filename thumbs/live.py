"""`thumbs live`: frames in, predictions out, drawn in a window or written as events and video.

The loop measures its own stages (waiting for the camera, preprocessing, inference, drawing) so a
slow live view can be traced to its cause."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from thumbs.dataset import Saver
from thumbs.overlay import draw_live
from thumbs.providers import short
from thumbs.runtime import Classifier, Prediction
from thumbs.smoothing import Smoother
from thumbs.sources import Frame, FrameSource
from thumbs.window import Window

STAGES = ("wait", "preprocess", "inference", "draw")


@dataclass
class LiveOptions:
    threshold: float = 0.6
    smooth: int = 5
    headless: bool = False
    events: str | None = None  # JSON Lines path, or "-" for stdout
    record: str | None = None  # annotated video path
    max_frames: int | None = None
    data: str = "dataset"  # where digit keys save hard examples


@dataclass
class LiveSummary:
    frames: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    labels: list[str | None] = field(default_factory=list)  # stable label per frame
    saved: list[Path] = field(default_factory=list)  # hard examples
    record: Path | None = None
    provider: str = ""
    dropped: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def lines(self) -> list[str]:
        per = {k: v / max(1, self.frames) for k, v in self.stage_ms.items()}
        return [
            f"{self.frames} frames in {self.seconds:.1f} s: {self.fps:.1f} fps on {self.provider}",
            f"inference latency p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms",
            "per frame: " + ", ".join(f"{k} {v:.1f} ms" for k, v in per.items()),
        ]


class Recorder:
    """Annotated video, written to a temporary name and moved into place when complete."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.tmp = path.with_name(f".{path.stem}.tmp{path.suffix or '.mp4'}")
        self.writer: cv2.VideoWriter | None = None

    def write(self, image: np.ndarray) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.suffix.lower() in (".mp4", ".m4v") else "MJPG"))
            self.writer = cv2.VideoWriter(str(self.tmp), fourcc, self.fps, (image.shape[1], image.shape[0]))
        self.writer.write(image)

    def close(self) -> Path | None:
        if self.writer is None:
            return None
        self.writer.release()
        self.tmp.replace(self.path)
        return self.path


def _event_sink(target: str | None) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    return open(target, "w", buffering=1)  # line-buffered: readers see each event as it happens


def _event(frame: Frame, pred: Prediction, stable: str | None, classes: list[str]) -> dict:
    """One JSON Lines record: what other programs react to."""
    return {"frame": frame.index, "time": round(frame.time, 4), "label": pred.label, "score": round(pred.score, 4),
            "probs": {c: round(float(p), 4) for c, p in zip(classes, pred.probs)}, "stable_label": stable,
            "latency_ms": round(pred.latency_ms, 3)}


def _hard_example_class(key: int, classes: list[str]) -> str | None:
    """Digit keys 1-9 name a class (in the model's order) to save the current frame under."""
    index = key - ord("1")
    return classes[index] if 0 <= index < min(9, len(classes)) else None


def run(source: FrameSource, classifier: Classifier, opts: LiveOptions,
        on_frame: Callable[[dict], None] | None = None) -> LiveSummary:
    """Classify every frame until the source ends, max_frames, q/ESC, a closed window or Ctrl-C."""
    smoother = Smoother(classifier.classes, opts.smooth, opts.threshold)
    summary = LiveSummary(provider=short(classifier.provider))
    window = None if opts.headless else Window("thumbs live")
    recorder = Recorder(Path(opts.record), source.fps) if opts.record else None
    sink = _event_sink(opts.events)
    savers: dict[str, Saver] = {}
    start = last = time.perf_counter()
    fps = 0.0
    try:
        frames = iter(source)
        while opts.max_frames is None or summary.frames < opts.max_frames:
            t0 = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            t1 = time.perf_counter()
            tensor = classifier.preprocess(frame.image)
            t2 = time.perf_counter()
            pred = classifier.infer(tensor)
            t3 = time.perf_counter()
            stable, score = smoother.update(pred.probs)
            fps = 0.9 * fps + 0.1 / max(t3 - last, 1e-6) if summary.frames else 1 / max(t3 - t0, 1e-6)
            last = t3
            if sink or on_frame:
                event = _event(frame, pred, stable, classifier.classes)
                if sink:
                    sink.write(json.dumps(event) + "\n")
                if on_frame:
                    on_frame(event)
            key = -1
            if window is not None or recorder is not None:
                canvas = draw_live(frame.image, classifier.classes, pred.probs, stable, score, fps,
                                   pred.latency_ms, opts.threshold)
                if recorder:
                    recorder.write(canvas)
                if window is not None:
                    key = window.show(canvas)
            t4 = time.perf_counter()
            for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                summary.stage_ms[stage] += seconds * 1000
            summary.frames += 1
            summary.latencies_ms.append(pred.latency_ms)
            summary.labels.append(stable)
            if window is not None:
                if key in (ord("q"), ord("Q"), 27) or window.closed():
                    break
                label = _hard_example_class(key, classifier.classes)
                if label:
                    saver = savers.setdefault(label, Saver(Path(opts.data), label, None))
                    summary.saved.append(saver.save(frame.image))
    except KeyboardInterrupt:
        pass
    finally:
        summary.seconds = time.perf_counter() - start
        summary.dropped = source.dropped
        if recorder:
            summary.record = recorder.close()
        if sink and sink is not sys.stdout:
            sink.close()
        if window is not None:
            window.close()
    return summary


def frame_accuracy(predicted: list[str | None], truth: list[str]) -> float:
    """Share of frames whose stable label equals the ground truth (no confident gesture counts as wrong)."""
    n = min(len(predicted), len(truth))
    return sum(p == t for p, t in zip(predicted[:n], truth[:n])) / n if n else 0.0
