"""Frame to model input, in numpy and OpenCV only: the one definition shared by training's
validation, `thumbs eval` and `thumbs live`, so what the model sees live is what it was scored on."""

from __future__ import annotations

import cv2
import numpy as np


def crop_resize(bgr: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop of the short side, resized to size x size, as RGB uint8."""
    h, w = bgr.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    square = bgr[y:y + side, x:x + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(square, (size, size), interpolation=interp), cv2.COLOR_BGR2RGB)


def resize_short_side(bgr: np.ndarray, short: int) -> np.ndarray:
    """Keep the aspect ratio (training crops its own squares from it), as RGB uint8."""
    h, w = bgr.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(bgr, size, interpolation=interp), cv2.COLOR_BGR2RGB)


def chw(bgr: np.ndarray, size: int) -> np.ndarray:
    """The model's view of a frame as uint8 CHW RGB (scale by 1/255 to feed it)."""
    return np.ascontiguousarray(crop_resize(bgr, size).transpose(2, 0, 1))


class Preprocessor:
    """BGR frame -> float32 NCHW in [0, 1] (the model normalises inside), into one reused buffer."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer = np.empty((1, 3, size, size), dtype=np.float32)

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        np.multiply(chw(bgr, self.size), np.float32(1 / 255), out=self.buffer[0])
        return self.buffer
