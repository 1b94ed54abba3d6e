"""Pixels for people: what collect and live draw over the frame. Pure functions, frame in, frame out.

Read at a glance: the stable label is large and in its class's colour (the same colour on the crop box
and its bar), "no confident gesture" is grey and italic, the square the model sees is outlined, and
small frames are scaled up so the text is never a smudge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from thumbs.hands.hand import CONNECTIONS
from thumbs.runtime.preprocess import DEFAULT_CROP, crop_box

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
GREEN, GREY, RED = (80, 200, 80), (150, 150, 150), (60, 60, 230)
# Distinct, saturated BGR colours (Okabe-Ito and tab10 hues, told apart also by most colour-blind
# people for the first few); never grey, which means "no confident gesture".
PALETTE = ((0, 200, 0), (255, 140, 0), (0, 120, 255), (220, 60, 220), (0, 215, 255), (255, 255, 0),
           (60, 60, 230), (180, 120, 255), (40, 160, 160), (255, 80, 140))
DISPLAY_SHORT_SIDE = 480  # smaller frames are scaled up to this for display


def class_color(index: int) -> tuple[int, int, int]:
    """A fixed colour per class index, so a class looks the same in every frame and every run."""
    return PALETTE[index % len(PALETTE)]


def for_display(frame: np.ndarray, short_side: int = DISPLAY_SHORT_SIDE) -> np.ndarray:
    """The frame scaled up (never down) so its short side is at least `short_side` pixels; a copy."""
    h, w = frame.shape[:2]
    factor = short_side / min(h, w)
    if factor <= 1:
        return frame.copy()
    return cv2.resize(frame, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_LINEAR)


def outlined_text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color=WHITE, thick: int = 1,
          font: int = FONT) -> None:
    """Text with a dark outline, readable on any background. The outline is the same text shifted a
    pixel each way (a thicker stroke is wider in OpenCV's newer fonts and would drift)."""
    x, y = org
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        cv2.putText(img, text, (x + dx, y + dy), font, scale, BLACK, thick, cv2.LINE_AA)
    cv2.putText(img, text, org, font, scale, color, thick, cv2.LINE_AA)


def darken(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.55) -> None:
    """Darken a rectangle in place so text over it stays legible."""
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(img.shape[1], x1), min(img.shape[0], y1)
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1 - alpha)).astype(np.uint8)


def text_scale(img: np.ndarray) -> float:
    return max(0.6, min(img.shape[:2]) / 480)  # proportional to the (display) frame's short side


def model_square(img: np.ndarray, crop: str, color: tuple[int, int, int], s: float) -> None:
    """Dim what the model does not see and outline the square it does."""
    x, y, w, h = crop_box(img.shape, crop)
    for band in (img[:y], img[y + h:], img[y:y + h, :x], img[y:y + h, x + w:]):  # per frame: slices, no masks
        band[:] = (band * 0.6).astype(np.uint8)
    thick = max(2, round(3 * s))
    cv2.rectangle(img, (x + thick // 2, y + thick // 2), (x + w - 1 - thick // 2, y + h - 1 - thick // 2),
                  color, thick)


def draw_collect(frame: np.ndarray, label: str, counts: Mapping[str, int], *, auto: bool, flash: bool,
                 crop: str = DEFAULT_CROP, sessions: Mapping[str, int] | None = None,
                 hint: str | None = None) -> np.ndarray:
    """Preview for collect: the square a model will see, the label being recorded, frames (and sessions)
    per class, an optional suggestion of what to vary next, the keys, a flash on save."""
    img = for_display(frame)
    s = text_scale(img)
    model_square(img, crop, WHITE, s)
    if flash:
        cv2.rectangle(img, (0, 0), (img.shape[1] - 1, img.shape[0] - 1), WHITE, max(4, int(12 * s)))
    line = int(30 * s)
    darken(img, 0, 0, int(380 * s if sessions is not None else 260 * s), line * (len(counts) + 2) + line // 2)
    title = f"recording: {label}" + ("  [AUTO]" if auto else "")
    outlined_text(img, title, (8, line), 0.8 * s, RED if auto else GREEN, 2)
    for i, (name, n) in enumerate(sorted(counts.items()), start=2):
        color = GREEN if name == label else WHITE
        outlined_text(img, name[:12], (8, line * i), 0.65 * s, color)
        outlined_text(img, f"{n} frames", (int(150 * s), line * i), 0.65 * s, color)
        if sessions is not None:
            outlined_text(img, f"{sessions.get(name, 0)} sessions", (int(260 * s), line * i), 0.65 * s, color)
    bottom = img.shape[0] - 10
    if hint:
        darken(img, 0, bottom - 2 * line + line // 3, img.shape[1], bottom - line + line // 3)
        outlined_text(img, hint, (8, bottom - line), 0.55 * s, (0, 215, 255))
    outlined_text(img, "SPACE save  a auto  q quit", (8, bottom), 0.55 * s, GREY)
    return img


def draw_hands(img: np.ndarray, hands: Sequence, classes: Sequence[str], factor: float, s: float) -> None:
    """Each hand a hand model found (runtime.hand_classifier.HandResult): its skeleton, and its box and label
    in the label's class colour; `factor` maps frame pixels to the display image's."""
    thick = max(1, round(2 * s))
    for result in hands:
        points = [(int(round(x * factor)), int(round(y * factor))) for x, y in result.hand.landmarks[:, :2]]
        color = class_color(classes.index(result.label)) if result.label in classes else GREY
        for a, b in CONNECTIONS:
            cv2.line(img, points[a], points[b], WHITE, thick, cv2.LINE_AA)
        for point in points:
            cv2.circle(img, point, thick + 1, color, -1, cv2.LINE_AA)
        x0, y0, x1, y1 = (int(round(v * factor)) for v in result.hand.box)
        pad = int(8 * s)
        cv2.rectangle(img, (x0 - pad, y0 - pad), (x1 + pad, y1 + pad), color, thick)
        outlined_text(img, f"{result.label} {result.score:.0%}", (x0 - pad, max(int(20 * s), y0 - pad - 6)),
                      0.6 * s, color, 2)


def draw_live(frame: np.ndarray, classes: Sequence[str], probs: np.ndarray, shown: str | None, score: float,
              fps: float, latency_ms: float, threshold: float, crop: str = DEFAULT_CROP,
              hands: Sequence | None = None) -> np.ndarray:
    """Live overlay on the display-sized frame: the square the model sees, the stable label large in its
    class colour (or a grey, italic 'no confident gesture'), a bar per class, fps and latency small; with a
    hand model, each hand's skeleton, box and label."""
    img = for_display(frame)
    s = text_scale(img)
    index = classes.index(shown) if shown in classes else None
    color = GREY if index is None else class_color(index)
    model_square(img, crop, color, s)
    if hands:
        draw_hands(img, hands, classes, img.shape[1] / frame.shape[1], s)
    line = int(28 * s)
    big = int(56 * s)
    width = min(img.shape[1], int(340 * s))
    darken(img, 0, 0, width, big + line * len(classes) + line // 2)
    if index is None:
        outlined_text(img, "no confident gesture", (10, int(big * 0.7)), 0.75 * s, GREY, 2, FONT | cv2.FONT_ITALIC)
    else:
        (tw, _), _ = cv2.getTextSize(shown, FONT, 1.5 * s, 3)
        outlined_text(img, shown, (10, int(big * 0.8)), 1.5 * s, color, 3)
        outlined_text(img, f"{score:.0%}", (20 + tw, int(big * 0.8)), 0.8 * s, WHITE, 2)
    bar_x = int(120 * s)
    bar_w = width - bar_x - int(10 * s)
    for i, (name, p) in enumerate(zip(classes, probs)):
        y = big + line * (i + 1) - line // 4
        outlined_text(img, name[:10], (10, y), 0.6 * s, class_color(i) if i == index else WHITE)
        fill = class_color(i) if p >= threshold or i == index else GREY
        cv2.rectangle(img, (bar_x, y - int(16 * s)), (bar_x + int(bar_w * float(p)), y), fill, -1)
        cv2.rectangle(img, (bar_x, y - int(16 * s)), (bar_x + bar_w, y), WHITE, 1)
        threshold_x = bar_x + int(bar_w * threshold)
        cv2.line(img, (threshold_x, y - int(20 * s)), (threshold_x, y + int(3 * s)), WHITE, 1)
    outlined_text(img, f"{fps:.0f} fps  {latency_ms:.1f} ms", (10, img.shape[0] - int(10 * s)), 0.5 * s, WHITE)
    return img


REVIEW_SHORT_SIDE = 600  # review shows the kept frame large
REVIEW_KEYS = "1-9 class   Enter/space accept guess   x discard   u undo   q quit"


def draw_review(frame: np.ndarray, classes: Sequence[str], probs: Mapping[str, float], guess: str | None,
                waiting: int, note: str = "") -> np.ndarray:
    """Review of a kept frame, shown large: the model's guess, each class with its key and probability,
    how many frames wait, the keys, and what the last key did."""
    img = for_display(frame, REVIEW_SHORT_SIDE)
    s = text_scale(img)
    line = int(28 * s)
    shown = classes[:9]
    width = min(img.shape[1], int(360 * s))
    darken(img, 0, 0, width, line * (len(shown) + 2) + line // 2)
    said = f"guess: {guess} {probs.get(guess, 0.0):.0%}" if guess else "guess: none (no record)"
    outlined_text(img, said, (10, line), 0.75 * s, WHITE, 2)
    bar_x, bar_w = int(170 * s), width - int(180 * s)
    for i, name in enumerate(shown):
        y = line * (i + 2)
        p = float(probs.get(name, 0.0))
        outlined_text(img, f"{i + 1} {name[:10]}", (10, y), 0.6 * s, class_color(i) if name == guess else WHITE,
              2 if name == guess else 1)
        cv2.rectangle(img, (bar_x, y - int(16 * s)), (bar_x + int(bar_w * p), y), class_color(i), -1)
        cv2.rectangle(img, (bar_x, y - int(16 * s)), (bar_x + bar_w, y), WHITE, 1)
    h = img.shape[0]
    darken(img, 0, h - int(2.2 * line), img.shape[1], h)
    outlined_text(img, f"{waiting} waiting   {note}", (10, h - int(1.3 * line)), 0.55 * s, WHITE)
    outlined_text(img, REVIEW_KEYS, (10, h - int(0.4 * line)), 0.5 * s, GREY)
    return img
