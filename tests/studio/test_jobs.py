"""The studio's side of a background job: what it says when the child cannot run, or ends without a result."""

from __future__ import annotations

import time

import pytest

from thumbs.core.errors import ThumbsError
from thumbs.studio import jobs


def _final(job: jobs.Job, timeout: float = 60) -> list[dict]:
    deadline, events = time.monotonic() + timeout, []
    while job.final is None and time.monotonic() < deadline:
        time.sleep(0.05)
    events += job.events()
    job.close()
    return events


def test_without_the_training_install_t_says_what_to_install(monkeypatch):
    monkeypatch.setattr(jobs.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ThumbsError, match=r"pip install 'thumbs\[train\]'"):
        jobs.Job({"kind": "export", "checkpoint": "x.pt"})


def test_a_child_that_dies_without_a_result_is_a_failure_with_its_last_words(monkeypatch, tmp_path):
    crash = tmp_path / "crash.sh"
    crash.write_text("#!/bin/sh\necho 'not json'\necho 'Segmentation fault in libfoo' >&2\nexit 3\n")
    crash.chmod(0o755)
    monkeypatch.setattr(jobs.sys, "executable", str(crash))
    job = jobs.Job({"kind": "export", "checkpoint": "x.pt"})
    events = _final(job)
    assert events == [{"event": "failed", "why": "the export process ended without a result (exit code 3): "
                                                 "Segmentation fault in libfoo"}]
    assert not job.running


def test_a_real_job_ends_in_its_result_and_the_loaded_model_rides_on_it(tmp_path):
    from tests.helpers import make_checkpoint

    best = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["a", "b"])
    job = jobs.Job({"kind": "export", "checkpoint": str(best), "threads": 1}, load=lambda e: ("loaded", e["onnx"]))
    events = _final(job, 120)
    ready = events[-1]
    assert ready["event"] == "model_ready" and ready["model"] == ("loaded", str(best.with_suffix(".onnx")))
    assert best.with_suffix(".onnx").is_file()


def test_a_job_counts_as_running_until_the_window_has_read_its_result(monkeypatch, tmp_path):
    """`running` turned false as soon as the reader thread had the result, before the window read it: a `t` in
    that frame replaced the job, and its model_ready was never read."""
    child = tmp_path / "child.sh"
    child.write_text('#!/bin/sh\necho \'{"event": "log", "message": "hi"}\'\n'
                     'echo \'{"event": "failed", "why": "it is done"}\'\nexit 1\n')
    child.chmod(0o755)
    monkeypatch.setattr(jobs.sys, "executable", str(child))
    job = jobs.Job({"kind": "export", "checkpoint": "x.pt"})
    deadline = time.monotonic() + 60
    while job.final is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the reader thread has ended too
    assert job.final is not None and job.running  # the result waits in the queue: still this studio's job
    events = job.events()
    assert [e["event"] for e in events] == ["log", "failed"] and not job.running
    job.close()
