from __future__ import annotations

import errno
import os

import pytest

from thumbs.core import files
from thumbs.core.errors import ThumbsError
from thumbs.training import demo


def test_demo_data_never_touches_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    (out / "dataset" / "up").mkdir(parents=True)
    (out / "dataset" / "up" / "me.jpg").write_bytes(b"my photo")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ThumbsError, match="already holds files that demo-data did not write"):
        demo.make_demo_data(out, per_class=2)
    assert sorted(p.name for p in out.rglob("*")) == ["dataset", "me.jpg", "notes.txt", "up"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ThumbsError, match="is a file"):
        demo.make_demo_data(tmp_path / "afile", per_class=2)
    with pytest.raises(ThumbsError, match="a part of that path is a file"):
        demo.make_demo_data(tmp_path / "afile" / "demo", per_class=2)


def test_demo_data_can_be_written_again_into_its_own_folder(tmp_path):
    out = tmp_path / "demo"
    first = demo.make_demo_data(out, per_class=2)
    again = demo.make_demo_data(out, per_class=2)
    assert first == again and (out / demo.MARKER).is_file()
    assert len(list((out / "dataset" / "up").glob("*.jpg"))) == 2


def test_demo_data_needs_images(tmp_path):
    with pytest.raises(ThumbsError, match="--per-class 0"):
        demo.make_demo_data(tmp_path / "demo", per_class=0)
    assert not (tmp_path / "demo").exists()


def test_demo_data_on_a_full_disk_is_one_clear_error(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(ThumbsError, match="no space left"):
        demo.make_demo_data(tmp_path / "demo", per_class=2)
    assert not [p for p in (tmp_path / "demo").rglob("*") if p.name.endswith(".tmp")]
