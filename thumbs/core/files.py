"""Writing files so that a crash, a full disk or Ctrl-C never leaves a half-written or clobbered file
behind: every write goes to a hidden temp file beside the target, which is renamed into place or removed."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from thumbs.core.errors import ThumbsError


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file; mkstemp alone gives 0o600

_REASONS = {
    errno.ENOSPC: "no space left on the device: free some space, or choose a place on another disk",
    errno.EDQUOT: "the disk quota is used up: free some space, or choose another place",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "permission denied: choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another place",
    errno.EEXIST: "a part of that path is a file, not a folder: choose another place",
    errno.EISDIR: "it is a folder: give a file name, or move that folder away",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter path",
    errno.ENOENT: "no such file or folder: check the path",
    errno.ELOOP: "too many levels of symbolic links: check the links in that path",
    errno.EILSEQ: "the name is not valid on this file system: use plain letters and digits",
}


class WriteError(ThumbsError):
    """A file could not be written (disk full, read-only, a file where a folder must be)."""


def write_error(path: str | Path, exc: OSError) -> WriteError:
    """One clear line naming the path, what went wrong and the fix."""
    reason = _REASONS.get(exc.errno or 0, f"{exc.strerror or exc}: choose another place")
    return WriteError(f"cannot write '{path}': {reason}")


def os_error_line(exc: OSError, what: str | None = None) -> str:
    """One line for an OSError no command turned into its own message (a name too long, a full disk under
    standard output): what it concerns, the reason and the fix; the CLI prints it instead of a traceback."""
    name = what or (f"'{exc.filename}'" if exc.filename is not None else "cannot write the output")
    return f"{name}: {_REASONS.get(exc.errno or 0, exc.strerror or str(exc))}"


def is_utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python keeps them as surrogate escapes): OpenCV crashes
    the process on such a path (a segmentation fault), and a class of that name cannot be written as a label."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file's bytes were expected (reading it could block for ever)."""


def read_regular(path: str | Path) -> bytes:
    """The bytes of a regular file. Opened without blocking, so a FIFO named like an image or a labels file
    raises NotRegularFile instead of waiting for a writer that never comes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file (a FIFO, socket or device)", str(path))
        return f.read()


_deferred = threading.local()
_pending: list[bool] = []


@contextlib.contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Ctrl-C inside this block is held back until the block ends, so a group of files is written
    completely (or not started) before KeyboardInterrupt is raised. Nests; a no-op off the main thread."""
    depth = getattr(_deferred, "depth", 0)
    handler = signal.getsignal(signal.SIGINT)
    if depth or threading.current_thread() is not threading.main_thread() or handler is signal.SIG_IGN:
        _deferred.depth = depth + 1
        try:
            yield
        finally:
            _deferred.depth = depth
        return
    _pending.clear()
    signal.signal(signal.SIGINT, lambda *_: _pending.append(True))
    _deferred.depth = 1
    try:
        yield
    finally:
        _deferred.depth = 0
        signal.signal(signal.SIGINT, handler)
    if _pending:
        _pending.clear()
        raise KeyboardInterrupt


def ensure_dir(path: str | Path) -> Path:
    """Create a folder (and its parents), or say clearly why it cannot be."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteError(f"cannot create folder '{path}': a file of that name is in the way; "
                         "move it or choose another place") from None
    except OSError as e:
        raise write_error(path, e) from None
    return path


def check_writable_dir(path: str | Path) -> Path:
    """Create `path` if needed and prove a file can be written in it, before any long work starts."""
    path = ensure_dir(path)
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise write_error(path, e) from None
    return path


def _temp_beside(path: Path, data: bytes) -> Path:
    """Write `data` to a hidden temp file beside `path` (removed again on any failure)."""
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise
    return Path(tmp)


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Replace `path` with `data` in one step: readers see the old file or the new one, never half.
    Ctrl-C during the write finishes it first; a failed write leaves no temp file."""
    path = Path(path)
    with interrupt_deferred():
        tmp = _temp_beside(path, data)
        try:
            os.replace(tmp, path)
        except BaseException as e:
            tmp.unlink(missing_ok=True)
            if isinstance(e, OSError):
                raise write_error(path, e) from None
            raise
    return path


def write_new(path: str | Path, data: bytes) -> Path:
    """Create `path` atomically, refusing to overwrite an existing file (FileExistsError)."""
    path = Path(path)
    with interrupt_deferred():
        tmp = _temp_beside(path, data)
        try:
            _link_new(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # atomic and fails if the name is taken, unlike rename
    except FileExistsError:
        raise
    except (PermissionError, NotImplementedError):  # file systems without hard links (FAT, some mounts)
        if path.exists():
            raise FileExistsError(path) from None
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise write_error(path, e) from None
    except OSError as e:
        raise write_error(path, e) from None


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
        return decode_image(read_regular(path))
    except OSError:
        return None
