"""A stand-in hand front end for tests that need no hand models: the "hand" is the bright patch of a photo
(pixels above 200), its 21 landmarks spread over the patch, so where and how tall the patch is shows in the
landmarks; a photo without one has no hand. It counts its calls, so a test sees the cache at work."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from thumbs.hands.hand import LANDMARKS, Hand


class FakeFrontEnd:
    identity = "fake-front-end-1"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, bgr: np.ndarray) -> list[Hand]:
        self.calls += 1
        ys, xs = np.nonzero(bgr.max(axis=2) > 200)
        if not len(xs):
            return []
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
        t = np.linspace(0.0, 1.0, LANDMARKS, dtype=np.float32)
        points = np.stack([x0 + (x1 - x0) * t, y1 - (y1 - y0) * t ** 2, np.zeros_like(t)], 1)
        return [Hand(points.astype(np.float32), 0.9, "right", 0.8)]

    __call__ = detect


def photo(path: Path, box: tuple[int, int, int, int] | None, size: tuple[int, int] = (96, 128), seed: int = 0) -> Path:
    """A dark noisy photo (h, w) with a bright patch at box (x0, y0, x1, y1), or none."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 80, (*size, 3), dtype=np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        image[y0:y1, x0:x1] = 230
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path
