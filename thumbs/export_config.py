"""The settings of `thumbs export` and their checks, written once and torch-free: the command shows them as its
options' defaults and refuses a bad one before PyTorch loads (seconds)."""

from __future__ import annotations

from thumbs.core.errors import ThumbsError

DEFAULT_OPSET = 13  # the newest that JetPack 4.6's TensorRT 8.2 parses; every architecture exports at it
MIN_OPSET = 11
MAX_OPSET = 18  # the exporters here write 11-18 as asked; newer numbers would silently come out as 18
BATCHES = ("dynamic", "1")  # a dynamic batch axis, or a fixed batch of one (some TensorRT setups want it)


def check(opset: int, batch: str = "dynamic") -> None:
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ThumbsError(f"--opset {opset} is not supported: use {MIN_OPSET}-{MAX_OPSET} ({DEFAULT_OPSET}, the "
                          "default, suits TensorRT 8.2 on JetPack 4.6 and every newer runtime)")
    if batch not in BATCHES:
        raise ThumbsError(f"--batch '{batch}': use {' or '.join(BATCHES)}")
