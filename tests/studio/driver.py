"""Drives the real `thumbs studio` as a person does: its own process on an X display, keys through xdotool,
what it did read back from its --events file. The window tests and scripts/bench_studio.py use it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def virtual_display(size: str = "1280x800x24") -> Iterator[str]:
    """An Xvfb display on a number it picks as free (-displayfd); yields ":N". -noreset: by default the server resets
    when its last client leaves, and a window opening in that moment fails with "could not connect to display"."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-noreset", "-screen", "0", size], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(5)


class StudioRun:
    """The studio in a subprocess; keys go to its window, what it did comes back as events."""

    started: list[StudioRun] = []  # every run of this process, so a failed test's studio is ended (end_all)

    def __init__(self, display: str, cwd: Path, *args: str, env: dict | None = None) -> None:
        self.display, self.events = display, cwd / "events.jsonl"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thumbs", "studio", *args, "--events", str(self.events)], cwd=cwd,
            env={**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        StudioRun.started.append(self)
        self.window = self._find_window()

    @classmethod
    def end_all(cls) -> None:
        """Kill the studios a test left running (it failed before `finish`): one left behind would take the
        cores and the display from the tests after it, and they would time out one after another."""
        while cls.started:
            run = cls.started.pop()
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.communicate()

    def _xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                              env={**os.environ, "DISPLAY": self.display}).stdout

    def _find_window(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            found = self._xdotool("search", "--onlyvisible", "--name", "thumbs studio").split()
            if found:
                time.sleep(0.5)  # the loop is drawing frames and reading keys
                return found[0]
            time.sleep(0.2)
        raise AssertionError(f"the studio window did not appear: {self.finish(5)}")

    def key(self, *keys: str, gap: float = 0.25) -> None:
        for k in keys:
            self._xdotool("windowfocus", self.window)
            self._xdotool("key", k)
            time.sleep(gap)

    def read(self) -> list[dict]:
        if not self.events.exists():
            return []
        return [json.loads(line) for line in self.events.read_text().splitlines() if line.strip()]

    def wait_for(self, event: str, timeout: float = 120, after: int = 0, fail_on: str | None = None) -> dict:
        """The first `event` after the first `after` events; `fail_on`: an event that means it will not come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.read()[after:] if e.get("event") in (event, fail_on)]
            if found:
                assert found[0]["event"] == event, f"'{fail_on}' instead of '{event}': {found[0]}"
                return found[0]
            assert self.proc.poll() is None, f"the studio ended before '{event}': {self.finish(5)}"
            time.sleep(0.2)
        seen = Counter(e.get("event") for e in self.read())
        raise AssertionError(f"no '{event}' event in {timeout} s; events: {dict(seen)}")

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err

    def screenshot(self, path: Path) -> Path:
        """The studio's window as a PNG (Pillow reads the X display)."""
        from PIL import ImageGrab

        geometry = self._xdotool("getwindowgeometry", self.window)
        x, y = (int(v) for v in re.search(r"Position: (\d+),(\d+)", geometry).groups())
        w, h = (int(v) for v in re.search(r"Geometry: (\d+)x(\d+)", geometry).groups())
        ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=self.display).save(path)
        return path
