"""Arrays made from a file, kept on disk between runs as one .npy per (file content, view): the store behind the
decoded-image cache (training) and the found-hands cache (hands/found.py). An entry is found by the file's
content, not its name or time, so a changed file is simply another key and a stale entry is never used. The
cache is a convenience: when it cannot be read or written, the caller goes on without it. Torch-free."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from thumbs.core.files import decode_image, read_regular


class NpyCache:
    """make(decoded BGR frame) per (file content, view), counted as hits and misses for the run's log."""

    def __init__(self, root: Path | None) -> None:
        self.root, self.hits, self.misses = root, 0, 0

    def key(self, data: bytes, view: str) -> str:
        digest = hashlib.blake2b(data, digest_size=20)
        digest.update(f"|{view}".encode())
        return digest.hexdigest()

    def get(self, path: Path, view: str, make: Callable[[np.ndarray], np.ndarray],
            accept: Callable[[np.ndarray], bool]) -> np.ndarray | None:
        """make(decoded BGR frame) for this file, from the cache when it holds an entry that `accept`s; None for
        an unreadable file. A refused entry (cut short by a full disk, written by hand) is made and stored again."""
        try:
            data = read_regular(path)
        except OSError:
            return None
        entry = self._entry(self.key(data, view)) if self.root else None
        if entry is not None:
            array = self._load(entry)
            if array is not None and accept(array):
                self.hits += 1
                with contextlib.suppress(OSError):
                    os.utime(entry)  # recently used: pruned last
                return array
        bgr = decode_image(data)
        if bgr is None:
            return None
        array = make(bgr)
        self.misses += 1
        if entry is not None:
            self._store(entry, array)
        return array

    @staticmethod
    def _load(entry: Path) -> np.ndarray | None:
        """The entry's array, or None when there is none or it is not a whole .npy file."""
        try:
            return np.load(entry, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # EOFError: a 0-byte entry (click would print "Aborted.")
            return None

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def _store(self, entry: Path, array: np.ndarray) -> None:
        """Write beside, then rename: a reader never sees half an entry (no fsync: a lost entry is only a miss)."""
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, entry)
        except OSError:  # read-only home, full disk: this run makes every entry, the next one too
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
