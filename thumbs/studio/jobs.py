"""Training and export for the studio, in a child process (`python -m thumbs.training.job`), so the window's
thread never waits on torch and the preview keeps its frame rate.

The child runs with a bounded thread count and a lower priority and writes JSON Lines events on its stdout;
a reader thread turns them into a queue the window drains once per frame. When a model is ready, the reader
thread also loads it (an ONNX Runtime session takes a moment), so the window only swaps a reference.
The child's stdin is a pipe nobody writes: if this process dies, the child sees end-of-file and stops."""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO

from thumbs.core.errors import ThumbsError

FINAL_EVENTS = ("model_ready", "failed", "interrupted")
JOB_NICE = 10  # the child's lower priority: the preview comes first
STOP_SECONDS = 60.0  # a stopped training finishes its batch and its report; then it is killed
TRAINING_INSTALL = "training needs the training install: pip install 'thumbs[train]' (torch, torchvision)"


def training_installed() -> bool:
    """Whether this Python can train (torch is importable), without importing it."""
    return importlib.util.find_spec("torch") is not None


def job_threads() -> int:
    """Threads for the child: all cores but one, so the preview always has a core of its own."""
    return max(1, (os.cpu_count() or 2) - 1)


class Job:
    """One child run; `events()` hands over what it said since the last call, in order."""

    def __init__(self, spec: dict, load: Callable[[dict], object] | None = None) -> None:
        """`load`: called in the reader thread with a model_ready event; its result rides on the event as
        "model" (an exception's message makes the event a "failed" one instead)."""
        if not training_installed():
            raise ThumbsError(TRAINING_INSTALL)
        threads = spec.setdefault("threads", job_threads())
        spec.setdefault("nice", JOB_NICE)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        self.kind = spec["kind"]
        self._load = load
        self._queue: queue.Queue[dict] = queue.Queue()
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.final: dict | None = None  # the result, once the reader has it (the window may not have read it yet)
        self._handed = False  # whether events() has handed the result to the window
        self.process = subprocess.Popen(
            [sys.executable, "-m", "thumbs.training.job", json.dumps(spec)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, env=env, start_new_session=True)  # our Ctrl-C is ours
        self._reader = threading.Thread(target=self._read, name="thumbs-job", daemon=True)
        self._reader.start()

    @property
    def running(self) -> bool:
        """Until events() has handed over its result (model_ready, failed, interrupted): a result still in the
        queue belongs to this job, so nothing may replace the job before the window has read it."""
        return not self._handed

    def events(self) -> list[dict]:
        got = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return got
            got.append(event)
            self._handed = self._handed or event.get("event") in FINAL_EVENTS

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing to stdout); the child's own events are JSON
            if event.get("event") == "model_ready" and self._load is not None:
                event = self._loaded(event)
            if event.get("event") in FINAL_EVENTS:
                self.final = event
            self._queue.put(event)
        code = self.process.wait()
        if self.final is None:
            self.final = {"event": "failed", "why": f"the {self.kind} process ended without a result (exit code "
                          f"{code}){self._last_error()}"}
            self._queue.put(self.final)

    def _loaded(self, event: dict) -> dict:
        try:
            return {**event, "model": self._load(event)}
        except Exception as e:  # any: a reader thread that died would leave the job running for ever
            why = str(e) if isinstance(e, ThumbsError) else f"{type(e).__name__}: {e}"
            return {"event": "failed", "why": f"the new model did not load: {why}", "run": event.get("run")}

    def _last_error(self) -> str:
        self._stderr.seek(0)
        lines = [line for line in self._stderr.read().decode(errors="replace").splitlines() if line.strip()]
        return f": {lines[-1].strip()}" if lines else ""

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop as Ctrl-C stops `thumbs train` (the last finished epoch is kept, --resume continues it);
        killed if it has not ended within `timeout` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        self.close()

    def close(self) -> None:
        for stream in (self.process.stdin, self._stderr):
            if stream is not None and not stream.closed:
                stream.close()
