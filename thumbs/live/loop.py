"""`thumbs live`: frames in, predictions out, handed to sinks (window, recorder, events, hard examples, captures).

The loop only times and dispatches: each frame is preprocessed, classified and smoothed into a `Step`,
and every sink gets that step. Sinks open before the first frame (so a path that cannot be written is
one error line before anything runs) and close on every exit path. A stop signal (Ctrl-C, SIGTERM,
SIGHUP) lands between frames, so the frame count, the events and the recording always agree."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from thumbs.core import signals
from thumbs.core.backend import Prediction
from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir, ensure_dir
from thumbs.core.model_info import labels_path
from thumbs.core.outputs import check_queue
from thumbs.data.dataset import Saver
from thumbs.live.capture import CaptureOptions, CaptureReport, CaptureSink
from thumbs.live.latency import LatencyHistogram, frame_rate
from thumbs.live.overlay import draw_live
from thumbs.live.recorder import Recorder, check_record, safe_copy
from thumbs.live.smoothing import Smoother
from thumbs.live.window import Window, digit_class
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.loader import TORCH_SUFFIXES, exported_path, served_scheme
from thumbs.runtime.providers import short
from thumbs.sources.readers import Frame, FrameSource, SourceSpec

EMPTY_EVENTS = "--events '': give a file name, or - for stdout (an unset variable in a script?)"
STAGES = ("wait", "preprocess", "inference", "draw")  # draw: every sink (overlay, window, events, video)


@dataclass
class LiveOptions:
    threshold: float = 0.6
    smooth: int = 5
    headless: bool = False
    events: str | None = None  # JSON Lines path, or "-" for stdout
    record: str | None = None  # annotated video path
    max_frames: int | None = None
    data: str = "dataset"  # where digit keys save hard examples
    keep_labels: bool = False  # keep every frame's stable label in the summary (the demo scores them); memory grows
    capture: CaptureOptions | None = None  # keep the unsure and sampled frames (live/capture.py)


@dataclass
class LiveSummary:
    """What a run did, in memory that stays the same however long it runs, unless per-frame labels are asked for."""

    frames: int = 0
    seconds: float = 0.0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)  # inference ms, for p50/p95
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    labels: list[str | None] | None = None  # stable label per frame: only with LiveOptions(keep_labels=True)
    saved: list[Path] = field(default_factory=list)  # hard examples
    record: Path | None = None
    provider: str = ""
    dropped: int = 0  # live frames the loop was too slow to read
    skipped: list[Path] = field(default_factory=list)  # unreadable images of a folder source
    interrupted: bool = False  # ended by a stop signal (Ctrl-C, SIGTERM, SIGHUP)
    captured: CaptureReport | None = None  # what --capture kept and why

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return self.latency.percentile(q)

    def add_frame(self, latency_ms: float, stable: str | None, stage_seconds: tuple[float, ...]) -> None:
        """One frame's bookkeeping: counts, per-stage time, the latency histogram, the label when kept."""
        for stage, seconds in zip(STAGES, stage_seconds):
            self.stage_ms[stage] += seconds * 1000
        self.frames += 1
        self.latency.add(latency_ms)
        if self.labels is not None:
            self.labels.append(stable)

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
        if self.captured:
            lines += self.captured.lines()
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
                         self.pred.latency_ms, self.threshold, self.crop, hands=self.pred.hands)

    @cached_property
    def event(self) -> dict:
        """One JSON Lines record: what other programs react to. A frame the model gave no answer for (a lost
        server) has label null and "failed": why."""
        failed = {"label": None, "failed": self.pred.failed} if self.pred.failed else {}
        return {"frame": self.frame.index, "time": round(self.frame.time, 4), "label": self.pred.label,
                "score": round(self.pred.score, 4),
                "probs": {c: round(float(p), 4) for c, p in zip(self.classes, self.pred.probs)},
                "stable_label": self.stable, "latency_ms": round(self.pred.latency_ms, 3), **failed,
                **({} if self.pred.hands is None else {"hands": [h.to_event() for h in self.pred.hands]})}


class Sink(Protocol):
    def open(self) -> None: ...
    def write(self, step: Step) -> None: ...
    def close(self) -> None: ...


class EventWriter:
    """JSON Lines, one event per frame, flushed as it happens so readers can react live. An existing event
    log is appended to (a service restarted by systemd keeps one log; each run's frames count from 0 again).
    On stdout a reader that goes away (`| head -1`) ends the run quietly."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.stream: IO[str] | None = None
        self.made = False  # this run created the file: closed with no line written, it is removed again
        self.lines = 0

    def open(self) -> None:
        if self.target == "-":
            self.stream = sys.stdout
            return
        path = Path(self.target)
        ensure_dir(path.parent)
        self.made = not path.exists()
        try:
            self.stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (closed in close())
        except OSError as e:
            raise ThumbsError(f"--events '{path}': cannot write it ({e.strerror}); choose a writable place") from None

    def write(self, step: Step) -> None:
        if not self.emit(step.event):
            step.stop = True

    def emit(self, record: dict) -> bool:
        """Write one record as a line, flushed; False once the reader of stdout went away."""
        if self.stream is None:
            return self.target != "-"
        try:
            self.stream.write(json.dumps(record) + "\n")
            self.stream.flush()
            self.lines += 1
        except BrokenPipeError:
            self._reader_gone()
            return False
        except OSError as e:  # a full disk: say which output, the lines so far are kept
            from thumbs.core.files import os_error_line

            raise ThumbsError(f"--events '{self.target}': {os_error_line(e, 'cannot write it')}; the events "
                              "written so far are kept") from None
        return True

    def _reader_gone(self) -> None:
        """The reader closed the pipe: point stdout at /dev/null so Python's exit flush stays quiet."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        self.stream = None

    def close(self) -> None:
        """Closed; an event log this run made and never wrote a line to is removed (no 0-byte file left)."""
        stream, self.stream = self.stream, None  # closed even when the close fails: no write reaches it after
        if stream is not None and stream is not sys.stdout:
            with contextlib.suppress(OSError):  # a full disk refuses the last flush; emit has said so already
                stream.close()
            if self.made and not self.lines:
                Path(self.target).unlink(missing_ok=True)


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
    index = digit_class(key, len(classes))
    return None if index is None else classes[index]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _is_event_log(path: Path) -> bool:
    """Empty, or its first line is a JSON object: a log that --events may append to."""
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 16)
        return not first or isinstance(json.loads(first), dict)
    except (OSError, ValueError):
        return False


def check_outputs(opts: LiveOptions, spec: SourceSpec, model: Path | None = None) -> None:
    """Every reason an output would fail or destroy a file (the model, its labels, its export, the source,
    each other), said before any file is opened."""
    if opts.events == "":
        raise ThumbsError(EMPTY_EVENTS)
    reads = [(p, "the source being read") for p in spec.paths]
    if spec.kind == "video":
        reads.append((Path(str(spec.value)), "the source being read"))
    if model is not None:
        models = [model] + ([exported_path(model)] if model.suffix.lower() in TORCH_SUFFIXES else [])
        reads += [(m, "the model being run") for m in models] + [(labels_path(m), "the model's labels file")
                                                                  for m in models]
    record = Path(opts.record) if opts.record else None
    events = Path(opts.events) if opts.events and opts.events != "-" else None
    for option, path in (("--record", record), ("--events", events)):
        for read, what in reads:
            if path is not None and _same_file(path, read):
                raise ThumbsError(f"{option} '{path}' is {what}: writing it would destroy it; choose another name")
    if record and events and (_same_file(events, record) or _same_file(events, safe_copy(record))):
        raise ThumbsError(f"--record and --events are the same file '{events}': give each its own name")
    if record:
        check_record(record)
    if events:
        check_events(events)
    if opts.capture:  # not in --data (where digit keys save), nor the folder of the images being read
        check_queue(Path(opts.capture.folder), "--capture", Path(opts.data), spec.paths)


def check_events(path: Path) -> None:
    if path.is_dir():
        raise ThumbsError(f"--events '{path}' is a folder: give a file name inside it")
    if path.exists() and not (path.is_file() and _is_event_log(path)):
        raise ThumbsError(f"--events '{path}' exists and is not an event log (JSON Lines): choose a new name; "
                          "an existing event log is appended to")
    check_writable_dir(path.parent, "--events", create=False)


def make_sinks(opts: LiveOptions, classes: list[str], fps: float,
               on_frame: Callable[[dict], None] | None = None, model: Path | str | None = None,
               source: str = "") -> list[Sink]:
    """The sinks the options ask for, in dispatch order (the window reads the key the saver needs)."""
    sinks: list[Sink] = []
    if opts.capture and model is not None:
        sinks.append(CaptureSink(opts.capture, model, source))
    if opts.events:
        sinks.append(EventWriter(opts.events))
    if on_frame:
        sinks.append(Callback(on_frame))
    if opts.record:
        sinks.append(Recorder(Path(opts.record), fps))
    if not opts.headless:
        sinks += [WindowSink(), HardExamples(Path(opts.data), classes)]
    return sinks


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
    """Classify every frame until the source ends, max_frames, q/ESC, a closed window or a stop signal
    (Ctrl-C, SIGTERM, SIGHUP: the frame in hand is finished first, thumbs.core.signals)."""
    model = getattr(classifier, "path", None)
    check_outputs(opts, source.spec, Path(model) if model and not served_scheme(model) else None)  # a URL: no file
    summary = LiveSummary(provider=short(classifier.provider), labels=[] if opts.keep_labels else None)
    captured_by = classifier.path if opts.capture else None  # captures name the model that kept them
    sinks = make_sinks(opts, classifier.classes, source.fps, on_frame, captured_by, str(source.spec.value))
    with signals.stop_signals(hand_on=False):
        _open_all(sinks)
        start = time.perf_counter()
        try:
            _frames(source, classifier, opts, sinks, summary)
        except KeyboardInterrupt:  # while waiting for a frame, or a second signal: nothing is half-written
            summary.interrupted = True
        finally:
            summary.interrupted = summary.interrupted or signals.requested() is not None
            summary.seconds = time.perf_counter() - start
            summary.dropped = source.dropped
            summary.skipped = list(getattr(source, "skipped", []))
            with signals.deferred():
                _close_all(sinks)
            for sink in sinks:
                if isinstance(sink, Recorder):
                    summary.record = sink.written
                elif isinstance(sink, HardExamples):
                    summary.saved = sink.saved
                elif isinstance(sink, CaptureSink):
                    summary.captured = sink.report
    return summary


def _frames(source: FrameSource, classifier: Classifier, opts: LiveOptions, sinks: list[Sink],
            summary: LiveSummary) -> None:
    """The loop: a stop request is taken between frames, so the count, the events, the video and the hard
    examples always agree."""
    smoother = Smoother(classifier.classes, opts.smooth, opts.threshold)
    stable, score = None, 0.0
    frames = iter(source)
    fps, last = 0.0, time.perf_counter()
    while (opts.max_frames is None or summary.frames < opts.max_frames) and signals.requested() is None:
        t0 = time.perf_counter()
        frame = next(frames, None)
        if frame is None:
            break
        with signals.deferred(second_stops=True):
            t1 = time.perf_counter()
            tensor = classifier.preprocess(frame.image)
            t2 = time.perf_counter()
            pred = classifier.infer(tensor)
            t3 = time.perf_counter()
            if not pred.failed:  # an unanswered frame keeps the label shown (its event says it failed)
                stable, score = smoother.update(pred.probs)
            fps = frame_rate(fps, t3 - last) if summary.frames else frame_rate(None, t3 - t0)
            last = t3
            step = Step(frame, pred, stable, score, fps, classifier.classes, opts.threshold, classifier.crop)
            for sink in sinks:
                sink.write(step)
            t4 = time.perf_counter()
            summary.add_frame(pred.latency_ms, stable, (t1 - t0, t2 - t1, t3 - t2, t4 - t3))
        if step.stop:
            break


def frame_accuracy(predicted: list[str | None], truth: list[str]) -> float:
    """Share of frames whose stable label equals the ground truth (no confident gesture counts as wrong)."""
    n = min(len(predicted), len(truth))
    return sum(p == t for p, t in zip(predicted[:n], truth[:n])) / n if n else 0.0
