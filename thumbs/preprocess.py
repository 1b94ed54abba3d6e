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


def training_view(bgr: np.ndarray, size: int, crop: str = DEFAULT_CROP) -> np.ndarray:
    """The model's view with the context around it, as uint8 CHW RGB, for training's random crops: for
    "center" the whole frame resized by its short side (so crops also see the hand off-centre, as a person
    holds it live), for "full" the whole frame squeezed to a square."""
    if crop == "full":
        return model_view(bgr, size, crop)
    crop_box(bgr.shape, crop)  # refuses an unknown policy
    h, w = bgr.shape[:2]
    scale = size / min(h, w)
    dims = (max(size, round(w * scale)), max(size, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = cv2.cvtColor(cv2.resize(bgr, dims, interpolation=interp), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


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
