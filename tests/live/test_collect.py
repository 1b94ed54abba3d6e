from __future__ import annotations

import errno
import os
import re
import time

import numpy as np
import pytest

from thumbs.core.errors import ThumbsError
from thumbs.core.files import read_image
from thumbs.data import coverage, dataset
from thumbs.data.dataset import Saver
from thumbs.live import collect as collect_module
from thumbs.live.collect import collect, parse_size
from thumbs.sources.readers import open_source


def test_headless_collect_saves_every_frame_up_to_count(tmp_path, demo_video):
    with open_source(str(demo_video)) as src:
        result = collect(src, "up", tmp_path, count=10, size=(80, 60))
    files = sorted((tmp_path / "up").iterdir())
    assert len(files) == 10 == len(result.saved)
    for f in files:
        image = read_image(f)
        assert image is not None and image.shape == (60, 80, 3)
        assert dataset.SESSION_RE.fullmatch(f.stem).group(1) == result.session
    assert result.counts == {"up": 10}
    assert result.sessions == {"up": 1} and "20+ frames of 'up'" in result.hint()


def test_interval_uses_media_time_and_never_overwrites(tmp_path, demo_video):
    with open_source(str(demo_video)) as src:  # 45 frames at 15 fps = 3 s, one save every 0.5 s
        first = collect(src, "down", tmp_path, interval=0.5)
    assert len(first.saved) == 6
    with open_source(str(demo_video)) as src:
        second = collect(src, "down", tmp_path)  # to the end of the file
    assert len(second.saved) == 45
    assert len(list((tmp_path / "down").iterdir())) == 51
    assert second.counts["down"] == 51


def test_saver_skips_names_that_are_taken(tmp_path):
    saver = Saver(tmp_path, "up", None)
    taken = tmp_path / "up" / dataset.frame_name(saver.session, saver.seq)
    taken.parent.mkdir()  # the saver itself makes the folder only with its first frame
    taken.write_bytes(b"existing")
    path = saver.save(np.zeros((8, 8, 3), np.uint8))
    assert path != taken and taken.read_bytes() == b"existing"
    assert not [p for p in os.listdir(tmp_path / "up") if p.endswith(".tmp")]


def test_ctrl_c_keeps_what_was_saved(tmp_path, demo_video):
    saved = []

    def interrupt_after_three(path):
        saved.append(path)
        if len(saved) == 3:
            raise KeyboardInterrupt

    with open_source(str(demo_video)) as src:
        result = collect(src, "up", tmp_path, on_save=interrupt_after_three)
    assert result.interrupted and len(result.saved) == 3
    assert all(read_image(p) is not None for p in result.saved)


def test_bad_options(tmp_path, demo_video):
    with pytest.raises(ThumbsError, match="not a safe folder name"), open_source(str(demo_video)) as src:
        collect(src, "../escape", tmp_path)
    assert not (tmp_path.parent / "escape").exists()
    with pytest.raises(ThumbsError, match="not WIDTHxHEIGHT"):
        parse_size("big")
    assert parse_size("320x240") == (320, 240)


def test_a_second_session_is_counted_and_the_hint_moves_on(tmp_path, demo_video):
    for _ in range(2):
        with open_source(str(demo_video)) as src:
            result = collect(src, "up", tmp_path, count=25)
    assert result.sessions == {"up": 2} and result.counts == {"up": 50}
    assert result.hint().startswith("session 3 of 'up': vary position")
    assert coverage.suggestion("up", 30, 1).startswith("next session of 'up' (another day, room or light)")


def test_the_no_gesture_class_is_guided_to_every_kind_of_no_gesture():
    """Across people, a model errs on kinds of 'none' it never saw: the hints for it name them in turn."""
    first = coverage.suggestion("none", 5, 1)
    assert "empty scene" in first and "hand shapes" in first and "moving the hand" not in first
    hints = [coverage.suggestion("None", 100, n) for n in range(1, 4)]
    assert "empty scene" in hints[0] and "no gesture" in hints[1] and "fist" in hints[2]
    assert "empty scene" not in coverage.suggestion("up", 100, 1)


def test_nothing_usable_saves_no_folder_and_fails(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(ThumbsError, match=r"nothing saved: .* no usable frame \(1 unreadable image"), \
            open_source(str(tmp_path / "frames")) as src:
        collect(src, "up", tmp_path / "data")
    assert not (tmp_path / "data" / "up").exists()


def test_label_folder_that_is_a_file_is_one_error(tmp_path, demo_video):
    (tmp_path / "up").write_text("not a folder")
    with pytest.raises(ThumbsError, match=r"class folder for 'up' '.*up' is a file, not a folder"), \
            open_source(str(demo_video)) as src:
        collect(src, "up", tmp_path, count=2)


def test_ctrl_c_right_after_a_write_is_still_counted(tmp_path, demo_video, monkeypatch):
    real = dataset.write_new
    calls = {"n": 0}

    def write_then_interrupt(path, data):
        written = real(path, data)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the frame is on disk, the caller never got its name
        return written

    monkeypatch.setattr(dataset, "write_new", write_then_interrupt)
    with open_source(str(demo_video)) as src:
        result = collect(src, "up", tmp_path)
    on_disk = sorted((tmp_path / "up").iterdir())
    assert result.interrupted and len(result.saved) == len(on_disk) == 3 and result.counts == {"up": 3}


def test_disk_full_says_what_was_saved_and_leaves_no_temp_file(tmp_path, demo_video, monkeypatch):
    real = dataset.write_new
    calls = {"n": 0}

    def fill_disk(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            (path.parent / f".{path.name}.x1y2.tmp").write_bytes(data[:10])  # what a failed write leaves
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(dataset, "write_new", fill_disk)
    with pytest.raises(ThumbsError, match=r"the disk is full .* 2 frame\(s\) of this session were saved"), \
            open_source(str(demo_video)) as src:
        collect(src, "up", tmp_path)
    assert sorted(p.suffix for p in (tmp_path / "up").iterdir()) == [".jpg", ".jpg"]


def test_sizes_beyond_the_limit_are_refused():
    with pytest.raises(ThumbsError, match="too large: at most 8192x8192"):
        parse_size("99999x99999")


def test_cli_collect_exits_130_after_ctrl_c(tmp_path, monkeypatch, demo_video):
    from typer.testing import CliRunner

    from thumbs.cli import app

    def interrupted(source, label, data_root, **kw):
        return collect_module.CollectResult(label, "s1", [tmp_path / "a.jpg"], {"up": 1}, True, {"up": 1})

    monkeypatch.setattr(collect_module, "collect", interrupted)
    result = CliRunner().invoke(app, ["collect", "--label", "up", "--source", str(demo_video), "--headless",
                                      "--data", str(tmp_path)])
    assert result.exit_code == 130 and "saved 1 frame(s)" in result.output and "interrupted" in result.output


def test_preview_draws_sessions_and_the_hint():
    from thumbs.live.overlay import draw_collect

    frame = np.full((240, 320, 3), 128, np.uint8)
    plain = draw_collect(frame, "up", {"up": 3}, auto=False, flash=False)
    guided = draw_collect(frame, "up", {"up": 3}, auto=False, flash=False, sessions={"up": 2}, hint="vary light")
    changed = np.argwhere((plain != guided).any(axis=2))
    assert changed[:, 0].max() > 150  # the hint line, above the keys at the bottom
    assert changed[:, 0].min() < 100  # the sessions column beside the counts


def test_frames_a_live_source_dropped_while_saving_are_said(tmp_path, monkeypatch):
    """A GStreamer pipeline or camera runs on while collect saves; the frames it passed over were not said."""
    from typer.testing import CliRunner

    from tests.sources.test_sources import FakeCapture
    from thumbs.cli import app
    from thumbs.sources import readers

    monkeypatch.setattr(readers, "_open_capture", lambda *a: FakeCapture(10_000, 0.001))
    save = Saver.save
    monkeypatch.setattr(Saver, "save", lambda self, image: time.sleep(0.05) or save(self, image))
    result = CliRunner().invoke(app, ["collect", "-l", "up", "--source", "0", "--headless", "--count", "3",
                                      "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"note: \d+ frame\(s\) of camera 0 came while saving and were not kept", result.output)
