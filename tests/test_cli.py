"""The `thumbs` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .test_export import make_checkpoint


def thumbs(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "thumbs.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, input=input, timeout=300)


def test_help_lists_every_registered_command():
    from thumbs.cli import app

    result = thumbs("--help")
    assert result.returncode == 0
    registered = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    assert {"collect", "data", "train", "eval", "export", "live", "doctor", "demo"} <= registered
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ") and line[2] != " "]
    listed = {row.split()[1] for row in rows}
    assert registered <= listed  # each command has its own row, not just a mention in another's help


def test_collect_then_data_json(tmp_path, demo_video):
    data = tmp_path / "dataset"
    got = thumbs("collect", "--label", "up", "--source", str(demo_video), "--data", str(data), "--headless",
                 "--count", "7", "--size", "64x48")
    assert got.returncode == 0, got.stderr
    assert "saved 7 frame(s)" in got.stdout
    report = json.loads(thumbs("data", "--data", str(data), "--json").stdout)
    assert report["total"] == 7 and report["classes"][0]["name"] == "up"
    assert {"few_images", "one_class", "no_background"} <= {w["code"] for w in report["warnings"]}


@pytest.mark.parametrize("args, message", [
    (["collect", "--label", "../up", "--source", "x.mp4", "--headless"], "label '../up' is not a safe folder name"),
    (["collect", "--label", "up", "--source", "missing.mp4", "--headless"], "source 'missing.mp4': no such file"),
    (["collect", "--label", "up", "--source", "7", "--headless", "--count", "1"], "could not open camera 7"),
    (["collect", "--label", "up", "--source", "videotestsrc ! appsink"], "built without GStreamer"),
    (["data", "--data", "nowhere"], "data folder 'nowhere' does not exist"),
    (["train", "--data", "nowhere"], "data folder 'nowhere' does not exist"),
    (["export", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
    (["live", "--model", "missing.onnx", "--headless"], "model 'missing.onnx' does not exist"),
    (["live", "--headless"], "no trained model found in runs/"),
    (["eval", "missing.pt"], "model 'missing.pt' does not exist"),
    (["export", "missing.pt", "--opset", "99"], "--opset 99 is not supported: use 11-18"),
])
def test_bad_input_gives_one_clear_line_and_exit_1(tmp_path, args, message):
    result = thumbs(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_window_without_display_says_use_headless(tmp_path, demo_video):
    result = thumbs("collect", "--label", "up", "--source", str(demo_video), "--data", str(tmp_path))
    assert result.returncode == 1 and "run with --headless" in result.stderr
    assert not list(tmp_path.rglob("*.jpg"))


def test_export_then_live_with_events_on_stdout(tmp_path, demo_video):
    ckpt = make_checkpoint(tmp_path / "run" / "best.pt")
    exported = thumbs("export", str(ckpt))
    assert exported.returncode == 0 and "max difference to PyTorch" in exported.stdout
    result = thumbs("live", "--model", str(tmp_path / "run" / "best.onnx"), "--source", str(demo_video),
                    "--headless", "--events", "-", "--max-frames", "6")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["frame"] for e in events] == list(range(6))
    assert "6 frames" in result.stderr and "p50" in result.stderr  # the summary stays off the event stream


def test_live_failing_source_names_it(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    result = thumbs("live", "--model", str(ckpt), "--source", "rtsp://127.0.0.1:9/none", "--headless")
    assert result.returncode == 1 and "could not open url 'rtsp://127.0.0.1:9/none'" in result.stderr


def test_doctor_reports_this_machine():
    result = thumbs("doctor", "--no-cameras")
    assert result.returncode == 0
    for key in ("python", "opencv", "onnxruntime", "usable providers", "torch"):
        assert key in result.stdout
