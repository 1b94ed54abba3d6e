"""The landmark model on one rotated crop: 21 landmarks back in frame pixels, hand presence and handedness.
Ported from MediaPipe's modules/hand_landmark/hand_landmark_cpu.pbtxt (ImageToTensor with BORDER_REPLICATE,
TensorsToLandmarks with normalize_z 0.4, LandmarkProjection, the 0.5 presence threshold, handedness.txt)."""

from __future__ import annotations

import cv2
import numpy as np

from thumbs.hands.hand import LANDMARKS, Hand
from thumbs.hands.rect import RotatedRect

SIZE = 224  # the model's input side
MIN_PRESENCE = 0.5  # below this there is no hand in the crop (and tracking lets it go)
NORMALIZE_Z = 0.4
# handedness.txt is Left, Right; binary_classification: the output is the score of the first. MediaPipe names
# the hand as if the image were mirrored (a selfie camera): on an unmirrored camera image the person's right
# hand is reported "left".
HANDEDNESS = ("left", "right")


class LandmarkModel:
    """Frame + rotated rect -> a Hand, or None when the model says there is no hand in the crop."""

    def __init__(self, session) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.buffer = np.empty((1, 3, SIZE, SIZE), np.float32)

    def crop(self, bgr: np.ndarray, rect: RotatedRect) -> np.ndarray:
        """The rotated square as the model's input: RGB float32 NCHW in [0, 1], edges repeated."""
        crop = cv2.warpAffine(bgr, rect.to_crop(SIZE), (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
        np.multiply(rgb, np.float32(1 / 255), out=self.buffer[0])
        return self.buffer

    def __call__(self, bgr: np.ndarray, rect: RotatedRect) -> Hand | None:
        # outputs in the model's order: landmarks [1, 63], presence [1, 1], handedness [1, 1], world [1, 63]
        raw, presence, handedness = self.session.run(None, {self.input_name: self.crop(bgr, rect)})[:3]
        score = float(presence.reshape(-1)[0])
        if score < MIN_PRESENCE:
            return None
        points = raw.reshape(LANDMARKS, 3)
        landmarks = np.empty((LANDMARKS, 3), np.float32)
        landmarks[:, :2] = rect.to_frame(points[:, :2], SIZE)
        landmarks[:, 2] = points[:, 2] / SIZE / NORMALIZE_Z * rect.width
        left = float(handedness.reshape(-1)[0])
        side = HANDEDNESS[0] if left >= 0.5 else HANDEDNESS[1]
        return Hand(landmarks, score, side, max(left, 1 - left))
