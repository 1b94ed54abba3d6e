"""The X server asked through libxcb: our window found by its pid and title, its destruction seen within a
check, at most one question per CHECK_EVERY, and nothing said where nothing can be told."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.live.test_window import in_child
from thumbs.live import x11

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (apt install xvfb xdotool); .ci/run installs them")


def _watch_a_window_destroyed(title: str) -> dict:
    """In a process of its own (Qt's): a window beside another of this process, a second watch on it that counts
    its questions, then `xdotool windowclose` on the window the watch found."""
    import numpy as np

    from thumbs.live.window import Window

    asked = []
    exists = x11._Server.exists
    x11._Server.exists = lambda server, window: asked.append(window) or exists(server, window)
    other, window, image = Window(f"{title} too"), Window(title), np.full((60, 80, 3), 90, np.uint8)
    for _ in range(5):
        other.show(image)
        window.show(image)
        time.sleep(0.05)
    watch = x11.WindowWatch(title)
    watch.gone()  # the first check finds the window
    start = time.monotonic()
    while time.monotonic() - start < 0.6:  # a frame loop's worth of checks, far faster than any camera
        window.show(image)
        watch.gone()
    shown_by = subprocess.run(["xdotool", "search", "--name", f"^{title}$"], capture_output=True,
                              text=True).stdout.split()
    open_before = window.closed()
    subprocess.run(["xdotool", "windowclose", str(watch.window)], check=True)
    start = time.monotonic()
    while not window.closed() and time.monotonic() - start < 3:
        window.show(image)
        time.sleep(0.01)
    noticed = time.monotonic() - start
    window.close()
    other.close()
    return {"found": watch.window, "xdotool": [int(w) for w in shown_by], "asked": len(asked),
            "closed before": open_before, "noticed after": noticed, "watch gone": watch.gone()}


def test_the_watch_finds_our_window_and_sees_another_client_destroy_it(display):
    seen = in_child(display, _watch_a_window_destroyed, "thumbs x11 watch")
    assert seen["found"] is not None and seen["xdotool"] == [seen["found"]]
    assert seen["asked"] <= 4  # 0.6 s of checks, at most one question per 0.25 s (the window's own checks too)
    assert seen["closed before"] is False
    assert seen["noticed after"] < 2 * x11.CHECK_EVERY + 0.2
    assert seen["watch gone"] is True


def test_no_such_window_is_never_gone_and_the_search_stops(display, monkeypatch):
    """Wayland, a back end that draws no X window, a title nobody has: closed() stays as OpenCV says."""
    searched = []
    search = x11.WindowWatch._search
    monkeypatch.setattr(x11.WindowWatch, "_search", lambda self, server: searched.append(1) or search(self, server))
    monkeypatch.setattr(x11, "CHECK_EVERY", 0.0)
    monkeypatch.setenv("DISPLAY", display)
    watch = x11.WindowWatch("no window has this title")
    assert not any(watch.gone() for _ in range(x11.SEARCH_TRIES + 10))
    assert watch.window is None and len(searched) == x11.SEARCH_TRIES  # then it gave up: no cost per frame


@pytest.mark.parametrize("where", ["no DISPLAY", "no libxcb", "no X server"])
def test_where_nothing_can_be_told_the_watch_says_nothing(where, monkeypatch):
    if where == "no DISPLAY":
        monkeypatch.delenv("DISPLAY", raising=False)
    elif where == "no libxcb":
        monkeypatch.setattr(x11, "load_xcb", lambda: None)
    else:
        monkeypatch.setenv("DISPLAY", ":93")
    monkeypatch.setattr(x11, "CHECK_EVERY", 0.0)
    watch = x11.WindowWatch("thumbs live")
    assert not any(watch.gone() for _ in range(3)) and watch.window is None
    watch.close()
