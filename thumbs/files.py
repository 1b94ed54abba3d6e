"""Writing files so that a crash or Ctrl-C never leaves a half-written or clobbered file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from thumbs.errors import ThumbsError


def _temp_beside(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(tmp)


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Replace `path` with `data` in one step: readers see the old file or the new one, never half."""
    path = Path(path)
    tmp = _temp_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_new(path: str | Path, data: bytes) -> Path:
    """Create `path` atomically, refusing to overwrite an existing file (FileExistsError)."""
    path = Path(path)
    tmp = _temp_beside(path, data)
    try:
        os.link(tmp, path)  # atomic and fails if the name is taken, unlike rename
    except (PermissionError, NotImplementedError):  # file systems without hard links (FAT, some mounts)
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return path
    finally:
        tmp.unlink(missing_ok=True)
    return path


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ThumbsError(f"could not encode a {image.shape} frame as JPEG")
    return buf.tobytes()


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode image bytes to BGR uint8, or None when they are not a readable image."""
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


def read_image(path: str | Path) -> np.ndarray | None:
    """Decode an image file to BGR uint8, or None when it is unreadable (corrupt, empty, not an image)."""
    try:
        return decode_image(Path(path).read_bytes())
    except OSError:
        return None
