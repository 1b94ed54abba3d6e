"""`thumbs review DIR --data DATA`: label the frames `live --capture` kept, one key per frame.

Each decision is moved and journalled at once (data/captures.py), so quitting, closing the window or
Ctrl-C keeps everything labelled so far and the next review starts at the first frame still waiting."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from thumbs.core import signals
from thumbs.core.errors import DataError
from thumbs.core.files import read_image
from thumbs.data import captures
from thumbs.live.overlay import draw_review
from thumbs.live.window import QUIT_KEYS, Window, digit_class

ACCEPT_KEYS = (13, 10, 32)  # Enter (CR or LF) and space
DISCARD_KEY, UNDO_KEY = ord("x"), ord("u")
POLL_SECONDS = 0.03


def key_label(key: int, classes: list[str], guess: str | None) -> str | None:
    """The label a key gives the shown frame: a class, DISCARD, or None (not a labelling key)."""
    index = digit_class(key, len(classes))
    if index is not None:
        return classes[index]
    if key in ACCEPT_KEYS:
        return guess
    if key in (DISCARD_KEY, ord("X")):
        return captures.DISCARD
    return None


def _wait_key(window: Window, canvas: np.ndarray) -> int:
    """Show the canvas until a key is pressed (-1: the window was closed, or a stop signal came)."""
    while not signals.requested():
        key = window.show(canvas)
        if key >= 0:
            return key
        if window.closed():
            return -1
        time.sleep(POLL_SECONDS)
    return -1


def _image(path: Path) -> np.ndarray:
    image = read_image(path)
    return image if image is not None else np.full((240, 320, 3), 64, np.uint8)


def _undo(folder: Path, data: Path, decisions: list[captures.Decision]) -> str:
    """u: the last decision taken back; what happened, for the review's note line."""
    try:
        undone = captures.undo(folder, data)
    except DataError as e:
        return str(e)
    if undone and decisions and decisions[-1].file == undone.file:
        decisions.pop()
    return f"undid {undone.file} ({undone.label})" if undone else "nothing to undo"


def review(folder: Path, data: Path, title: str = "thumbs review",
           window: Window | None = None) -> list[captures.Decision]:
    """Show each waiting frame until q, ESC, a closed window, a stop signal or the last frame; returns this run's
    decisions.
    `window`: review inside a window that is already open (the studio's), which stays open after."""
    items = captures.waiting(folder)
    if not items:
        return []
    classes = captures.review_classes(items, data)
    decisions: list[captures.Decision] = []
    own = window is None
    window = window or Window(title)
    note = ""
    try:
        while not signals.requested():  # a stop that came during a decision ends the review after it
            items = captures.waiting(folder)
            if not items:
                break
            item = items[0]
            key = _wait_key(window, draw_review(_image(item.path), classes, item.probs, item.guess, len(items), note))
            if key < 0 or key in QUIT_KEYS:
                break
            if key == UNDO_KEY:
                note = _undo(folder, data, decisions)
                continue
            label = key_label(key, classes, item.guess)
            if label is None:
                note = "that key does nothing here"
                continue
            decisions.append(captures.decide(folder, data, item.path, label))
            note = f"{item.path.name}: {'discarded' if label == captures.DISCARD else label}"
    finally:
        if own:
            window.close()
    return decisions
