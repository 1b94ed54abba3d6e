"""Pixels for the studio: the camera view (with the live model's overlay once there is one) and, beside it, a
panel that answers "what do I do next": the classes and their counts, what to vary, the training, the live
model, and the keys. Pure functions: state in, image out."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from thumbs.live import overlay
from thumbs.live.overlay import FONT, GREEN, GREY, RED, WHITE, class_color, darken, outlined_text
from thumbs.runtime.preprocess import DEFAULT_CROP

YELLOW = (0, 215, 255)
PANEL_WIDTH = 440  # pixels at a 480-pixel view; scaled with it
LINE = 22  # pixels between lines at a 480-pixel view
HELD_KEY = "g"  # puts live a new model that the trainer says has not learned (the studio holds it back)
KEYS = ("1-9 class   SPACE save   a auto burst   t train", "c capture unsure   r review   e export   q quit",
        f"{HELD_KEY} use a new model that has not learned anyway")


@dataclass
class ClassRow:
    name: str
    frames: int
    sessions: int


@dataclass
class PanelState:
    """Everything the panel shows; the studio keeps it up to date."""

    rows: list[ClassRow]
    selected: int
    hint: str = ""
    auto: bool = False
    training: list[str] = field(default_factory=lambda: ["idle: record each class, then press t"])
    progress: float | None = None  # 0..1 of the whole training while one runs
    failed: bool = False  # the training lines say why the last training failed
    model: str = "none yet"
    capture: str = ""  # what capturing does, when it is on
    message: str = ""  # what the last key did
    fps: float = 0.0


def preview(frame: np.ndarray, crop: str = DEFAULT_CROP) -> np.ndarray:
    """The camera view before there is a model: the square a model will see."""
    img = overlay.for_display(frame)
    overlay.model_square(img, crop, WHITE, overlay.text_scale(img))
    return img


def _wrapped(text: str, width_px: int, scale: float) -> list[str]:
    (char_w, _), _ = cv2.getTextSize("n", FONT, scale, 1)
    return textwrap.wrap(text, max(10, width_px // max(1, char_w))) or [""]


class _Writer:
    """Lines top-down in a panel, wrapped to its width, never past `bottom` (the rest is cut with "...")."""

    def __init__(self, img: np.ndarray, s: float, bottom: int) -> None:
        self.img, self.s, self.y, self.bottom = img, s, int(30 * s), bottom
        self.line, self.margin = int(LINE * s), int(12 * s)

    def write(self, text: str, color=WHITE, scale: float = 0.55, thick: int = 1, wrap: bool = True,
              most: int = 4) -> None:
        scale *= self.s
        lines = _wrapped(text, self.img.shape[1] - 2 * self.margin, scale) if wrap else [text]
        room = max(0, (self.bottom - self.y) // self.line + 1)
        shown = lines[:min(most, room)]
        if len(shown) < len(lines) and shown:
            shown[-1] = shown[-1][:-3].rstrip() + "..."
        for line in shown:
            outlined_text(self.img, line, (self.margin, self.y), scale, color, thick)
            self.y += self.line

    def gap(self) -> None:
        self.y += self.line // 3


def draw_panel(state: PanelState, height: int, s: float) -> np.ndarray:
    img = np.full((height, int(PANEL_WIDTH * s), 3), 32, np.uint8)
    line = int(LINE * s)
    keys_top = height - int(12 * s) - int(22 * s) * len(KEYS)
    message = _wrapped(state.message, img.shape[1] - int(24 * s), 0.5 * s)[:2] if state.message else []
    w = _Writer(img, s, keys_top - line * len(message) - line // 2)
    outlined_text(img, f"{state.fps:.0f} fps", (img.shape[1] - int(70 * s), w.y), 0.45 * s, GREY)
    w.write("thumbs studio", WHITE, 0.75, 2)
    w.gap()
    for i, row in enumerate(state.rows):
        if i == state.selected:
            cv2.rectangle(img, (0, w.y - int(17 * s)), (img.shape[1], w.y + int(6 * s)), class_color(i), -1)
        sessions = f"{row.sessions} session" + ("" if row.sessions == 1 else "s")
        w.write(f"{i + 1}  {row.name[:14]:<14} {row.frames:>5} frames  {sessions}", WHITE, 0.5,
                2 if i == state.selected else 1, wrap=False)
    if state.auto:
        w.write(f"recording into '{state.rows[state.selected].name}': AUTO (a stops)", RED, 0.5, 2)
    if state.hint:
        w.write(f"next: {state.hint}", YELLOW, 0.5, most=2)
    w.gap()
    w.write("training", GREY, 0.5)
    for text in state.training:
        w.write(text, RED if state.failed else WHITE, 0.5)
    if state.progress is not None and w.y < w.bottom:
        x0, x1, y = w.margin, img.shape[1] - w.margin, w.y - int(12 * s)
        cv2.rectangle(img, (x0, y), (x0 + int((x1 - x0) * state.progress), y + int(12 * s)), GREEN, -1)
        cv2.rectangle(img, (x0, y), (x1, y + int(12 * s)), WHITE, 1)
        w.y += w.line
    w.gap()
    w.write("live model", GREY, 0.5)
    w.write(state.model, GREEN if state.model != "none yet" else WHITE, 0.5, most=2)
    if state.capture:
        w.write(state.capture, YELLOW, 0.5, most=2)
    for i, text in enumerate(message):
        outlined_text(img, text, (w.margin, keys_top - line * (len(message) - i) + line // 3), 0.5 * s, WHITE)
    darken(img, 0, keys_top - int(8 * s), img.shape[1], height)
    for i, keys in enumerate(KEYS):
        outlined_text(img, keys, (w.margin, keys_top + int(14 * s) + int(22 * s) * i), 0.45 * s, GREY)
    return img


def compose(view: np.ndarray, state: PanelState) -> np.ndarray:
    """The view and its panel side by side, at the view's height."""
    s = max(0.6, view.shape[0] / 480)
    return np.hstack([view, draw_panel(state, view.shape[0], s)])


def class_rows(classes: Sequence[str], counts: dict[str, int], sessions: dict[str, int]) -> list[ClassRow]:
    return [ClassRow(name, counts.get(name, 0), sessions.get(name, 0)) for name in classes]
