"""The rotated square the landmark model looks at, in frame pixels: made from a palm detection or from the last
landmarks (tracking), and the affine map between it and the model's 224x224 input.

Ported from MediaPipe: detections_to_rects_calculator.cc (rotation from two keypoints),
rect_transformation_calculator.cc (shift, square_long, scale), hand_landmarks_to_rect_calculator.cc, with the
options of modules/hand_landmark/palm_detection_detection_to_roi.pbtxt and hand_landmark_landmarks_to_roi.pbtxt.
Rotation is MediaPipe's: radians, clockwise in the image (y down); 0 is a hand pointing up."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thumbs.hands.palm import MIDDLE, WRIST, Palm

PALM_SCALE, PALM_SHIFT_Y = 2.6, -0.5  # palm box -> the whole hand, fingers included
TRACK_SCALE, TRACK_SHIFT_Y = 2.0, -0.1  # landmarks' box -> next frame's crop
# The landmarks hand_landmarks_to_rect uses (wrist, thumb base, the finger bases and their next joints) and,
# among those, the ones whose mean gives the hand's direction (with the wrist).
PARTIAL = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
DIRECTION = (5, 9, 13)


def normalize_radians(angle: float) -> float:
    """The angle in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation(start: np.ndarray, end: np.ndarray) -> float:
    """The rotation that turns the vector start -> end (frame pixels) to point up (90 degrees)."""
    return normalize_radians(math.pi / 2 - math.atan2(-(end[1] - start[1]), end[0] - start[0]))


@dataclass(frozen=True)
class RotatedRect:
    cx: float
    cy: float
    width: float
    height: float
    angle: float  # radians, clockwise

    def transformed(self, scale: float, shift_y: float) -> RotatedRect:
        """RectTransformationCalculator with shift_x 0 and square_long: moved along its own y axis by
        shift_y of its height, made square on its longer side, then scaled."""
        dx = -self.height * shift_y * math.sin(self.angle)
        dy = self.height * shift_y * math.cos(self.angle)
        side = max(self.width, self.height) * scale
        return RotatedRect(self.cx + dx, self.cy + dy, side, side, self.angle)

    def bounds(self) -> tuple[float, float, float, float]:
        """The unrotated x0, y0, x1, y1 of its centre and size: what MediaPipe's association compares."""
        return (self.cx - self.width / 2, self.cy - self.height / 2, self.cx + self.width / 2,
                self.cy + self.height / 2)

    def to_crop(self, size: int) -> np.ndarray:
        """The 2x3 affine matrix from frame pixels to the size x size crop (cv2.warpAffine's)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        kx, ky = size / self.width, size / self.height
        return np.array([[c * kx, s * kx, size / 2 - (self.cx * c + self.cy * s) * kx],
                         [-s * ky, c * ky, size / 2 - (-self.cx * s + self.cy * c) * ky]], dtype=np.float64)

    def to_frame(self, points: np.ndarray, size: int) -> np.ndarray:
        """Crop pixels (N, 2) -> frame pixels (N, 2)."""
        u = (points[:, 0] / size - 0.5) * self.width
        v = (points[:, 1] / size - 0.5) * self.height
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.stack([self.cx + u * c - v * s, self.cy + u * s + v * c], axis=1)


def rect_from_palm(palm: Palm) -> RotatedRect:
    """A palm detection -> the rotated square around the whole hand (PalmDetectionDetectionToRoi)."""
    x0, y0, x1, y1 = palm.box
    raw = RotatedRect((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0,
                      rotation(palm.keypoints[WRIST], palm.keypoints[MIDDLE]))
    return raw.transformed(PALM_SCALE, PALM_SHIFT_Y)


def rect_from_landmarks(landmarks: np.ndarray) -> RotatedRect:
    """Last frame's 21 landmarks (frame pixels) -> this frame's crop (HandLandmarkLandmarksToRoi): the box of
    the palm's landmarks in the hand's own rotation, then moved, squared and scaled."""
    points = landmarks[list(PARTIAL), :2].astype(np.float64)
    angle = rotation(points[0], (landmarks[DIRECTION[0], :2] + landmarks[DIRECTION[2], :2]) / 4
                     + landmarks[DIRECTION[1], :2] / 2)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    c, s = math.cos(-angle), math.sin(-angle)
    rel = points - centre
    projected = np.stack([rel[:, 0] * c - rel[:, 1] * s, rel[:, 0] * s + rel[:, 1] * c], axis=1)
    lo, hi = projected.min(axis=0), projected.max(axis=0)
    mid = (lo + hi) / 2
    c, s = math.cos(angle), math.sin(angle)
    cx = mid[0] * c - mid[1] * s + centre[0]
    cy = mid[0] * s + mid[1] * c + centre[1]
    raw = RotatedRect(float(cx), float(cy), float(hi[0] - lo[0]), float(hi[1] - lo[1]), angle)
    return raw.transformed(TRACK_SCALE, TRACK_SHIFT_Y)


def overlap(a: RotatedRect, b: RotatedRect) -> float:
    """IoU of the two rects' unrotated bounds (AssociationNormRectCalculator's similarity)."""
    ax0, ay0, ax1, ay1 = a.bounds()
    bx0, by0, bx1, by1 = b.bounds()
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0
