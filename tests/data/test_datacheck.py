from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from thumbs.core.errors import DataError
from thumbs.data import datacheck, dataset


def _make(root, label, n, seed):
    (root / label).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(root / label / f"{label}{i}.jpg"), rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))


def test_each_problem_is_reported(tmp_path):
    _make(tmp_path, "up", 90, 0)
    _make(tmp_path, "down", 25, 1)
    (tmp_path / "left").mkdir()  # empty class
    (tmp_path / "down" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    shutil.copy(tmp_path / "up" / "up0.jpg", tmp_path / "up" / "copy.jpg")
    shutil.copy(tmp_path / "up" / "up1.jpg", tmp_path / "down" / "mislabelled.jpg")
    report = datacheck.check(tmp_path)
    by_code = {w.code: w for w in report.warnings}
    assert {"empty_class", "imbalance", "corrupt", "duplicate", "no_background"} <= set(by_code)
    assert by_code["corrupt"].paths == [str(tmp_path / "down" / "broken.jpg")]
    assert "across different classes" in by_code["duplicate"].message
    assert "3.5:1" in by_code["imbalance"].message
    counts = {c.name: c.count for c in report.classes}
    assert counts == {"down": 26, "left": 0, "up": 91}
    assert report.total == 117 and report.train + report.val == 117


def _codes(report: datacheck.DataReport) -> list[str]:
    """The warning codes as `thumbs data --json` gives them."""
    return [w["code"] for w in report.to_dict()["warnings"]]


def test_small_balanced_set_with_background(tmp_path):
    _make(tmp_path, "up", 10, 0)
    _make(tmp_path, "none", 12, 1)
    codes = _codes(datacheck.check(tmp_path))
    assert "few_images" in codes and "no_background" not in codes and "imbalance" not in codes


def test_single_class_and_no_class(tmp_path):
    assert _codes(datacheck.check(tmp_path)) == ["no_classes"]
    _make(tmp_path, "up", 30, 0)
    assert "one_class" in _codes(datacheck.check(tmp_path))


def test_clean_demo_set_only_warns_about_its_single_session(demo_data):
    report = datacheck.check(demo_data)
    assert _codes(report) == ["one_session"] * 3  # generated loose files: one session per class folder
    assert "record another session" in report.warnings[0].message
    assert [c.name for c in report.classes] == ["down", "none", "up"]
    assert [c.sessions for c in report.classes] == [1, 1, 1]


def test_sessions_per_class_and_whole_sessions_held_out(tmp_path):
    for room, seed in (("kitchen", 0), ("garden", 1), ("office", 2), ("hall", 3)):
        _make(tmp_path / "up", room, 25, seed)
        _make(tmp_path / "none", room, 25, seed + 10)
    _make(tmp_path, "down", 30, 20)  # loose copied-in photos: one session
    report = datacheck.check(tmp_path)
    stats = {c.name: c for c in report.classes}
    assert (stats["up"].sessions, stats["none"].sessions, stats["down"].sessions) == (4, 4, 1)
    assert stats["up"].count == 100 and stats["up"].val_new % 25 == 0 and stats["up"].val_new >= 25
    assert stats["down"].val_new == 0
    _make(tmp_path / "up" / "hall", "deeper", 2, 30)
    nested = [w for w in datacheck.check(tmp_path).warnings if w.code == "nested"]
    assert len(nested) == 1 and nested[0].paths[0].endswith("up/hall/deeper/deeper0.jpg")
    one = [w for w in report.warnings if w.code == "one_session"]
    assert len(one) == 1 and "'down'" in one[0].message


def test_training_notes_name_single_images_and_cross_class_copies(tmp_path):
    _make(tmp_path, "up", 5, 0)
    _make(tmp_path, "down", 1, 1)
    shutil.copy(tmp_path / "up" / "up0.jpg", tmp_path / "down" / "copy.jpg")
    (tmp_path / "up" / "kitchen").mkdir()
    shutil.copy(tmp_path / "up" / "up1.jpg", tmp_path / "up" / "kitchen" / "same_class_copy.jpg")
    notes = datacheck.training_notes(dataset.scan(tmp_path))
    assert len(notes) == 1 and "1 image(s) appear in two classes" in notes[0]
    (tmp_path / "down" / "copy.jpg").unlink()
    notes = datacheck.training_notes(dataset.scan(tmp_path))
    assert notes == ["class 'down' has a single image: record at least 20 (100+ is better)"]


def test_data_option_naming_a_file_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        datacheck.check(tmp_path / "notes.txt")


def test_gif_and_heic_are_named_as_not_read(tmp_path):
    _make(tmp_path, "up", 3, 0)
    (tmp_path / "up" / "old.gif").write_bytes(b"GIF89a")
    (tmp_path / "up" / "s1").mkdir()
    (tmp_path / "up" / "s1" / "phone.HEIC").write_bytes(b"\0")
    [warning] = [w for w in datacheck.check(tmp_path).warnings if w.code == "not_read"]
    assert warning.message.startswith("2 image(s) of a type OpenCV cannot read (.gif, .heic) are not used")
    assert sorted(warning.paths) == sorted([str(tmp_path / "up" / "old.gif"), str(tmp_path / "up/s1/phone.HEIC")])
