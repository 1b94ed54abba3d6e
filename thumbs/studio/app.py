"""`thumbs studio`: collect, train and try in one window, as the jetbot notebook and Teachable Machine do.

One loop in the window's thread: a frame comes in (a file or folder plays as a camera would), the live model
(once there is one) classifies it, the view and the panel are drawn, a key is read and acted on. The parts, each
in its file: recording (SPACE, the burst), the live model and its swap (models), training and export in a child
process (background, jobs), capture and review (capturing), the keys (keymap), the event log (events). This
module only wires them. A model that is ready is swapped in between two frames. A stop (q, ESC, the window
closed, Ctrl-C, SIGTERM, SIGHUP) ends the loop between frames; a training in progress is stopped as Ctrl-C stops
`thumbs train`, so its last finished epoch is kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from thumbs.core import signals
from thumbs.data import dataset
from thumbs.live.latency import frame_rate
from thumbs.live.window import Window
from thumbs.sources.readers import Frame, FrameSource
from thumbs.studio import keymap, panel
from thumbs.studio.background import Background
from thumbs.studio.capturing import Capturing
from thumbs.studio.events import StudioEvents
from thumbs.studio.models import LiveModel, LiveModels
from thumbs.studio.options import MAX_CLASSES, StudioOptions, check_classes, check_paths
from thumbs.studio.recording import Recording
from thumbs.studio.summary import StudioSummary

TITLE = "thumbs studio"
HELD_KEY = panel.HELD_KEY
__all__ = ["HELD_KEY", "MAX_CLASSES", "TITLE", "LiveModel", "Studio", "StudioOptions", "StudioSummary",
           "check_classes", "check_paths"]


class Studio:
    """The window's loop, and the parts it hands each frame and key to."""

    def __init__(self, source: FrameSource, opts: StudioOptions, window: Window,
                 log: Callable[[str], None] = print) -> None:
        self.source, self.opts, self.window, self.log = source, opts, window, log
        self.classes = opts.classes
        self.state = panel.PanelState([], 0)
        self.events = StudioEvents(opts.events)
        self.recording = Recording(opts.data, self.classes, opts.interval, self.state, self.events)
        self.summary = StudioSummary(self.recording.session, saved=self.recording.saved)
        self.models = LiveModels(opts.provider, opts.smooth, opts.threshold)
        self.background = Background(opts.train, self.state, self.events, self.models, self._go_live, log,
                                     self.summary.problems)
        self.capturing = Capturing(opts.captures, str(source.spec.value) if source else "", window, self.state,
                                   self.events, self.recording)
        self.fps = 0.0
        self._note_other_classes()

    def _note_other_classes(self) -> None:
        """Training reads every class folder: one not in --classes becomes a class of the model too."""
        other = [c for c in (dataset.class_names(self.opts.data) if self.opts.data.is_dir() else [])
                 if c not in self.classes]
        if other:
            note = (f"note: {self.opts.data} also holds {', '.join(other)}: training learns those classes too "
                    "(move their folders out of it to leave them out)")
            self.state.message = note
            self.log(note)

    def run(self) -> StudioSummary:
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
            self.background.drain()
            for step in self.models.classify(frame):
                self.capturing.write(step)
                self.events.frame(step)
            self.state.fps = self.fps
            key = self.window.show(panel.compose(self._view(frame), self.state))
            self.recording.auto_save(frame)
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

    def _view(self, frame: Frame) -> np.ndarray:
        """The model's view of the frame, with a white border for a moment after a save."""
        view = self.models.view(frame)
        if self.recording.flash:
            cv2.rectangle(view, (0, 0), (view.shape[1] - 1, view.shape[0] - 1), (255, 255, 255), 12)
            self.recording.flash -= 1
        return view

    def _count_frame(self, seconds: float) -> None:
        self.summary.frames += 1
        self.fps = frame_rate(self.fps if self.summary.frames > 1 else None, seconds)
        if self.background.training:
            self.summary.training_frames += 1
            self.summary.training_seconds += seconds

    def _on_key(self, key: int, frame: Frame) -> None:
        live = self.models.live
        keymap.dispatch(key, len(self.classes), self.recording.select, {
            "save": lambda: self.recording.save(frame), "auto": self.recording.toggle_auto,
            "train": lambda: self.background.train(self.recording),
            "capture": lambda: self.capturing.toggle(live.onnx if live else None),
            "review": self.capturing.review, "export": self.background.export,
            "use_held": self.background.use_held})

    def _start_with(self, path: Path) -> None:
        """--from: the model is live at once when its .onnx is at hand, else after a background export."""
        model = self.models.opened(path, self.log)
        if model is not None:
            self._go_live(model)
        else:
            self.background.export_for_live(path)

    def _go_live(self, model: LiveModel) -> None:
        """Switch between two frames; a capture in progress goes on, naming the new model."""
        self.models.swap(model)
        self.summary.live = model
        self.state.model = model.describe()
        self.state.message = f"now live: {model.onnx}"
        self.log(f"now live: {model.describe()}")
        self.capturing.restart(model.onnx)

    def _finish(self, why: str) -> None:
        self.background.finish()
        self.capturing.stop()
        self.models.close()
        if self.models.held is not None:
            self.summary.problems.append(f"training: {self.models.held.onnx} has not learned and was not put live "
                                         f"({HELD_KEY} in the window puts such a model live)")
        s, live = self.summary, self.models.live
        self.events.emit("quit", why=why, saved=s.saved, frames=s.frames, fps=round(s.fps, 1),
                         training_fps=round(s.training_fps, 1) if s.training_fps else None,
                         live=str(live.onnx) if live else None)
        self.events.close()
