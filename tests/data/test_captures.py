"""`thumbs review`: decisions move frames into the data set, journalled so a stop, a kill or Ctrl-C loses
nothing and the next review continues; --labels checks every row before anything moves."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import fifo, thumbs
from thumbs.core.errors import DataError
from thumbs.core.files import encode_jpeg
from thumbs.data import captures, dataset

SESSION = "s20261202-070000-abcd"


def make_capture(folder: Path, n: int = 4, session: str = SESSION) -> list[str]:
    """`n` kept frames with records, as live --capture writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = dataset.frame_name(session, i + 1)
        (folder / name).write_bytes(encode_jpeg(np.full((24, 32, 3), 40 * i, np.uint8)))
        captures.append_record(folder, {"file": name, "frame": i, "label": "up", "score": 0.5,
                                        "probs": {"down": 0.2, "none": 0.3, "up": 0.5}, "why": ["low"]})
        names.append(name)
    return names


def make_data(root: Path) -> Path:
    for label in ("down", "none", "up"):
        (root / label).mkdir(parents=True)
        (root / label / "a_1.jpg").write_bytes(encode_jpeg(np.zeros((8, 8, 3), np.uint8)))
    return root


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "file,label") -> Path:
    path.write_text("\n".join([header, *(f"{f},{label}" for f, label in rows)]) + "\n")
    return path


def tree(*roots: Path) -> set[str]:
    return {str(p) for root in roots for p in root.rglob("*") if p.is_file()}


def test_labels_move_frames_into_a_capture_session_of_each_class(tmp_path):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    rows = [(names[0], "up"), (names[1], "down"), (names[2], "-")]
    decisions = captures.apply_labels(folder, data, write_csv(tmp_path / "l.csv", rows))
    assert [d.label for d in decisions] == ["up", "down", "-"]
    assert (data / "up" / f"capture-{SESSION}" / names[0]).is_file()
    assert (data / "down" / f"capture-{SESSION}" / names[1]).is_file()
    assert (folder / captures.DISCARDED / names[2]).is_file()
    assert [w.path.name for w in captures.waiting(folder)] == [names[3]]
    samples = {s.path.name: s for s in dataset.samples(data)}
    assert samples[names[0]].session == f"capture-{SESSION}" and samples[names[0]].label == "up"


@pytest.mark.parametrize("rows, header, message", [
    ([("nope.jpg", "up")], "file,label", "not a frame waiting"),
    ([("{0}", "thumbs_sideways")], "file,label", "class 'thumbs_sideways' is unknown"),
    ([("{0}", "up"), ("{0}", "down")], "file,label", "labelled twice"),
    ([("{0}", "up")], "name,class", "header"),
])
def test_a_bad_row_is_one_error_and_nothing_moves(tmp_path, rows, header, message):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    rows = [(names[1], "up")] + [(f.format(names[0]), label) for f, label in rows]  # a good row comes first
    before = tree(folder, data)
    with pytest.raises(DataError, match=message):
        captures.apply_labels(folder, data, write_csv(tmp_path / "l.csv", rows, header))
    assert tree(folder, data) == before


@pytest.mark.parametrize("kind, message", [
    ("fifo", r"--labels '.*l\.csv' is not a regular file \(a FIFO, socket or device\): give a CSV file"),
    ("binary", r"--labels '.*l\.csv' is not UTF-8 text \(byte 0xff at offset 1\): save it as a UTF-8 CSV"),
    ("huge-field", r"--labels '.*l\.csv' is not a readable CSV \(field larger than field limit"),
])
def test_a_labels_file_that_is_no_csv_text_is_one_error_and_nothing_moves(tmp_path, kind, message):
    """A FIFO is refused at once (not waited on for ever), bytes that are not text and a CSV the csv module
    refuses are one line naming the file, not a traceback."""
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    make_capture(folder)
    path = tmp_path / "l.csv"
    if kind == "fifo":
        fifo(path)
    else:
        path.write_bytes(b"\x00\xff\xfe" if kind == "binary" else b"file,label\n" + b"a" * 200_000 + b",up\n")
    before = tree(folder, data)
    with pytest.raises(DataError, match=message):
        captures.apply_labels(folder, data, path)
    assert tree(folder, data) == before


def test_review_cli_says_one_line_for_a_binary_labels_file(tmp_path):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    make_capture(folder, 1)
    (tmp_path / "bin.csv").write_bytes(b"\x00\xff\xfe")
    got = thumbs("review", str(folder), "--data", str(data), "--labels", str(tmp_path / "bin.csv"))
    assert got.returncode == 1 and got.stderr.splitlines() == [
        f"error: --labels '{tmp_path / 'bin.csv'}' is not UTF-8 text (byte 0xff at offset 1): save it as a UTF-8 "
        "CSV with the header `file,label`"]


def test_a_stopped_review_continues_where_it_stopped_and_undo_goes_back(tmp_path):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    captures.decide(folder, data, folder / names[0], "up")
    captures.decide(folder, data, folder / names[1], "-")
    # a new review (another process, another day) sees the journal and what still waits
    assert [w.path.name for w in captures.waiting(folder)] == names[2:]
    assert [d.file for d in captures.read_journal(folder)] == names[:2]
    assert captures.undo(folder, data).file == names[1]
    assert captures.undo(folder, data).file == names[0]
    assert captures.undo(folder, data) is None
    assert [w.path.name for w in captures.waiting(folder)] == names
    assert not list((data / "up").rglob("s2026*"))


def test_ctrl_c_during_a_decision_finishes_it_whole(tmp_path, monkeypatch):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    real = captures._move

    def move_then_interrupt(src, dst):  # Ctrl-C lands between the move and the journal
        moved = real(src, dst)
        os.kill(os.getpid(), signal.SIGINT)
        return moved

    monkeypatch.setattr(captures, "_move", move_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        captures.decide(folder, data, folder / names[0], "up")
    assert [d.file for d in captures.read_journal(folder)] == [names[0]]  # journalled before the interrupt
    assert (data / "up" / f"capture-{SESSION}" / names[0]).is_file()
    assert not [p for p in tree(folder, data) if Path(p).name.startswith(".")]


def test_a_taken_name_in_the_data_set_is_never_overwritten(tmp_path):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder, 1)
    target = data / "up" / f"capture-{SESSION}" / names[0]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"precious")
    decision = captures.decide(folder, data, folder / names[0], "up")
    assert target.read_bytes() == b"precious" and decision.dest.endswith("-2.jpg")


def test_a_frame_whose_record_was_lost_still_waits_without_a_guess(tmp_path):
    folder = tmp_path / "cap"
    names = make_capture(folder, 2)
    with open(folder / captures.RECORDS, "a") as f:
        f.write('{"file": "torn')  # a kill in the middle of an append
    (folder / captures.RECORDS).write_text((folder / captures.RECORDS).read_text().split("\n", 1)[1])
    items = captures.waiting(folder)
    assert [i.path.name for i in items] == names and items[0].guess is None and items[1].guess == "up"


def test_review_cli_list_labels_and_errors(tmp_path):
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder, 3)
    listed = thumbs("review", str(folder), "--list")
    assert listed.returncode == 0 and "3 frame(s) waiting" in listed.stdout and names[0] in listed.stdout
    bad = thumbs("review", str(folder), "--data", str(data), "--labels",
                 str(write_csv(tmp_path / "bad.csv", [(names[0], "up"), (names[1], "ok")])))
    assert bad.returncode == 1 and "class 'ok' is unknown" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert len(captures.waiting(folder)) == 3
    good = thumbs("review", str(folder), "--data", str(data), "--labels",
                  str(write_csv(tmp_path / "good.csv", [(names[0], "up"), (names[1], "-")])))
    assert good.returncode == 0 and "labelled 1 frame(s)" in good.stdout and "1 still waiting" in good.stdout
    assert json.loads((folder / captures.JOURNAL).read_text())["decisions"][0]["label"] == "up"


def test_undo_finds_the_frame_whatever_data_folder_it_is_given(tmp_path, monkeypatch):
    """The journal stored dest relative to --data: undo with another --data said it undid and moved nothing."""
    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    monkeypatch.chdir(tmp_path)
    captures.decide(folder, Path("data"), folder / names[0], "up")  # --data as typed, relative
    monkeypatch.chdir(folder)
    assert captures.undo(folder, Path("elsewhere")).file == names[0]
    assert (folder / names[0]).is_file() and not list(data.rglob(names[0]))
    captures.decide(folder, data, folder / names[1], "up")
    (data / "up" / f"capture-{SESSION}" / names[1]).unlink()  # removed by hand since
    with pytest.raises(DataError, match=f"cannot undo {names[1]} \\(up\\): it is no longer at '{data}"):
        captures.undo(folder, data)
    assert [d.file for d in captures.read_journal(folder)] == [names[1]]  # nothing changed


class PressOne:
    """A review window where the person presses 1 on every frame."""

    def show(self, canvas) -> int:
        return ord("1")

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        pass


def _sigterm_during_the_first_move(monkeypatch) -> None:
    real = captures._move

    def move_then_sigterm(src, dst):
        moved = real(src, dst)
        if not getattr(move_then_sigterm, "sent", False):
            move_then_sigterm.sent = True
            os.kill(os.getpid(), signal.SIGTERM)
        return moved

    monkeypatch.setattr(captures, "_move", move_then_sigterm)


@pytest.mark.parametrize("how", ["window", "labels"])
def test_a_stop_signal_during_a_decision_ends_the_review_right_after_it(tmp_path, monkeypatch, how):
    """A SIGTERM that came while a frame was moved was held, and labelling went on for 3 more frames."""
    from thumbs.core import signals
    from thumbs.live import review

    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder)
    csv = write_csv(tmp_path / "labels.csv", [(n, "up") for n in names])
    _sigterm_during_the_first_move(monkeypatch)
    with signals.stop_signals(hand_on=False):
        decisions = (review.review(folder, data, window=PressOne()) if how == "window"
                     else captures.apply_labels(folder, data, csv))
        assert signals.requested() == signal.SIGTERM
    assert [d.file for d in decisions] == names[:1]
    assert [w.path.name for w in captures.waiting(folder)] == names[1:]
