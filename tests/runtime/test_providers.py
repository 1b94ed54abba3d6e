from __future__ import annotations

import time

import numpy as np
import pytest

from tests.helpers import make_checkpoint
from thumbs.core.errors import ThumbsError
from thumbs.runtime import providers
from thumbs.runtime.classifier import Classifier
from thumbs.training.export import export_once

no_gpu = pytest.mark.skipif(providers.cuda_device_count() > 0, reason="this machine has an NVIDIA GPU")


@no_gpu
def test_cpu_machine_picks_cpu_quietly(tmp_path, capfd):
    """A .pt given to live is exported once (then reused) and runs in ONNX Runtime on the CPU, silently."""

    assert providers.usable_providers() == ["CPUExecutionProvider"]
    ckpt = make_checkpoint(tmp_path / "best.pt")
    said: list[str] = []
    onnx_path = export_once(ckpt, said.append)
    assert export_once(ckpt, said.append) == onnx_path == tmp_path / "best.onnx"
    assert sum(m.startswith("exporting") for m in said) == 1  # exported once, then reused
    capfd.readouterr()
    clf = Classifier.load(onnx_path, log=lambda m: None)
    clf(np.zeros((48, 64, 3), np.uint8))
    assert clf.provider == "CPUExecutionProvider" and clf.backend.session.get_providers() == [clf.provider]
    err = capfd.readouterr().err
    assert "CUDA" not in err and "Error" not in err and "[E:" not in err and "[W:" not in err


@no_gpu
@pytest.mark.parametrize("name", ["cuda", "tensorrt"])
def test_forcing_a_gpu_provider_here_is_a_clear_error(name):
    with pytest.raises(ThumbsError, match=f"provider '{name}' is not available on this machine .*usable here: cpu"):
        providers.resolve_provider(name)


def test_provider_names():
    assert providers.resolve_provider("cpu") == ["CPUExecutionProvider"]
    assert providers.resolve_provider("auto")[-1] == "CPUExecutionProvider"
    with pytest.raises(ThumbsError, match="unknown provider 'gpu'"):
        providers.resolve_provider("gpu")


class FakeInput:
    name, shape, type = "input", ["batch", 3, 8, 8], "tensor(float)"


class FakeSession:
    """Stands in for an ONNX Runtime session on one provider, taking `delay` seconds per inference."""

    def __init__(self, provider: str, delay: float = 0.0) -> None:
        self.provider, self.delay, self.feeds = provider, delay, []

    def get_inputs(self):
        return [FakeInput()]

    def get_providers(self):
        return [self.provider, providers.ORDER[2]]

    def run(self, outputs, feed):
        self.feeds.append(feed)
        time.sleep(self.delay)
        return [np.zeros((1, 2), np.float32)]


def fake_gpu(monkeypatch, delays: dict[str, float], dropped: tuple[str, ...] = ()):
    """A machine where CUDA and CPU are usable and sessions take the given time per inference."""
    made: dict[str, FakeSession] = {}

    def make(model, chain, fp16=True, log=print):
        asked = chain[0]
        made[asked] = FakeSession(providers.ORDER[2] if asked in dropped else asked, delays[asked])
        return made[asked]

    monkeypatch.setattr(providers, "usable_providers", lambda: [providers.ORDER[1], providers.ORDER[2]])
    monkeypatch.setattr(providers, "make_session", make)
    return made


@pytest.mark.parametrize("slow, fast", [("CUDAExecutionProvider", "CPUExecutionProvider"),
                                        ("CPUExecutionProvider", "CUDAExecutionProvider")])
def test_auto_keeps_the_fastest_provider(monkeypatch, slow, fast):
    fake_gpu(monkeypatch, {slow: 0.004, fast: 0.0})
    session, why = providers.choose_session(b"model", "auto", log=lambda m: None)
    assert session.get_providers()[0] == fast
    assert why.startswith(f"{providers.short(fast)}, the fastest here") and "CUDA" in why and "CPU" in why


def test_session_is_warmed_up_before_the_first_frame(monkeypatch):
    made = fake_gpu(monkeypatch, {providers.ORDER[1]: 0.0, providers.ORDER[2]: 0.0})
    session, why = providers.choose_session(b"model", "cuda", log=lambda m: None)
    assert list(made) == [providers.ORDER[1]] and "warm-up" in why
    assert len(session.feeds) == providers.WARMUP_RUNS  # run before any camera frame reaches it
    assert session.feeds[0]["input"].shape == (1, 3, 8, 8) and not session.feeds[0]["input"].any()


def test_a_provider_ort_silently_drops_is_an_error_naming_why(monkeypatch):
    fake_gpu(monkeypatch, {providers.ORDER[1]: 0.0, providers.ORDER[2]: 0.0}, dropped=(providers.ORDER[1],))
    monkeypatch.setattr(providers, "unavailable_reason", lambda p: "missing cuDNN (libcudnn.so.9, libcudnn.so.8)")
    with pytest.raises(ThumbsError, match=r"provider 'cuda' did not start: missing cuDNN \(libcudnn.so.9"):
        providers.choose_session(b"model", "cuda", log=lambda m: None)
    session, why = providers.choose_session(b"model", "auto", log=lambda m: None)
    assert session.get_providers()[0] == providers.ORDER[2] and "only usable provider" in why


def test_failure_reason_names_the_missing_library(monkeypatch):
    def load(name):
        if name.startswith("libcudnn"):
            raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(providers.ctypes, "CDLL", load)
    monkeypatch.setattr(providers, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: list(providers.ORDER))
    assert providers.missing_libraries(providers.ORDER[1], load) == ["cuDNN (libcudnn.so.9, libcudnn.so.8)"]
    assert providers.unavailable_reason(providers.ORDER[1]).startswith("missing cuDNN (libcudnn.so.9")
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: [providers.ORDER[2]])
    assert "no CUDA provider compiled in" in providers.unavailable_reason(providers.ORDER[1])


def test_preload_dlls_is_called_where_it_exists(monkeypatch):
    calls = []
    monkeypatch.setattr(providers.ort, "preload_dlls", lambda: calls.append(1), raising=False)
    monkeypatch.setattr(providers, "cuda_device_count", lambda: 1)
    providers.preload_libraries.cache_clear()
    providers.preload_libraries()
    providers.preload_libraries.cache_clear()
    assert calls == [1]


@pytest.mark.parametrize("version, has_path", [("1.11.0", False), ("1.16.3", False), ("1.17.0", True)])
def test_tensorrt_options_exist_in_that_onnxruntime(monkeypatch, tmp_path, version, has_path):
    monkeypatch.setattr(providers.ort, "__version__", version)
    options = providers.trt_options(tmp_path, fp16=True)
    assert options["trt_engine_cache_path"] == str(tmp_path) and options["trt_fp16_enable"] is True
    assert ("trt_timing_cache_path" in options) == has_path
