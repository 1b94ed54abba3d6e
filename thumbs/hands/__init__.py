"""The hand front end (live install, torch-free): find hands in a frame, then what a hand model is fed.

`HandFrontEnd()(bgr) -> [Hand, ...]`: MediaPipe's palm detector and hand landmark model (ONNX, shipped in
models/), with tracking between video frames."""

from thumbs.hands.frontend import HandFrontEnd
from thumbs.hands.hand import Hand

__all__ = ["Hand", "HandFrontEnd"]
