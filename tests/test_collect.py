from __future__ import annotations

import os

import numpy as np
import pytest

from thumbs import dataset
from thumbs.collect import collect, parse_size
from thumbs.dataset import Saver
from thumbs.errors import ThumbsError
from thumbs.files import read_image
from thumbs.sources import open_source


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
