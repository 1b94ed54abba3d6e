"""Where thumbs keeps what it can rebuild, one rule for every kind: the cache root is $THUMBS_CACHE, else
$XDG_CACHE_HOME/thumbs, else ~/.cache/thumbs; `THUMBS_CACHE=off` (or 0, no) keeps nothing on disk at all.

Inside the root: `images/`, decoded training images (thumbs/training/image_cache.py), `hands/`, the hands found in
each image (thumbs/hands/found.py), and `trt/`, TensorRT engines (thumbs/runtime/providers.py). With `off`,
training decodes every image and TensorRT builds its engine again on every run (minutes on a Jetson Nano):
slower, never stale, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "THUMBS_CACHE"
OFF = ("off", "0", "no")
IMAGES = "images"
HANDS = "hands"
ENGINES = "trt"


def root() -> Path | None:
    """The cache root, or None when $THUMBS_CACHE says off."""
    chosen = os.environ.get(ENV, "").strip()
    if chosen:
        return None if chosen.lower() in OFF else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "thumbs"


def folder(kind: str) -> Path | None:
    """The folder of one kind of cached thing (IMAGES, HANDS, ENGINES), or None when the cache is off."""
    top = root()
    return top / kind if top is not None else None
