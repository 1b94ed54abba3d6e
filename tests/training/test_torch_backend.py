"""A .pt in PyTorch honours the provider it is given or refuses it in one line, and says what really runs it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_checkpoint
from thumbs.core.errors import ThumbsError
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.loader import load_model
from thumbs.training import torch_backend
from thumbs.training.export import export


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("provider", [None, "auto", "cpu", "CPUExecutionProvider"])
def test_a_pt_on_the_cpu_says_pytorch_cpu_and_agrees_with_its_onnx(tmp_path, no_cuda, provider):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=48)
    messages = []
    clf = Classifier.load(ckpt, provider, log=messages.append)
    assert clf.provider == "PyTorch CPU" and clf.backend.device == torch.device("cpu")
    assert messages == [f"provider: {clf.backend.why}"] and clf.backend.why.startswith("PyTorch CPU")
    x = np.random.default_rng(0).random((2, 3, 48, 48), dtype=np.float32)
    onnx_model = load_model(export(ckpt, log=lambda m: None).onnx_path, "cpu", log=lambda m: None)
    np.testing.assert_allclose(clf.predict_batch(x), onnx_model.predict_batch(x), atol=1e-5)


@pytest.mark.parametrize("provider, message", [
    ("cuda", r"provider 'cuda' for '.*best.pt': PyTorch .* sees no CUDA GPU here; use --provider cpu or auto"),
    ("tensorrt", r"provider 'tensorrt' runs ONNX models, and '.*best.pt' is a PyTorch checkpoint: `thumbs export"),
    ("gpu", "unknown provider 'gpu': use auto, tensorrt, cuda or cpu"),
])
def test_a_provider_pytorch_cannot_honour_is_refused_in_one_line(tmp_path, no_cuda, provider, message):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    with pytest.raises(ThumbsError, match=message) as e:
        Classifier.load(ckpt, provider, log=lambda m: None)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("provider", ["auto", "cuda", "CUDAExecutionProvider"])
def test_with_a_gpu_pytorch_runs_cuda_and_says_so(tmp_path, monkeypatch, provider):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    device, why = torch_backend.device_for(provider, tmp_path / "best.pt")
    assert device == torch.device("cuda") and why.startswith("PyTorch CUDA")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch sees no CUDA GPU on this machine")
def test_a_pt_on_cuda_runs_on_the_gpu(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt", size=48)
    gpu, cpu = (Classifier.load(ckpt, p, log=lambda m: None) for p in ("cuda", "cpu"))
    assert gpu.provider == "PyTorch CUDA" and next(gpu.backend.model.parameters()).is_cuda
    x = np.random.default_rng(0).random((2, 3, 48, 48), dtype=np.float32)
    np.testing.assert_allclose(gpu.predict_batch(x), cpu.predict_batch(x), atol=1e-3)
