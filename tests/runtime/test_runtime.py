from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.helpers import make_checkpoint, refuse_writes_in
from thumbs.core.errors import ThumbsError
from thumbs.runtime import loader as runtime
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.preprocess import Preprocessor
from thumbs.training.export import export, export_once


def test_preprocess_crops_centre_scales_and_swaps_to_rgb():
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[:, :20] = (0, 255, 0)  # green strip on the left: outside the centre square
    frame[:, 20:80] = (255, 0, 0)  # blue (BGR) centre square
    pre = Preprocessor(32)
    out = pre(frame)
    assert out.shape == (1, 3, 32, 32) and out.dtype == np.float32
    assert np.allclose(out[0, 2], 1.0) and np.allclose(out[0, :2], 0.0)  # RGB: blue is channel 2
    assert pre(frame) is out  # one buffer, reused every frame


def test_pt_is_exported_once_beside_it_and_only_reused_when_it_came_from_it(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    messages = []
    first = export_once(ckpt, log=messages.append)
    assert first == tmp_path / "best.onnx" and any("exporting" in m for m in messages)
    stamp = os.stat(first).st_mtime_ns
    messages.clear()
    assert export_once(ckpt, log=messages.append) == first and not messages
    assert os.stat(first).st_mtime_ns == stamp
    make_checkpoint(tmp_path / "best.pt", seed=1)  # retrained: same name, other weights, older-looking onnx
    os.utime(first, (time.time() + 60, time.time() + 60))  # a newer .onnx no longer fools it
    export_once(ckpt, log=messages.append)
    assert any("exporting" in m for m in messages) and runtime.exported_from(first, ckpt)


def test_auto_export_beside_a_read_only_checkpoint_is_one_clear_error(tmp_path, monkeypatch):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    refuse_writes_in(monkeypatch, tmp_path)
    with pytest.raises(ThumbsError, match="is read-only: run `thumbs export .* --out DIR/model.onnx`"):
        export_once(ckpt, log=lambda m: None)


def test_prediction_api(tmp_path):
    clf = Classifier.load(make_checkpoint(tmp_path / "best.pt"), log=lambda m: None)  # PyTorch backend
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
    with pytest.raises(ThumbsError, match="best.labels.txt .* disagrees with the classes inside best.onnx"):
        Classifier.load(result.onnx_path)
    result.labels_path.write_bytes(b"\xff\xfeu\x00p\x00")
    with pytest.raises(ThumbsError, match="is not UTF-8 text"):
        Classifier.load(result.onnx_path)
    result.labels_path.unlink()
    result.labels_path.mkdir()
    with pytest.raises(ThumbsError, match="is a folder"):
        Classifier.load(result.onnx_path)


def test_one_loader_for_onnx_and_pt(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=48)
    onnx_model = runtime.load_model(export(ckpt, log=lambda m: None).onnx_path)
    torch_model = runtime.load_model(ckpt)
    x = np.random.default_rng(0).random((2, 3, 48, 48), dtype=np.float32)
    assert onnx_model.classes == torch_model.classes and onnx_model.img_size == torch_model.img_size == 48
    np.testing.assert_allclose(onnx_model.predict_batch(x), torch_model.predict_batch(x), atol=1e-5)


def test_newest_model_prefers_the_onnx_exported_from_its_checkpoint(tmp_path):
    with pytest.raises(ThumbsError, match="no trained model found"):
        runtime.newest_model(tmp_path / "runs")
    old = make_checkpoint(tmp_path / "runs" / "a" / "best.pt")
    time.sleep(0.05)
    new = make_checkpoint(tmp_path / "runs" / "b" / "best.pt", seed=1)
    assert runtime.newest_model(tmp_path / "runs") == new != old
    exported = export(new, log=lambda m: None).onnx_path
    assert runtime.newest_model(tmp_path / "runs") == exported
    exported.write_bytes(export(
        old, tmp_path / "other.onnx", log=lambda m: None).onnx_path.read_bytes())  # another model's export
    assert runtime.newest_model(tmp_path / "runs") == new
