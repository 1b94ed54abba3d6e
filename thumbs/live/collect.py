"""`thumbs collect`: save labelled frames from a source into DATA/<label>/, never overwriting,
with a live preview (SPACE saves, `a` toggles an automatic burst) or headless, and say per class how many
frames and recording sessions exist and what to vary in the next one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from thumbs.core import signals
from thumbs.core.errors import ThumbsError
from thumbs.data.coverage import class_counts, class_sessions, suggestion
from thumbs.data.dataset import Saver
from thumbs.live.overlay import draw_collect
from thumbs.live.window import Window
from thumbs.sources.readers import Frame, FrameSource

AUTO_INTERVAL = 0.25  # seconds between automatic saves when `a` is pressed without --interval
MAX_SIDE = 8192  # --size limit: a larger frame would not fit a training batch in memory anyway


@dataclass
class CollectResult:
    label: str
    session: str
    saved: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # every class, after this run
    interrupted: bool = False
    sessions: dict[str, int] = field(default_factory=dict)  # recording sessions per class, after this run
    quit: bool = False  # the person quit the window (not the source ending)

    def hint(self) -> str:
        return suggestion(self.label, self.counts.get(self.label, 0), self.sessions.get(self.label, 0))


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'640x480' -> (640, 480); None keeps frames as captured."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ThumbsError(f"--size '{text}' is not WIDTHxHEIGHT, e.g. 640x480") from None
    if w < 8 or h < 8:
        raise ThumbsError(f"--size '{text}' is too small: at least 8x8")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise ThumbsError(f"--size '{text}' is too large: at most {MAX_SIDE}x{MAX_SIDE}")
    return w, h


def collect(source: FrameSource, label: str, data_root: str | Path = "dataset", *, count: int | None = None,
            interval: float | None = None, headless: bool = True, size: tuple[int, int] | None = None,
            on_save: Callable[[Path], None] | None = None) -> CollectResult:
    """Run until `count` frames are saved, the source ends, the user quits or a stop signal (Ctrl-C, SIGTERM,
    SIGHUP: taken between frames, thumbs.core.signals); keeps all saved."""
    if headless and count is None and source.spec.live:
        raise ThumbsError("--headless on a live source needs --count N, or it would never stop")
    if count is not None and count < 1:
        raise ThumbsError("--count must be 1 or more")
    if interval is not None and interval < 0:
        raise ThumbsError("--interval must be 0 or more seconds")
    saver = Saver(Path(data_root), label, size)
    result = CollectResult(label, saver.session, counts=class_counts(Path(data_root)))
    result.sessions = class_sessions(Path(data_root))
    result.sessions[label] = result.sessions.get(label, 0) + 1  # this run is a new session once it saves
    window = None if headless else Window(f"thumbs collect: {label}")
    auto = headless or interval is not None  # else the window waits for SPACE, or `a` for a burst
    last_save: float | None = None
    flash = 0
    with signals.stop_signals(hand_on=False):
        try:
            for frame in source:  # a stop signal while waiting for a frame lands here, between saves
                if _due(auto, headless, interval, last_save, frame.time):
                    path = saver.save(frame.image)  # a stop signal waits until the frame is on disk
                    _record(result, path, on_save)
                    last_save, flash = frame.time, 3
                if window is not None:
                    key = _show(window, frame, result, auto, flash)
                    flash = max(0, flash - 1)
                    if key == "save":
                        _record(result, saver.save(frame.image), on_save)
                        flash = 3
                    elif key == "auto":
                        auto, last_save = not auto, None
                    elif key == "quit":
                        result.quit = True
                        break
                if (count is not None and len(result.saved) >= count) or signals.requested():
                    break
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            result.interrupted = result.interrupted or signals.requested() is not None
            if window is not None:
                window.close()
            _settle(result, saver, Path(data_root))
    if not result.saved and not (result.interrupted or result.quit):
        skipped = len(getattr(source, "skipped", []))
        raise ThumbsError(f"nothing saved: {source.spec.describe()} gave no usable frame"
                          + (f" ({skipped} unreadable image(s) skipped)" if skipped else "")
                          + "; check the source (`thumbs doctor` lists cameras)")
    return result


def _settle(result: CollectResult, saver: Saver, data_root: Path) -> None:
    """Counts from the disk: a frame written just as Ctrl-C arrived is counted, and a run that saved
    nothing is not a session."""
    result.saved = saver.on_disk()
    result.counts = class_counts(data_root)
    if not result.saved:
        result.sessions[result.label] -= 1


def _due(auto: bool, headless: bool, interval: float | None, last_save: float | None, now: float) -> bool:
    """Automatic saving: every frame headless, else every --interval (or AUTO_INTERVAL) seconds."""
    if not auto:
        return False
    step = interval if interval is not None else (0.0 if headless else AUTO_INTERVAL)
    return last_save is None or now - last_save >= step


def _record(result: CollectResult, path: Path, on_save: Callable[[Path], None] | None) -> None:
    result.saved.append(path)
    result.counts[result.label] = result.counts.get(result.label, 0) + 1
    if on_save:
        on_save(path)


def _show(window: Window, frame: Frame, result: CollectResult, auto: bool, flash: int) -> str | None:
    canvas = draw_collect(frame.image, result.label, result.counts, auto=auto, flash=flash > 0,
                          sessions=result.sessions, hint=result.hint())
    key = window.show(canvas)
    if key in (ord(" "),):
        return "save"
    if key in (ord("a"), ord("A")):
        return "auto"
    if window.quit_requested(key):
        return "quit"
    return None
