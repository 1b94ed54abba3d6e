"""Writing files so that a crash, a full disk or Ctrl-C never leaves a half-written or clobbered file
behind: every write goes to a hidden temp file beside the target, which is renamed into place or removed."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import cv2
import numpy as np

from thumbs.core import signals
from thumbs.core.errors import ThumbsError


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


IMAGE_EXTS = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".webp", ".tif", ".tiff"}  # what read_image takes
# Image types OpenCV cannot decode: named as not read where they are found, never passed over silently.
UNREAD_EXTS = {".gif", ".heic", ".heif"}
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


def existing_file(path: str | Path, what: str, hint: str = "") -> Path:
    """`path`, or one line saying it is not there, is a folder, or is no regular file (reading a FIFO would wait
    for ever). Torch-free, so a mistyped path is refused before PyTorch loads (seconds)."""
    path = Path(path)
    if not path.is_file():
        state = ("is a folder, not a file" if path.is_dir() else
                 "is not a regular file (a FIFO, socket or device)" if path.exists() else "does not exist")
        raise ThumbsError(f"{what} '{path}' {state}{hint}")
    return path


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


def check_writable_dir(path: str | Path, option: str | None = None, create: bool = True) -> Path:
    """The one answer to "can files be written in this folder?", before any long work starts: creates `path`
    (or, with create=False, finds the nearest folder that exists above it) and writes a nameless temp file there
    (a real write, so a read-only mount, an ACL or a quota counts, not just the permission bits).
    `option` (e.g. "--out") starts the error line."""
    path = Path(path)
    try:
        probe = ensure_dir(path) if create else _nearest_folder(path)
        with tempfile.TemporaryFile(dir=probe):
            pass
    except WriteError as e:
        raise WriteError(f"{option} {e}" if option else str(e)) from None
    except OSError as e:
        raise WriteError(f"{option} {write_error(path, e)}" if option else str(write_error(path, e))) from None
    return path


def _nearest_folder(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                raise WriteError(f"cannot write in '{path}': '{p}' is a file, not a folder; choose another place")
            return p
    return Path.cwd()


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
    A stop signal during the write finishes it first (thumbs.core.signals); a failed write leaves no temp file."""
    path = Path(path)
    with signals.deferred():
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
    with signals.deferred():
        tmp = _temp_beside(path, data)
        try:
            link_new(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


# What os.link raises where a hard link cannot be made: no hard links on this file system (FAT, some mounts), or
# the new name is on another disk.
_NO_LINK = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EXDEV)


def link_new(src: Path, dst: Path) -> Path:
    """Give the file `src` the name `dst` in one step, never overwriting: FileExistsError when `dst` is taken.
    A hard link where the file system has them; else a rename after a check; on another disk, a copy written
    beside `dst` first. `src` may be gone afterwards (renamed): the caller removes it, missing_ok."""
    try:
        os.link(src, dst)  # atomic, and fails when the name is taken, unlike rename
        return dst
    except FileExistsError:
        raise
    except NotImplementedError:
        pass
    except OSError as e:
        if e.errno not in _NO_LINK:
            raise write_error(dst, e) from None
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(dst)
    try:
        os.replace(src, dst)
        return dst
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise write_error(dst, e) from None
    tmp = _temp_beside(dst, src.read_bytes())  # another disk: copy beside the new name, then one step
    try:
        return link_new(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


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
