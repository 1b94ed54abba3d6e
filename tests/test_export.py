from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from thumbs import checkpoint, export, models
from thumbs.errors import ThumbsError
from thumbs.runtime import Classifier

CLASSES = ["down", "none", "up"]


def make_checkpoint(path, arch="squeezenet1_1", size=64, classes=CLASSES):
    torch.manual_seed(0)
    model, norm = models.build(arch, len(classes), weights="none", log=lambda m: None)
    return checkpoint.save(path, model.eval(), arch=arch, classes=classes, img_size=size, norm=norm, settings={},
                           metrics={}, history=[], epoch=0, stage="full")


@pytest.mark.parametrize("arch", list(models.ARCHS))
def test_export_matches_pytorch_for_every_architecture(tmp_path, arch):
    ckpt = make_checkpoint(tmp_path / "best.pt", arch)
    result = export.export(ckpt)
    assert result.onnx_path == tmp_path / "model.onnx" and result.max_diff < 1e-4
    assert (tmp_path / "labels.txt").read_text().split() == CLASSES


def test_metadata_round_trip(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=72, classes=["a", "b"])
    result = export.export(ckpt, tmp_path / "out" / "gesture.onnx")
    meta = {p.key: p.value for p in onnx.load(str(result.onnx_path)).metadata_props}
    assert meta["thumbs.classes"] == '["a", "b"]' and meta["thumbs.img_size"] == "72"
    assert "inside the graph" in meta["thumbs.normalisation"] and meta["thumbs.arch"] == "squeezenet1_1"
    clf = Classifier.load(result.onnx_path)
    assert clf.classes == ["a", "b"] and clf.img_size == 72
    probs = clf.predict_batch(np.random.default_rng(0).random((3, 3, 72, 72), dtype=np.float32))
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)  # softmax inside the graph


def test_low_opset_for_old_tensorrt_loads_and_agrees(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    old = export.export(ckpt, tmp_path / "o13" / "model.onnx", opset=13)
    new = export.export(ckpt, tmp_path / "o17" / "model.onnx")
    assert onnx.load(str(old.onnx_path)).opset_import[0].version == 13
    x = np.random.default_rng(1).random((2, 3, 64, 64), dtype=np.float32)
    np.testing.assert_allclose(Classifier.load(old.onnx_path).predict_batch(x),
                               Classifier.load(new.onnx_path).predict_batch(x), atol=1e-5)
    with pytest.raises(ThumbsError, match="--opset 9 is too old"):
        export.export(ckpt, opset=9)


def test_fp16_and_fixed_batch(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small")
    full = export.export(ckpt, tmp_path / "fp32" / "model.onnx")
    half = export.export(ckpt, tmp_path / "fp16" / "model.onnx", fp16=True, dynamic_batch=False)
    assert half.max_diff < export.TOLERANCE[True]
    assert half.onnx_path.stat().st_size < 0.6 * full.onnx_path.stat().st_size
    dims = onnx.load(str(half.onnx_path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 64, 64]


def test_disagreement_fails_loudly_and_writes_nothing(tmp_path, monkeypatch):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    monkeypatch.setattr(export, "check_parity", lambda *a, **k: 0.3)
    with pytest.raises(ThumbsError, match="disagrees with PyTorch: max probability difference 3.00e-01"):
        export.export(ckpt)
    assert not (tmp_path / "model.onnx").exists()


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"junk")
    with pytest.raises(ThumbsError, match="cannot be read"):
        export.export(tmp_path / "x.pt")
    torch.save({"weights": 1}, tmp_path / "y.pt")
    with pytest.raises(ThumbsError, match="is not a thumbs checkpoint"):
        export.export(tmp_path / "y.pt")
