"""Frame to model input, in numpy and OpenCV only: the one definition shared by training's
validation, `thumbs eval` and `thumbs live`, so what the model sees live is what it was scored on.

The crop policy names which part of the frame the model sees:
- "center": the centre square of the short side (the classic ImageNet view; the sides are cut off),
- "full": the whole frame squeezed to a square (nothing is cut off; shapes are stretched the same way
  in training and live, so the network learns them as they appear)."""

from __future__ import annotations

import cv2
import numpy as np

CROPS = ("center", "full")
DEFAULT_CROP = "center"


def crop_box(shape: tuple[int, ...], crop: str = DEFAULT_CROP) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the part of a frame of this shape that the model sees; windows draw it."""
    h, w = shape[:2]
    if crop == "full":
        return 0, 0, w, h
    if crop != "center":
        raise ValueError(f"unknown crop policy {crop!r}: one of {', '.join(CROPS)}")
    side = min(h, w)
    return (w - side) // 2, (h - side) // 2, side, side


def crop_resize(bgr: np.ndarray, size: int, crop: str = DEFAULT_CROP) -> np.ndarray:
    """The model's square view of a frame, resized to size x size, as RGB uint8."""
    x, y, w, h = crop_box(bgr.shape, crop)
    region = bgr[y:y + h, x:x + w]
    interp = cv2.INTER_AREA if min(w, h) > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(region, (size, size), interpolation=interp), cv2.COLOR_BGR2RGB)


CONTEXT = 0.125  # training canvases hold this fraction of the view's side around it, on each side


def canvas_size(size: int) -> int:
    """Side of a training canvas for a model of this input size (an even margin keeps pixels aligned)."""
    return size + 2 * round(size * CONTEXT)


def training_view(bgr: np.ndarray, size: int, crop: str = DEFAULT_CROP) -> np.ndarray:
    """The model's view with context around it, as a uint8 CHW RGB canvas of canvas_size(size): its centre
    is exactly model_view, the rest is the frame around it at the same scale (mirrored where the frame
    ends), so training's random shifts and zooms (augment.py) see the hand a little off its usual place."""
    view = crop_resize(bgr, size, crop)
    x, y, w, h = crop_box(bgr.shape, crop)
    sx, sy = size / w, size / h
    dims = (max(1, round(bgr.shape[1] * sx)), max(1, round(bgr.shape[0] * sy)))
    frame = cv2.resize(bgr, dims, interpolation=cv2.INTER_AREA if min(sx, sy) < 1 else cv2.INTER_LINEAR)
    side = canvas_size(size)
    margin, pad = (side - size) // 2, (side - size) // 2 + 2  # 2 px more: rounding never cuts the canvas short
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    left, top = round(x * sx) + pad - margin, round(y * sy) + pad - margin
    canvas = cv2.cvtColor(padded[top:top + side, left:left + side], cv2.COLOR_BGR2RGB)
    canvas[margin:margin + size, margin:margin + size] = view
    return np.ascontiguousarray(canvas.transpose(2, 0, 1))


def model_view(bgr: np.ndarray, size: int, crop: str = DEFAULT_CROP) -> np.ndarray:
    """What the model sees of a frame, as uint8 CHW RGB (scale by 1/255 to feed it)."""
    return np.ascontiguousarray(crop_resize(bgr, size, crop).transpose(2, 0, 1))


class Preprocessor:
    """BGR frame -> float32 NCHW in [0, 1] (the model normalises inside), into one reused buffer."""

    def __init__(self, size: int, crop: str = DEFAULT_CROP) -> None:
        self.size, self.crop = size, crop
        self.buffer = np.empty((1, 3, size, size), dtype=np.float32)

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        np.multiply(model_view(bgr, self.size, self.crop), np.float32(1 / 255), out=self.buffer[0])
        return self.buffer
