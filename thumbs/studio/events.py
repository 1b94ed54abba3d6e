"""The studio's event log: one writer for every part, so the lines keep their order and a log that cannot be
written ends the studio once."""

from __future__ import annotations

import time

from thumbs.core.errors import ThumbsError
from thumbs.live.loop import EventWriter, Step


class StudioEvents:
    """JSON Lines to a file or stdout (`--events`), or nowhere when none was asked for."""

    def __init__(self, target: str | None) -> None:
        self.writer = EventWriter(target) if target else None

    def open(self) -> None:
        if self.writer is not None:
            self.writer.open()

    def emit(self, event: str, **fields: object) -> None:
        """One event, stamped with the wall clock."""
        self.write({"event": event, "time": round(time.time(), 3), **fields})

    def frame(self, step: Step) -> None:
        """A frame the live model classified, as live writes it, named as a frame event."""
        self.write({"event": "frame", **step.event})

    def write(self, record: dict) -> None:
        """One line; a log that cannot be written (a full disk) ends the studio once, in one line."""
        if self.writer is None:
            return
        try:
            self.writer.emit(record)
        except ThumbsError:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None
