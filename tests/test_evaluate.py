"""`thumbs eval`: one loader for both model kinds, so an .onnx scores exactly as the .pt it came from."""

from __future__ import annotations

import pytest

from tests.helpers import make_checkpoint
from thumbs.core.errors import ThumbsError
from thumbs.evaluate import evaluate
from thumbs.training.export import export


def test_onnx_scores_exactly_as_its_checkpoint(tmp_path, demo_data):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=48, seed=4)
    from_pt = evaluate(ckpt, demo_data)
    from_onnx = evaluate(export(ckpt, log=lambda m: None).onnx_path, demo_data)
    assert from_pt.scores.count == from_onnx.scores.count == 120
    assert from_pt.scores.to_dict() == from_onnx.scores.to_dict()


def test_eval_uses_the_model_crop_policy(tmp_path, demo_data, monkeypatch):
    import thumbs.evaluate

    seen = []
    real = thumbs.evaluate.model_view
    monkeypatch.setattr(thumbs.evaluate, "model_view",
                        lambda bgr, size, crop: seen.append(crop) or real(bgr, size, crop))
    evaluate(make_checkpoint(tmp_path / "best.pt", size=32, settings={"crop": "full"}), demo_data)
    assert set(seen) == {"full"}


def test_unknown_model_kind(tmp_path, demo_data):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ThumbsError, match="expected an .onnx file or a .pt checkpoint"):
        evaluate(tmp_path / "model.bin", demo_data)
