"""`thumbs collect`: save labelled frames from a source into DATA/<label>/, never overwriting,
with a live preview (SPACE saves, `a` toggles an automatic burst) or headless."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from thumbs import dataset
from thumbs.dataset import Saver
from thumbs.errors import ThumbsError
from thumbs.overlay import draw_collect
from thumbs.sources import Frame, FrameSource
from thumbs.window import Window

AUTO_INTERVAL = 0.25  # seconds between automatic saves when `a` is pressed without --interval


@dataclass
class CollectResult:
    label: str
    session: str
    saved: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # every class, after this run
    interrupted: bool = False


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
    return w, h


def class_counts(data_root: Path) -> dict[str, int]:
    root = Path(data_root)
    return {k: len(v) for k, v in dataset.scan(root).items()} if root.is_dir() else {}


def collect(source: FrameSource, label: str, data_root: str | Path = "dataset", *, count: int | None = None,
            interval: float | None = None, headless: bool = True, size: tuple[int, int] | None = None,
            on_save: Callable[[Path], None] | None = None) -> CollectResult:
    """Run until `count` frames are saved, the source ends, the user quits or Ctrl-C; keeps all saved."""
    if headless and count is None and source.spec.live:
        raise ThumbsError("--headless on a live source needs --count N, or it would never stop")
    if count is not None and count < 1:
        raise ThumbsError("--count must be 1 or more")
    if interval is not None and interval < 0:
        raise ThumbsError("--interval must be 0 or more seconds")
    saver = Saver(Path(data_root), label, size)
    result = CollectResult(label, saver.session, counts=class_counts(Path(data_root)))
    window = None if headless else Window(f"thumbs collect: {label}")
    auto = headless or interval is not None  # else the window waits for SPACE, or `a` for a burst
    last_save: float | None = None
    flash = 0
    try:
        for frame in source:
            if _due(auto, headless, interval, last_save, frame.time):
                path = saver.save(frame.image)
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
                    break
            if count is not None and len(result.saved) >= count:
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if window is not None:
            window.close()
    return result


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
    canvas = draw_collect(frame.image, result.label, result.counts, auto=auto, flash=flash > 0)
    key = window.show(canvas)
    if key in (ord(" "),):
        return "save"
    if key in (ord("a"), ord("A")):
        return "auto"
    if window.quit_requested(key):
        return "quit"
    return None
