"""`thumbs eval`: one loader for both model kinds, so an .onnx scores exactly as the .pt it came from."""

from __future__ import annotations

import pytest

from tests.helpers import make_checkpoint
from thumbs.core.errors import ThumbsError
from thumbs.evaluate import evaluate
from thumbs.runtime import providers
from thumbs.training.export import export


def test_onnx_scores_exactly_as_its_checkpoint(tmp_path, demo_data):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=48, seed=4)
    from_pt = evaluate(ckpt, demo_data, "cpu", log=lambda m: None)
    from_onnx = evaluate(export(ckpt, log=lambda m: None).onnx_path, demo_data, "cpu", log=lambda m: None)
    assert from_pt.scores.count == from_onnx.scores.count == 120
    assert from_pt.scores.to_dict() == from_onnx.scores.to_dict()
    assert (from_pt.provider, from_onnx.provider) == ("PyTorch CPU", "CPUExecutionProvider")
    assert from_onnx.to_dict()["provider"] == "CPUExecutionProvider"


def test_eval_takes_a_provider_and_the_user_sees_a_tensorrt_engine_being_built(tmp_path, demo_data, monkeypatch):
    from typer.testing import CliRunner

    from thumbs.cli import app

    model = export(make_checkpoint(tmp_path / "best.pt", size=32), log=lambda m: None).onnx_path
    monkeypatch.setenv("THUMBS_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["eval", str(model), "--data", str(demo_data), "--provider", "gpu"])
    assert result.exit_code == 1 and "unknown provider 'gpu'" in result.output
    result = CliRunner().invoke(app, ["eval", str(model), "--data", str(demo_data), "--provider", "cpu"])
    assert result.exit_code == 0 and "provider: CPU as asked" in result.output and "on 120 images" in result.output
    # A machine where TensorRT counts as usable: the engine build is announced before ONNX Runtime is asked (this
    # CPU-only onnxruntime then drops TensorRT, which is its own error line).
    monkeypatch.setattr(providers, "usable_providers", lambda: [providers.ORDER[0], providers.ORDER[2]])
    result = CliRunner().invoke(app, ["eval", str(model), "--data", str(demo_data), "--provider", "tensorrt"])
    assert "building the TensorRT engine (first run of this model" in result.output
    assert str(tmp_path / "cache" / "trt") in result.output


def test_eval_uses_the_model_crop_policy(tmp_path, demo_data, monkeypatch):
    import thumbs.evaluate

    seen = []
    real = thumbs.evaluate.model_view
    monkeypatch.setattr(thumbs.evaluate, "model_view",
                        lambda bgr, size, crop: seen.append(crop) or real(bgr, size, crop))
    evaluate(make_checkpoint(tmp_path / "best.pt", size=32, settings={"crop": "full"}), demo_data,
             log=lambda m: None)
    assert set(seen) == {"full"}


def test_unknown_model_kind(tmp_path, demo_data):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ThumbsError, match="expected an .onnx file, a .pt checkpoint or a served model"):
        evaluate(tmp_path / "model.bin", demo_data)


def test_a_model_whose_outputs_are_nan_is_refused_not_scored(tmp_path, demo_data):
    """NaN probabilities all argmax to class 0, which scored 33.3 % on three balanced classes."""
    import torch

    from tests.helpers import CLASSES
    from thumbs.training import checkpoint, models

    model, norm = models.build("squeezenet1_1", len(CLASSES), weights="none", log=lambda m: None)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    checkpoint.save(tmp_path / "nan.pt", model.eval(), arch="squeezenet1_1", classes=CLASSES, img_size=32,
                    norm=norm, settings={}, metrics={}, history=[], epoch=0, stage="full")
    with pytest.raises(ThumbsError, match="outputs NaN or infinity: its weights are broken"):
        evaluate(tmp_path / "nan.pt", demo_data)


def test_a_fixed_batch_onnx_is_scored_in_batches_of_its_own_size(tmp_path, demo_data):
    """`export --batch 1` gave ONNX Runtime a batch of 32 and a multi-line INVALID_ARGUMENT error."""
    ckpt = make_checkpoint(tmp_path / "best.pt", size=32, seed=4)
    dynamic = evaluate(export(ckpt, tmp_path / "dyn" / "m.onnx", log=lambda m: None).onnx_path, demo_data)
    fixed = evaluate(export(ckpt, tmp_path / "one" / "m.onnx", dynamic_batch=False, log=lambda m: None).onnx_path,
                     demo_data)
    assert fixed.scores.count == dynamic.scores.count == 120
    assert fixed.scores.to_dict() == dynamic.scores.to_dict()


def test_the_pt_loader_is_registered_by_training_and_thumbs_eval_imports_it(tmp_path, demo_data):
    """The runtime names no training: a fresh process has the runtime's one line for a .pt until thumbs.training
    is imported (which loads no PyTorch yet), and `thumbs eval best.pt` as a user runs it does that itself."""
    import subprocess
    import sys

    from tests.helpers import thumbs

    ckpt = make_checkpoint(tmp_path / "best.pt", size=32)
    code = ("import sys\nfrom thumbs.core.errors import ThumbsError\nfrom thumbs.runtime import loader\n"
            f"try:\n    loader.load_model({str(ckpt)!r})\nexcept ThumbsError as e:\n    print(e)\n"
            "import thumbs.training\nprint(loader.LOADERS['.pt'].__module__, 'torch' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"'{ckpt}' is a PyTorch checkpoint and its loader comes with thumbs.training: "
                                       "import it first (`thumbs eval` does), or export the checkpoint to .onnx",
                                       "thumbs.training False"]
    run = thumbs("eval", str(ckpt), "--data", str(demo_data), "--json")
    assert run.returncode == 0, run.stderr
    assert '"provider": "PyTorch CPU' in run.stdout and '"count": 120' in run.stdout


@pytest.mark.parametrize("content, says", [(b"", "is empty (0 bytes)"),
                                           (b"hello, I am text\n", "is not a file torch.save wrote"),
                                           (b"PK\x03\x04cut short", "is incomplete or damaged")],
                         ids=["empty", "text", "cut"])
def test_a_pt_that_is_no_pytorch_file_is_refused_before_pytorch_loads(tmp_path, demo_data, content, says):
    """`thumbs eval` of such a file took seconds of CPU importing PyTorch only to say it cannot be read."""
    import subprocess
    import sys

    bad = tmp_path / "best.pt"
    bad.write_bytes(content)
    code = ("import sys\nimport thumbs.training\nfrom thumbs.core.errors import ThumbsError\n"
            "from thumbs.runtime.loader import load_model\n"
            f"try:\n    load_model({str(bad)!r})\nexcept ThumbsError as e:\n    print(e)\n"
            "print('torch' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    said, torch_loaded = run.stdout.splitlines()
    assert said.startswith(f"checkpoint '{bad}' {says}") and torch_loaded == "False", run.stderr
