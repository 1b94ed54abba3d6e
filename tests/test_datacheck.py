from __future__ import annotations

import shutil

import cv2
import numpy as np

from thumbs import datacheck


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


def test_small_balanced_set_with_background(tmp_path):
    _make(tmp_path, "up", 10, 0)
    _make(tmp_path, "none", 12, 1)
    codes = datacheck.check(tmp_path).codes()
    assert "few_images" in codes and "no_background" not in codes and "imbalance" not in codes


def test_single_class_and_no_class(tmp_path):
    assert datacheck.check(tmp_path).codes() == ["no_classes"]
    _make(tmp_path, "up", 30, 0)
    assert "one_class" in datacheck.check(tmp_path).codes()


def test_clean_demo_set_has_no_warnings(demo_data):
    report = datacheck.check(demo_data)
    assert report.warnings == []
    assert [c.name for c in report.classes] == ["down", "none", "up"]
