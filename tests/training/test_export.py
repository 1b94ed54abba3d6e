from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from tests.helpers import CLASSES, make_checkpoint, refuse_writes_in
from thumbs.core import norms
from thumbs.core.errors import ThumbsError
from thumbs.core.model_info import ModelInfo, file_sha256
from thumbs.runtime.classifier import Classifier
from thumbs.training import checkpoint, export, models


@pytest.mark.parametrize("arch", list(models.ARCHS))
def test_export_matches_pytorch_for_every_architecture(opset13_models, arch):
    """The default export of each architecture (made once by the opset13_models fixture, which the Nano's tests
    share): beside its checkpoint with its labels, opset 13, and agreeing with PyTorch in this onnxruntime."""
    path = opset13_models[arch]
    assert path.name == "best.onnx" and path.with_suffix(".pt").is_file()
    assert (path.parent / "best.labels.txt").read_text().split() == CLASSES
    assert onnx.load(str(path)).opset_import[0].version == 13  # TensorRT 8.2 parses it
    x, reference = np.load(f"{path}.input.npy"), np.load(f"{path}.torch.npy")
    assert np.abs(Classifier.load(path, provider="cpu", log=lambda m: None).predict_batch(x) - reference).max() < 1e-4


def test_metadata_round_trip(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=72, classes=["a", "b"])
    result = export.export(ckpt, tmp_path / "out" / "gesture.onnx")
    meta = {p.key: p.value for p in onnx.load(str(result.onnx_path)).metadata_props}
    assert meta["thumbs.classes"] == '["a", "b"]' and meta["thumbs.img_size"] == "72"
    info = ModelInfo.from_metadata(meta, result.onnx_path)
    assert info.mean == norms.NORMS["imagenet"][0] and info.std == norms.NORMS["imagenet"][1]
    assert info.norm == "imagenet" and info.crop == "center" and info.arch == "squeezenet1_1"
    assert meta["thumbs.checkpoint_sha256"] == file_sha256(ckpt)
    clf = Classifier.load(result.onnx_path)
    assert clf.classes == ["a", "b"] and clf.img_size == 72
    probs = clf.predict_batch(np.random.default_rng(0).random((3, 3, 72, 72), dtype=np.float32))
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)  # softmax inside the graph


def test_low_opset_for_old_tensorrt_loads_and_agrees(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    old = export.export(ckpt, tmp_path / "o13" / "model.onnx", opset=13)
    new = export.export(ckpt, tmp_path / "o17" / "model.onnx", opset=17)
    assert onnx.load(str(old.onnx_path)).opset_import[0].version == 13
    assert new.opset == 17 and export.file_opset(onnx.load(str(new.onnx_path))) == 17
    x = np.random.default_rng(1).random((2, 3, 64, 64), dtype=np.float32)
    np.testing.assert_allclose(Classifier.load(old.onnx_path).predict_batch(x),
                               Classifier.load(new.onnx_path).predict_batch(x), atol=1e-5)
    for bad in (9, 30, 99):  # 30 and 99 came out as opset 18 files reported as 30 and 99
        with pytest.raises(ThumbsError, match=f"--opset {bad} is not supported: use 11-18"):
            export.export(ckpt, opset=bad)


def test_opset_18_goes_through_the_newer_exporter_and_keeps_a_dynamic_batch(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    default = export.export(ckpt, tmp_path / "o13" / "model.onnx")
    newer = export.export(ckpt, tmp_path / "o18" / "model.onnx", opset=18)
    assert newer.opset == 18 and export.file_opset(onnx.load(str(newer.onnx_path))) == 18
    assert newer.max_diff < 1e-4
    x = np.random.default_rng(2).random((3, 3, 64, 64), dtype=np.float32)  # a batch of 3: the batch stays dynamic
    np.testing.assert_allclose(Classifier.load(newer.onnx_path).predict_batch(x),
                               Classifier.load(default.onnx_path).predict_batch(x), atol=1e-5)


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
    assert not (tmp_path / "best.onnx").exists()


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"junk")
    with pytest.raises(ThumbsError, match="cannot be read"):
        export.export(tmp_path / "x.pt")
    torch.save({"weights": 1}, tmp_path / "y.pt")
    with pytest.raises(ThumbsError, match="is not a thumbs checkpoint"):
        export.export(tmp_path / "y.pt")


def test_crop_policy_from_training_settings_reaches_the_onnx_and_live(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", settings={"crop": "full"})
    assert checkpoint.load(ckpt).info.crop == "full" and "input" not in torch.load(ckpt, weights_only=False)
    clf = Classifier.load(export.export(ckpt).onnx_path)
    assert clf.info.crop == "full" and clf.preprocess.crop == "full"


def test_old_checkpoint_without_crop_reads_as_center(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    payload = torch.load(ckpt, weights_only=False)
    info = payload.pop("info")
    del info["crop"]
    torch.save({**payload, **info, "version": 1, "input": "float32 NCHW RGB in [0, 1]"}, tmp_path / "old.pt")
    assert checkpoint.load(tmp_path / "old.pt").info.crop == "center"
    assert Classifier.load(export.export(tmp_path / "old.pt").onnx_path).preprocess.crop == "center"


def test_second_export_into_the_same_folder_keeps_the_first_model_working(tmp_path):
    first = export.export(make_checkpoint(tmp_path / "a" / "best.pt"), tmp_path / "out" / "first.onnx")
    export.export(make_checkpoint(tmp_path / "b" / "best.pt", classes=["x", "y"]), tmp_path / "out" / "second.onnx")
    assert Classifier.load(first.onnx_path).classes == CLASSES
    assert (tmp_path / "out" / "second.labels.txt").read_text().split() == ["x", "y"]


@pytest.mark.parametrize("out, message", [
    ("f/model.onnx", "'.*/f' is a file, not a folder"),
    ("d.onnx", "is a folder: give a file name inside it"),
    ("f", "is an existing file, not .onnx"),
])
def test_bad_out_path_is_one_clear_error(tmp_path, out, message):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    (tmp_path / "f").write_text("x")
    (tmp_path / "d.onnx").mkdir()
    with pytest.raises(ThumbsError, match=message):
        export.export(ckpt, tmp_path / out)


def test_read_only_out_folder_is_refused_before_exporting(tmp_path, monkeypatch):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    (tmp_path / "ro").mkdir()
    refuse_writes_in(monkeypatch, tmp_path / "ro")
    with pytest.raises(ThumbsError, match=f"--out cannot write '{tmp_path / 'ro'}': permission denied"):
        export.export(ckpt, tmp_path / "ro" / "model.onnx")
    assert not list((tmp_path / "ro").iterdir())


def test_two_exports_into_one_folder_never_replace_each_other(tmp_path):
    first = export.export(make_checkpoint(tmp_path / "base1" / "best.pt"), tmp_path / "models")
    before = first.onnx_path.read_bytes()
    with pytest.raises(ThumbsError, match=r"--out: '.*models/best.onnx' is an export of '.*base1/best.pt'; an "
                                          r"export never replaces it: give another name, e.g. --out .*two-best.onnx"):
        export.export(make_checkpoint(tmp_path / "two" / "best.pt", seed=1), tmp_path / "models")
    assert first.onnx_path.read_bytes() == before
    again = export.export(tmp_path / "base1" / "best.pt", tmp_path / "models", opset=12)  # the same source: updated
    assert again.opset == 12 and Classifier.load(again.onnx_path).classes == CLASSES


def test_a_checkpoint_in_a_folder_whose_name_is_not_utf8_exports_once_and_is_known_again(tmp_path):
    """An old camera's Latin-1 folder: the source path is recorded as \\xff (protobuf takes only UTF-8), the
    export is reused while it matches, and a retrained checkpoint there replaces its own export."""
    ckpt = make_checkpoint(Path(os.fsdecode(os.fsencode(tmp_path) + b"/nonutf8_\xff")) / "best.pt")
    said: list[str] = []
    onnx_path = export.export_once(ckpt, said.append)
    meta = {p.key: p.value for p in onnx.load_model_from_string(onnx_path.read_bytes()).metadata_props}
    assert meta["thumbs.source"] == f"{tmp_path}/nonutf8_\\xff/best.pt"
    assert export.export_once(ckpt, said.append) == onnx_path and len(said) == 1  # reused, not exported again
    assert Classifier.load(onnx_path, provider="cpu", log=said.append).classes == CLASSES
    make_checkpoint(ckpt, seed=1)  # retrained in place: new content, same path
    assert export.export(ckpt).onnx_path == onnx_path


@pytest.mark.parametrize("name", ["model.onnx", "model.labels.txt"])
def test_an_export_never_replaces_a_file_that_is_not_its_own(tmp_path, name):
    (tmp_path / name).write_text("my notes")
    with pytest.raises(ThumbsError, match="is a file that is not an export of this checkpoint"):
        export.export(make_checkpoint(tmp_path / "best.pt"), tmp_path / "model.onnx")
    assert (tmp_path / name).read_text() == "my notes"


def test_nan_weights_say_the_checkpoint_is_broken(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    payload = torch.load(ckpt, weights_only=False)
    next(v for v in payload["state_dict"].values() if v.is_floating_point()).fill_(float("nan"))
    torch.save(payload, ckpt)
    with pytest.raises(ThumbsError, match="is broken: .* NaN or infinity .* lower --lr"):
        export.export(ckpt)


def test_a_flip_averaged_model_exports_with_the_mirror_inside_the_graph(trained, tmp_path):
    """The trained fixture used flips, so its graph reads a frame and its mirror alike; the network inside,
    alone, does not."""
    result, _ = trained
    ckpt = checkpoint.load(result.best)
    assert ckpt.info.flip_average
    out = export.export(result.best, tmp_path / "model.onnx", opset=13)
    assert out.max_diff < 1e-4
    clf = Classifier.load(out.onnx_path)
    assert clf.info.flip_average
    x = np.zeros((2, 3, clf.img_size, clf.img_size), dtype=np.float32)
    x[0, :, :, :16], x[1, 0, 10:30, 25:] = 1.0, 0.8  # bright on one side: its mirror is another image
    assert np.allclose(clf.predict_batch(x), clf.predict_batch(x[..., ::-1].copy()), atol=1e-5)
    net = models.from_checkpoint(ckpt).model
    with torch.no_grad():
        assert not torch.allclose(net(torch.from_numpy(x)), net(torch.from_numpy(x).flip(3)), atol=1e-3)


def test_live_of_a_checkpoint_beside_another_runs_export_says_what_to_run_not_an_option_it_lacks(tmp_path,
                                                                                                 demo_video):
    """`live --model b/best.pt` beside an export of a/best.pt said "give another name, e.g. --out ...": live has
    no --out."""
    from tests.helpers import thumbs_in_process

    export.export(make_checkpoint(tmp_path / "a" / "best.pt"), tmp_path / "b" / "best.onnx")
    make_checkpoint(tmp_path / "b" / "best.pt", seed=1)
    got = thumbs_in_process("live", "--model", str(tmp_path / "b" / "best.pt"), "--source", str(demo_video),
                            "--headless")
    assert got.exit_code == 1 and len(got.stderr.strip().splitlines()) == 1, got.stderr
    assert "--out:" not in got.stderr and "e.g. --out" not in got.stderr
    assert (f"is an export of '{tmp_path / 'a' / 'best.pt'}'; an export never replaces it: export this one under "
            f"another name with `thumbs export {tmp_path / 'b' / 'best.pt'} --out {tmp_path / 'b' / 'b-best.onnx'}`"
            ) in got.stderr
