"""A GStreamer pipeline run by `gst-launch-1.0` itself, read as raw BGR frames from its stdout.

pip's OpenCV is built without GStreamer, so a Jetson's CSI camera (nvarguscamerasrc) is out of its reach; the
gst-launch-1.0 tool that JetPack ships reaches it. The object mimics the part of cv2.VideoCapture that
`sources.FrameSource` uses (read, get, isOpened, release), so it gets the same newest-frame threading."""

from __future__ import annotations

import collections
import re
import shlex
import shutil
import subprocess
import threading

import numpy as np

from thumbs.core.errors import SourceError

TOOL = "gst-launch-1.0"
MAX_SIDE = 8192  # larger frames are a typo, and one would not fit in memory
INSTALL = "sudo apt install gstreamer1.0-tools gstreamer1.0-plugins-base (JetPack ships them)"


def _caps_size(pipeline: str) -> tuple[int, int] | None:
    """The last width/height the pipeline's caps name, e.g. `video/x-raw,width=1280,height=720`."""
    widths = re.findall(r"\bwidth=(?:\(int\))?(\d+)", pipeline)
    heights = re.findall(r"\bheight=(?:\(int\))?(\d+)", pipeline)
    return (int(widths[-1]), int(heights[-1])) if widths and heights else None


def fdsink_pipeline(pipeline: str, width: int | None = None, height: int | None = None) -> tuple[str, int, int]:
    """The user's pipeline ending in BGR frames of a known size on stdout (a trailing appsink is replaced)."""
    elements = [e.strip() for e in pipeline.split(" ! ")]
    if elements and elements[-1].split()[0] in ("appsink", "fdsink"):
        elements.pop()
    size = (width, height) if width and height else _caps_size(pipeline)
    if size is None:
        raise SourceError(f"GStreamer pipeline '{pipeline}': the frame size is not known; put width=W,height=H in "
                          "its caps or pass --width and --height")
    w, h = size
    if w > MAX_SIDE or h > MAX_SIDE:
        raise SourceError(f"GStreamer pipeline '{pipeline}': frame size {w}x{h} is too large (at most "
                          f"{MAX_SIDE} per side); pass a smaller --width and --height")
    elements += ["videoconvert", "videoscale", f"video/x-raw,format=BGR,width={w},height={h}", "fdsink fd=1"]
    return " ! ".join(elements), w, h


class GstLaunchCapture:
    """`gst-launch-1.0 -q PIPELINE ! ... ! fdsink fd=1`, read frame by frame; the first frame is read on open,
    so a pipeline that fails is an error naming gst-launch's own last error line."""

    def __init__(self, pipeline: str, width: int | None = None, height: int | None = None) -> None:
        if shutil.which(TOOL) is None:
            raise SourceError(f"GStreamer pipeline '{pipeline}': {TOOL} is not installed and this OpenCV has no "
                              f"GStreamer; install it: {INSTALL}")
        self.command, self.width, self.height = fdsink_pipeline(pipeline, width, height)
        self._size = self.width * self.height * 3
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        try:
            arguments = shlex.split(self.command)  # as a shell would pass it to gst-launch-1.0
        except ValueError as e:
            raise SourceError(f"GStreamer pipeline '{pipeline}': {str(e).lower()}; close the quote or remove "
                              "it") from None
        self._proc = subprocess.Popen([TOOL, "-q", *arguments], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self.ended_cleanly = False  # True when the pipeline reached its end (EOS) and exited with status 0
        self._first = self._read_frame()
        if self._first is None:
            raise SourceError(f"GStreamer pipeline '{pipeline}' did not start: {self.last_error()}")

    def _drain_stderr(self) -> None:
        for line in iter(self._proc.stderr.readline, b""):
            text = line.decode(errors="replace").strip()
            if text:
                self._stderr.append(text)

    def last_error(self) -> str:
        """gst-launch's last stderr line (after it has exited), or its exit status."""
        code = self._proc.wait(timeout=5)
        self._stderr_thread.join(timeout=1)
        return self._stderr[-1] if self._stderr else f"{TOOL} exited with status {code} and no message"

    def _read_frame(self) -> np.ndarray | None:
        buffer = bytearray()
        while len(buffer) < self._size:
            chunk = self._proc.stdout.read(self._size - len(buffer))
            if not chunk:
                self.ended_cleanly = not buffer and self._proc.wait(timeout=5) == 0
                return None
            buffer += chunk
        return np.frombuffer(bytes(buffer), np.uint8).reshape(self.height, self.width, 3)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._first is not None:
            frame, self._first = self._first, None
            return True, frame
        frame = self._read_frame()
        return frame is not None, frame

    def isOpened(self) -> bool:  # noqa: N802 - cv2.VideoCapture's name
        return self._proc.poll() is None or self._first is not None

    def get(self, prop: int) -> float:
        return 0.0  # no nominal frame rate: FrameSource then uses its default

    def release(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
