from __future__ import annotations

import errno
import os
from pathlib import Path

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


def test_the_whole_demo_runs_at_a_tiny_size(tmp_path):
    """Generate, collect, train, export and live end to end (8 images a class, 1 epoch at 32 px: seconds)."""
    import cv2

    said: list[str] = []
    result = demo.run_demo(tmp_path / "demo", arch="mobilenet_v3_small", epochs=1, img_size=32, per_class=8,
                           log=said.append)
    assert [m[:4] for m in said if m[:2] in ("1/", "2/", "3/", "4/", "5/")] == ["1/5 ", "2/5 ", "3/5 ", "4/5 ", "5/5 "]
    collected = len(list((tmp_path / "demo" / "dataset" / "up").glob("*.jpg"))) - 8
    assert collected > 0 and f"    saved {collected} frames" in " ".join(said)
    assert (result.run_dir / "report.md").is_file() and result.onnx.is_file()
    events = result.events.read_text().splitlines()
    video = cv2.VideoCapture(str(result.record))
    frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    video.release()
    assert frames > 0 and len(events) >= frames
    assert 0.0 <= result.frame_accuracy <= 1.0 and 0.0 <= result.val_accuracy <= 1.0 and result.fps > 0
    assert (result.run_dir / demo.MARKER).is_file() and result.record.parent == result.events.parent == result.run_dir


def test_the_demo_replaces_its_own_run_and_refuses_one_a_person_trained_there(tmp_path):
    """`thumbs demo-data --out X; thumbs train --data X/dataset --out X/run; thumbs demo --out X` deleted that
    person's run: the demo now replaces only a run folder it marked, and refuses before writing anything."""
    out = tmp_path / "demo"
    demo.make_demo_data(out, per_class=2)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    (out / "run").mkdir()
    (out / "run" / "best.pt").write_bytes(b"a person's model")
    with pytest.raises(ThumbsError, match="holds a run the demo did not write"):
        demo.run_demo(out, epochs=1, per_class=2)
    assert (out / "run" / "best.pt").read_bytes() == b"a person's model"
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == sorted(before + [Path("run"), Path("run/best.pt")])
    (out / "run" / demo.MARKER).write_bytes(demo.RUN_MARKER)
    demo.clear_own_run(out / "run")
    assert not (out / "run").exists()
    demo.clear_own_run(out / "run")  # nothing there: nothing to do
