"""What a hand model is fed, made from a Hand: the one definition for training, eval and live, so a model sees
live exactly what it was trained on.

The frame's orientation is kept (no rotation to an upright hand, no mirroring of left hands): for a gesture set
the direction is often the class itself (thumbs up against thumbs down, point left against point right)."""

from __future__ import annotations

import cv2
import numpy as np

from thumbs.hands.hand import LANDMARKS, WRIST, Hand

CROP_SCALE = 1.5  # the crop's side over the landmarks' longer side: room for the whole hand and a little wrist
FEATURES = LANDMARKS * 3  # landmark_features' length


def crop_square(hand: Hand, shape: tuple[int, ...]) -> tuple[float, float, float]:
    """(centre x, centre y, side) in frame pixels of the square around the hand that a hand-crop model sees."""
    x0, y0, x1, y1 = hand.box
    side = max(x1 - x0, y1 - y0, 1.0) * CROP_SCALE
    return (x0 + x1) / 2, (y0 + y1) / 2, side


def hand_crop(bgr: np.ndarray, hand: Hand, size: int) -> np.ndarray:
    """The square around the hand, resized to size x size, as RGB uint8 (HWC); past the frame's edge is
    the edge's pixels repeated, so a hand at the border is not squeezed."""
    cx, cy, side = crop_square(hand, bgr.shape)
    scale = size / side
    matrix = np.array([[scale, 0.0, size / 2 - cx * scale], [0.0, scale, size / 2 - cy * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(bgr, matrix, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def landmark_features(hand: Hand) -> np.ndarray:
    """The 21 landmarks as a float32 vector of FEATURES: x, y, z relative to the wrist, divided by the hand's
    size (the longer side of its box), so where the hand is and how far away drop out and its shape stays."""
    points = hand.landmarks.astype(np.float32) - hand.landmarks[WRIST].astype(np.float32)
    x0, y0, x1, y1 = hand.box
    size = max(x1 - x0, y1 - y0, 1e-6)
    return (points / np.float32(size)).reshape(FEATURES)


NO_GESTURE = ("none", "background", "nothing", "no_gesture", "no-gesture")  # a class that means "no gesture"


def no_hand_class(classes: list[str] | tuple[str, ...]) -> str | None:
    """The class a frame with no hand belongs to (the no-hand rule): the data set's no-gesture class, found by
    name (NO_GESTURE, any case), the first such one; None when the classes have none (a hand model then
    cannot be trained: it would have no answer for an empty frame)."""
    for name in classes:
        if name.strip().lower() in NO_GESTURE:
            return name
    return None
