"""`thumbs live --capture DIR`: keep the frames the model is unsure of, and a spread sample of the rest, to
label them (`thumbs review`) and retrain where it fails (`thumbs train --from`).

A frame qualifies when its top probability is below --threshold ("low"), when the top two classes are
within CLOSE_MARGIN of each other ("close"), or when the smoothed label just changed ("flicker"). Unsure
frames alone cannot show a model that is sure and wrong, which is how a model usually fails in a new place,
so frames also qualify as a coverage sample ("sample"), whatever their confidence: one per predicted class
per --capture-sample seconds of source time, the gap growing to SAMPLE_SHARE of the time elapsed, so a short
clip gives about one a second of each predicted class and a long session keeps sampling all of it without
the samples crowding out the unsure frames (about 27 per class in a minute, 66 in an hour, 110 in a week).
A clock per predicted class keeps one confidently predicted class from taking every sample. Of those,
one is kept per --capture-every seconds of the source's own time, never a near-duplicate of the last kept
frame, and never more than --capture-max frames waiting in DIR (so a robot left running for a week cannot
fill its disk). Each kept frame is the camera's image as a JPEG written atomically under a new name, with
one record in DIR/captures.jsonl. A full disk or an unwritable DIR stops capturing with one warning line;
live goes on."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from thumbs.core.backend import Prediction
from thumbs.core.errors import ThumbsError
from thumbs.core.files import encode_jpeg, write_new
from thumbs.core.model_info import file_sha256
from thumbs.core.outputs import check_queue
from thumbs.data.captures import append_record, waiting
from thumbs.data.dataset import frame_name, new_session_id
from thumbs.runtime.loader import served_scheme
from thumbs.sources.readers import Frame

CLOSE_MARGIN = 0.15  # top-two probabilities this close: the model cannot tell the two classes apart here
DUPLICATE_SIZE = 16  # frames are compared as 16x16 grey thumbnails
DUPLICATE_DIFF = 3.0  # mean absolute difference (0-255) below which a frame repeats the last kept one
SAMPLE_SHARE = 0.1  # the sample gap grows to this share of the session's elapsed source time
RULES = ("low", "close", "flicker", "sample")


class Step(Protocol):
    """What this sink reads of the live loop's step (loop.Step), without importing the loop."""

    frame: Frame
    pred: Prediction
    stable: str | None
    classes: list[str]
    threshold: float


@dataclass
class CaptureOptions:
    folder: Path
    every: float = 1.0  # seconds of source time between kept frames; 0 keeps every qualifying frame
    max: int = 500  # frames waiting in the folder at most
    sample: float = 1.0  # least seconds between coverage samples of one predicted class; 0: no samples


def reasons(probs: np.ndarray, threshold: float, changed: bool) -> list[str]:
    """Which rules a frame meets (an empty list: the model is sure and steady)."""
    top = np.sort(np.asarray(probs, dtype=np.float64))[::-1]
    why = []
    if top[0] < threshold:
        why.append("low")
    if len(top) > 1 and top[0] - top[1] < CLOSE_MARGIN:
        why.append("close")
    if changed:
        why.append("flicker")
    return why


def sample_due(last: float | None, t: float, start: float, every: float) -> bool:
    """Whether a coverage sample of a predicted class is due at source time `t` (see the module docstring)."""
    if every <= 0:
        return False
    return last is None or t - last >= max(every, SAMPLE_SHARE * (t - start))


def thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, (DUPLICATE_SIZE, DUPLICATE_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)


def near_duplicate(a: np.ndarray | None, b: np.ndarray) -> bool:
    return a is not None and float(np.abs(a - b).mean()) < DUPLICATE_DIFF


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclass
class CaptureReport:
    folder: Path
    kept: Counter = field(default_factory=Counter)  # rule -> frames kept that met it
    count: int = 0
    rate_limited: int = 0
    duplicates: int = 0
    capped: int = 0
    stopped: str | None = None  # why capturing stopped early (full disk, unwritable folder)

    def lines(self) -> list[str]:
        why = ", ".join(f"{rule} {self.kept[rule]}" for rule in RULES if self.kept[rule]) or "none"
        skipped = [f"{n} {what}" for n, what in ((self.rate_limited, "by --capture-every"),
                                                   (self.duplicates, "near-duplicates"),
                                                   (self.capped, "over --capture-max")) if n]
        lines = [f"captured {self.count} frames in {self.folder} (why: {why})"
                 + (f"; passed over {', '.join(skipped)}" if skipped else "")]
        if self.stopped:
            lines.append(f"capturing stopped early: {self.stopped}")
        if self.count:
            lines.append(f"label them with `thumbs review {self.folder} --data DATA`")
        return lines


class CaptureSink:
    """A live sink: sees every step, keeps the unsure frames (see the module docstring)."""

    def __init__(self, opts: CaptureOptions, model: Path | str, source: str,
                 warn: Callable[[str], None] = _warn, option: str = "--capture") -> None:
        """`option`: the folder's option in the messages (--capture for live, --captures for the studio)."""
        self.opts, self.model_path, self.source, self.warn, self.option = opts, model, source, warn, option
        self.report = CaptureReport(Path(opts.folder))
        self.session = new_session_id()
        self.seq = 1
        self.model = ""
        self.active = False
        self.waiting = 0
        self.last_time: float | None = None
        self.last_thumb: np.ndarray | None = None
        self.previous: str | None = None
        self.seen = False
        self.start: float | None = None
        self.sampled: dict[str, float] = {}  # predicted class -> source time of its last kept sample

    def open(self) -> None:
        """An unwritable folder is a warning, not an error: live runs without capturing (`active` stays False)."""
        served = served_scheme(self.model_path)  # a served model is named by its URL, a file by its content
        self.model = str(self.model_path) if served else file_sha256(Path(self.model_path))
        try:
            check_queue(self.opts.folder, self.option, create=True)
            self.waiting = len(waiting(self.opts.folder))
        except (ThumbsError, OSError) as e:
            self._stop(str(e))
            return
        self.active = True

    def _stop(self, why: str) -> None:
        self.active = False
        self.report.stopped = why
        self.warn(f"--capture stopped, live goes on: {why}")

    def write(self, step: Step) -> None:
        if step.pred.failed:  # no answer is no evidence of doubt
            return
        changed = self.seen and step.stable != self.previous
        self.previous, self.seen = step.stable, True
        if not self.active:
            return
        t = step.frame.time
        self.start = t if self.start is None else self.start
        why = reasons(step.pred.probs, step.threshold, changed)
        if sample_due(self.sampled.get(step.pred.label), t, self.start, self.opts.sample):
            why.append("sample")
        if why:
            self._consider(step, why)

    def _consider(self, step: Step, why: list[str]) -> None:
        t = step.frame.time
        if self.last_time is not None and t - self.last_time < self.opts.every:
            self.report.rate_limited += 1
            return
        thumb = thumbnail(step.frame.image)
        if near_duplicate(self.last_thumb, thumb):
            self.report.duplicates += 1
            return
        if self.waiting >= self.opts.max:
            self.report.capped += 1
            return
        try:
            self._keep(step, why)
        except (ThumbsError, OSError) as e:
            self._stop(str(e))
            return
        self.last_time, self.last_thumb = t, thumb
        if "sample" in why:
            self.sampled[step.pred.label] = t
        self.waiting += 1
        self.report.count += 1
        self.report.kept.update(why)

    def _keep(self, step: Step, why: list[str]) -> None:
        data = encode_jpeg(step.frame.image)
        while True:
            path = self.opts.folder / frame_name(self.session, self.seq)
            self.seq += 1
            try:
                write_new(path, data)
                break
            except FileExistsError:
                continue
        frame = step.frame
        record = {
            "file": path.name, "frame": frame.index, "time": round(frame.time, 4), "source": self.source,
            "source_path": str(frame.path) if frame.path is not None else None, "label": step.pred.label,
            "score": round(float(step.pred.score), 4),
            "probs": {c: round(float(p), 4) for c, p in zip(step.classes, step.pred.probs)},
            "why": why, "model": self.model, "stable_label": step.stable,
            "captured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            append_record(self.opts.folder, record)
        except BaseException:
            path.unlink(missing_ok=True)  # no frame without its record
            raise

    def close(self) -> None:
        self.active = False
