"""`live --record`: the annotated video, playable up to its last second even after a kill or a power cut.

Every frame goes first to a Motion-JPEG AVI written by OpenCV's own writer, which puts each frame on disk
as it comes (FFmpeg's writers hold a quarter megabyte back, seconds of small frames), and which FFmpeg and
OpenCV play without its closing index; it is synced to the disk once a second. `--record NAME.avi` is that
file itself. `--record NAME.mp4` (smaller, plays everywhere) is also written to a hidden temp file, which
needs a clean stop to be complete: q, the end of the source, Ctrl-C, SIGTERM or SIGHUP move it into place
and remove the safe copy, NAME.mp4.partial.avi; after a kill or a power cut the safe copy is the recording.
The safe copy is created exclusively and locked while recording, so two runs never write one file."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import cv2
import numpy as np

from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir, ensure_dir, is_utf8

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG"}
SAFE_SUFFIX = ".partial.avi"
SYNC_SECONDS = 1.0  # a power cut loses at most this much of the recording
SPACE_CHECK_EVERY = 30  # frames between checks that the recording's disk has room (and at the first frame)
MIN_FREE_BYTES = 16 * 2**20  # room kept for the writer to finish the file so that it plays


def safe_copy(path: Path) -> Path:
    """Where the frames go first: the .avi itself, else NAME.partial.avi beside it."""
    return path if path.suffix.lower() == ".avi" else path.with_name(path.name + SAFE_SUFFIX)


def _locked_by_another(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def check_record(path: Path) -> None:
    """Every reason --record PATH would fail or destroy a file, said before anything is opened."""
    if path.suffix.lower() not in FOURCC:
        raise ThumbsError(f"--record '{path}': unknown video type '{path.suffix}'; use {', '.join(FOURCC)}")
    if path.is_dir():
        raise ThumbsError(f"--record '{path}' is a folder: give a file name inside it")
    safe = safe_copy(path)
    if _locked_by_another(safe):
        raise ThumbsError(f"--record '{path}': another `thumbs live` is recording to it right now; "
                          "choose another name")
    if path.exists() or path.is_symlink():
        raise ThumbsError(f"--record '{path}' exists: choose a new name, or move that file away "
                          "(a recording never replaces a file)")
    if safe.exists() and safe.stat().st_size > 0:
        raise ThumbsError(f"--record '{path}': '{safe}' holds a recording that was cut short (a kill or a power "
                          "cut): it plays as it is; rename or move it, then record again")
    if not is_utf8(str(path)):
        raise ThumbsError(f"--record '{path}': its name is not UTF-8 text, which OpenCV cannot write; "
                          "choose a name of plain letters and digits")
    check_writable_dir(path.parent, "--record", create=False)


class Recorder:
    """Annotated video (see the module's docstring). Frames of another size than the first are resized to
    it (a video has one frame size)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = Path(path), fps if fps and fps > 0 else 30.0
        self.safe = safe_copy(self.path)
        self.tmp = None if self.safe == self.path else self.path.with_name(f".{self.path.name}.tmp{self.path.suffix}")
        self.writers: list[cv2.VideoWriter] = []
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self.lock: int | None = None
        self.synced = 0.0

    def open(self) -> None:
        """Claim the safe copy (exclusively, locked) before the first frame."""
        check_record(self.path)
        ensure_dir(self.path.parent)
        if self.safe.exists():
            self.safe.unlink()  # empty: a run killed before its first frame
        try:
            self.lock = os.open(self.safe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._release()
            raise ThumbsError(f"--record '{self.path}': cannot claim '{self.safe}' ({e.strerror}); another run may "
                              "be recording there: choose another name") from None

    def write(self, step) -> None:
        self.write_image(step.canvas)

    def write_image(self, image: np.ndarray) -> None:
        if not self.writers:
            self._start((image.shape[1], image.shape[0]))
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        for writer in self.writers:
            writer.write(image)
        self.frames += 1
        if self.frames == 1 or self.frames % SPACE_CHECK_EVERY == 0:
            self._check_space()
        now = time.monotonic()
        if now - self.synced >= SYNC_SECONDS:
            os.fsync(self.lock)  # the whole file, written through OpenCV's own handle
            self.synced = now

    def _check_space(self) -> None:
        """OpenCV's writer drops frames on a full disk with a warning only, and then cannot finish the file:
        stop while it still can, and say why."""
        try:
            disk = os.statvfs(self.safe.parent)
            per_frame = sum(p.stat().st_size for p in (self.safe, self.tmp) if p is not None) // self.frames
        except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
            return
        free = disk.f_bavail * disk.f_frsize
        if free < MIN_FREE_BYTES + 2 * SPACE_CHECK_EVERY * per_frame:
            raise ThumbsError(f"--record '{self.path}': the disk is full ({free / 2**20:.1f} MB free); recording "
                              f"stopped after {self.frames} frame(s): free some space or record on another disk")

    def _start(self, size: tuple[int, int]) -> None:
        self.size = size
        safe = cv2.VideoWriter(str(self.safe), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), self.fps, size)
        self.writers.append(safe)
        if self.tmp is not None:
            fourcc = cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()])
            self.writers.append(cv2.VideoWriter(str(self.tmp), fourcc, self.fps, size))
        if not all(w.isOpened() for w in self.writers):
            raise ThumbsError(f"--record '{self.path}': OpenCV cannot write this video here; try .avi")
        self.synced = time.monotonic()

    def close(self) -> None:
        """Finish the files: the requested one in place, the safe copy removed once it is not needed."""
        for writer in self.writers:
            writer.release()
        self.writers = []
        if self.frames and self.tmp is not None:
            self._move_into_place()
        elif not self.frames:
            self.safe.unlink(missing_ok=True)
        self._release()

    def _move_into_place(self) -> None:
        try:
            os.link(self.tmp, self.path)  # never replaces a file that appeared meanwhile
        except OSError:
            return  # the safe copy stays: it is the recording
        self.tmp.unlink(missing_ok=True)
        self.safe.unlink(missing_ok=True)

    def _release(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    @property
    def written(self) -> Path | None:
        """The file that holds the recording after close (the safe copy when the .mp4 could not be made)."""
        if not self.frames:
            return None
        return self.path if self.path.exists() else self.safe if self.safe.exists() else None
