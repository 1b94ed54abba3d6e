"""Decoded training images kept on disk between runs, so "train again with another setting" does not decode
and resize every photo again. An entry is found by the file's content (not its name or time) with the view's
kind, size, crop and the code and OpenCV versions that made it: a changed photo or a new view is simply
another key, so a stale entry is never used. The cache is a convenience: when it cannot be read or written,
training goes on without it."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from thumbs.core import cache
from thumbs.core.errors import ThumbsError
from thumbs.core.npy_cache import NpyCache

VERSION = 1  # raise when preprocess.training_view or model_view change what they make
LIMIT_ENV = "THUMBS_CACHE_MB"  # the most the cache keeps on disk, in MB
DEFAULT_LIMIT_MB = 2048  # a few runs of a few thousand photos at two sizes


def default_dir() -> Path | None:
    """images/ in the cache root (thumbs/core/cache.py: $THUMBS_CACHE or ~/.cache/thumbs); None when "off"."""
    return cache.folder(cache.IMAGES)


def limit_bytes() -> int:
    """$THUMBS_CACHE_MB as bytes ("inf": no limit, a negative value 0), else the default; a value that is not a
    number is refused, so a typo never silently keeps (or drops) the user's cache."""
    text = os.environ.get(LIMIT_ENV, "").strip() or str(DEFAULT_LIMIT_MB)
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if math.isnan(mb):
        raise ThumbsError(f"${LIMIT_ENV}='{text}' is not a number of megabytes: set e.g. {LIMIT_ENV}=2048, "
                          f"{LIMIT_ENV}=inf for no limit, or unset it (default {DEFAULT_LIMIT_MB})")
    if math.isinf(mb):
        return sys.maxsize if mb > 0 else 0
    return max(0, int(mb * 2**20))


class ImageCache(NpyCache):
    """One .npy file per (content, view) of a decoded, resized image (core/npy_cache.py keeps them)."""

    def key(self, data: bytes, view: str) -> str:
        return super().key(data, f"{view}|v{VERSION}|cv{cv2.__version__}")

    def view(self, path: Path, view: str, make: Callable[[np.ndarray], np.ndarray],
             shape: tuple[int, ...] | None = None) -> np.ndarray | None:
        """make(decoded BGR frame) for this file, from the cache when it holds it; None for an unreadable file.
        An entry that is not a uint8 array of `shape` is a miss, and is made and stored again."""
        return self.get(path, view, make, lambda a: a.dtype == np.uint8 and (shape is None or a.shape == shape))
