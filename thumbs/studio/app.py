"""`thumbs studio`: collect, train and try in one window, as the jetbot notebook and Teachable Machine do.

One loop in the window's thread: a frame comes in (a file or folder plays as a camera would), the live model
(once there is one) classifies it, the view and the panel are drawn, a key is read and acted on. Training and
export run in a child process (studio/jobs.py); their events are drained here once per frame, and a model that
is ready is swapped in between two frames. Saving uses collect's never-overwriting writer, one session per
studio run. A stop (q, ESC, the window closed, Ctrl-C, SIGTERM, SIGHUP) ends the loop between frames; a
training in progress is stopped as Ctrl-C stops `thumbs train`, so its last finished epoch is kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from thumbs.core import signals
from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file
from thumbs.data import captures, dataset
from thumbs.data.dataset import Saver
from thumbs.live.capture import CaptureOptions, CaptureSink
from thumbs.live.collect import class_counts, class_sessions, suggestion
from thumbs.live.loop import EMPTY_EVENTS, EventWriter, Step, check_events
from thumbs.live.overlay import draw_live
from thumbs.live.review import review
from thumbs.live.smoothing import Smoother
from thumbs.live.window import Window
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.loader import exported_from, exported_path
from thumbs.sources.readers import Frame, FrameSource
from thumbs.studio import panel
from thumbs.studio.classify import NewestFrameClassifier
from thumbs.studio.jobs import Job
from thumbs.train_config import TrainConfig, check_settings

TITLE = "thumbs studio"
MAX_CLASSES = 9  # one digit key each


@dataclass
class StudioOptions:
    classes: list[str]
    data: Path = Path("dataset")
    train: dict = field(default_factory=dict)  # TrainConfig fields of the first training (train's options)
    start_from: Path | None = None  # a model to start with: RUN/best.pt (retrained by t) or an .onnx
    events: str | None = None  # JSON Lines path, or "-" for stdout
    interval: float = 0.2  # seconds between the saves of an automatic burst
    captures: Path = Path("captures")  # the review queue that c fills
    threshold: float = 0.6
    smooth: int = 5
    provider: str = "auto"


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


@dataclass
class StudioSummary:
    session: str
    saved: dict[str, int] = field(default_factory=dict)
    live: LiveModel | None = None
    frames: int = 0
    seconds: float = 0.0
    training_frames: int = 0  # frames shown while a training ran, and in what time: the preview's rate then
    training_seconds: float = 0.0
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)  # trainings that failed or were stopped, and why

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def training_fps(self) -> float | None:
        return self.training_frames / self.training_seconds if self.training_seconds else None

    def lines(self, data: Path) -> list[str]:
        saved = sum(self.saved.values())
        per = ", ".join(f"{k} {v}" for k, v in self.saved.items())
        lines = [f"saved {saved} frame(s) to {data} as session {self.session}" + (f" ({per})" if per else "")]
        lines.append(f"live model: {self.live.describe()}" if self.live else "no model went live")
        while_training = f"; {self.training_fps:.1f} fps while training" if self.training_fps else ""
        lines.append(f"preview: {self.frames} frames at {self.fps:.1f} fps{while_training}")
        lines += self.problems
        if self.live:
            lines.append(f"next: `thumbs live --model {self.live.onnx}` runs it anywhere (a Jetson too)")
        return lines


def _rate(previous: float | None, seconds: float) -> float:
    """Frames per second, smoothed over the last ten or so (the first interval alone when there is none yet)."""
    now = 1 / max(seconds, 1e-6)
    return now if previous is None else 0.9 * previous + 0.1 * now


def check_classes(classes: list[str]) -> list[str]:
    """--classes: 2 to 9 distinct, valid class names (each has a digit key)."""
    names = [c.strip() for c in classes if c.strip()]
    for name in names:
        dataset.validate_label(name)
    if len({n.casefold() for n in names}) != len(names):
        raise ThumbsError(f"--classes '{','.join(classes)}' names a class twice (up and UP are one folder on "
                          "Windows and macOS): give each class once")
    if not 2 <= len(names) <= MAX_CLASSES:
        raise ThumbsError(f"--classes '{','.join(classes)}': give 2 to {MAX_CLASSES} classes (keys 1-9), "
                          "e.g. up,down,none")
    return names


def check_paths(opts: StudioOptions) -> None:
    """What would fail or mix files up, said before the window opens."""
    if opts.data.exists() and not opts.data.is_dir():
        raise ThumbsError(f"--data '{opts.data}' is a file: give a folder (one sub-folder per class)")
    data, queue = opts.data.resolve(), opts.captures.resolve()
    if queue == data or data in queue.parents:
        raise ThumbsError(f"--captures '{opts.captures}' is inside the data folder '{opts.data}': its frames would "
                          "train as a class before anyone labels them; choose a folder beside it")
    if opts.start_from is not None:
        existing_file(opts.start_from, "--from", ": give a run's best.pt (or an exported .onnx)")
    if opts.events == "":
        raise ThumbsError(EMPTY_EVENTS)
    if opts.events and opts.events != "-":
        check_events(Path(opts.events))
    check_settings(TrainConfig(**{**opts.train, "data": str(opts.data)}))  # the first training's, as train's


class Studio:
    def __init__(self, source: FrameSource, opts: StudioOptions, window: Window,
                 log: Callable[[str], None] = print) -> None:
        self.source, self.opts, self.window, self.log = source, opts, window, log
        self.classes = opts.classes
        self.session = dataset.new_session_id()
        self.summary = StudioSummary(self.session)
        self.savers: dict[str, Saver] = {}
        self.counts = class_counts(opts.data)
        self.sessions = class_sessions(opts.data)
        self.state = panel.PanelState(panel.class_rows(self.classes, self.counts, self.sessions), 0)
        self.events = EventWriter(opts.events) if opts.events else None
        self.live: LiveModel | None = None
        self.smoother: Smoother | None = None
        self.classifying: NewestFrameClassifier | None = None  # the live model, on its own thread
        self.step: Step | None = None  # the newest frame it classified
        self.model_fps, self.classified_at = 0.0, 0.0
        self.job: Job | None = None
        self.capture: CaptureSink | None = None
        self.auto_last: float | None = None
        self.flash = 0
        self.fps = 0.0
        self._refresh()
        self._note_other_classes()

    def _note_other_classes(self) -> None:
        """Training reads every class folder: one not in --classes becomes a class of the model too."""
        other = [c for c in (dataset.class_names(self.opts.data) if self.opts.data.is_dir() else [])
                 if c not in self.classes]
        if other:
            note = (f"note: {self.opts.data} also holds {', '.join(other)}: training learns those classes too "
                    "(move their folders out of it to leave them out)")
            self.say(note)
            self.log(note)

    # --- events -------------------------------------------------------------------------------------------
    def emit(self, event: str, **fields: object) -> None:
        self._write({"event": event, "time": round(time.time(), 3), **fields})

    def _write(self, record: dict) -> None:
        """One event line; a log that cannot be written (a full disk) ends the studio once, in one line."""
        if self.events is None:
            return
        try:
            self.events.emit(record)
        except ThumbsError:
            self.events.close()
            self.events = None
            raise

    def say(self, message: str) -> None:
        self.state.message = message

    # --- the loop -----------------------------------------------------------------------------------------
    def run(self) -> StudioSummary:
        if self.events is not None:
            self.events.open()
        why = "source ended"
        with signals.stop_signals(hand_on=False):
            try:
                if self.opts.start_from:
                    self._start_with(Path(self.opts.start_from))
                why = self._loop()
            except KeyboardInterrupt:
                self.summary.interrupted = True
            finally:
                self.summary.interrupted = self.summary.interrupted or signals.requested() is not None
                if self.summary.interrupted:
                    why = signals.name(signals.requested()) if signals.requested() else "Ctrl-C"
                with signals.deferred():
                    self._finish(why)
        return self.summary

    def _loop(self) -> str:
        start = last = time.perf_counter()
        for frame in self.source.as_camera():
            self._drain()
            self._classify(frame)
            view = self._view(frame)
            if self.flash:
                cv2.rectangle(view, (0, 0), (view.shape[1] - 1, view.shape[0] - 1), (255, 255, 255), 12)
                self.flash -= 1
            self.state.fps = self.fps
            key = self.window.show(panel.compose(view, self.state))
            self._auto_save(frame)
            now = time.perf_counter()
            self._count_frame(now - last)
            last = now
            self.summary.seconds = now - start
            if self.window.quit_requested(key):
                return "window closed" if self.window.closed() else "quit key"
            self._on_key(key, frame)
            if self.window.closed():  # closed during a review, which the key started
                return "window closed"
            if signals.requested():
                return signals.name(signals.requested())
        return "source ended"

    def _count_frame(self, seconds: float) -> None:
        self.summary.frames += 1
        self.fps = _rate(self.fps if self.summary.frames > 1 else None, seconds)
        if self.job is not None and self.job.running and self.job.kind == "train":
            self.summary.training_frames += 1
            self.summary.training_seconds += seconds

    def _classify(self, frame: Frame) -> None:
        """Offer the frame to the live model's thread; each frame it classified since becomes a step."""
        if self.classifying is None:
            return
        self.classifying.offer(frame)
        clf = self.classifying.classifier
        for classified, pred in self.classifying.results():
            now = time.perf_counter()
            if self.step is not None:
                self.model_fps = _rate(self.model_fps if self.model_fps else None, now - self.classified_at)
            self.classified_at = now
            stable, score = self.smoother.update(pred.probs)
            self.step = Step(classified, pred, stable, score, self.model_fps, clf.classes, self.opts.threshold,
                             clf.crop)
            self._frame_sinks(self.step)

    def _view(self, frame: Frame) -> np.ndarray:
        """This frame, with the newest prediction's overlay once a model is live."""
        step = self.step
        if step is None:
            return panel.preview(frame.image)
        return draw_live(frame.image, step.classes, step.pred.probs, step.stable, step.score, self.model_fps,
                         step.pred.latency_ms, step.threshold, step.crop, hands=step.pred.hands)

    def _frame_sinks(self, step: Step) -> None:
        if self.capture is not None:
            before = self.capture.report.count
            self.capture.write(step)
            if self.capture.report.count > before:
                self.state.capture = self._capture_line()
        self._write({"event": "frame", **step.event})

    # --- keys ---------------------------------------------------------------------------------------------
    def _on_key(self, key: int, frame: Frame) -> None:
        index = key - ord("1")
        if 0 <= index < len(self.classes):
            self.state.selected = index
            self._refresh()
            self.say(f"selected {index + 1}: {self.classes[index]}")
        elif key == ord(" "):
            self._save(frame)
        else:
            action = {ord("a"): self._toggle_auto, ord("t"): self._train, ord("c"): self._toggle_capture,
                      ord("r"): self._review, ord("e"): self._export}.get(key)
            if action is not None:
                action()

    def _label(self) -> str:
        return self.classes[self.state.selected]

    def _save(self, frame: Frame) -> None:
        label = self._label()
        saver = self.savers.get(label) or self.savers.setdefault(label, Saver(self.opts.data, label, None,
                                                                               self.session))
        path = saver.save(frame.image)
        if not self.summary.saved.get(label):
            self.sessions[label] = self.sessions.get(label, 0) + 1
        self.summary.saved[label] = self.summary.saved.get(label, 0) + 1
        self.counts[label] = self.counts.get(label, 0) + 1
        self.flash = 2
        self._refresh()
        self.say(f"saved {path.name} to {label}")
        self.emit("saved", **{"class": label, "path": str(path)})

    def _auto_save(self, frame: Frame) -> None:
        if self.state.auto and (self.auto_last is None or frame.time - self.auto_last >= self.opts.interval):
            self.auto_last = frame.time
            self._save(frame)

    def _toggle_auto(self) -> None:
        self.state.auto, self.auto_last = not self.state.auto, None
        self.say(f"automatic burst into '{self._label()}' every {self.opts.interval:g} s" if self.state.auto
                 else "automatic burst stopped")

    def _refresh(self) -> None:
        self.state.rows = panel.class_rows(self.classes, self.counts, self.sessions)
        label = self._label()
        self.state.hint = suggestion(label, self.counts.get(label, 0), self.sessions.get(label, 0))

    # --- training and models ------------------------------------------------------------------------------
    def _busy(self) -> bool:
        if self.job is not None and self.job.running:
            self.say(f"busy: the {self.job.kind} is still running (q quits and keeps its last finished epoch)")
            return True
        return False

    def _train(self) -> None:
        if self._busy():
            return
        empty = [(i, c) for i, c in enumerate(self.classes) if not self.counts.get(c)]
        if empty:
            i, name = empty[0]
            self._failed(f"class '{name}' has no frames: select it ({i + 1}) and press SPACE or a to record it, "
                         "then t", started=False)
            return
        warm = self.live is not None and self.live.checkpoint is not None
        config = {**self.opts.train, "data": str(self.opts.data)}
        spec = {"kind": "train", "config": config}
        if warm:
            spec["from"] = str(self.live.checkpoint)
            spec["config"] = {k: v for k, v in config.items() if k in ("data", "batch_size", "device", "seed",
                                                                      "cache")}
        if not self._start_job(spec):
            return
        self.state.training = [f"starting: {'retraining ' + str(self.live.checkpoint) if warm else 'a new model'}"]
        self.state.failed, self.state.progress = False, 0.0
        self.emit("train_started", warm_start=warm, **({"from": spec["from"]} if warm else {}))
        self.say("training in the background; the live model stays until the new one is ready")

    def _start_job(self, spec: dict) -> bool:
        try:
            self.job = Job(spec, load=self._load)
        except ThumbsError as e:
            self._failed(str(e), started=False)
            return False
        return True

    def _load(self, event: dict) -> LiveModel:
        """In the job's reader thread: the new model is opened before it replaces the live one."""
        onnx = Path(event["onnx"])
        clf = Classifier.load(onnx, self.opts.provider, log=lambda m: None)
        return LiveModel(clf, onnx, Path(event["checkpoint"]), event.get("accuracy"),
                         event.get("headline") or "validation accuracy")

    def _start_with(self, path: Path) -> None:
        """--from: the model is live at once when its .onnx is at hand, else after a background export."""
        if path.suffix.lower() == ".onnx":
            beside = path.with_suffix(".pt")
            checkpoint = beside if exported_from(path, beside) else None
            self._go_live(LiveModel(Classifier.load(path, self.opts.provider, log=self.log), path, checkpoint))
        elif exported_from(exported_path(path), path):
            onnx = exported_path(path)
            self._go_live(LiveModel(Classifier.load(onnx, self.opts.provider, log=self.log), onnx, path))
        elif self._start_job({"kind": "export", "checkpoint": str(path)}):
            self.state.training = [f"exporting {path} to ONNX for live"]

    def _drain(self) -> None:
        if self.job is None:
            return
        for event in self.job.events():
            kind = event.get("event")
            if kind == "batch":
                done = (event["epoch"] - 1 + event["batch"] / max(1, event["batches"])) / max(1, event["epochs"])
                self.state.progress = done
                self.state.training = [f"epoch {event['epoch']} of {event['epochs']}: batch {event['batch']} of "
                                       f"{event['batches']}"]
            elif kind == "epoch":
                self.emit("epoch", **{k: v for k, v in event.items() if k != "event"})
            elif kind == "model_ready":
                self._model_ready(event)
            elif kind == "failed":
                self._failed(event["why"], started=True, what=self.job.kind)
            elif kind == "interrupted":
                resume = f"; continue it with `{event['resume']}`" if event.get("resume") else ""
                self._failed(f"stopped: {event.get('kept')}{resume}", started=True, what=self.job.kind)

    def _model_ready(self, event: dict) -> None:
        model: LiveModel = event["model"]
        self.state.progress, self.state.failed = None, False
        if self.job is not None and self.job.kind == "train":
            self.state.training = [f"done: {model.headline} {model.accuracy:.0%}" if model.accuracy is not None
                                   else "done"]
        else:
            self.state.training = ["idle"]
        self._go_live(model)
        self.emit("model_ready", run=event.get("run"), accuracy=model.accuracy, headline=model.headline,
                  onnx=str(model.onnx),
                  checkpoint=str(model.checkpoint) if model.checkpoint else None)

    def _go_live(self, model: LiveModel) -> None:
        """Switch between two frames; a capture in progress goes on, naming the new model."""
        self.live = self.summary.live = model
        if self.classifying is not None:
            self.classifying.close()
        self.classifying, self.step = NewestFrameClassifier(model.classifier), None
        self.smoother = Smoother(model.classifier.classes, self.opts.smooth, self.opts.threshold)
        self.state.model = model.describe()
        self.say(f"now live: {model.onnx}")
        self.log(f"now live: {model.describe()}")
        if self.capture is not None:
            self._stop_capture()
            self._start_capture()

    def _failed(self, why: str, started: bool, what: str = "train") -> None:
        """A training (or export) that failed, was stopped or could not start: said in the panel, the terminal
        and the events; the live model stays."""
        self.state.training, self.state.failed, self.state.progress = [why], True, None
        name = "training" if what == "train" else what
        self.summary.problems.append(f"{name}: {why}")
        self.log(f"{name} {'failed' if started else 'not started'}: {why}")
        self.emit(f"{what}_failed", why=why, started=started)

    def _export(self) -> None:
        live = self.live
        if live is None:
            self.say("no model yet: record each class, then press t")
        elif live.checkpoint is None or exported_from(live.onnx, live.checkpoint):
            labels = live.onnx.with_suffix(".labels.txt")
            self.say(f"exported: {live.onnx} and {labels.name}; run it anywhere with "
                     f"`thumbs live --model {live.onnx}`")
            self.emit("exported", onnx=str(live.onnx), labels=str(labels))
        elif not self._busy() and self._start_job({"kind": "export", "checkpoint": str(live.checkpoint)}):
            self.say(f"exporting {live.checkpoint}")

    # --- capture and review -------------------------------------------------------------------------------
    def _capture_line(self) -> str:
        kept = self.capture.report.count if self.capture else 0
        return f"capturing unsure frames into {self.opts.captures} ({kept} kept; r reviews)"

    def _start_capture(self) -> None:
        options = CaptureOptions(self.opts.captures, every=1.0, max=500, sample=1.0)
        self.capture = CaptureSink(options, self.live.onnx, str(self.source.spec.value), warn=self.say)
        self.capture.open()
        self.state.capture = self._capture_line()

    def _stop_capture(self) -> None:
        if self.capture is not None:
            self.capture.close()
        self.capture, self.state.capture = None, ""

    def _toggle_capture(self) -> None:
        if self.live is None:
            self.say("capture keeps the frames the live model is unsure of: train one first (t)")
            return
        if self.capture is None:
            self._start_capture()
            self.say(f"capture on: unsure frames go to {self.opts.captures}")
        else:
            kept = self.capture.report.count
            self._stop_capture()
            self.say(f"capture off ({kept} kept); r reviews them")
        self.emit("capture", on=self.capture is not None, folder=str(self.opts.captures))

    def _review(self) -> None:
        folder = self.opts.captures
        if not folder.is_dir() or not captures.waiting(folder):
            self.say(f"nothing waits in {folder}: c keeps the frames the live model is unsure of")
            return
        self.state.auto = False
        decisions = review(folder, self.opts.data, window=self.window)
        self.counts, self.sessions = class_counts(self.opts.data), class_sessions(self.opts.data)
        self._refresh()
        discarded = sum(d.label == captures.DISCARD for d in decisions)
        self.say(f"reviewed {len(decisions)}: {len(decisions) - discarded} labelled, {discarded} discarded; "
                 "t retrains with them")
        self.emit("review", labelled=len(decisions) - discarded, discarded=discarded)

    # --- the end ------------------------------------------------------------------------------------------
    def _finish(self, why: str) -> None:
        if self.job is not None and self.job.running:
            self.log(f"stopping the {self.job.kind}" + (": its last finished epoch is kept" if self.job.kind == "train"
                                                         else ""))
            self.job.stop()
            self._drain()
        elif self.job is not None:
            self.job.close()
        self._stop_capture()
        if self.classifying is not None:
            self.classifying.close()
        s = self.summary
        self.emit("quit", why=why, saved=s.saved, frames=s.frames, fps=round(s.fps, 1),
                  training_fps=round(s.training_fps, 1) if s.training_fps else None,
                  live=str(self.live.onnx) if self.live else None)
        if self.events is not None:
            self.events.close()
