"""Hand models at run time: the one loader gives the front end then the classifier (the no-hand rule, the surest
hand, each hand's details), `thumbs live` on a folder with per-hand events, the overlay, and the one-line errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.conftest import REAL_THUMBS, require
from tests.hands.tiny_models import CLASSES, crop_model, thumb_landmarks_model
from tests.helpers import thumbs, thumbs_in_process
from thumbs.core.errors import ThumbsError
from thumbs.hands import frontend
from thumbs.live.overlay import draw_live
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.hand_classifier import HandClassifier
from thumbs.runtime.loader import exported_from


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(require(REAL_THUMBS / name)))


@pytest.fixture(scope="module")
def landmarks_clf(tmp_path_factory) -> HandClassifier:
    path = thumb_landmarks_model(tmp_path_factory.mktemp("tiny") / "landmarks.onnx")
    return Classifier.load(path, "cpu", log=lambda _: None)


def test_a_landmarks_model_loads_behind_the_front_end_and_reads_the_thumb(landmarks_clf):
    assert isinstance(landmarks_clf, HandClassifier) and landmarks_clf.none == "none"
    for name, label in (("up/a_0.jpg", "up"), ("down/a_0.jpg", "down"), ("up/b_50.jpg", "up"),
                        ("down/b_50.jpg", "down")):
        landmarks_clf.front_end.reset()
        pred = landmarks_clf(photo(name))
        assert pred.label == label and pred.score > 0.9, name
        assert len(pred.hands) == 1 and pred.hands[0].label == label
        event = pred.hands[0].to_event()
        assert event["label"] == label and len(event["landmarks"]) == 21 and len(event["box"]) == 4


def test_no_hand_is_the_no_gesture_class_without_running_the_classifier(landmarks_clf, monkeypatch):
    def fail(batch):
        raise AssertionError("the classifier ran on a frame with no hand")

    monkeypatch.setattr(landmarks_clf.backend, "predict_batch", fail)
    pred = landmarks_clf(np.full((240, 320, 3), 90, np.uint8))
    assert (pred.label, pred.score, pred.hands) == ("none", 1.0, [])
    assert pred.probs.tolist() == [0.0, 1.0, 0.0]


def test_a_hand_crop_model_gets_one_crop_per_hand(tmp_path):
    clf = Classifier.load(crop_model(tmp_path / "crop.onnx", size=32), "cpu", log=lambda _: None, max_hands=2)
    frame = photo("up/a_0.jpg")
    found = clf.preprocess(frame)
    assert len(found.hands) == 1 and found.batch.shape == (1, 3, 32, 32) and found.batch.dtype == np.float32
    assert found.batch.min() >= 0 and found.batch.max() <= 1
    pred = clf.infer(found)
    assert pred.label in CLASSES and abs(float(pred.probs.sum()) - 1) < 1e-5 and clf.front_end.max_hands == 2


def test_a_hand_model_without_a_no_gesture_class_is_refused_in_one_line(tmp_path):
    path = thumb_landmarks_model(tmp_path / "two.onnx", classes=["down", "up"])
    with pytest.raises(ThumbsError) as error:
        Classifier.load(path, "cpu", log=lambda _: None)
    assert "\n" not in str(error.value) and "`none` folder" in str(error.value)


def test_the_overlay_draws_each_hand(landmarks_clf):
    frame = photo("up/a_0.jpg")
    landmarks_clf.front_end.reset()
    pred = landmarks_clf(frame)
    args = (frame, CLASSES, pred.probs, "up", 0.99, 30.0, 5.0, 0.6, "full")
    plain, drawn = draw_live(*args), draw_live(*args, hands=pred.hands)
    assert plain.shape == drawn.shape
    factor = plain.shape[1] / frame.shape[1]
    x0, y0, x1, y1 = (int(v * factor) for v in pred.hands[0].hand.box)
    changed = np.any(plain != drawn, axis=2)
    assert changed[y0:y1, x0:x1].mean() > 0.02  # the skeleton, over the hand
    assert changed.sum() == changed[max(0, y0 - 60):y1 + 30, max(0, x0 - 30):x1 + 30].sum()  # and nowhere else


def test_live_headless_on_a_folder_writes_each_hand_in_the_events(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    order = [("up/a_0.jpg", "up"), ("up/a_0.jpg", "up"), (None, "none"), ("down/a_0.jpg", "down"),
             ("down/a_0.jpg", "down")]
    for i, (name, _) in enumerate(order):
        image = photo(name) if name else np.full((416, 640, 3), 60, np.uint8)
        cv2.imwrite(str(folder / f"{i:02d}.png"), image)
    model = thumb_landmarks_model(tmp_path / "tiny.onnx")
    events = tmp_path / "events.jsonl"
    run = thumbs("live", "--model", str(model), "--source", str(folder), "--headless", "--events", str(events),
                 "--provider", "cpu", "--max-hands", "2", "--smooth", "1")
    assert run.returncode == 0, run.stderr
    assert "landmarks of up to 2 hand(s) a frame" in run.stdout and "hand front end: CPU" in run.stdout
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["label"] for e in lines] == [label for _, label in order]
    for event, (name, label) in zip(lines, order):
        assert len(event["hands"]) == (1 if name else 0)
        for hand in event["hands"]:
            assert hand["label"] == label and hand["handedness"] in ("left", "right") and len(hand["landmarks"]) == 21
            assert 0 <= hand["box"][0] < hand["box"][2] <= 640 and 0 <= hand["box"][1] < hand["box"][3] <= 416


def test_a_hand_model_whose_front_end_files_are_missing_is_one_line(tmp_path, monkeypatch):
    model = thumb_landmarks_model(tmp_path / "tiny.onnx")
    monkeypatch.setattr(frontend, "MODELS", tmp_path / "gone")
    image = tmp_path / "frames"
    image.mkdir()
    cv2.imwrite(str(image / "0.png"), np.zeros((32, 32, 3), np.uint8))
    result = thumbs_in_process("live", "--model", str(model), "--source", str(image), "--headless",
                               "--provider", "cpu")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "hand front end's model files are missing" in result.stderr


def test_an_onnx_given_alone_was_exported_from_no_checkpoint(tmp_path):
    model = thumb_landmarks_model(tmp_path / "alone.onnx")
    assert exported_from(model, tmp_path / "alone.pt") is False  # the studio's --from X.onnx asks this
