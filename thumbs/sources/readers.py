"""Sources of frames: one spec string (camera index, file, folder, glob, URL, GStreamer pipeline)
becomes an iterator of BGR frames, so collect and live work the same on a webcam and in CI."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# FFMPEG logs through av_log, which OpenCV's log level does not reach ("moov atom not found", "Connection
# refused"): quiet it before the first capture opens; the SourceError says what failed in one line.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from thumbs.core.errors import SourceError  # noqa: E402
from thumbs.core.files import IMAGE_EXTS, is_utf8, read_image  # noqa: E402
from thumbs.sources.gstreamer import GstLaunchCapture  # noqa: E402

MAX_CAMERA_INDEX = 2**31 - 1  # OpenCV takes a C int
URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")
FOLDER_FPS = 30.0  # timestamps for image folders, which have no clock of their own
STALL_SECONDS = 5.0  # a live source silent this long is reported as stopped


@dataclass(frozen=True)
class SourceSpec:
    """What a source string means; `kind` is camera, video, images, url or gstreamer."""

    kind: str
    value: str | int
    paths: tuple[Path, ...] = ()

    @property
    def live(self) -> bool:
        """Live sources run on their own clock: only the newest frame matters."""
        return self.kind in ("camera", "url", "gstreamer")

    def describe(self) -> str:
        return f"camera {self.value}" if self.kind == "camera" else f"{self.kind} '{self.value}'"


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8, HxWx3
    index: int  # position in the stream (0, 1, 2, ...)
    time: float  # seconds: media time for files, wall clock since start for live sources
    path: Path | None = None  # the image file, for folder and glob sources (captures record where a frame came from)


def parse_source(spec: str | int) -> SourceSpec:
    """Decide what kind of source `spec` names, with a clear error when it names nothing usable."""
    if isinstance(spec, int) or re.fullmatch(r"-?\d+", str(spec).strip()):
        index = int(spec)
        if index < 0:
            raise SourceError(f"camera index {index} is invalid: use 0 for the first camera, 1 for the next")
        if index > MAX_CAMERA_INDEX:
            raise SourceError(f"camera index {index} is too large: use 0 for the first camera, 1 for the next "
                              "(`thumbs doctor` lists cameras)")
        return SourceSpec("camera", index)
    text = str(spec).strip()
    if not text:
        raise SourceError("the source is empty: give a camera index (0), a video file, a folder or a URL")
    if " ! " in text:
        return SourceSpec("gstreamer", text)
    if text.lower().startswith(URL_SCHEMES):
        return SourceSpec("url", text)
    if any(c in text for c in "*?["):
        paths = tuple(sorted(Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_EXTS))
        if not paths:
            raise SourceError(f"source '{text}': the pattern matches no image files")
        return SourceSpec("images", text, paths)
    path = Path(text).expanduser()
    if path.is_dir():
        paths = tuple(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS))
        if not paths:
            raise SourceError(f"source '{text}': the folder holds no images ({', '.join(sorted(IMAGE_EXTS))})")
        return SourceSpec("images", text, paths)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTS:
            return SourceSpec("images", text, (path,))
        return SourceSpec("video", text)
    raise SourceError(
        f"source '{text}': no such file or folder; give a camera index (0), a video file, "
        "a folder of images, a glob, an rtsp:// URL or a GStreamer pipeline"
    )


def has_gstreamer() -> bool:
    return re.search(r"GStreamer:\s+YES", cv2.getBuildInformation()) is not None


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV prints multi-line warnings on a failed open; our own error says it in one line."""
    logging = cv2.utils.logging
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


def _open_capture(spec: SourceSpec, width: int | None, height: int | None, fps: float | None):
    if not is_utf8(str(spec.value)):
        raise SourceError(f"{spec.describe()}: its name is not UTF-8 text, which OpenCV cannot open; rename it "
                          "(e.g. with plain letters and digits)")
    if spec.kind == "gstreamer" and not has_gstreamer():
        return GstLaunchCapture(str(spec.value), width, height)  # pip's OpenCV never has GStreamer
    with _quiet_opencv():
        if spec.kind == "gstreamer":
            cap = cv2.VideoCapture(str(spec.value), cv2.CAP_GSTREAMER)
        else:
            cap = cv2.VideoCapture(spec.value)
        if spec.kind == "camera":
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                                (cv2.CAP_PROP_FPS, fps)):
                if value:
                    cap.set(prop, value)
    if not cap.isOpened():
        why = {
            "camera": "no such device, or another program is using it; try another index or a video file",
            "video": "not a video OpenCV can decode (corrupt, or an unsupported codec)",
            "url": "the stream did not answer; check the address, credentials and network",
            "gstreamer": "the pipeline did not start; test it with gst-launch-1.0",
        }[spec.kind]
        raise SourceError(f"could not open {spec.describe()}: {why}")
    return cap


class FrameSource:
    """Iterate frames from a source; use as a context manager so cameras are always released."""

    def __init__(self, spec: SourceSpec, width: int | None = None, height: int | None = None,
                 fps: float | None = None, stall_seconds: float = STALL_SECONDS) -> None:
        self.spec = spec
        self.stall_seconds = stall_seconds
        self.skipped: list[Path] = []  # unreadable images in a folder source: summaries say how many
        self.dropped = 0  # live frames replaced before anyone read them
        self._requested = (width, height, fps)
        self._cap = None if spec.kind == "images" else _open_capture(spec, width, height, fps)
        self.fps = self._nominal_fps()
        self._latest: tuple[int, np.ndarray] | None = None
        self._consumed = -1
        self._cond = threading.Condition()
        self._stopped = False
        self._ended = False
        self._thread: threading.Thread | None = None
        if spec.live:
            self._thread = threading.Thread(target=self._grab_loop, name="thumbs-capture", daemon=True)
            self._thread.start()

    def _nominal_fps(self) -> float:
        """Nominal frame rate (for timestamps and writing videos); 30 where the source does not say."""
        if self._cap is not None:
            fps = self._cap.get(cv2.CAP_PROP_FPS)
            if fps and 1 <= fps <= 240:
                return float(fps)
        return FOLDER_FPS

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._cap is not None:
            self._cap.release()

    def __iter__(self) -> Iterator[Frame]:
        if self.spec.kind == "images":
            return self._iter_images()
        if self.spec.live:
            return self._iter_live()
        return self._iter_file()

    def as_camera(self) -> Iterator[Frame]:
        """Frames as a camera gives them, for a window that stands in for one (the studio): a file or folder
        plays over and over at its own frame rate, never faster; a live source is itself."""
        if self.spec.live:
            yield from self
            return
        index, start = 0, time.monotonic()
        while not self._stopped:
            played = 0
            for frame in self:
                behind = time.monotonic() - (start + index / self.fps)
                if behind < 0:
                    time.sleep(-behind)
                elif behind > 1 / self.fps:  # the reader was slow: go on from now, as a camera does, no burst
                    start += behind
                yield Frame(frame.image, index, index / self.fps, frame.path)
                index, played = index + 1, played + 1
            if not played:
                return
            self._rewind()

    def _rewind(self) -> None:
        """Back to the first frame: a file is opened again (not every codec can seek); a folder re-lists."""
        if self._cap is not None:
            self._cap.release()
            self._cap = _open_capture(self.spec, *self._requested)

    def _iter_images(self) -> Iterator[Frame]:
        index = 0
        for path in self.spec.paths:
            image = read_image(path)
            if image is None:
                self.skipped.append(path)
                continue
            yield Frame(image, index, index / FOLDER_FPS, path)
            index += 1

    def _iter_file(self) -> Iterator[Frame]:
        index = 0
        while not self._stopped:
            ok, image = self._cap.read()
            if not ok:
                return
            yield Frame(image, index, index / self.fps)
            index += 1

    def _grab_loop(self) -> None:
        """Read continuously so the newest frame is always at hand; older ones are dropped."""
        count = 0
        while not self._stopped:
            ok, image = self._cap.read()
            with self._cond:
                if not ok:
                    self._ended = True
                    self._cond.notify_all()
                    return
                if self._latest is not None and self._latest[0] != self._consumed:
                    self.dropped += 1
                self._latest = (count, image)
                count += 1
                self._cond.notify_all()

    def _iter_live(self) -> Iterator[Frame]:
        start = time.monotonic()
        last = -1
        while True:
            with self._cond:
                deadline = time.monotonic() + self.stall_seconds
                while not self._stopped and (self._latest is None or self._latest[0] == last):
                    if self._ended:
                        if getattr(self._cap, "ended_cleanly", False):
                            return  # a pipeline that reached its end (num-buffers, a file) is not a failure
                        raise SourceError(f"{self.spec.describe()} stopped delivering frames (disconnected?)")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SourceError(
                            f"{self.spec.describe()} delivered no frame for {self.stall_seconds:.0f} s "
                            "(unplugged, or in use by another program?)"
                        )
                    self._cond.wait(remaining)
                if self._stopped:
                    return
                last, image = self._latest
                self._consumed = last
            yield Frame(image, last, time.monotonic() - start)


def open_source(spec: str | int, width: int | None = None, height: int | None = None,
                fps: float | None = None) -> FrameSource:
    """Parse and open a source spec; raises SourceError naming the source when it cannot be used."""
    return FrameSource(parse_source(spec), width=width, height=height, fps=fps)
