"""Recording in the studio: the selected class, SPACE and the automatic burst saving the frame under it (collect's
never-overwriting writer, one session per studio run), and the counts and the hint the panel shows."""

from __future__ import annotations

from pathlib import Path

from thumbs.data import dataset
from thumbs.data.coverage import class_counts, class_sessions, suggestion
from thumbs.data.dataset import Saver
from thumbs.sources.readers import Frame
from thumbs.studio import panel
from thumbs.studio.events import StudioEvents


class Recording:
    """Frames saved per class, this run's and the data folder's; the panel's rows follow them."""

    def __init__(self, data: Path, classes: list[str], interval: float, state: panel.PanelState,
                 events: StudioEvents) -> None:
        self.data, self.classes, self.interval = data, classes, interval
        self.state, self.events = state, events
        self.session = dataset.new_session_id()
        self.saved: dict[str, int] = {}  # this run's frames per class
        self.savers: dict[str, Saver] = {}
        self.auto_last: float | None = None
        self.flash = 0  # frames left to draw the "saved" border
        self.reload()

    @property
    def label(self) -> str:
        return self.classes[self.state.selected]

    def reload(self) -> None:
        """Counts as the data folder holds them (after a review moved frames into it)."""
        self.counts, self.sessions = class_counts(self.data), class_sessions(self.data)
        self.refresh()

    def refresh(self) -> None:
        self.state.rows = panel.class_rows(self.classes, self.counts, self.sessions)
        self.state.hint = suggestion(self.label, self.counts.get(self.label, 0), self.sessions.get(self.label, 0))

    def select(self, index: int) -> None:
        self.state.selected = index
        self.refresh()
        self.state.message = f"selected {index + 1}: {self.classes[index]}"

    def save(self, frame: Frame) -> None:
        label = self.label
        saver = self.savers.get(label) or self.savers.setdefault(label, Saver(self.data, label, None, self.session))
        path = saver.save(frame.image)
        if not self.saved.get(label):
            self.sessions[label] = self.sessions.get(label, 0) + 1
        self.saved[label] = self.saved.get(label, 0) + 1
        self.counts[label] = self.counts.get(label, 0) + 1
        self.flash = 2
        self.refresh()
        self.state.message = f"saved {path.name} to {label}"
        self.events.emit("saved", **{"class": label, "path": str(path)})

    def auto_save(self, frame: Frame) -> None:
        """The burst: one frame every `interval` seconds of the source's time while it is on."""
        if self.state.auto and (self.auto_last is None or frame.time - self.auto_last >= self.interval):
            self.auto_last = frame.time
            self.save(frame)

    def toggle_auto(self) -> None:
        self.state.auto, self.auto_last = not self.state.auto, None
        self.state.message = (f"automatic burst into '{self.label}' every {self.interval:g} s" if self.state.auto
                              else "automatic burst stopped")

    def empty(self) -> tuple[int, str] | None:
        """The first class with no frames (training needs each), with its index."""
        return next(((i, c) for i, c in enumerate(self.classes) if not self.counts.get(c)), None)
