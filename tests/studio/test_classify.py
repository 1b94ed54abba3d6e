"""The live model on its own thread: the window never waits for it, and it always takes the newest frame."""

from __future__ import annotations

import time

import numpy as np
import pytest

from thumbs.core.backend import Prediction
from thumbs.core.errors import ThumbsError
from thumbs.sources.readers import Frame
from thumbs.studio.classify import NewestFrameClassifier


class SlowModel:
    """A stand-in classifier that takes `seconds` per frame and records which frames it saw."""

    path = "slow.onnx"

    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds, self.fail, self.seen = seconds, fail, []

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        return image

    def infer(self, tensor: np.ndarray) -> Prediction:
        if self.fail:
            raise RuntimeError("ONNX Runtime: bad input")
        self.seen.append(int(tensor[0, 0, 0]))
        time.sleep(self.seconds)
        return Prediction("a", 1.0, np.array([1.0]), self.seconds * 1000)


def _frame(i: int) -> Frame:
    return Frame(np.full((2, 2, 3), i, np.uint8), i, i / 30)


def test_offering_never_waits_and_the_newest_frame_is_the_one_classified():
    model = SlowModel(0.2)
    worker = NewestFrameClassifier(model)
    worker.offer(_frame(0))
    while not model.seen:
        time.sleep(0.005)
    start = time.perf_counter()
    for i in range(1, 10):  # the window's next frames take no time while the model works on frame 0
        worker.offer(_frame(i))
    assert time.perf_counter() - start < 0.05
    time.sleep(0.6)
    done = worker.results()
    worker.close()
    assert model.seen == [0, 9]  # 1-8 were passed over: the model always takes the newest frame
    assert [f.index for f, _ in done] == [0, 9]


def test_an_error_of_the_model_reaches_the_window_as_one_line():
    worker = NewestFrameClassifier(SlowModel(0, fail=True))
    worker.offer(_frame(1))
    time.sleep(0.2)
    with pytest.raises(ThumbsError, match="the live model slow.onnx failed on a frame: ONNX Runtime: bad input"):
        worker.results()
    worker.close()
