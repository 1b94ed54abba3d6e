"""Hand models in training: the landmarks model and hand crops, the no-hand rule, the found-hands cache, export
and `--from`, with a stand-in front end (tests/training/fake_hands.py) where the hand models are not needed."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from tests.training.fake_hands import FakeFrontEnd, hand_data
from thumbs import train_config
from thumbs.core.errors import ThumbsError
from thumbs.core.model_info import ModelInfo
from thumbs.hands.inputs import FEATURES, landmark_features
from thumbs.training import checkpoint, export, train, warm_start
from thumbs.training import hand_data as training_hands

QUIET = {"log": lambda m: None}


@pytest.fixture
def fake_front_end(monkeypatch) -> FakeFrontEnd:
    """Training's front end is the stand-in; each test its own cache folder, so its counts are its own."""
    front = FakeFrontEnd()
    monkeypatch.setattr(training_hands, "front_end", lambda log=print: front)
    return front


@pytest.fixture
def own_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("THUMBS_CACHE", str(tmp_path / "cache"))


def _landmarks_cfg(data, out, **kw) -> train.TrainConfig:
    return train.TrainConfig(**{**dict(data=str(data), arch="landmarks", epochs=12, batch_size=16, lr=3e-3,
                                       val_fraction=0.25, out=str(out)), **kw})


def test_the_landmarks_model_trains_exports_and_its_onnx_reads_landmarks(tmp_path, fake_front_end, own_cache):
    data = hand_data(tmp_path / "data", missed_up=4)
    lines: list[str] = []
    result = train.train(_landmarks_cfg(data, tmp_path / "run"), log=lines.append)
    assert result.scores.accuracy >= 0.9, result.scores
    info = checkpoint.load(result.best).info
    assert (info.input, info.arch, info.img_size, info.norm, info.flip_average) == \
        ("landmarks", "landmarks", FEATURES, "none", False)
    assert any("through the front end" in line for line in lines)
    notes = " ".join(result.notes)
    assert "no-hand rule" in notes and "left out of training and scored 'none' in validation: up 4" in notes
    assert "no-hand rule" in (result.run_dir / "report.md").read_text()
    exported = export.export(result.best, tmp_path / "landmarks.onnx", opset=13, **QUIET)
    assert exported.max_diff <= 1e-4 and exported.opset == 13
    proto = onnx.load(str(exported.onnx_path))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", FEATURES]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert ModelInfo.from_metadata(meta, exported.onnx_path).input == "landmarks"
    assert json.loads(meta["thumbs.info"])["img_size"] == FEATURES and "[N, 63]" in meta["thumbs.input"]
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported.onnx_path), providers=["CPUExecutionProvider"])
    tall, wide = (FakeFrontEnd().detect(_bright((50, 10, 66, 80))), FakeFrontEnd().detect(_bright((20, 30, 100, 46))))
    probs = session.run(None, {"input": np.stack([landmark_features(tall[0]), landmark_features(wide[0])])})[0]
    assert [info.classes[i] for i in probs.argmax(1)] == ["up", "down"] and np.allclose(probs.sum(1), 1, atol=1e-5)


def _bright(box) -> np.ndarray:
    image = np.zeros((96, 128, 3), np.uint8)
    x0, y0, x1, y1 = box
    image[y0:y1, x0:x1] = 230
    return image


def test_a_second_run_finds_the_hands_in_the_cache(tmp_path, fake_front_end, own_cache):
    data = hand_data(tmp_path / "data", per_class=12)
    train.train(_landmarks_cfg(data, tmp_path / "one", epochs=1), **QUIET)
    assert fake_front_end.calls == 36
    lines: list[str] = []
    train.train(_landmarks_cfg(data, tmp_path / "two", epochs=1, seed=3), log=lines.append)
    assert fake_front_end.calls == 36
    assert "hands: 36 photos from the found-hands cache, 0 through the front end" in lines


def test_a_hand_model_without_a_no_gesture_class_is_refused_in_one_line(tmp_path):
    data = hand_data(tmp_path / "data", per_class=4)
    (data / "none").rename(data / "fist")
    for kw, option in (({"arch": "landmarks"}, "--arch landmarks"), ({"input": "hand"}, "--input hand")):
        with pytest.raises(ThumbsError) as e:
            train_config.check(train.TrainConfig(data=str(data), **kw))
        assert str(e.value).startswith(f"{option}: '{data}' has no no-gesture class (down, fist, up)")
        assert "add a folder `none`" in str(e.value) and "\n" not in str(e.value)
    train_config.check(train.TrainConfig(data=str(data)))  # a frame model needs none


def test_input_options_that_do_not_fit_the_landmarks_model_are_refused(tmp_path):
    for kw, said in (({"input": "hand"}, "--input hand with --arch landmarks"),
                     ({"img_size": 64}, "--img-size 64 with --arch landmarks"),
                     ({"norm": "imagenet"}, "--norm imagenet with --arch landmarks"),
                     ({"arch": "resnet18", "input": "landmarks"}, "--input landmarks: a landmarks model is"),
                     ({"arch": "resnet18", "input": "hands"}, "--input hands: use frame or hand")):
        with pytest.raises(ThumbsError, match=said):
            train_config.check_settings(train.TrainConfig(**{"arch": "landmarks", **kw}))


def test_from_a_landmarks_model_keeps_its_input_and_refuses_another(tmp_path, fake_front_end, own_cache):
    data = hand_data(tmp_path / "data", per_class=12)
    first = train.train(_landmarks_cfg(data, tmp_path / "one", epochs=2), **QUIET)
    cfg = warm_start.config(first.best, {"data": str(data), "out": str(tmp_path / "two")})
    assert (cfg.input, cfg.arch, cfg.epochs) == ("landmarks", "landmarks", warm_start.WARM_EPOCHS)
    again = train.train(cfg, **QUIET)
    info = checkpoint.load(again.best).info
    assert (info.input, info.arch, info.img_size) == ("landmarks", "landmarks", FEATURES)
    with pytest.raises(ThumbsError, match="--input hand: --from keeps the model's input"):
        warm_start.config(first.best, {"input": "hand"})


def test_eval_scores_a_landmarks_model_with_the_no_hand_rule_as_pt_and_onnx(tmp_path, fake_front_end, own_cache,
                                                                           monkeypatch):
    import thumbs.hands
    from thumbs.evaluate import evaluate

    monkeypatch.setattr(thumbs.hands, "HandFrontEnd", lambda **kw: fake_front_end, raising=False)
    data = hand_data(tmp_path / "data", per_class=12, missed_up=3)
    result = train.train(_landmarks_cfg(data, tmp_path / "run"), **QUIET)
    onnx_path = export.export(result.best, **QUIET).onnx_path
    pt, onnx_scores = (evaluate(path, data, "cpu", log=lambda m: None) for path in (result.best, onnx_path))
    assert pt.no_hand == onnx_scores.no_hand == {"none": 6, "up": 3}
    assert pt.scores.confusion == onnx_scores.scores.confusion and pt.scores.count == 36
    classes = pt.scores.classes
    assert pt.scores.confusion[classes.index("up")][classes.index("none")] >= 3  # the rule's answer for them
    assert pt.to_dict()["no_hand"] == {"none": 6, "up": 3}


def test_thumbs_data_hands_counts_the_photos_without_a_hand_and_warns_of_a_class_mostly_without(
        tmp_path, fake_front_end, own_cache, monkeypatch):
    import thumbs.hands
    from thumbs.data.datacheck import check
    from thumbs.data.handcheck import open_cache

    monkeypatch.setattr(thumbs.hands, "HandFrontEnd", lambda **kw: fake_front_end, raising=False)
    data = hand_data(tmp_path / "data", per_class=8, missed_up=5)
    report = check(data, hands=open_cache())
    assert {c.name: c.no_hand for c in report.classes} == {"down": 0, "none": 4, "up": 5}
    [warning] = [w for w in report.warnings if w.code == "no_hand"]
    assert warning.message.startswith("class 'up': no hand found in 5 of its 8 photos")
    first = fake_front_end.calls
    assert 0 < first <= 24  # identical photos (the empty ones) are one entry: the cache goes by content
    check(data, hands=open_cache())
    assert fake_front_end.calls == first  # the cache training reads too
    assert all(c.no_hand is None for c in check(data).classes)
