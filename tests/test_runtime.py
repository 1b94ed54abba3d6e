from __future__ import annotations

import os
import time

import numpy as np
import pytest

from thumbs import runtime
from thumbs.errors import ThumbsError
from thumbs.export import export
from thumbs.preprocess import Preprocessor
from thumbs.runtime import Classifier

from .test_export import make_checkpoint


def test_preprocess_crops_centre_scales_and_swaps_to_rgb():
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[:, :20] = (0, 255, 0)  # green strip on the left: outside the centre square
    frame[:, 20:80] = (255, 0, 0)  # blue (BGR) centre square
    pre = Preprocessor(32)
    out = pre(frame)
    assert out.shape == (1, 3, 32, 32) and out.dtype == np.float32
    assert np.allclose(out[0, 2], 1.0) and np.allclose(out[0, :2], 0.0)  # RGB: blue is channel 2
    assert pre(frame) is out  # one buffer, reused every frame


def test_pt_is_exported_once_beside_it(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    messages = []
    first = Classifier.load(ckpt, log=messages.append)
    assert first.path == tmp_path / "best.onnx" and any("exporting" in m for m in messages)
    stamp = os.stat(first.path).st_mtime_ns
    messages.clear()
    Classifier.load(ckpt, log=messages.append)
    assert os.stat(first.path).st_mtime_ns == stamp and not any("exporting" in m for m in messages)


def test_prediction_api(tmp_path):
    clf = Classifier.load(make_checkpoint(tmp_path / "best.pt"), log=lambda m: None)
    pred = clf(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8))
    assert pred.label in clf.classes and pred.score == pytest.approx(float(pred.probs.max()))
    assert pred.probs.shape == (3,) and pred.latency_ms > 0


def test_bad_model_files(tmp_path):
    with pytest.raises(ThumbsError, match="does not exist"):
        Classifier.load(tmp_path / "missing.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(ThumbsError, match="ONNX Runtime cannot load the model"):
        Classifier.load(tmp_path / "broken.onnx")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ThumbsError, match="expected an .onnx file"):
        Classifier.load(tmp_path / "notes.txt")


def test_labels_file_that_disagrees_is_refused(tmp_path):
    result = export(make_checkpoint(tmp_path / "best.pt"))
    result.labels_path.write_text("up\ndown\nnone\n")
    with pytest.raises(ThumbsError, match="labels.txt .* disagrees with the classes inside model.onnx"):
        Classifier.load(result.onnx_path)


def test_newest_model_prefers_a_fresh_onnx(tmp_path):
    with pytest.raises(ThumbsError, match="no trained model found"):
        runtime.newest_model(tmp_path / "runs")
    old = make_checkpoint(tmp_path / "runs" / "a" / "best.pt")
    time.sleep(0.05)
    new = make_checkpoint(tmp_path / "runs" / "b" / "best.pt")
    assert runtime.newest_model(tmp_path / "runs") == new != old
    exported = export(new, log=lambda m: None).onnx_path
    assert runtime.newest_model(tmp_path / "runs") == exported
