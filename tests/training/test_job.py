"""`python -m thumbs.training.job`, run as the studio runs it: a child process whose stdin is a pipe nobody
writes and whose stdout is JSON Lines only; stops on a signal or when its stdin closes, keeping the run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import onnxruntime as ort
import pytest

from tests import helpers
from thumbs.core.errors import ThumbsError
from thumbs.core.model_info import read_labels
from thumbs.training import checkpoint, job

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
CLASSES = ["down", "none", "up"]
STARTED: list[subprocess.Popen] = []


def small(data: Path, out: Path, **kw) -> dict:
    """A training that takes seconds: a narrow network from scratch on 32-pixel images."""
    return {"data": str(data), "arch": "mobilenet_v2_x0_35", "weights": "none", "epochs": 2, "img_size": 32,
            "batch_size": 16, "cache": False, "out": str(out), **kw}


class Child:
    """The job as the studio holds it: stdin an open pipe, stdout read line by line as it comes."""

    def __init__(self, spec: dict, tmp: Path, env: dict | None = None) -> None:
        self.stderr_path = tmp / f"job-{len(STARTED)}.stderr"
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen([sys.executable, "-m", "thumbs.training.job", json.dumps(spec)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                         env={**os.environ, **(env or {})})
        STARTED.append(self.proc)
        self.lines: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            self.lines.append((time.monotonic(), raw.decode()))

    @property
    def events(self) -> list[dict]:
        """Every stdout line, each of which must be one JSON object with an "event"."""
        parsed = [json.loads(line) for _, line in self.lines]
        assert all(isinstance(e, dict) and "event" in e for e in parsed), parsed
        return parsed

    def wait_for(self, event: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e["event"] == event]
            if found:
                return found[0]
            assert self.proc.poll() is None and time.monotonic() < deadline, (self.events, self.stderr)
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        self.proc.stdin.close()
        return code

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@pytest.fixture(autouse=True)
def _no_stray_job():
    yield
    helpers.end_all(STARTED)


def run_job(spec: dict, tmp: Path, env: dict | None = None) -> tuple[int, list[dict], Child]:
    child = Child(spec, tmp, env)
    code = child.finish()
    return code, child.events, child


class Collected:
    """The events a job sends, kept in a list: the job's own Events stand-in when it runs in this process."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def emit(self, event: str, **fields) -> None:
        self.sent.append({"event": event, **fields})


def job_in_process(spec: dict, sent: Collected) -> int:
    """The job's work in this process, without the child's start and PyTorch import (seconds each): what
    parse_spec and Job.run do is the same; main()'s fd and signal handling is tested on real children here."""
    return job.Job(sent).run(job.parse_spec([json.dumps(spec)]))


@pytest.fixture(scope="module")
def first_run(demo_data, tmp_path_factory) -> tuple[int, list[dict], float]:
    """One train job for the module: its exit code, its events and how long it ran."""
    tmp = tmp_path_factory.mktemp("job")
    code, events, child = run_job({"kind": "train", "config": small(demo_data, tmp / "run"), "threads": 1,
                                   "nice": 5}, tmp)
    assert code == 0, (events, child.stderr)
    return code, events, time.monotonic() - child.started


def test_a_train_job_says_each_step_in_json_lines_and_ends_with_a_checked_model(first_run):
    _, events, seconds = first_run
    kinds = [e["event"] for e in events]
    assert kinds[0] == "log" and kinds[-1] == "model_ready" and kinds.count("epoch") == 2
    first_epoch = kinds.index("epoch")
    assert "batch" in kinds[:first_epoch] and "batch" in kinds[first_epoch + 1:kinds.index("epoch", first_epoch + 1)]
    assert any("training on the CPU (1 threads)" in e["message"] for e in events if e["event"] == "log")
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [(e["epoch"], e["epochs"]) for e in epochs] == [(1, 2), (2, 2)]
    assert {"stage", "lr", "train_loss", "val_loss", "val_acc", "val_new_acc", "val_same_acc"} <= set(epochs[0])
    batches = [e for e in events if e["event"] == "batch"]
    assert all(e["epochs"] == 2 and 1 <= e["batch"] <= e["batches"] and e["epoch"] in (1, 2) for e in batches)
    assert len(batches) <= 5 * seconds + 2  # throttled: at most about 5 a second
    ready = events[-1]
    run = Path(ready["run"])
    assert ready["checkpoint"] == str(run / "best.pt") and ready["classes"] == CLASSES
    assert read_labels(Path(ready["labels"])) == CLASSES
    session = ort.InferenceSession(ready["onnx"], providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape[-1] == 3
    saved = json.loads((run / "metrics.json").read_text())
    assert ready["accuracy"] == saved["best"]["accuracy"] == checkpoint.load(run / "best.pt").metrics["accuracy"]
    assert ready["headline"] == saved["validation"]["headline"] and ready["notes"]
    assert saved["interrupted"] is False and saved["epochs_done"] == 2


def test_a_warm_start_job_builds_the_run_as_thumbs_train_from_does(first_run, demo_data, tmp_path):
    best, sent = first_run[1][-1]["checkpoint"], Collected()
    code = job_in_process({"kind": "train", "from": best, "threads": 1,
                           "config": {"data": str(demo_data), "out": str(tmp_path / "warm"), "batch_size": 16,
                                      "cache": False, "epochs": 1}}, sent)
    events = sent.sent
    assert code == 0 and events[-1]["event"] == "model_ready", events
    assert any(e["event"] == "log" and e["message"].startswith(f"starting from {best}") for e in events)
    assert [e["epochs"] for e in events if e["event"] == "epoch"] == [1]
    ckpt = checkpoint.load(events[-1]["checkpoint"])
    assert (ckpt.info.arch, ckpt.info.img_size, ckpt.settings["start_from"]) == ("mobilenet_v2_x0_35", 32, best)
    assert ckpt.settings["lr"] == pytest.approx(0.5e-3)  # the short schedule: half the first run's rate


def test_a_warm_start_that_changes_the_model_is_refused_in_the_line_thumbs_train_prints(first_run, demo_data,
                                                                                        tmp_path):
    best = first_run[1][-1]["checkpoint"]
    cli = helpers.thumbs_in_process("train", "--from", best, "--arch", "resnet18", "--data", str(demo_data),
                                    "--out", str(tmp_path / "cli"))
    sent = Collected()
    with pytest.raises(ThumbsError) as refused:  # main() sends it as the "failed" event (tests below)
        job_in_process({"kind": "train", "from": best, "config": {"arch": "resnet18", "data": str(demo_data)}},
                       sent)
    assert cli.exit_code == 1 and sent.sent == [] and "--from keeps the model's arch" in str(refused.value)
    assert f"error: {refused.value}" in cli.stderr


def test_batch_events_come_at_most_five_a_second_however_fast_the_batches():
    collected = Collected()
    watcher, trainer = job.Job(collected), SimpleNamespace(cfg=SimpleNamespace(epochs=3))
    for done in range(1, 501):
        watcher.on_batch_end(trainer, 0, done, 500)
    assert collected.sent == [{"event": "batch", "epoch": 1, "epochs": 3, "batch": 1, "batches": 500}]
    time.sleep(1.0 / job.BATCH_EVENTS_PER_S)
    watcher.on_batch_end(trainer, 1, 1, 500)
    assert len(collected.sent) == 2 and collected.sent[1]["epoch"] == 2


# offline ImageNet: tests/studio/test_studio_window.py checks the same line through the studio, end to end
@pytest.mark.parametrize("case", ["empty class folder", "bad settings"])
def test_a_failed_job_says_the_line_thumbs_train_prints_and_exits_1(case, demo_data, tmp_path):
    data, config = demo_data, {"arch": "mobilenet_v2_x0_35", "weights": "none", "img_size": 32}
    if case == "empty class folder":
        data = tmp_path / "data"
        shutil.copytree(demo_data, data)
        (data / "ok").mkdir()
    else:
        config["crop"] = "sideways"
    cli = helpers.thumbs_in_process("train", "--data", str(data), "--out", str(tmp_path / "cli"),
                                    *[arg for k, v in config.items() for arg in (f"--{k.replace('_', '-')}", str(v))])
    code, events, child = run_job({"kind": "train", "config": {"data": str(data), "out": str(tmp_path / "job"),
                                                               **config}}, tmp_path)
    assert code == cli.exit_code == 1 and [e["event"] for e in events][-1] == "failed", (events, child.stderr)
    why = events[-1]["why"]
    assert "\n" not in why and f"error: {why}" in cli.stderr, (why, cli.stderr)
    assert {"empty class folder": "has no images", "bad settings": "--crop sideways: use one of"}[case] in why
    assert not (tmp_path / "job").exists() and "Traceback" not in child.stderr


def test_a_spec_the_job_cannot_run_is_one_line_too(tmp_path):
    code, events, child = run_job({"kind": "train", "config": {"epocs": 3}}, tmp_path)
    assert code == 1 and events == [{"event": "failed", "why": events[0]["why"]}]
    assert "config 'epocs' is not a training setting" in events[0]["why"]
    code, events, _ = run_job({"kind": "train", "config": {"epochs": "3"}}, tmp_path)
    assert code == 1 and "config 'epochs' is '3': Input should be a valid integer" in events[0]["why"]


@pytest.mark.parametrize("spec, message", [
    ({"config": {"epochs": True}}, "config 'epochs' is True: Input should be a valid integer"),
    ({"config": {"flip": 1}}, "config 'flip' is 1: Input should be a valid boolean"),
    ({"config": {"img_size": 32.0}}, "config 'img_size' is 32.0: Input should be a valid integer"),
    ({"config": {"first_lr": 0.1}}, "config 'first_lr' is not a training setting"),
    ({"threads": True}, "'threads' is True: Input should be a valid integer"),
    ({"from": 5}, "'from' is 5: Input should be a valid string"),
])
def test_a_spec_of_the_wrong_type_is_refused_even_where_python_would_take_it(spec, message):
    """The hand-written check let `true` through for an int setting (bool is an int to isinstance)."""
    with pytest.raises(ThumbsError, match=re.escape(f"job spec: {message}")):
        job.parse_spec([json.dumps({"kind": "train", **spec})])


def _marked(run: Path) -> tuple[dict, str]:
    return json.loads((run / "metrics.json").read_text()), (run / "report.md").read_text()


def _kept_after_an_epoch(child: Child, run: Path, signum: int) -> int:
    """The stop's exit code, last event, metrics and report: the run is kept, marked partial; returns its epochs."""
    assert child.finish() == EXIT[signum], child.stderr
    last = child.events[-1]
    assert last == {"event": "interrupted", "run": str(run), "kept": last["kept"],
                    "resume": f"thumbs train --resume {run / 'last.pt'}"}
    metrics, report = _marked(run)
    k = metrics["epochs_done"]
    assert metrics["interrupted"] is True and k >= 1 and checkpoint.load(run / "last.pt").epoch == k - 1
    assert f"kept {run / 'last.pt'} after epoch {k} of 50" == last["kept"]
    assert f"**Interrupted after epoch {k} of 50**" in report and f"`thumbs train --resume {run / 'last.pt'}`" in report
    return k


def test_ctrl_c_after_an_epoch_keeps_the_run_marked_partial_and_resume_finishes_it(demo_data, tmp_path):
    run = tmp_path / "run"
    child = Child({"kind": "train", "config": small(demo_data, run, epochs=50), "threads": 1}, tmp_path)
    child.wait_for("epoch")
    child.proc.send_signal(signal.SIGINT)
    k = _kept_after_an_epoch(child, run, signal.SIGINT)
    resumed = helpers.thumbs_in_process("train", "--resume", str(run / "last.pt"), "--epochs", str(k + 1))
    assert resumed.exit_code == 0, resumed.output
    metrics, report = _marked(run)
    assert metrics["interrupted"] is False and metrics["epochs_done"] == metrics["epochs"] == k + 1
    assert "Interrupted" not in report and "partial" not in report


def test_closing_the_jobs_stdin_stops_it_as_sigterm_does_within_seconds(demo_data, tmp_path):
    """The job turns its stdin's end into SIGTERM to itself: this is also the test of a SIGTERM."""
    run = tmp_path / "run"
    child = Child({"kind": "train", "config": small(demo_data, run, epochs=50), "threads": 1}, tmp_path)
    child.wait_for("epoch")
    closed = time.monotonic()
    child.proc.stdin.close()  # what the studio's death looks like from here
    code = child.proc.wait(60)
    stopped_in = time.monotonic() - closed
    assert code == EXIT[signal.SIGTERM] and stopped_in < 15, f"exit {code} {stopped_in:.1f} s after stdin closed"
    _kept_after_an_epoch(child, run, signal.SIGTERM)


def test_an_export_job_writes_the_checked_onnx_and_says_what_the_model_scored(first_run, tmp_path):
    run = Path(first_run[1][-1]["run"])
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("best.pt", "metrics.json"):
        shutil.copy(run / name, copy / name)
    sent = Collected()
    assert job_in_process({"kind": "export", "checkpoint": str(copy / "best.pt")}, sent) == 0
    events = sent.sent
    assert [e["event"] for e in events] == ["log", "model_ready"] and "exporting" in events[0]["message"]
    ready = events[-1]
    assert ready["onnx"] == str(copy / "best.onnx") and read_labels(Path(ready["labels"])) == CLASSES
    assert ready["accuracy"] == checkpoint.load(copy / "best.pt").metrics["accuracy"]
    assert ready["headline"] == json.loads((copy / "metrics.json").read_text())["validation"]["headline"]


def test_an_export_job_of_a_missing_checkpoint_fails_as_thumbs_export_does(tmp_path):
    missing = tmp_path / "runs" / "best.pt"
    cli = helpers.thumbs_in_process("export", str(missing))
    code, events, _ = run_job({"kind": "export", "checkpoint": str(missing)}, tmp_path)
    assert code == cli.exit_code == 1 and events[-1]["event"] == "failed"
    assert f"error: {events[-1]['why']}" in cli.stderr
