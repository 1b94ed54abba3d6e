"""Capture and review in the studio: c keeps the frames the live model is unsure of in the review queue (live's
own capture sink), r labels them into the data folder (live's review), so t retrains with them."""

from __future__ import annotations

from pathlib import Path

from thumbs.data import captures
from thumbs.live.capture import CaptureOptions, CaptureSink
from thumbs.live.loop import Step
from thumbs.live.review import review
from thumbs.live.window import Window
from thumbs.studio import panel
from thumbs.studio.events import StudioEvents
from thumbs.studio.recording import Recording


class Capturing:
    """The capture sink while c has it on (it names the live model), and r's review of what it kept."""

    def __init__(self, folder: Path, source: str, window: Window, state: panel.PanelState, events: StudioEvents,
                 recording: Recording) -> None:
        self.folder, self.source, self.window = folder, source, window
        self.state, self.events, self.recording = state, events, recording
        self.sink: CaptureSink | None = None

    def _say(self, message: str) -> None:
        self.state.message = message

    def _line(self) -> str:
        kept = self.sink.report.count if self.sink else 0
        return f"capturing unsure frames into {self.folder} ({kept} kept; r reviews)"

    def write(self, step: Step) -> None:
        if self.sink is None:
            return
        before = self.sink.report.count
        self.sink.write(step)
        if self.sink.report.count > before:
            self.state.capture = self._line()

    def start(self, model: Path) -> str | None:
        """Capturing on; else why the folder cannot take frames (the sink's warning stays in the panel)."""
        options = CaptureOptions(self.folder, every=1.0, max=500, sample=1.0)
        self.sink = CaptureSink(options, model, self.source, warn=self._say, option="--captures")
        self.sink.open()
        if not self.sink.active:
            why, self.sink, self.state.capture = self.sink.report.stopped, None, ""
            return why
        self.state.capture = self._line()
        return None

    def stop(self) -> None:
        if self.sink is not None:
            self.sink.close()
        self.sink, self.state.capture = None, ""

    def restart(self, model: Path) -> None:
        """A new live model: a capture in progress goes on, naming it."""
        if self.sink is not None:
            self.stop()
            self.start(model)

    def toggle(self, model: Path | None) -> None:
        if model is None:
            self._say("capture keeps the frames the live model is unsure of: train one first (t)")
            return
        why = None
        if self.sink is None:
            why = self.start(model)
            if why is None:
                self._say(f"capture on: unsure frames go to {self.folder}")
        else:
            kept = self.sink.report.count
            self.stop()
            self._say(f"capture off ({kept} kept); r reviews them")
        self.events.emit("capture", on=self.sink is not None, folder=str(self.folder),
                         **({"why": why} if why else {}))

    def review(self) -> None:
        if not self.folder.is_dir() or not captures.waiting(self.folder):
            self._say(f"nothing waits in {self.folder}: c keeps the frames the live model is unsure of")
            return
        self.state.auto = False
        decisions = review(self.folder, self.recording.data, window=self.window)
        self.recording.reload()
        discarded = sum(d.label == captures.DISCARD for d in decisions)
        self._say(f"reviewed {len(decisions)}: {len(decisions) - discarded} labelled, {discarded} discarded; "
                  "t retrains with them")
        self.events.emit("review", labelled=len(decisions) - discarded, discarded=discarded)
