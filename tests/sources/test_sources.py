from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from tests.helpers import make_checkpoint, thumbs_in_process
from thumbs.core.errors import SourceError
from thumbs.sources import gstreamer
from thumbs.sources import readers as sources
from thumbs.sources.readers import FrameSource, SourceSpec, open_source, parse_source


def test_parse_every_kind(tmp_path, demo_video):
    assert parse_source(0) == SourceSpec("camera", 0)
    assert parse_source("1") == SourceSpec("camera", 1)
    assert parse_source(str(demo_video)).kind == "video"
    assert parse_source("rtsp://cam.local/stream").kind == "url"
    assert parse_source("http://10.0.0.2:8080/video").kind == "url"
    gst = "nvarguscamerasrc ! video/x-raw(memory:NVMM),width=1280 ! nvvidconv ! appsink"
    assert parse_source(gst) == SourceSpec("gstreamer", gst)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    folder = parse_source(str(tmp_path))
    assert folder.kind == "images" and [p.name for p in folder.paths] == ["0.png", "1.png", "2.png"]
    assert len(parse_source(str(tmp_path / "*.png")).paths) == 3


@pytest.mark.parametrize("spec, message", [
    ("-1", "camera index -1 is invalid"),
    ("missing.mp4", "source 'missing.mp4': no such file or folder"),
    ("", "the source is empty"),
    ("/nowhere/*.jpg", "matches no image files"),
])
def test_parse_errors(spec, message):
    with pytest.raises(SourceError, match=message):
        parse_source(spec)


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        parse_source(str(tmp_path))


def test_camera_that_does_not_exist_names_the_camera():
    with pytest.raises(SourceError, match="could not open camera 9"):
        open_source(9)


def test_gstreamer_pipeline_is_rewritten_to_bgr_on_stdout():
    command, w, h = gstreamer.fdsink_pipeline(
        "nvarguscamerasrc ! video/x-raw(memory:NVMM),width=(int)1280,height=(int)720 ! nvvidconv ! appsink drop=1")
    assert (w, h) == (1280, 720) and "appsink" not in command
    assert command.endswith("nvvidconv ! videoconvert ! videoscale ! video/x-raw,format=BGR,width=1280,height=720"
                            " ! fdsink fd=1")
    assert gstreamer.fdsink_pipeline("v4l2src ! appsink", 320, 240)[1:] == (320, 240)
    with pytest.raises(SourceError, match="the frame size is not known; put width=W,height=H"):
        gstreamer.fdsink_pipeline("v4l2src ! appsink")


def test_gstreamer_without_gst_launch_says_how_to_install(monkeypatch):
    monkeypatch.setattr(sources, "has_gstreamer", lambda: False)
    monkeypatch.setattr(gstreamer.shutil, "which", lambda name: None)
    with pytest.raises(SourceError, match="gst-launch-1.0 is not installed .*apt install gstreamer1.0-tools"):
        open_source("videotestsrc ! video/x-raw,width=8,height=8 ! appsink")


def test_gstreamer_pipeline_that_fails_names_gst_launchs_error(monkeypatch):
    monkeypatch.setattr(sources, "has_gstreamer", lambda: False)
    with pytest.raises(SourceError, match='did not start: .*no element "nosuchsrc"'):
        open_source("nosuchsrc ! video/x-raw,width=8,height=8 ! appsink")


def test_gst_launch_frames_flow_into_live_events(tmp_path):
    """videotestsrc's N buffers reach `thumbs live --headless --events` through gst-launch-1.0, one event each."""
    assert not sources.has_gstreamer()  # pip's OpenCV: the gst-launch path is the one under test
    ckpt = make_checkpoint(tmp_path / "best.pt")
    events = tmp_path / "events.jsonl"
    pipeline = "videotestsrc num-buffers=12 is-live=true ! video/x-raw,width=64,height=48,framerate=15/1 ! appsink"
    result = thumbs_in_process("live", "--model", str(ckpt), "--source", pipeline, "--headless", "--events",
                               str(events))  # in-process: gst-launch-1.0 is the child process here
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["frame"] for line in events.read_text().splitlines()] == list(range(12))


def test_failed_open_keeps_ffmpeg_chatter_out(tmp_path, capfd):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    for spec in (str(bad), "tcp://127.0.0.1:9"):
        with pytest.raises(SourceError, match="could not open"):
            open_source(spec)
    err = capfd.readouterr().err
    assert "moov atom" not in err and "Connection refused" not in err


def test_corrupt_video_is_refused(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(SourceError, match="could not open video"):
        open_source(str(bad))


def test_video_reads_every_frame_in_order(demo_video):
    with open_source(str(demo_video)) as src:
        frames = list(src)
        assert src.fps == pytest.approx(15.0)
    assert [f.index for f in frames] == list(range(45))
    assert frames[0].image.shape == (120, 160, 3) and frames[0].image.dtype == np.uint8
    assert frames[15].time == pytest.approx(1.0)


def test_image_folder_skips_and_reports_corrupt_files(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((10, 12, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"garbage")
    cv2.imwrite(str(tmp_path / "c.jpg"), np.full((10, 12, 3), 200, np.uint8))
    with open_source(str(tmp_path)) as src:
        frames = list(src)
        assert [p.name for p in src.skipped] == ["b.jpg"]
    assert [f.index for f in frames] == [0, 1] and frames[1].image.mean() > 150


class FakeCapture:
    """A camera stand-in: delivers `n` frames at `period` seconds, then fails like an unplugged camera."""

    def __init__(self, n: int, period: float, hang: bool = False) -> None:
        self.n, self.period, self.hang, self.i = n, period, hang, 0

    def read(self):
        time.sleep(self.period)
        if self.i >= self.n:
            if self.hang:
                threading.Event().wait(10)
            return False, None
        self.i += 1
        return True, np.full((4, 4, 3), self.i, np.uint8)

    def get(self, prop):
        return 0

    def isOpened(self):
        return True

    def release(self):
        pass


def _live(monkeypatch, cap: FakeCapture, stall: float = 5.0) -> FrameSource:
    monkeypatch.setattr(sources, "_open_capture", lambda *a: cap)
    return FrameSource(SourceSpec("camera", 0), stall_seconds=stall)


def test_live_source_keeps_only_the_newest_frame(monkeypatch):
    with _live(monkeypatch, FakeCapture(40, 0.005)) as src:
        it = iter(src)
        first = next(it)
        time.sleep(0.1)  # a slow consumer: frames pile up meanwhile
        second = next(it)
        assert second.index - first.index > 3  # the stale frames were dropped, not queued
        assert src.dropped > 0
        with pytest.raises(SourceError, match="camera 0 stopped delivering frames"):
            for _ in it:
                pass


def test_live_source_that_stalls_is_reported(monkeypatch):
    with _live(monkeypatch, FakeCapture(1, 0.0, hang=True), stall=0.3) as src:
        it = iter(src)
        next(it)
        with pytest.raises(SourceError, match="delivered no frame for"):
            next(it)


@pytest.mark.parametrize("index", ["99999999999", str(2**64)])
def test_an_absurd_camera_index_is_one_clear_error(index):
    """OpenCV's own binding raised a multi-line cv2.error for an index beyond a C int."""
    with pytest.raises(SourceError, match=f"camera index {index} is too large"):
        parse_source(index)


def test_a_fifo_in_an_image_folder_is_skipped_not_waited_on(tmp_path):
    from tests.helpers import fifo

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((10, 12, 3), np.uint8))
    fifo(tmp_path / "b.jpg")
    start = time.monotonic()
    with open_source(str(tmp_path)) as src:
        frames = list(src)
        assert [p.name for p in src.skipped] == ["b.jpg"]
    assert len(frames) == 1 and time.monotonic() - start < 2


def test_jfif_and_jpe_are_read_as_jpeg(tmp_path):
    for name in ("a.jfif", "b.jpe"):
        ok, buf = cv2.imencode(".jpg", np.zeros((10, 12, 3), np.uint8))
        (tmp_path / name).write_bytes(buf.tobytes())
    with open_source(str(tmp_path)) as src:
        assert len(list(src)) == 2


def test_gstreamer_pipeline_with_an_unclosed_quote_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(gstreamer.shutil, "which", lambda tool: "/usr/bin/gst-launch-1.0")
    with pytest.raises(SourceError, match="no closing quotation; close the quote"):
        gstreamer.GstLaunchCapture('videotestsrc ! "video/x-raw,width=64,height=48')


def test_gstreamer_frame_size_beyond_reason_is_refused_before_allocating():
    with pytest.raises(SourceError, match="frame size 100000x100000 is too large"):
        gstreamer.fdsink_pipeline("videotestsrc", 100000, 100000)


def test_a_file_plays_as_a_camera_over_and_over_at_its_own_rate(tmp_path):
    """The studio's stand-in for a camera: a 10-frame clip at 30 fps, read 25 times, loops and is paced."""
    from thumbs.training import synthetic

    clip = synthetic.make_video(tmp_path / "c.mp4", segments=[("up", 5), ("down", 5)], seed=1, width=64,
                                height=48, fps=30.0)
    with open_source(str(clip)) as src:
        start = time.perf_counter()
        frames = [f for _, f in zip(range(25), src.as_camera())]
        elapsed = time.perf_counter() - start
    assert [f.index for f in frames] == list(range(25))
    assert np.array_equal(frames[0].image, frames[10].image) and np.array_equal(frames[3].image, frames[23].image)
    assert not np.array_equal(frames[0].image, frames[7].image)
    assert elapsed >= 24 / 30 - 0.02  # never faster than the clip's own rate
    assert frames[24].time == pytest.approx(24 / 30)


def test_a_folder_plays_as_a_camera_over_and_over(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    with open_source(str(tmp_path)) as src:
        frames = [f for _, f in zip(range(7), src.as_camera())]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 50, 100, 0, 50, 100, 0]
