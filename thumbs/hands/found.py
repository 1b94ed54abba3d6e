"""The hands found in each image file, kept between runs (as decoded images are, core/npy_cache.py): the front
end runs once per photo for training, `thumbs eval` and `thumbs data`, whatever the model's size or kind. An entry
is keyed by the file's content and the front end's identity (its models and settings), so a changed photo or a
new hand model is another key. Torch-free: `thumbs data` runs it in the live install."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core import cache
from thumbs.core.npy_cache import NpyCache
from thumbs.hands.hand import LANDMARKS, Hand

VERSION = 1  # raise when the packing below changes
ROW = LANDMARKS * 3 + 3  # one hand: the landmarks, score, right-handed (1) or left (0), handedness score


def default_dir() -> Path | None:
    """hands/ in the cache root (thumbs/core/cache.py: $THUMBS_CACHE or ~/.cache/thumbs); None when "off"."""
    return cache.folder(cache.HANDS)


def front_end_id(frontend: object) -> str:
    """What makes a front end's answers: its own `identity` (HandFrontEnd's: its model files, settings and
    behaviour version), else its class's name."""
    own = getattr(frontend, "identity", None)
    return str(own) if own else f"{type(frontend).__module__}.{type(frontend).__qualname__}"


def pack(hands: list[Hand]) -> np.ndarray:
    """Hands as one float32 array (len(hands), ROW), the form they are kept in."""
    rows = [np.concatenate([h.landmarks.astype(np.float32).reshape(-1),
                            [h.score, 1.0 if h.handedness == "right" else 0.0, h.handedness_score]])
            for h in hands]
    return np.array(rows, dtype=np.float32).reshape(len(hands), ROW)


def unpack(array: np.ndarray) -> list[Hand]:
    return [Hand(row[:LANDMARKS * 3].reshape(LANDMARKS, 3).copy(), float(row[-3]),
                 "right" if row[-2] > 0.5 else "left", float(row[-1])) for row in array]


class HandCache(NpyCache):
    """`hands(path)`: the front end's `detect` of that photo, from the cache when it holds it."""

    def __init__(self, root: Path | None, frontend: object) -> None:
        super().__init__(root)
        self.frontend = frontend
        self.detect: Callable[[np.ndarray], list[Hand]] = frontend.detect  # type: ignore[attr-defined]
        self.identity = front_end_id(frontend)

    def key(self, data: bytes, view: str) -> str:
        return super().key(data, f"{view}|{self.identity}|v{VERSION}")

    def hands(self, path: Path) -> list[Hand] | None:
        """The hands found in the photo, best first; None when it cannot be read or decoded."""
        array = self.get(path, "hands", lambda bgr: pack(self.detect(bgr)),
                         lambda a: a.dtype == np.float32 and a.ndim == 2 and a.shape[1] == ROW)
        return None if array is None else unpack(array)
