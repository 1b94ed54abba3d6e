"""`thumbs studio` as a person uses it: the real command in its own process on a virtual display (Xvfb),
driven by key presses (xdotool) and read back through its --events file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REAL_THUMBS, require
from tests.hands.tiny_models import thumb_landmarks_model
from tests.helpers import make_checkpoint, thumbs_in_process
from tests.studio.driver import StudioRun
from thumbs.training import synthetic
from thumbs.training.export import export
from thumbs.training.warm_start import WARM_EPOCHS, WARM_LR_FACTOR

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (apt install xvfb xdotool); .ci/run installs them")

# the first training's model options: small and quick, from random weights (no download in tests)
QUICK = ["--arch", "mobilenet_v2_x0_35", "--weights", "none", "--img-size", "32", "--epochs", "2",
         "--batch-size", "8", "--interval", "0.1"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A camera stand-in: up, none and down in turn at 15 fps (half the preview work of 30), looped by the studio."""
    path = tmp_path_factory.mktemp("studio") / "camera.mp4"
    return synthetic.make_video(path, segments=[("up", 20), ("none", 20), ("down", 20)], seed=5, width=160,
                                height=120, fps=15.0)


def _record(run: StudioRun, digit: str, seconds: float) -> None:
    run.key(digit, "a")
    time.sleep(seconds)
    run.key("a")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_from_nothing_to_a_live_model_without_leaving_the_window(display, clip, tmp_path):
    run = StudioRun(display, tmp_path, "--classes", "up,down,none", "--source", str(clip), *QUICK)
    _record(run, "1", 2.5)
    _record(run, "2", 2.5)
    run.key("3", "space", "space", "space", gap=0.3)
    run.key("t")
    started = run.wait_for("train_started")
    assert started["warm_start"] is False
    ready = run.wait_for("model_ready", timeout=180, fail_on="train_failed")
    assert ready["live"] is ready["learned"]
    if not ready["learned"]:  # 2 epochs from random weights may learn nothing: held back, g puts it live
        run.key("g")
        run.wait_for("model_live")
    n = len(run.read())
    deadline = time.monotonic() + 60  # frames classified by the new model (slow on a busy machine)
    while len([e for e in run.read()[n:] if e["event"] == "frame"]) <= 10 and time.monotonic() < deadline:
        time.sleep(0.3)
    run.key("e")
    exported = run.wait_for("exported", after=n)
    run.key("q")
    code, out, err = run.finish()
    assert code == 0, err
    events = run.read()
    saved = [e for e in events if e["event"] == "saved"]
    assert {e["class"] for e in saved} == {"up", "down", "none"}
    assert all(Path(tmp_path, e["path"]).is_file() for e in saved)
    assert len({Path(e["path"]).name.split("_")[0] for e in saved}) == 1  # one session for the whole sitting
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    onnx = Path(tmp_path, ready["onnx"])
    assert onnx.is_file() and onnx.with_suffix(".labels.txt").read_text().split() == ["down", "none", "up"]
    assert exported["onnx"] == ready["onnx"]
    index = events.index(next(e for e in events if e["event"] in ("model_ready", "model_live") and
                              e.get("live", True)))
    assert not [e for e in events[:index] if e["event"] == "frame"]  # no model, no frame events
    frames = [e for e in events[index:] if e["event"] == "frame"]
    assert len(frames) > 10
    assert all(set(f["probs"]) == {"up", "down", "none"} and f["label"] in f["probs"] for f in frames)
    assert events[-1]["event"] == "quit" and events[-1]["live"] == ready["onnx"]
    assert "live model:" in out and ready["onnx"] in out


def test_quitting_during_a_training_keeps_the_previous_model_live_and_intact(display, clip, tmp_path):
    best = make_checkpoint(tmp_path / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["down", "up"],
                           settings={"lr": 5e-4, "first_lr": 1e-3})  # itself a retrain of a first run at 1e-3
    export(best)  # here, so the studio loads it at once (the c/r/e test covers an export in the background)
    synthetic.make_dataset(tmp_path / "dataset", per_class=150, seed=2, width=64, height=48, classes=("up", "down"))
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(clip), "--from", str(best))
    before = {p: _sha(p) for p in best.parent.iterdir() if p.is_file()}
    run.key("t")
    assert run.wait_for("train_started")["warm_start"] is True
    run.key("t")  # a second t while training: busy, nothing new starts
    first_epoch = run.wait_for("epoch", timeout=120)
    run.key("q")  # during the second (last) epoch of the retrain
    # the short schedule, from the chain's first rate: not the first training's --epochs, nor a rate halved again
    assert (first_epoch["epochs"], first_epoch["lr"]) == (WARM_EPOCHS, pytest.approx(1e-3 * WARM_LR_FACTOR))
    code, out, err = run.finish()
    assert code == 0, err
    events = run.read()
    assert [e["event"] for e in events].count("train_started") == 1
    assert not [e for e in events if e["event"] == "model_ready"]
    stopped = next(e for e in events if e["event"] == "train_failed")
    assert stopped["started"] and "stopped" in stopped["why"] and "--resume" in stopped["why"]
    assert events[-1]["event"] == "quit"
    assert Path(events[-1]["live"]).resolve() == best.with_suffix(".onnx").resolve()
    assert {p: _sha(p) for p in before} == before  # the model that was live is untouched
    partial = Path(tmp_path, stopped["why"].split("--resume ")[1].rstrip("`"))
    metrics = json.loads((partial.parent / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs_done"] == 1


def test_t_with_an_empty_class_says_so_and_starts_nothing(display, clip, tmp_path):
    run = StudioRun(display, tmp_path, "--classes", "up,down,none", "--source", str(clip), *QUICK)
    run.key("Left", "Print", "Insert", "shift")  # no character: their low bytes are Q, a, c (they quit, once)
    run.key("1", "space", "space", "t")
    failed = run.wait_for("train_failed")
    run.key("q")
    code, out, err = run.finish()
    assert code == 0, err
    assert failed["started"] is False and "class 'down' has no frames" in failed["why"]
    events = [e["event"] for e in run.read()]
    assert "train_started" not in events and events.count("saved") == 2 and events.count("quit") == 1
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_ends_the_studio_with_what_was_saved(display, clip, tmp_path):
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(clip))
    run.key("1", "space", "space")
    run.wait_for("saved")
    run.proc.send_signal(signal.SIGINT)
    code, out, err = run.finish()
    assert code == 130 and "interrupted" in err
    saved = [e for e in run.read() if e["event"] == "saved"]
    assert saved and all(Path(tmp_path, e["path"]).is_file() for e in saved)
    assert run.read()[-1]["event"] == "quit"


def test_offline_the_default_imagenet_download_says_what_train_says(display, clip, tmp_path, monkeypatch):
    """The studio's first training takes train's defaults (ResNet-18, ImageNet weights) and its errors."""
    synthetic.make_dataset(tmp_path / "dataset", per_class=25, seed=4, width=64, height=48, classes=("up", "down"))
    offline = {"TORCH_HOME": str(tmp_path / "empty-torch-cache"), "https_proxy": "http://127.0.0.1:9",
               "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}  # no network, whatever the machine
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(clip), env=offline)
    run.key("t")
    failed = run.wait_for("train_failed", fail_on="model_ready")
    run.key("q")
    assert run.finish()[0] == 0
    for name, value in offline.items():
        monkeypatch.setenv(name, value)
    train = thumbs_in_process("train", "--data", "dataset", cwd=tmp_path)
    assert train.exit_code == 1
    assert failed["started"] and "could not download ImageNet weights for resnet18" in failed["why"]
    # the same line (rich may wrap the terminal's), but for the network's own reason: urllib keeps the proxy it
    # first read for the life of a process, so the in-process train may fail by name lookup where the studio's
    # child was refused by the proxy
    reason = re.compile(r"\(URLError: .*?\)")
    assert reason.sub("", failed["why"]) in reason.sub("", " ".join(train.stderr.split()))


def test_a_model_given_as_a_checkpoint_goes_live_and_c_r_e_work_on_it(display, clip, tmp_path):
    """--from a .pt with no export yet: exported in the background, then live; c keeps unsure frames,
    r labels them in the same window (review's keys), e says where the deployable model is."""
    best = make_checkpoint(tmp_path / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32,
                           classes=["down", "up"])
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(clip), "--from", str(best))
    run.key("c")  # no model yet: says so, nothing starts
    ready = run.wait_for("model_ready", fail_on="train_failed")
    assert Path(ready["onnx"]).resolve() == best.with_suffix(".onnx").resolve()
    run.key("c")
    assert run.wait_for("capture")["on"] is True
    deadline = time.monotonic() + 30
    while len(list((tmp_path / "captures").glob("*.jpg"))) < 5 and time.monotonic() < deadline:
        time.sleep(0.3)
    run.key("c")
    kept = len(list((tmp_path / "captures").glob("*.jpg")))
    assert kept >= 5  # more than the review labels below: q ends it, not the last frame
    run.key("r")
    time.sleep(1.0)
    run.key("1", "2", "x", gap=0.5)  # up, down, discard: review's keys, in the studio's window
    run.key("q")  # ends the review, back to the studio
    reviewed = run.wait_for("review")
    run.key("e")
    exported = run.wait_for("exported")
    run.key("q")
    code, out, err = run.finish()
    assert code == 0, err
    assert (reviewed["labelled"], reviewed["discarded"]) == (2, 1)
    labelled = [p for p in (tmp_path / "dataset").rglob("*.jpg")]
    assert len(labelled) == 2 and {p.parts[-3] for p in labelled} == {"up", "down"}
    assert len(list((tmp_path / "captures").glob("*.jpg"))) == kept - 3
    assert Path(exported["onnx"]).resolve() == best.with_suffix(".onnx").resolve()
    assert Path(exported["labels"]).read_text().split() == ["down", "up"]
    events = [e["event"] for e in run.read()]
    assert events.index("model_ready") < events.index("capture")


def test_a_model_that_has_not_learned_stays_out_until_g_and_the_trainer_notes_say_why(display, tmp_path):
    """Frames that are all alike cannot be learned: the trainer notes that the model predicts one class for every
    image. The studio put such a model live as a plain success and dropped the notes; now the live model stays
    (here: none), model_ready carries the notes, and g puts the new model live anyway."""
    still = tmp_path / "still"
    still.mkdir()
    cv2.imwrite(str(still / "grey.png"), np.full((120, 160, 3), 128, np.uint8))
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(still), *QUICK)
    _record(run, "1", 1.5)
    _record(run, "2", 1.5)
    run.key("t")
    ready = run.wait_for("model_ready", timeout=180, fail_on="train_failed")
    assert ready["learned"] is False and ready["live"] is False
    assert any("for every validation image: it has not learned" in note for note in ready["notes"])
    time.sleep(1.0)
    n = len(run.read())
    assert not [e for e in run.read() if e["event"] == "frame"]  # nothing went live
    run.key("g")
    live = run.wait_for("model_live", after=n)
    time.sleep(1.0)
    run.key("q")
    code, out, err = run.finish()
    assert code == 0, err
    events = run.read()
    assert live["onnx"] == ready["onnx"] and live["learned"] is False
    assert [e for e in events[events.index(live):] if e["event"] == "frame"]  # g put it live
    assert "note: the model predicts" in err and "has not learned" in err and "g in the window uses it" in err
    assert f"live model: {ready['onnx']}" in out


def test_c_says_why_when_the_review_queue_cannot_take_frames(display, clip, tmp_path):
    """The sink warned, and c then wrote "capture on" over the warning and emitted on: true, keeping nothing."""
    best = make_checkpoint(tmp_path / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["down", "up"])
    export(best)
    run = StudioRun(display, tmp_path, "--classes", "up,down", "--source", str(clip), "--from", str(best))
    (tmp_path / "captures").write_text("a file where the queue goes, made after the studio started")
    run.key("c")
    said = run.wait_for("capture")
    run.key("q")
    code, out, err = run.finish()
    assert code == 0, err
    assert said["on"] is False and "--captures 'captures' is a file, not a folder" in said["why"]
    assert (tmp_path / "captures").read_text().startswith("a file")


def test_a_hand_model_goes_live_with_its_hands_in_the_frame_events(display, tmp_path):
    """The studio loads a hand model through the one loader: the front end runs and each frame names its hands."""
    photo = cv2.imread(str(require(REAL_THUMBS / "up" / "a_0.jpg")))
    clip = tmp_path / "hand.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, photo.shape[1::-1])
    for _ in range(15):
        writer.write(photo)
    writer.release()
    model = thumb_landmarks_model(tmp_path / "hands.onnx")
    run = StudioRun(display, tmp_path, "--classes", "down,none,up", "--source", str(clip), "--from", str(model),
                    "--provider", "cpu")
    frame = run.wait_for("frame")
    run.key("q")
    code, _, err = run.finish()
    assert code == 0, err
    assert frame["label"] == "up" and len(frame["hands"]) == 1 and frame["hands"][0]["label"] == "up"
