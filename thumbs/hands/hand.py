"""One hand found in a frame: the record the front end returns and every consumer (overlay, events, the
classifier's inputs, training's cache) reads. Frame pixel coordinates throughout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANDMARKS = 21  # MediaPipe's hand model: wrist, then 4 joints for each of thumb, index, middle, ring, little
WRIST, MIDDLE_MCP = 0, 9
# The skeleton's bones as landmark index pairs (MediaPipe's HAND_CONNECTIONS), for drawing.
CONNECTIONS = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
               (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20))


@dataclass(frozen=True)
class Hand:
    landmarks: np.ndarray  # (21, 3) float32: x, y in frame pixels; z relative depth in the same scale as x
    score: float  # hand presence, 0-1
    handedness: str  # "left" or "right", as the landmark model reports it for the image as given
    handedness_score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1): the landmarks' bounding box in frame pixels."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def to_event(self) -> dict:
        """The hand as JSON-ready values (events, captures): box rounded to a pixel, landmarks to 0.1."""
        return {"box": [round(v) for v in self.box], "score": round(self.score, 3), "handedness": self.handedness,
                "landmarks": np.round(self.landmarks[:, :2], 1).tolist()}
