"""`live --capture`: which frames are kept, how often, how many, and that live goes on when the disk does not."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from thumbs.core.backend import Prediction
from thumbs.core.files import WriteError
from thumbs.core.model_info import file_sha256
from thumbs.data import captures
from thumbs.live import capture
from thumbs.live import loop as live
from thumbs.sources.readers import Frame, SourceSpec

CLASSES = ["down", "none", "up"]
SURE = [0.05, 0.05, 0.9]
LOW = [0.2, 0.25, 0.55]  # top below 0.6, the runner-up far behind
CLOSE = [0.02, 0.48, 0.5]  # top two 0.02 apart


class ScriptedClassifier:
    """Returns the probabilities of a script, one row per frame (the last repeats)."""

    classes, provider, img_size, crop = CLASSES, "CPUExecutionProvider", 8, "center"

    def __init__(self, script, path: Path) -> None:
        self.script, self.path, self.i = script, path, 0

    def preprocess(self, bgr):
        return bgr

    def infer(self, tensor):
        probs = np.array(self.script[min(self.i, len(self.script) - 1)], dtype=np.float32)
        self.i += 1
        return Prediction(CLASSES[int(probs.argmax())], float(probs.max()), probs, 0.5)


class Source:
    """`n` distinct frames (each its own brightness, so none is a near-duplicate unless asked), 30 per second."""

    def __init__(self, n: int, same: bool = False, before=None, paths=None) -> None:
        self.n, self.same, self.before, self.paths = n, same, before, paths
        self.spec = SourceSpec("images", "folder", tuple(paths or ()))
        self.fps, self.dropped, self.skipped = 30.0, 0, []

    def __iter__(self):
        for i in range(self.n):
            if self.before:
                self.before(i)
            image = np.full((60, 80, 3), 100 if self.same else (i * 37) % 256, np.uint8)
            yield Frame(image, i, i / 30, self.paths[i] if self.paths else None)


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not really a model, but a file with a hash")
    return path


def run(tmp_path, model, script, n, every=0.0, cap=500, sample=0.0, **kw):
    """Live with --capture over `n` scripted frames (no coverage samples unless `sample` is given)."""
    folder = tmp_path / "captured"
    opts = live.LiveOptions(headless=True, smooth=1, capture=capture.CaptureOptions(folder, every, cap, sample))
    summary = live.run(Source(n, **kw), ScriptedClassifier(script, model), opts)
    return summary, folder


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / captures.RECORDS).read_text().splitlines()]


def test_reasons_name_each_rule():
    assert capture.reasons(np.array(SURE), 0.6, False) == []
    assert capture.reasons(np.array(LOW), 0.6, False) == ["low"]
    assert capture.reasons(np.array(CLOSE), 0.4, False) == ["close"]
    assert capture.reasons(np.array(CLOSE), 0.6, True) == ["low", "close", "flicker"]


def test_sure_frames_are_not_kept_unsure_ones_are_with_their_record(tmp_path, model):
    paths = [tmp_path / f"img{i}.jpg" for i in range(6)]
    summary, folder = run(tmp_path, model, [SURE, SURE, LOW, SURE, SURE, SURE], 6, paths=paths)
    kept = records(folder)
    assert len(kept) == 1 and summary.captured.count == 1
    r = kept[0]
    assert {"file", "frame", "time", "source", "source_path", "label", "score", "probs", "why", "model"} <= set(r)
    assert r["frame"] == 2 and r["time"] == pytest.approx(2 / 30, abs=1e-4) and r["why"] == ["low"]
    assert r["source_path"] == str(paths[2]) and r["source"] == "folder" and r["label"] == "up"
    assert r["probs"] == {"down": 0.2, "none": 0.25, "up": 0.55}
    assert r["model"] == file_sha256(model)
    assert (folder / r["file"]).is_file() and [p.name for p in folder.glob("*.jpg")] == [r["file"]]
    assert "captured 1 frames" in "\n".join(summary.lines()) and "low 1" in "\n".join(summary.lines())


def test_a_label_change_is_kept_as_flicker(tmp_path, model):
    down = [0.9, 0.05, 0.05]
    summary, folder = run(tmp_path, model, [SURE, SURE, down, down], 4)
    assert [r["why"] for r in records(folder)] == [["flicker"]]
    assert records(folder)[0]["frame"] == 2


def test_capture_every_limits_by_source_time_and_max_caps(tmp_path, model):
    summary, folder = run(tmp_path, model, [LOW], 90, every=1.0)  # 3 s of video at 30 frames/s
    assert [r["frame"] for r in records(folder)] == [0, 30, 60]
    assert summary.captured.rate_limited == 87
    summary, folder = run(tmp_path / "b", model, [LOW], 20, every=0.0, cap=5)
    assert len(records(folder)) == 5 and summary.captured.capped == 15
    summary, _ = run(tmp_path / "b", model, [LOW], 3, every=0.0, cap=5)  # the cap counts frames still waiting
    assert summary.captured.count == 0 and summary.captured.capped == 3


def test_a_sure_model_still_keeps_a_sample_of_each_predicted_class_spread_over_time(tmp_path, model):
    down = [0.9, 0.05, 0.05]
    script = [SURE] * 45 + [down] * 45  # 3 s, sure throughout: no unsure rule fires after the change
    summary, folder = run(tmp_path, model, script, 90, sample=1.0)
    kept = [(r["frame"], r["label"], r["why"]) for r in records(folder)]
    assert kept == [(0, "up", ["sample"]), (30, "up", ["sample"]), (45, "down", ["flicker", "sample"]),
                    (75, "down", ["sample"])]
    assert "sample 4" in "\n".join(summary.lines())


def test_a_confidently_wrong_model_still_yields_frames_of_every_true_class(tmp_path, model):
    """How a model fails in a new place: sure of 'up' on every frame of a clip of all three gestures. With
    live's defaults (--capture-every 1, --capture-sample 1) the kept frames still cover every true class."""
    held = [("down", 2.0), ("none", 3.0), ("up", 1.5), ("none", 2.5), ("down", 1.2)]  # seconds each gesture
    truth = [label for label, seconds in held for _ in range(round(seconds * 30))]
    folder = tmp_path / "captured"
    opts = live.LiveOptions(headless=True, capture=capture.CaptureOptions(folder))
    summary = live.run(Source(len(truth)), ScriptedClassifier([SURE], model), opts)
    kept = records(folder)
    assert {r["label"] for r in kept} == {"up"} and all(r["why"] == ["sample"] for r in kept)
    assert {truth[r["frame"]] for r in kept} == {"down", "none", "up"}
    assert summary.captured.count == len(kept) <= len(truth) / 30 + 1  # still at most one a second


def test_the_sample_gap_grows_with_the_session():
    assert capture.sample_due(None, 0.0, 0.0, 1.0) and not capture.sample_due(0.0, 0.5, 0.0, 1.0)
    assert capture.sample_due(5.0, 6.0, 0.0, 1.0)  # early on, one a second
    assert not capture.sample_due(100.0, 105.0, 0.0, 1.0) and capture.sample_due(100.0, 112.0, 0.0, 1.0)
    assert not capture.sample_due(None, 0.0, 0.0, 0.0)  # --capture-sample 0: none


def test_samples_obey_the_rate_limit_and_the_cap(tmp_path, model):
    summary, folder = run(tmp_path, model, [SURE], 90, every=2.0, sample=1.0)
    assert [r["frame"] for r in records(folder)] == [0, 60]
    summary, folder = run(tmp_path / "b", model, [SURE], 300, sample=1.0, cap=3)
    assert len(records(folder)) == 3 and summary.captured.capped > 0


def test_near_duplicates_of_the_last_kept_frame_are_skipped(tmp_path, model):
    summary, folder = run(tmp_path, model, [LOW], 10, same=True)
    assert len(records(folder)) == 1 and summary.captured.duplicates == 9


def test_full_disk_stops_capture_with_one_warning_and_live_goes_on(tmp_path, model, monkeypatch, capsys):
    real = capture.write_new
    calls = []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) > 2:
            raise WriteError(f"cannot write '{path}': " + os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(capture, "write_new", fill_up)
    summary, folder = run(tmp_path, model, [LOW], 12)
    assert summary.frames == 12  # live went on
    assert len(records(folder)) == 2 and sorted(p.name for p in folder.glob("*.jpg")) == \
        sorted(r["file"] for r in records(folder))
    assert not list(folder.glob(".*"))  # no temp file left
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "No space left" in warnings[0] and "live goes on" in warnings[0]
    assert "capturing stopped early" in "\n".join(summary.lines())


def test_a_record_that_cannot_be_written_takes_its_frame_back(tmp_path, model, monkeypatch):
    def fail(folder, record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(capture, "append_record", fail)
    summary, folder = run(tmp_path, model, [LOW], 3)
    assert summary.frames == 3 and not list(folder.glob("*.jpg")) and summary.captured.stopped


def test_an_unwritable_folder_is_refused_before_live_runs(tmp_path, model):
    """(It was a warning, and live ran keeping nothing; a disk that fills later still is: the test above.)"""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    opts = live.LiveOptions(headless=True, capture=capture.CaptureOptions(blocker / "captured", 0.0, 10))
    taken: list[int] = []
    with pytest.raises(WriteError, match="is a file, not a folder"):
        live.run(Source(4, before=taken.append), ScriptedClassifier([LOW], model), opts)
    assert taken == []  # not a frame was read


def test_ctrl_c_during_capture_leaves_whole_frames_and_records(tmp_path, model):
    def interrupt(i):
        if i == 5:
            os.kill(os.getpid(), signal.SIGINT)

    summary, folder = run(tmp_path, model, [LOW], 20, before=interrupt)
    assert summary.interrupted and summary.frames == 5
    kept = records(folder)
    assert len(kept) == summary.captured.count == 5
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".jpg") == sorted(r["file"] for r in kept)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_live_capture_from_the_command_line(tmp_path):
    """As a user runs it: a folder source, headless, the summary saying what was kept and why."""
    from tests.helpers import make_checkpoint, thumbs
    from thumbs.core.files import encode_jpeg
    from thumbs.training.export import export

    model = export(make_checkpoint(tmp_path / "best.pt"), log=lambda m: None).onnx_path  # untrained: unsure
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        (frames / f"f{i}.jpg").write_bytes(encode_jpeg((rng.random((48, 64, 3)) * 255).astype(np.uint8)))
    done = thumbs("live", "--model", str(model), "--source", str(frames), "--headless", "--capture",
                  str(tmp_path / "cap"), "--capture-every", "0", "--capture-max", "4", "--capture-sample", "0")
    assert done.returncode == 0, done.stderr
    kept = records(tmp_path / "cap")
    assert len(kept) == 4 and "captured 4 frames" in done.stdout and "over --capture-max" in done.stdout
    assert [Path(r["source_path"]).name for r in kept] == ["f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg"]
    assert {r["model"] for r in kept} == {file_sha256(model)}
    assert not [r for r in kept if "sample" in r["why"]]  # --capture-sample 0: unsure frames only


def test_a_capture_folder_that_cannot_be_one_is_refused_before_live_starts(tmp_path, monkeypatch):
    """A file, a FIFO or a device where the folder should be, or an unwritable place, was a warning once live
    ran (exit 0, nothing kept); it is refused with the other outputs, before anything is opened."""
    from tests.helpers import refuse_writes_in
    from thumbs.core.errors import ThumbsError

    spec = SourceSpec("video", str(tmp_path / "clip.mp4"))
    (tmp_path / "afile").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    for name in ("afile", "fifo"):
        opts = live.LiveOptions(headless=True, capture=capture.CaptureOptions(tmp_path / name))
        with pytest.raises(ThumbsError, match=f"--capture '{tmp_path / name}' is a file, not a folder"):
            live.check_outputs(opts, spec)
    (tmp_path / "locked").mkdir()
    refuse_writes_in(monkeypatch, tmp_path / "locked")
    opts = live.LiveOptions(headless=True, capture=capture.CaptureOptions(tmp_path / "locked" / "new"))
    with pytest.raises(WriteError, match="--capture cannot write .*permission denied"):
        live.check_outputs(opts, spec)
    live.check_outputs(live.LiveOptions(headless=True, capture=capture.CaptureOptions(tmp_path / "new")), spec)
    assert not (tmp_path / "new").exists()  # checked, not made: live makes it when it keeps a frame


def test_a_capture_folder_in_the_data_set_or_the_source_folder_is_refused(tmp_path, model):
    """`live --capture dataset/up` mixed unlabelled frames into `up` (the studio refused it, live did not), and
    `--capture` of the folder being read mixed them with the source's images."""
    from tests.helpers import thumbs_in_process

    shots = tmp_path / "shots"
    shots.mkdir()
    cv2.imwrite(str(shots / "a.jpg"), np.full((48, 64, 3), 90, np.uint8))
    cases = [(["--capture", "dataset/up"], "--capture 'dataset/up' is inside the data folder 'dataset'"),
             (["--capture", "elsewhere/q", "--data", "elsewhere"], "is inside the data folder 'elsewhere'"),
             (["--capture", "shots"], "--capture 'shots' holds the images being read")]
    for args, said in cases:
        got = thumbs_in_process("live", "--model", str(model), "--source", "shots", "--headless", *args,
                                cwd=tmp_path)
        assert got.exit_code == 1 and said in got.stderr, got.stderr
        assert len(got.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "dataset").exists() and sorted(p.name for p in shots.iterdir()) == ["a.jpg"]
