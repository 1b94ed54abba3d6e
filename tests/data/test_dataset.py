from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from thumbs.core.errors import DataError
from thumbs.data import dataset


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


@pytest.mark.parametrize("label", ["CON", "nul", "com1", "Lpt9.txt", "up.", "aux"])
def test_windows_reserved_labels_are_refused(label):
    with pytest.raises(DataError, match="Windows reserves it"):
        dataset.validate_label(label)


def test_data_path_that_is_a_file_or_unreadable_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        dataset.scan(tmp_path / "file.txt")
    (tmp_path / "d" / "up").mkdir(parents=True)
    real = Path.iterdir

    def refuse(self):
        if self.name == "up":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", refuse)  # root ignores chmod 000, so make the fault directly
    with pytest.raises(DataError, match=r"cannot read folder '.*up' \(permission denied\)"):
        dataset.scan(tmp_path / "d")


def test_copied_in_sub_folders_are_sessions_shared_across_classes(tmp_path):
    for rel in ("up/kitchen/a.jpg", "up/kitchen/b.jpg", "up/garden/c.jpg", "down/kitchen/d.jpg", "up/loose.jpg",
                "down/loose.jpg", f"up/{dataset.frame_name('s20260101-000000-abcd', 1)}",
                "up/garden/deeper/ignored.jpg", "up/.hidden/ignored.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    sessions = {(s.label, s.path.name): s.session for s in dataset.samples(tmp_path)}
    assert sessions == {("up", "a.jpg"): "kitchen", ("up", "b.jpg"): "kitchen", ("up", "c.jpg"): "garden",
                        ("down", "d.jpg"): "kitchen", ("up", "loose.jpg"): "up/", ("down", "loose.jpg"): "down/",
                        ("up", "s20260101-000000-abcd_000001.jpg"): "s20260101-000000-abcd"}
    assert dataset.sessions_per_class(dataset.samples(tmp_path)) == {"up": 4, "down": 2}


def _layout(rng: random.Random) -> list[dataset.Sample]:
    """Random classes, sessions (some shared across classes, some stamped) and frame counts."""
    shared = [f"room{i}" for i in range(rng.randint(0, 4))]
    out = []
    for label in [f"c{i}" for i in range(rng.randint(2, 4))]:
        sessions = rng.sample(shared, rng.randint(0, len(shared))) + \
            [f"s2026010{rng.randint(1, 9)}-0000{rng.randint(10, 99)}-{rng.randrange(16**4):04x}"
             for _ in range(rng.randint(0, 5))] + ([f"{label}/"] if rng.random() < 0.3 else [])
        for sess in sessions or [f"{label}/"]:
            for i in range(rng.randint(1, 80)):
                name = dataset.frame_name(sess, i + 1) if sess.startswith("s2") else f"{sess.strip('/')}{i}.jpg"
                out.append(dataset.Sample(Path(label) / name, label, sess))
    return out


def test_session_split_never_puts_one_session_on_both_sides():
    rng = random.Random(7)
    fractions = []
    for _ in range(250):
        samples = _layout(rng)
        part = dataset.split(samples)
        assert sorted(str(s.path) for s in part.train + part.val) == sorted(str(s.path) for s in samples)
        held = part.new_sessions
        assert not held & {s.session for s in part.train + part.same}  # whole sessions only
        for label in dataset.sessions_per_class(samples):
            assert any(s.label == label for s in part.train)  # every class keeps training data
            mine = [s for s in samples if s.label == label]
            assert sum(s.label == label for s in part.new) <= dataset.MAX_HELD_OUT * len(mine)
            own = {s.session for s in mine} - {s.session for s in samples if s.label != label}
            if len(own) >= 2:  # two sessions of its own: a new-session part too
                assert any(s.label == label for s in part.new)
        fractions.append(len(part.new) / len(samples))
    assert 0.1 < sum(fractions) / len(fractions) < 0.45


def test_session_split_is_stable_as_sessions_are_added():
    def stamped(n: int, start: int) -> list[dataset.Sample]:
        return [dataset.Sample(Path("up") / dataset.frame_name(f"s20260101-0000{s:02d}-abcd", i), "up",
                               f"s20260101-0000{s:02d}-abcd") for s in range(start, start + n) for i in range(1, 21)]

    before = stamped(10, 0)
    held = {s for s in dataset.validation_sessions(before) if dataset._unit_hash(s) < dataset.VAL_FRACTION}
    after = dataset.validation_sessions(before + stamped(20, 10))
    assert held and held <= after  # sessions held out by their hash stay held out


def _capture(label: str, n: int, session: str = "s20261202-070000-abcd") -> list[dataset.Sample]:
    return [dataset.Sample(Path(f"d/{label}/capture-{session}/{dataset.frame_name(session, i + 1)}"), label,
                           f"capture-{session}") for i in range(n)]


def test_captured_frames_train_and_their_later_frames_are_the_headline():
    """A retrain learns from the captured place; its later frames, in time order, measure it."""
    ordinary = [dataset.Sample(Path(f"d/{label}/{sess}/{i}.jpg"), label, sess)
                for label in ("up", "down") for sess in ("home", "office", "garden") for i in range(10)]
    captured = _capture("up", 10) + _capture("down", 7) + _capture("none", 3) + _capture("ok", 2)
    parts = dataset.split(ordinary + captured)
    held = {label: sorted(int(s.path.stem[-6:]) for s in parts.new if s.label == label)
            for label in ("up", "down", "none")}
    assert held == {"up": [8, 9, 10], "down": [6, 7], "none": [3]} and len(parts.new) == 6  # ok (2 frames): trains
    assert all(s.session.startswith("capture-") for s in parts.new)  # no whole ordinary session is held out
    trained = {s.path for s in parts.train}
    assert {s.path for s in _capture("up", 7)} <= trained and {s.path for s in _capture("ok", 2)} <= trained
    assert dataset.split(ordinary).new  # without captures, whole sessions are held out as before


def test_a_class_folder_whose_name_is_not_utf8_is_one_clear_error(tmp_path):
    """A Latin-1 folder name from an old camera: a class name becomes a model label (UTF-8 in every file)."""
    import os

    os.mkdir(os.path.join(bytes(tmp_path), b"caf\xe9"))
    with pytest.raises(DataError, match="has a name that is not UTF-8 text .*: rename it"):
        dataset.class_names(tmp_path)


def test_a_first_sitting_under_a_run_long_still_gets_validation_frames(tmp_path):
    """25 frames a class in one session is one run: held-out runs cannot split it, so each class's latest
    frames validate (a first model trains) and every class keeps most frames for training."""
    for label in ("up", "down"):
        for i in range(1, 26):
            (tmp_path / label).mkdir(exist_ok=True)
            (tmp_path / label / f"s20260101-120000-abcd_{i:06d}.jpg").write_bytes(b"x")
    parts = dataset.split(dataset.samples(tmp_path))
    assert {s.label for s in parts.val} == {"up", "down"}
    for label in ("up", "down"):
        held = sorted(s.path.name for s in parts.val if s.label == label)
        assert held == [f"s20260101-120000-abcd_{i:06d}.jpg" for i in range(21, 26)]  # the latest five
        assert sum(s.label == label for s in parts.train) == 20
