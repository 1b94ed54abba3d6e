"""Pixels for people: what collect and live draw over the frame. Pure functions, frame in, frame out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
GREEN, AMBER, GREY, RED = (80, 200, 80), (0, 190, 255), (150, 150, 150), (60, 60, 230)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color=WHITE, thick: int = 1) -> None:
    """Text with a dark outline, readable on any background."""
    cv2.putText(img, text, org, FONT, scale, BLACK, thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, color, thick, cv2.LINE_AA)


def _panel(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.55) -> None:
    """Darken a rectangle in place so text over it stays legible."""
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(img.shape[1], x1), min(img.shape[0], y1)
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1 - alpha)).astype(np.uint8)


def _scale(img: np.ndarray) -> float:
    return max(0.6, img.shape[0] / 480)  # readable on a 240-line clip, proportional above 480


def draw_collect(frame: np.ndarray, label: str, counts: Mapping[str, int], *, auto: bool, flash: bool,
                 sessions: Mapping[str, int] | None = None, hint: str | None = None) -> np.ndarray:
    """Preview for collect: the label being recorded, frames (and sessions) per class, what to vary next,
    the keys, a flash on save."""
    img = frame.copy()
    s = _scale(img)
    if flash:
        cv2.rectangle(img, (0, 0), (img.shape[1] - 1, img.shape[0] - 1), WHITE, max(4, int(12 * s)))
    line = int(30 * s)
    _panel(img, 0, 0, int(330 * s), line * (len(counts) + 3))
    _text(img, f"recording: {label}" + ("  [AUTO]" if auto else ""), (8, line), 0.8 * s, RED if auto else GREEN, 2)
    for i, (name, n) in enumerate(sorted(counts.items()), start=2):
        runs = f"{sessions.get(name, 0):>3} sess" if sessions is not None else ""
        _text(img, f"{name:<12}{n:>6}{runs}", (8, line * i), 0.65 * s, GREEN if name == label else WHITE)
    if hint:
        _text(img, hint, (8, img.shape[0] - 10 - line), 0.45 * s, AMBER)
    _text(img, "SPACE save  a auto  q quit", (8, img.shape[0] - 10), 0.55 * s, GREY)
    return img


def draw_live(frame: np.ndarray, classes: Sequence[str], probs: np.ndarray, shown: str | None, score: float,
              fps: float, latency_ms: float, threshold: float) -> np.ndarray:
    """Live overlay: the stable label (or 'no confident gesture'), a bar per class, fps and latency."""
    img = frame.copy()
    s = _scale(img)
    line = int(28 * s)
    width = min(img.shape[1], int(300 * s))
    _panel(img, 0, 0, width, line * (len(classes) + 3))
    if shown is None:
        _text(img, "no confident gesture", (8, line), 0.75 * s, GREY, 2)
    else:
        _text(img, f"{shown} {score:.0%}", (8, line), 0.95 * s, GREEN, 2)
    bar_x, bar_w = int(110 * s), width - int(120 * s)
    for i, (name, p) in enumerate(zip(classes, probs), start=1):
        y = line * (i + 1)
        _text(img, name[:10], (8, y), 0.6 * s)
        color = GREEN if name == shown else (AMBER if p >= threshold else GREY)
        cv2.rectangle(img, (bar_x, y - int(14 * s)), (bar_x + int(bar_w * float(p)), y), color, -1)
        cv2.rectangle(img, (bar_x, y - int(14 * s)), (bar_x + bar_w, y), WHITE, 1)
    _text(img, f"{fps:.0f} fps  {latency_ms:.1f} ms", (8, line * (len(classes) + 2)), 0.6 * s, WHITE)
    return img
