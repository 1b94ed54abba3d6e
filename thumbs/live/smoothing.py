"""Temporal smoothing with hysteresis: the shown label changes only when the evidence of several
frames says so, and a confident label is kept through a brief dip instead of flickering."""

from __future__ import annotations

from collections import deque

import numpy as np

HYSTERESIS = 0.1  # a shown label stays until its mean probability falls this far below the threshold


class Smoother:
    def __init__(self, classes: list[str], window: int = 5, threshold: float = 0.6,
                 hysteresis: float = HYSTERESIS) -> None:
        if window < 1:
            raise ValueError("the smoothing window must be at least 1 frame")
        self.classes, self.threshold, self.hysteresis = classes, threshold, hysteresis
        self.history: deque[np.ndarray] = deque(maxlen=window)
        self.current: int | None = None

    def update(self, probs: np.ndarray) -> tuple[str | None, float]:
        """Add one frame's probabilities; returns the stable label (None: no confident gesture) and its score."""
        self.history.append(np.asarray(probs, dtype=np.float32))
        mean = np.mean(self.history, axis=0)
        top = int(mean.argmax())
        if self.current is not None and mean[self.current] < self.threshold - self.hysteresis:
            self.current = None
        if mean[top] >= self.threshold and (
                self.current is None or (top != self.current and mean[top] > mean[self.current] + self.hysteresis)):
            self.current = top
        if self.current is None:
            return None, float(mean[top])
        return self.classes[self.current], float(mean[self.current])
