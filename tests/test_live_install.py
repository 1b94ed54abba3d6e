"""The live install as it ships on a Jetson Nano (Python 3.8, onnxruntime 1.11.0, no torch; .venv38 from .ci/run):
every live command runs there for real, from the installed copy, on a clip and models the training install made."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import live_venv
from tests.conftest import REAL_THUMBS, require
from tests.hands.tiny_models import thumb_landmarks_model
from thumbs.training import models


def thumbs38(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`thumbs ...` as a Nano user runs it: the venv's Python, outside the tree, no PYTHONPATH."""
    return subprocess.run([str(python), "-m", "thumbs.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=live_venv.env(), timeout=300)


def test_the_venv_is_the_nanos_live_install(live_python):
    found = live_venv.describe()
    assert tuple(found["python"]) == (3, 8) and found["onnxruntime"] == "1.11.0" and not found["torch"]
    assert Path(found["thumbs"]).is_relative_to(live_venv.VENV)


def test_a_venv_that_is_not_the_nanos_is_named_wrong_not_skipped():
    nano = {"python": [3, 8], "onnxruntime": "1.11.0", "torch": False,
            "thumbs": str(live_venv.VENV / "lib/python3.8/site-packages/thumbs/__init__.py")}
    assert live_venv.problems(nano) == []
    wrong = live_venv.problems({**nano, "python": [3, 11], "onnxruntime": "1.15.1", "torch": True,
                                "thumbs": str(live_venv.ROOT / "thumbs" / "__init__.py")})
    assert wrong == ["Python 3.11, not 3.8", "onnxruntime 1.15.1, not 1.11.0",
                     "torch is installed (the live install has none)",
                     f"thumbs is imported from the tree ({live_venv.ROOT / 'thumbs' / '__init__.py'}), not installed"]


def test_collect_data_eval_and_doctor(live_python, demo_video, opset13_models, tmp_path):
    data = tmp_path / "dataset"
    for label, count in (("up", 6), ("down", 4)):
        run = thumbs38(live_python, "collect", "--label", label, "--source", demo_video, "--data", data,
                       "--headless", "--count", count, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert f"saved {count} frame(s)" in run.stdout
    run = thumbs38(live_python, "data", "--data", data, "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert {c["name"]: c["count"] for c in json.loads(run.stdout)["classes"]} == {"down": 4, "up": 6}
    model = opset13_models["mobilenet_v3_small"]
    run = thumbs38(live_python, "eval", model, "--data", data, "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    scores = json.loads(run.stdout)
    assert scores["count"] == 10 and 0 <= scores["accuracy"] <= 1 and scores["skipped"] == []
    run = thumbs38(live_python, "doctor", "--no-cameras", "--model", model, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "python            3.8." in run.stdout and "onnxruntime       1.11.0" in run.stdout
    assert "opset 13; onnxruntime 1.11.0 takes up to 16: ok" in run.stdout
    assert "pip install 'thumbs[train]'" in run.stdout
    run = thumbs38(live_python, "studio", "--classes", "up,down", "--source", demo_video, cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr  # the studio loads; no display here
    assert "no display" in run.stderr and "thumbs collect --headless" in run.stderr
    checkpoint = model.with_suffix(".pt")  # the checkpoint it was exported from: the live install has no PyTorch
    for args in (["eval", checkpoint, "--data", data], ["live", "--model", checkpoint, "--source", demo_video]):
        run = thumbs38(live_python, *args, cwd=tmp_path)
        assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
        assert f"'{checkpoint}' is a PyTorch checkpoint" in run.stderr and "pip install 'thumbs[train]'" in run.stderr


@pytest.mark.parametrize("arch", models.ARCHS)
def test_live_runs_each_architectures_opset13_model(live_python, demo_video, opset13_models, tmp_path, arch):
    events = tmp_path / "events.jsonl"
    run = thumbs38(live_python, "live", "--model", opset13_models[arch], "--source", demo_video, "--headless",
                   "--events", events, "--max-frames", 12, "--provider", "cpu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["frame"] for e in lines] == list(range(12))
    assert all(e["label"] in ("down", "none", "up") and abs(sum(e["probs"].values()) - 1) < 1e-3 for e in lines)
    assert "12 frames in" in run.stdout and "on CPU" in run.stdout


def test_live_runs_a_hand_model_behind_the_shipped_front_end(live_python, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(("up/a_0.jpg", "up/a_10.jpg", "down/a_0.jpg")):
        (folder / f"{i}.jpg").write_bytes(require(REAL_THUMBS / name).read_bytes())
    model = thumb_landmarks_model(tmp_path / "hands.onnx")
    events = tmp_path / "events.jsonl"
    run = thumbs38(live_python, "live", "--model", model, "--source", folder, "--headless", "--events", events,
                   "--provider", "cpu", "--smooth", 1, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["label"] for e in lines] == ["up", "up", "down"]
    assert all(len(e["hands"]) == 1 and len(e["hands"][0]["landmarks"]) == 21 for e in lines)
