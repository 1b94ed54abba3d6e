"""Ctrl-C, SIGTERM and SIGHUP, really sent to the real CLI: every command keeps what it saved, closes its
files complete, says so and exits with 128 + the signal; a recording survives even SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import end_all, installed_thumbs, make_checkpoint

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_stray_command():
    """A failed test still ends the commands it started."""
    yield
    end_all(STARTED)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory) -> Path:
    from thumbs.training.export import export

    return export(make_checkpoint(tmp_path_factory.mktemp("model") / "best.pt"), log=lambda m: None).onnx_path


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Long enough to be running when the signal comes (minutes of frames at the loop's speed)."""
    clip = tmp_path_factory.mktemp("clip") / "long.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(6000):
        writer.write(np.full((48, 64, 3), i % 255, np.uint8))
    writer.release()
    return clip


def start(*args: str, cwd=None) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    proc = subprocess.Popen([*installed_thumbs(), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    STARTED.append(proc)
    return proc


def catching(proc: subprocess.Popen, signum: int, timeout: float = 120) -> None:
    """Wait until the command has its stop handler in place (Linux /proc: the signal's bit in SigCgt)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
        if caught >> (signum - 1) & 1:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the command never took over the stop signals")


class Lines:
    """Reads a pipe in a thread, so a test waits for lines with a timeout instead of hanging."""

    def __init__(self, stream) -> None:
        self.lines: list[tuple[float, str]] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line))

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            assert time.monotonic() < deadline, f"only {len(self.lines)} lines in {timeout} s"
            time.sleep(0.02)

    def text(self) -> str:
        self.thread.join(timeout=60)
        return "".join(line for _, line in self.lines)


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def record_live(model, clip, video):
    """`thumbs live` headless, events on stdout, recording to `video`: the process and its event lines."""
    proc = start("live", "--model", str(model), "--source", str(clip), "--headless", "--events", "-",
                 "--record", str(video))
    return proc, Lines(proc.stdout)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_live_stops_between_frames_closes_every_sink_and_finalises_the_mp4(onnx_model, long_clip, tmp_path,
                                                                           signum):
    video = tmp_path / "v.mp4"
    proc, events = record_live(onnx_model, long_clip, video)
    events.wait_for(60)
    proc.send_signal(signum)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == EXIT[signum], stderr
    frames = len(events.text().splitlines())
    assert f"{frames} frames in" in stderr and "(interrupted)" in stderr and "Traceback" not in stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    assert count_frames(video) == frames >= 60  # every event has its video frame, and the other way round
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]  # no safe copy, no hidden temp left


def test_live_record_survives_sigkill_up_to_its_last_seconds(onnx_model, long_clip, tmp_path):
    video = tmp_path / "v.mp4"
    proc, events = record_live(onnx_model, long_clip, video)
    events.wait_for(1)
    while time.monotonic() - events.lines[0][0] < 3.0:  # long enough that "2 s before the kill" is some frames
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    killed = time.monotonic()
    proc.kill()
    proc.wait(timeout=60)
    events.text()
    before = sum(t <= killed - 2.0 for t, _ in events.lines)  # frames handled 2 s or more before the kill
    at_kill = len(events.lines)  # every frame handled before the kill landed (a few may come after `killed`)
    safe = tmp_path / "v.mp4.partial.avi"
    played = count_frames(safe)
    print(f"{at_kill} frames handled before SIGKILL, {before} of them 2 s before it; {played} play")
    assert before > 0 and before <= played <= at_kill


def test_a_second_recording_to_the_same_file_is_refused_while_the_first_goes_on(onnx_model, long_clip, tmp_path):
    video = tmp_path / "v.avi"
    first, events = record_live(onnx_model, long_clip, video)
    events.wait_for(5)
    second = start("live", "--model", str(onnx_model), "--source", str(long_clip), "--headless",
                   "--record", str(video))
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 1 and "another `thumbs live` is recording to it right now" in stderr, stderr
    first.send_signal(signal.SIGINT)
    stderr = first.stderr.read()
    assert first.wait(timeout=120) == 130, stderr
    assert count_frames(video) == len(events.text().splitlines())


def test_collect_stopped_by_sigterm_keeps_every_frame_and_leaves_no_temp_file(long_clip, tmp_path):
    data = tmp_path / "data"
    proc = start("collect", "--label", "up", "--source", str(long_clip), "--data", str(data), "--headless")
    deadline = time.monotonic() + 120
    while len(list((data / "up").glob("*.jpg")) if (data / "up").is_dir() else []) < 15:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    on_disk = sorted((data / "up").iterdir())
    assert not [p for p in on_disk if p.suffix != ".jpg"]  # no .tmp of a cut write
    assert all(cv2.imread(str(p)) is not None for p in on_disk)
    assert f"saved {len(on_disk)} frame(s)" in stdout
    assert "stopped by SIGTERM: everything saved so far is kept" in stderr


def test_export_stopped_by_sigterm_writes_nothing(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    proc = start("export", str(ckpt))
    catching(proc, signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "stopped by SIGTERM" in stderr and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def test_train_stopped_by_sigterm_keeps_last_pt(demo_data, tmp_path):
    run = tmp_path / "run"
    proc = start("train", "--data", str(demo_data), "--arch", "squeezenet1_1", "--weights", "none", "--epochs", "50",
                 "--img-size", "32", "--batch-size", "32", "--no-cache", "--out", str(run))
    output = Lines(proc.stdout)
    deadline = time.monotonic() + 240
    while not any("epoch  1/50" in line for _, line in output.lines):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=240) == 143, stderr
    assert "stopped by SIGTERM: kept" in stderr and f"--resume {run / 'last.pt'}" in stderr
    from thumbs.training import checkpoint

    assert checkpoint.load(run / "last.pt").epoch >= 0
    assert not list(run.glob(".*.tmp"))
    assert f"of 50**: this run is partial. Continue it with `thumbs train --resume {run / 'last.pt'}`" in \
        (run / "report.md").read_text()
