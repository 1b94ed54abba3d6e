"""`thumbs live`: frames in, predictions out, handed to sinks (window, recorder, events, hard examples).

The loop only times and dispatches: each frame is preprocessed, classified and smoothed into a `Step`,
and every sink gets that step. Sinks open before the first frame (so a path that cannot be written is
one error line before anything runs) and close on every exit path. A Ctrl-C lands between frames, so
the frame count, the events and the recording always agree."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Protocol

import cv2
import numpy as np

from thumbs.core.backend import Prediction
from thumbs.core.errors import ThumbsError
from thumbs.core.files import is_utf8
from thumbs.data.dataset import Saver
from thumbs.live.overlay import draw_live
from thumbs.live.smoothing import Smoother
from thumbs.live.window import Window
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.providers import short
from thumbs.sources.readers import Frame, FrameSource, SourceSpec

STAGES = ("wait", "preprocess", "inference", "draw")  # draw: every sink (overlay, window, events, video)
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG"}
SPACE_CHECK_EVERY = 30  # frames between checks that the recording's disk has room (and at the first frame)
MIN_FREE_BYTES = 16 * 2**20  # room kept for the writer to finish the file so that it plays


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
    dropped: int = 0  # live frames the loop was too slow to read
    skipped: list[Path] = field(default_factory=list)  # unreadable images of a folder source
    interrupted: bool = False  # ended by Ctrl-C

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def lines(self) -> list[str]:
        per = {k: v / max(1, self.frames) for k, v in self.stage_ms.items()}
        lines = [
            f"{self.frames} frames in {self.seconds:.1f} s: {self.fps:.1f} fps on {self.provider}"
            + (" (interrupted)" if self.interrupted else ""),
            f"inference latency p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms",
            "per frame: " + ", ".join(f"{k} {v:.1f} ms" for k, v in per.items()),
        ]
        if self.dropped:
            lines.append(f"{self.dropped} camera frames dropped: the loop was slower than the camera "
                         "(a smaller --width/--height or a faster provider keeps up)")
        if self.skipped:
            names = ", ".join(p.name for p in self.skipped[:3]) + (", ..." if len(self.skipped) > 3 else "")
            lines.append(f"{len(self.skipped)} unreadable images skipped ({names})")
        return lines


@dataclass
class Step:
    """One frame's result, as every sink sees it; the canvas and the event are built once, on first use."""

    frame: Frame
    pred: Prediction
    stable: str | None
    score: float
    fps: float
    classes: list[str]
    threshold: float
    crop: str
    key: int = -1  # key pressed in the window (-1: none)
    stop: bool = False  # a sink asks the loop to end after this frame

    @cached_property
    def canvas(self) -> np.ndarray:
        """The overlay, on the frame scaled up for display when it is small."""
        return draw_live(self.frame.image, self.classes, self.pred.probs, self.stable, self.score, self.fps,
                         self.pred.latency_ms, self.threshold, self.crop)

    @cached_property
    def event(self) -> dict:
        """One JSON Lines record: what other programs react to."""
        return {"frame": self.frame.index, "time": round(self.frame.time, 4), "label": self.pred.label,
                "score": round(self.pred.score, 4),
                "probs": {c: round(float(p), 4) for c, p in zip(self.classes, self.pred.probs)},
                "stable_label": self.stable, "latency_ms": round(self.pred.latency_ms, 3)}


class Sink(Protocol):
    def open(self) -> None: ...
    def write(self, step: Step) -> None: ...
    def close(self) -> None: ...


def _make_parent(path: Path, option: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ThumbsError(f"{option} '{path}': cannot create its folder '{path.parent}' ({e.strerror}); "
                          "choose a path in a writable folder") from None


def _check_target(path: Path, option: str) -> None:
    if path.is_dir():
        raise ThumbsError(f"{option} '{path}' is a folder: give a file name inside it")
    _make_parent(path, option)


class Recorder:
    """Annotated video, written to a temporary name and moved into place when complete. Frames of another
    size than the first are resized to it (a video has one frame size)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = Path(path), fps
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def open(self) -> None:
        """Check the path and claim the temporary file before the first frame."""
        codec = VIDEO_CODECS.get(self.path.suffix.lower())
        if codec is None:
            raise ThumbsError(f"--record '{self.path}': unknown video type '{self.path.suffix}'; "
                              f"use {' or '.join(VIDEO_CODECS)}")
        _check_target(self.path, "--record")
        if not is_utf8(str(self.tmp)):
            raise ThumbsError(f"--record '{self.path}': its name is not UTF-8 text, which OpenCV cannot write; "
                              "choose a name of plain letters and digits")
        try:
            self.tmp.touch()
        except OSError as e:
            raise ThumbsError(f"--record '{self.path}': cannot write in '{self.path.parent}' ({e.strerror}); "
                              "choose a writable folder") from None

    def write(self, step: Step) -> None:
        self.write_image(step.canvas)

    def write_image(self, image: np.ndarray) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.tmp), fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise ThumbsError(f"--record '{self.path}': OpenCV cannot write this video type here; try .avi")
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1
        if self.frames == 1 or self.frames % SPACE_CHECK_EVERY == 0:
            self._check_space()

    def _check_space(self) -> None:
        """OpenCV's writer drops frames on a full disk with a warning only, and then cannot finish the file:
        stop while it still can, and say why."""
        try:
            disk = os.statvfs(self.tmp.parent)
            per_frame = self.tmp.stat().st_size // self.frames
        except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
            return
        free = disk.f_bavail * disk.f_frsize
        if free < MIN_FREE_BYTES + 2 * SPACE_CHECK_EVERY * per_frame:
            raise ThumbsError(f"--record '{self.path}': the disk is full ({free / 2**20:.1f} MB free); recording "
                              f"stopped after {self.frames} frame(s): free some space or record on another disk")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.frames:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    @property
    def written(self) -> Path | None:
        return self.path if self.frames and self.path.exists() else None


class EventWriter:
    """JSON Lines, one event per frame, flushed as it happens so readers can react live. On stdout a
    reader that goes away (`| head -1`) ends the run quietly."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.stream: IO[str] | None = None

    def open(self) -> None:
        if self.target == "-":
            self.stream = sys.stdout
            return
        path = Path(self.target)
        _check_target(path, "--events")
        try:
            self.stream = open(path, "w", buffering=1, encoding="utf-8")  # noqa: SIM115 (closed in close())
        except OSError as e:
            raise ThumbsError(f"--events '{path}': cannot write it ({e.strerror}); choose a writable place") from None

    def write(self, step: Step) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(json.dumps(step.event) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self._reader_gone()
            step.stop = True

    def _reader_gone(self) -> None:
        """The reader closed the pipe: point stdout at /dev/null so Python's exit flush stays quiet."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        self.stream = None

    def close(self) -> None:
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()
        self.stream = None


class Callback:
    """Hands each event to a function (the Python API's way to react to gestures)."""

    def __init__(self, fn: Callable[[dict], None]) -> None:
        self.fn = fn

    def open(self) -> None:
        pass

    def write(self, step: Step) -> None:
        self.fn(step.event)

    def close(self) -> None:
        pass


class WindowSink:
    """Shows the overlay and reads the keyboard; q, ESC or closing the window ends the run."""

    def __init__(self, title: str = "thumbs live") -> None:
        self.title = title
        self.window: Window | None = None

    def open(self) -> None:
        self.window = Window(self.title)

    def write(self, step: Step) -> None:
        step.key = self.window.show(step.canvas)
        if self.window.quit_requested(step.key):
            step.stop = True

    def close(self) -> None:
        if self.window is not None:
            self.window.close()


class HardExamples:
    """Digit keys 1-9 save the current frame (as the camera gave it) under that class, in the model's order."""

    def __init__(self, data: Path, classes: list[str]) -> None:
        self.data, self.classes = Path(data), classes
        self.savers: dict[str, Saver] = {}
        self.saved: list[Path] = []

    def open(self) -> None:
        pass

    def write(self, step: Step) -> None:
        label = hard_example_class(step.key, self.classes)
        if label:
            saver = self.savers.setdefault(label, Saver(self.data, label, None))
            self.saved.append(saver.save(step.frame.image))

    def close(self) -> None:
        pass


def hard_example_class(key: int, classes: list[str]) -> str | None:
    """Digit keys 1-9 name a class (in the model's order) to save the current frame under."""
    index = key - ord("1")
    return classes[index] if 0 <= index < min(9, len(classes)) else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_outputs(opts: LiveOptions, spec: SourceSpec) -> None:
    """Refuse outputs that would overwrite the input or each other, before anything is written."""
    inputs = list(spec.paths) + ([Path(str(spec.value))] if spec.kind == "video" else [])
    outputs = [(o, Path(p)) for o, p in (("--record", opts.record), ("--events", opts.events)) if p and p != "-"]
    for option, path in outputs:
        if any(_same_file(path, i) or path.resolve() == i.resolve() for i in inputs):
            raise ThumbsError(f"{option} '{path}' is the source being read: writing it would destroy it; "
                              "choose another file name")
    if len(outputs) == 2 and outputs[0][1].resolve() == outputs[1][1].resolve():
        raise ThumbsError(f"--record and --events are the same file '{outputs[0][1]}': give each its own name")


def make_sinks(opts: LiveOptions, classes: list[str], fps: float,
               on_frame: Callable[[dict], None] | None = None) -> list[Sink]:
    """The sinks the options ask for, in dispatch order (the window reads the key the saver needs)."""
    sinks: list[Sink] = []
    if opts.events:
        sinks.append(EventWriter(opts.events))
    if on_frame:
        sinks.append(Callback(on_frame))
    if opts.record:
        sinks.append(Recorder(Path(opts.record), fps))
    if not opts.headless:
        sinks += [WindowSink(), HardExamples(Path(opts.data), classes)]
    return sinks


class _Interrupts:
    """Ctrl-C while a frame is being handled takes effect after it, so every count and file agrees;
    while waiting for a frame it stops at once, and a second Ctrl-C always does."""

    def __init__(self) -> None:
        self.busy = self.pending = False

    def _handler(self, signum, stack) -> None:
        if self.busy and not self.pending:
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[_Interrupts]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread receives signals
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def _open_all(sinks: list[Sink]) -> None:
    for i, sink in enumerate(sinks):
        try:
            sink.open()
        except BaseException:
            _close_all(sinks[:i])
            raise


def _close_all(sinks: list[Sink]) -> None:
    for sink in reversed(sinks):
        sink.close()


def run(source: FrameSource, classifier: Classifier, opts: LiveOptions,
        on_frame: Callable[[dict], None] | None = None) -> LiveSummary:
    """Classify every frame until the source ends, max_frames, q/ESC, a closed window or Ctrl-C."""
    check_outputs(opts, source.spec)
    crop = classifier.crop
    smoother = Smoother(classifier.classes, opts.smooth, opts.threshold)
    summary = LiveSummary(provider=short(classifier.provider))
    sinks = make_sinks(opts, classifier.classes, source.fps, on_frame)
    _open_all(sinks)
    start = last = time.perf_counter()
    fps = 0.0
    try:
        with _Interrupts().installed() as interrupts:
            frames = iter(source)
            while opts.max_frames is None or summary.frames < opts.max_frames:
                t0 = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                interrupts.busy = True
                t1 = time.perf_counter()
                tensor = classifier.preprocess(frame.image)
                t2 = time.perf_counter()
                pred = classifier.infer(tensor)
                t3 = time.perf_counter()
                stable, score = smoother.update(pred.probs)
                fps = 0.9 * fps + 0.1 / max(t3 - last, 1e-6) if summary.frames else 1 / max(t3 - t0, 1e-6)
                last = t3
                step = Step(frame, pred, stable, score, fps, classifier.classes, opts.threshold, crop)
                for sink in sinks:
                    sink.write(step)
                t4 = time.perf_counter()
                for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    summary.stage_ms[stage] += seconds * 1000
                summary.frames += 1
                summary.latencies_ms.append(pred.latency_ms)
                summary.labels.append(stable)
                interrupts.busy = False
                if interrupts.pending:
                    raise KeyboardInterrupt
                if step.stop:
                    break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.perf_counter() - start
        summary.dropped = source.dropped
        summary.skipped = list(getattr(source, "skipped", []))
        _close_all(sinks)
        for sink in sinks:
            if isinstance(sink, Recorder):
                summary.record = sink.written
            elif isinstance(sink, HardExamples):
                summary.saved = sink.saved
    return summary


def frame_accuracy(predicted: list[str | None], truth: list[str]) -> float:
    """Share of frames whose stable label equals the ground truth (no confident gesture counts as wrong)."""
    n = min(len(predicted), len(truth))
    return sum(p == t for p, t in zip(predicted[:n], truth[:n])) / n if n else 0.0
