from __future__ import annotations

import numpy as np
import pytest

from thumbs import providers
from thumbs.errors import ThumbsError
from thumbs.runtime import Classifier

from .test_export import make_checkpoint

no_gpu = pytest.mark.skipif(providers.cuda_device_count() > 0, reason="this machine has an NVIDIA GPU")


@no_gpu
def test_cpu_machine_picks_cpu_quietly(tmp_path, capfd):
    assert providers.usable_providers() == ["CPUExecutionProvider"]
    ckpt = make_checkpoint(tmp_path / "best.pt")
    capfd.readouterr()
    clf = Classifier.load(ckpt, log=lambda m: None)  # exports once, then loads with ONNX Runtime
    clf(np.zeros((48, 64, 3), np.uint8))
    assert clf.provider == "CPUExecutionProvider"
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
