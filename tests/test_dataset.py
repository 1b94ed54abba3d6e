from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from thumbs import dataset
from thumbs.errors import DataError


@pytest.mark.parametrize("label", ["up", "thumbs_down", "none", "Class-2", "v1.0"])
def test_safe_labels_pass(label):
    assert dataset.validate_label(label) == label


@pytest.mark.parametrize("label", ["", "../x", "a/b", "a\\b", "..", ".hidden", "x..y", " up", "a" * 70])
def test_unsafe_labels_are_refused(label):
    with pytest.raises(DataError, match="not a safe folder name"):
        dataset.validate_label(label)


def test_session_names_are_time_ordered_and_unique():
    a = dataset.new_session_id(datetime(2026, 1, 2, 3, 4, 5))
    b = dataset.new_session_id(datetime(2026, 1, 2, 3, 4, 6))
    assert a < b and a.startswith("s20260102-030405-")
    assert len({dataset.new_session_id() for _ in range(50)}) > 40
    assert dataset.SESSION_RE.fullmatch(Path(dataset.frame_name(a, 7)).stem)


def _names(n_sessions: int, per_session: int, start: int = 0) -> list[Path]:
    return [Path("up") / dataset.frame_name(f"s20260101-0000{s:02d}-abcd", i)
            for s in range(start, start + n_sessions) for i in range(1, per_session + 1)]


def test_split_is_stable_as_the_data_set_grows():
    before = _names(6, 50) + [Path("down") / f"img{i}.jpg" for i in range(100)]
    after = before + _names(4, 50, start=6) + [Path("down") / f"img{i}.jpg" for i in range(100, 300)]
    side = {p: dataset.is_validation(p) for p in before}
    assert all(dataset.is_validation(p) == v for p, v in side.items())
    grown = [dataset.is_validation(p) for p in after]
    assert 0.1 < sum(grown) / len(grown) < 0.3  # about VAL_FRACTION


def test_consecutive_frames_of_a_session_stay_together():
    frames = _names(1, 300)
    for start in range(0, 300, dataset.RUN_LENGTH):  # frames numbered start..start+RUN_LENGTH-1: one side
        run = frames[max(0, start - 1):start - 1 + dataset.RUN_LENGTH]
        assert len(run) >= dataset.RUN_LENGTH - 1 and len({dataset.is_validation(p) for p in run}) == 1
    sides = {dataset.is_validation(p) for p in frames}
    assert sides == {True, False}  # one long session still gives both train and validation frames


def test_scan_and_class_names(tmp_path):
    (tmp_path / "up").mkdir()
    (tmp_path / "down").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / "up" / "a.jpg").write_bytes(b"x")
    (tmp_path / "up" / "notes.txt").write_text("x")
    assert dataset.class_names(tmp_path) == ["down", "up"]
    assert {k: [p.name for p in v] for k, v in dataset.scan(tmp_path).items()} == {"down": [], "up": ["a.jpg"]}
    with pytest.raises(DataError, match="does not exist"):
        dataset.class_names(tmp_path / "nope")
