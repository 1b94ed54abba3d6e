"""An OpenCV window that fails with a clear message (not a Qt abort) where there is no display."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from thumbs.core.errors import ThumbsError
from thumbs.live.x11 import WindowWatch, x_server_answers

QUIT_KEYS = (ord("q"), ord("Q"), 27)  # 27: ESC
NOT_A_CHARACTER = 0x100  # an arrow, Print, Shift...: a key was pressed, but it is no letter, digit or ESC


def digit_class(key: int, count: int) -> int | None:
    """The class a digit key names, 1-9 in the classes' order, as an index; None for any other key or a digit past
    the last class. One rule for live's hard examples, review's labels and the studio's selection."""
    index = key - ord("1")
    return index if 0 <= index < min(9, count) else None


def key_code(raw: int) -> int:
    """A key as a character code, from cv2.waitKeyEx: -1 for none, NOT_A_CHARACTER for keys that are not one.
    waitKey's low byte is not enough: X11's Left (0xff51) would read as 'Q' and quit, Print (0xff61) as 'a'.
    The low 16 bits hold an X keysym (Linux) or a character (Windows puts special keys above them)."""
    if raw < 0:
        return -1
    low = raw & 0xFFFF
    return low if 0 < low < 0x100 else NOT_A_CHARACTER
# Qt's toolbar (zoom, save, properties) only gets in the way of a live view; other back ends ignore it.
FLAGS = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | getattr(cv2, "WINDOW_GUI_NORMAL", 0)

# pip's OpenCV ships Qt without fonts, and Qt says so several times per window; nothing a user can act on.
os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")


def display_available() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Window:
    def __init__(self, title: str, instead: str = "run with --headless") -> None:
        """`instead`: what else the command can do without a window (the studio has no headless mode)."""
        if not display_available():
            raise ThumbsError(f"no display (DISPLAY is not set): {instead}, or over SSH use ssh -X")
        if not x_server_answers():
            raise ThumbsError(f"no X server answers at DISPLAY={os.environ.get('DISPLAY')}: start one (or fix "
                              f"DISPLAY / xauth), or {instead}")
        self.title = title
        try:
            cv2.namedWindow(title, FLAGS)
        except cv2.error as e:
            raise ThumbsError(
                f"this OpenCV cannot open windows ({e.err.strip()}); "
                f"install opencv-python instead of opencv-python-headless, or {instead}"
            ) from None
        self._shown = False
        self._x_window = WindowWatch(title)

    def show(self, image: np.ndarray) -> int:
        """Show a frame and return the key pressed (-1 for none); also pumps the GUI events."""
        if not self._shown:  # open at the canvas's own size; the user may resize it after
            cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
        cv2.imshow(self.title, image)
        self._shown = True
        return key_code(cv2.waitKeyEx(1))

    def closed(self) -> bool:
        """True once the user closed the window with its close button, or another X client destroyed it
        (`xdotool windowclose`), which OpenCV never notices."""
        if not self._shown:
            return False
        try:
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return True
        except cv2.error:
            return True
        return self._x_window.gone()

    def quit_requested(self, key: int) -> bool:
        """True when the user asked to stop: q, Q or ESC pressed, or the window closed."""
        return key in QUIT_KEYS or self.closed()

    def close(self) -> None:
        self._x_window.close()
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
