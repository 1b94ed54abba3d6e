from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import thumbs
from thumbs import demo
from thumbs.core import files
from thumbs.core.errors import ThumbsError
from thumbs.training import synthetic


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


NOT_UTF8 = os.fsdecode(b"bad\xff")  # an old camera's Latin-1 name, as Python keeps it (surrogate escapes)


def test_a_place_opencv_cannot_write_is_refused_before_the_first_image(tmp_path):
    bad = tmp_path / NOT_UTF8
    with pytest.raises(ThumbsError, match=rf"^--out '{re.escape(str(bad))}': its name is not UTF-8 text, which "
                                          "OpenCV cannot write .*; choose a name of plain letters and digits$"):
        synthetic.make_dataset(bad / "dataset", per_class=1)
    assert not bad.exists()


def test_a_video_path_that_is_not_utf8_is_refused_not_a_crash(tmp_path):
    """In a child process: unchecked, OpenCV's segmentation fault would end the test run itself."""
    code = ("import sys\nfrom thumbs.core.errors import ThumbsError\nfrom thumbs.training import synthetic\n"
            "try:\n    synthetic.make_video(sys.argv[1], segments=[('up', 2)])\n"
            "except ThumbsError as e:\n    sys.exit(3 if str(e).startswith(\"--out '\") else 4)\n")
    bad = os.fsencode(tmp_path) + b"/clips\xff"
    got = subprocess.run([sys.executable, "-c", code, bad + b"/up.mp4"], capture_output=True, timeout=120)
    assert got.returncode == 3, got.stderr[-300:]
    assert not os.path.exists(bad)


@pytest.mark.parametrize("command", ["demo-data", "demo"])
def test_demo_out_that_is_not_utf8_is_one_line_and_no_data(tmp_path, command):
    """`--out $'bad\\xff'` crashed demo-data with SIGSEGV, half its data written."""
    got = thumbs(command, "--out", NOT_UTF8, *(["--per-class", "2"] if command == "demo-data" else []), cwd=tmp_path)
    assert got.returncode == 1 and got.stderr.splitlines() == [
        "error: --out 'bad\\xff': its name is not UTF-8 text, which OpenCV cannot write (the demo videos go "
        "there); choose a name of plain letters and digits"]
    assert not (tmp_path / NOT_UTF8).exists()
