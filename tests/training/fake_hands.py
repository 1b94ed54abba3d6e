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


# Patches (x0, y0, x1, y1) in a 96 x 128 photo whose fake landmarks tell the classes apart: a tall patch, a wide
# one; `none` has empty photos (no hand: the rule answers them) and square patches (a hand that is no gesture).
SHAPES = {"up": [(50, 10, 66, 80), (20, 8, 38, 70), (80, 20, 94, 88)],
          "down": [(20, 30, 100, 46), (10, 50, 80, 64), (40, 10, 120, 30)],
          "none": [None, None, (40, 30, 80, 70), (10, 10, 50, 50)]}


def hand_data(root: Path, per_class: int = 24, missed_up: int = 0) -> Path:
    """Class folders of fake-hand photos (SHAPES, each jittered); `missed_up` photos of up with no hand at all."""
    rng = np.random.default_rng(1)
    for label, shapes in SHAPES.items():
        for i in range(per_class):
            box = shapes[i % len(shapes)]
            if label == "up" and i < missed_up:
                box = None
            if box is not None:
                box = tuple(int(v + d) for v, d in zip(box, rng.integers(-4, 5, 4)))
            photo(root / label / f"{label}_{i:03d}.png", box, seed=i + 1000 * list(SHAPES).index(label))
    return root
