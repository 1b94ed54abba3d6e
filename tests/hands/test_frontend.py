"""The hand front end: the shipped ONNX models against their conversion references, MediaPipe's post-processing
(anchors, weighted NMS, letterbox, rotated rects), real photos, tracking and the missing-model error."""

from __future__ import annotations

import hashlib
import math
import shutil

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from tests.conftest import REAL_THUMBS, require
from thumbs.core.errors import ThumbsError
from thumbs.hands import HandFrontEnd
from thumbs.hands.frontend import LANDMARK_MODEL, MODELS, PALM_MODEL
from thumbs.hands.palm import ANCHORS, letterbox, ssd_anchors, weighted_nms
from thumbs.hands.rect import RotatedRect, rect_from_landmarks

THUMB_TIP = 4


@pytest.fixture(scope="module")
def front_end() -> HandFrontEnd:
    return HandFrontEnd(max_hands=1, provider="cpu", log=lambda _: None)


@pytest.mark.parametrize("name", [PALM_MODEL, LANDMARK_MODEL])
def test_the_shipped_models_give_their_conversion_references(name):
    references = np.load(MODELS / "references.npz")
    stem = name[:-len(".onnx")]
    session = ort.InferenceSession(str(MODELS / name), providers=["CPUExecutionProvider"])
    images = references[f"{stem}/input"]
    for i, image in enumerate(images):
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255
        outputs = session.run(None, {session.get_inputs()[0].name: tensor})
        for k, out in enumerate(outputs):
            np.testing.assert_allclose(out[0], references[f"{stem}/output{k}"][i], atol=1e-3, rtol=0)


def test_the_models_ship_with_their_licence_and_source():
    assert "Apache License" in (MODELS / "LICENSE").read_text()
    source = (MODELS / "SOURCE.md").read_text()
    assert "mediapipe==0.10.21" in source and "tf2onnx 1.17.0" in source
    for name in (PALM_MODEL, LANDMARK_MODEL):
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() in source


def test_anchors_are_mediapipes_2016():
    assert ANCHORS.shape == (2016, 2)
    # stride 8: a 24x24 grid, 2 anchors a cell; then stride 16 (3 layers): 12x12, 6 anchors a cell
    np.testing.assert_allclose(ANCHORS[0], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(ANCHORS[1], ANCHORS[0])
    np.testing.assert_allclose(ANCHORS[2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(ANCHORS[48], [0.5 / 24, 1.5 / 24])
    np.testing.assert_allclose(ANCHORS[1152:1158], [[0.5 / 12, 0.5 / 12]] * 6)
    np.testing.assert_allclose(ANCHORS[1158], [1.5 / 12, 0.5 / 12])
    np.testing.assert_allclose(ANCHORS[-1], [11.5 / 12, 11.5 / 12])
    assert len(ssd_anchors(128, (8, 16, 16, 16))) == 16 * 16 * 2 + 8 * 8 * 6  # the same rule at another size


def test_weighted_nms_merges_overlaps_by_score_and_keeps_the_rest():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]], np.float32)
    keypoints = np.array([[[0.0, 0.0]], [[1.0, 1.0]], [[5.0, 5.0]]], np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    found = weighted_nms(boxes, keypoints, scores)
    assert [round(score, 2) for _, _, score in found] == [0.9, 0.7]  # the merged one keeps its best score
    box, points, _ = found[0]
    np.testing.assert_allclose(box, [0.04, 0.0, 1.04, 1.0], atol=1e-6)  # (0.9 * 0 + 0.6 * 0.1) / 1.5
    np.testing.assert_allclose(points, [[0.4, 0.4]], atol=1e-6)
    np.testing.assert_allclose(found[1][0], boxes[2])
    apart = weighted_nms(boxes[:2], keypoints[:2], scores[:2], threshold=0.9)  # IoU 0.82: not merged
    assert len(apart) == 2


def test_the_letterbox_maps_back_to_frame_pixels():
    frame = np.zeros((120, 240, 3), np.uint8)
    tensor, box = letterbox(frame)
    assert tensor.shape == (1, 3, 192, 192) and box.top == 48 and box.left == 0
    np.testing.assert_allclose(box.to_frame(np.array([[0.5, 0.5], [0.0, 0.25]], np.float32)),
                               [[120, 60], [0, 0]], atol=1e-4)
    tensor, box = letterbox(frame, pad=0.25)  # 60 px of black each side: 360 x 240 into 192 x 192
    assert box.left == 32 and box.top == 64 and tensor[0, :, :, :32].max() == 0
    np.testing.assert_allclose(box.to_frame(np.array([[0.5, 0.5], [32 / 192, 64 / 192]], np.float32)),
                               [[120, 60], [0, 0]], atol=1e-4)


def hand_pointing(angle: float) -> np.ndarray:
    """A stick hand: the wrist at (100, 100), the fingers `angle` radians clockwise from straight up."""
    points = np.zeros((21, 3), np.float32)
    for i in range(1, 21):
        finger, joint = (i - 1) // 4, (i - 1) % 4
        u, v = (finger - 2) * 8.0, -(20.0 + 10 * joint)  # across, and up the hand
        points[i, :2] = [u, v]
    c, s = math.cos(angle), math.sin(angle)
    rotated = points[:, :2] @ np.array([[c, s], [-s, c]], np.float32)
    points[:, :2] = rotated + 100
    return points


@pytest.mark.parametrize("angle", [0.0, math.pi / 2, -math.pi / 3])
def test_the_next_crop_follows_the_hands_rotation(angle):
    rect = rect_from_landmarks(hand_pointing(angle))
    assert rect.angle == pytest.approx(angle, abs=1e-5)
    assert rect.width == pytest.approx(rect.height)
    # the crop maps the frame into the rect and back: a point round-trips
    point = np.array([[90.0, 70.0]])
    matrix = rect.to_crop(224)
    in_crop = matrix[:, :2] @ point[0] + matrix[:, 2]
    np.testing.assert_allclose(rect.to_frame(in_crop[None], 224), point, atol=1e-6)


def test_a_rect_turned_90_degrees_puts_the_crops_top_on_the_frames_right():
    rect = RotatedRect(100, 100, 50, 50, math.pi / 2)
    np.testing.assert_allclose(rect.to_frame(np.array([[112.0, 0.0]]), 224), [[125.0, 100.0]], atol=1e-6)


def real_photo(name: str) -> np.ndarray:
    return cv2.imread(str(require(REAL_THUMBS / name)))


@pytest.mark.parametrize("name, up", [("up/a_0.jpg", True), ("up/b_50.jpg", True), ("down/a_0.jpg", False),
                                      ("down/b_50.jpg", False),
                                      ("down/b_0.jpg", False)])  # the hand fills the frame: found padded
def test_a_real_photo_gives_a_hand_whose_thumb_points_the_right_way(front_end, name, up):
    frame = real_photo(name)
    hands = front_end.detect(frame)
    assert len(hands) == 1 and hands[0].score > 0.9 and hands[0].handedness in ("left", "right")
    landmarks = hands[0].landmarks
    assert landmarks.shape == (21, 3)
    h, w = frame.shape[:2]
    assert (landmarks[:, 0] >= -2).all() and (landmarks[:, 0] <= w + 2).all()
    assert (landmarks[:, 1] >= -2).all() and (landmarks[:, 1] <= h + 2).all()
    tip = landmarks[THUMB_TIP, 1]
    assert tip == (landmarks[:, 1].min() if up else landmarks[:, 1].max())


def test_tracking_skips_the_detector_on_the_next_frame():
    frame = real_photo("up/a_0.jpg")
    tracker = HandFrontEnd(provider="cpu", log=lambda _: None)
    first = tracker(frame)
    assert tracker.detector_runs == 1 and len(first) == 1
    second = tracker(frame)
    assert tracker.detector_runs == 1 and len(second) == 1  # the landmarks gave the crop
    np.testing.assert_allclose(second[0].box, first[0].box, atol=12)
    assert tracker(np.zeros_like(frame)) == [] and tracker.detector_runs == 2  # lost: the detector looked
    assert len(tracker(frame)) == 1 and tracker.detector_runs == 3  # nothing tracked: it looks first
    still = HandFrontEnd(provider="cpu", track=False, log=lambda _: None)
    still(frame), still(frame)
    assert still.detector_runs == 2


def test_a_missing_model_file_is_one_line_naming_the_fix(tmp_path):
    shutil.copy(MODELS / PALM_MODEL, tmp_path / PALM_MODEL)
    with pytest.raises(ThumbsError) as error:
        HandFrontEnd(models=tmp_path, log=lambda _: None)
    message = str(error.value)
    assert "\n" not in message and LANDMARK_MODEL in message and PALM_MODEL not in message
    assert "reinstall thumbs" in message
