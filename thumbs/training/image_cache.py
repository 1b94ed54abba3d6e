"""Decoded training images kept on disk between runs, so "train again with another setting" does not decode
and resize every photo again. An entry is found by the file's content (not its name or time) with the view's
kind, size, crop and the code and OpenCV versions that made it: a changed photo or a new view is simply
another key, so a stale entry is never used. The cache is a convenience: when it cannot be read or written,
training goes on without it."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from thumbs.core import cache
from thumbs.core.errors import ThumbsError
from thumbs.core.files import decode_image, read_regular

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


class ImageCache:
    """One .npy file per (content, view); counts hits and misses for the run's log."""

    def __init__(self, root: Path | None) -> None:
        self.root, self.hits, self.misses = root, 0, 0

    def key(self, data: bytes, view: str) -> str:
        digest = hashlib.blake2b(data, digest_size=20)
        digest.update(f"|{view}|v{VERSION}|cv{cv2.__version__}".encode())
        return digest.hexdigest()

    def view(self, path: Path, view: str, make: Callable[[np.ndarray], np.ndarray],
             shape: tuple[int, ...] | None = None) -> np.ndarray | None:
        """make(decoded BGR frame) for this file, from the cache when it holds it; None for an unreadable file.
        An entry that is not a uint8 array of `shape` (cut short by a full disk, written by hand) is a miss,
        and is made and stored again."""
        try:
            data = read_regular(path)
        except OSError:
            return None
        entry = self._entry(self.key(data, view)) if self.root else None
        if entry is not None:
            image = self._load(entry)
            if image is not None and image.dtype == np.uint8 and (shape is None or image.shape == shape):
                self.hits += 1
                with contextlib.suppress(OSError):
                    os.utime(entry)  # recently used: pruned last
                return image
        bgr = decode_image(data)
        if bgr is None:
            return None
        image = make(bgr)
        self.misses += 1
        if entry is not None:
            self._store(entry, image)
        return image

    @staticmethod
    def _load(entry: Path) -> np.ndarray | None:
        """The entry's array, or None when there is none or it is not a whole .npy file."""
        try:
            return np.load(entry, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # EOFError: a 0-byte entry (click would print "Aborted.")
            return None

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def _store(self, entry: Path, image: np.ndarray) -> None:
        """Write beside, then rename: a reader never sees half an entry (no fsync: a lost entry is only a miss)."""
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                np.save(f, image, allow_pickle=False)
            os.replace(tmp, entry)
        except OSError:  # read-only home, full disk: this run decodes, the next one too
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self.root = None

    def prune(self, limit: int) -> tuple[int, int]:
        """Delete the least recently used entries until the cache holds at most `limit` bytes, so a cache
        that is never cleared does not fill the disk; returns (entries deleted, bytes freed)."""
        if self.root is None or not self.root.is_dir():
            return 0, 0
        entries = []
        for path in self.root.glob("*/*.npy"):
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((st.st_mtime, st.st_size, path))
        total, deleted, freed = sum(size for _, size, _ in entries), 0, 0
        for _, size, path in sorted(entries):
            if total - freed <= limit:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                deleted, freed = deleted + 1, freed + size
        return deleted, freed
