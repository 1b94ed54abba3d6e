from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from thumbs import doctor
from thumbs.runtime import providers

L4T_R32 = "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: Sat Feb 19 2022"
L4T_R36 = "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13 2024"


def tiny_onnx(path, opset: int):
    """A one-node model (Relu) at the given opset, with an opset for another domain that must be ignored."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["probs"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("com.microsoft", 1),
                                                    helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("text, expected", [(L4T_R32, "L4T R32.7.1 (JetPack 4.6.x)"),
                                            (L4T_R36, "L4T R36.4.0 (JetPack 6.x)")])
def test_jetson_release_names_jetpack(tmp_path, text, expected):
    (tmp_path / "nv_tegra_release").write_text(text + "\n")
    assert doctor.jetson_release(tmp_path / "nv_tegra_release") == expected
    assert doctor.jetson_release(tmp_path / "absent") is None


@pytest.mark.parametrize("opset", [13, 17])
def test_model_opset_is_read_without_onnx(tmp_path, opset):
    assert doctor.model_opset(tiny_onnx(tmp_path / "m.onnx", opset).read_bytes()) == opset


def test_model_fit_for_the_nano(tmp_path):
    new, old = tiny_onnx(tmp_path / "new.onnx", 17), tiny_onnx(tmp_path / "old.onnx", 13)
    assert doctor.model_fit(old, "1.11.0", "8.2.1") == \
        "opset 13; onnxruntime 1.11.0 takes up to 16: ok; TensorRT 8.2.1 takes up to 13: ok"
    fit = doctor.model_fit(new, "1.11.0", "8.2.1")
    assert "onnxruntime 1.11.0 takes up to 16: too new" in fit and "TensorRT 8.2.1 takes up to 13: too new" in fit
    assert fit.endswith("re-export with `thumbs export --opset 13`")


def test_report_on_a_fake_jetson(tmp_path):
    (tmp_path / "nv_tegra_release").write_text(L4T_R32)
    rows = dict(doctor.report(probe_cameras=False, model=tiny_onnx(tmp_path / "m.onnx", 13),
                              tegra_release=tmp_path / "nv_tegra_release"))
    assert rows["jetson"] == "L4T R32.7.1 (JetPack 4.6.x)"
    assert rows["model"].startswith("opset 13;")
    assert "warm-up" in rows["live would use"]
    cuda_here = providers.ORDER[1] in providers.usable_providers()
    assert rows["gpu providers"].startswith("TensorRT") and ("not usable: " in rows["gpu providers"]) != cuda_here
    assert "jetson" not in dict(doctor.report(probe_cameras=False, tegra_release=tmp_path / "absent"))


def test_gpu_provider_states_name_what_is_missing(monkeypatch):
    monkeypatch.setattr(providers, "unavailable_reason", lambda p: "no NVIDIA driver")
    trt, cuda, cpu = providers.ORDER
    assert doctor._gpu_providers([cpu]) == "TensorRT, CUDA not usable: no NVIDIA driver"
    assert doctor._gpu_providers([trt, cuda, cpu]) == "TensorRT, CUDA usable"
    monkeypatch.setattr(providers, "unavailable_reason", lambda p: "libnvinfer.so.8 not found")
    assert doctor._gpu_providers([cuda, cpu]) == "Tensorrt not usable: libnvinfer.so.8 not found; CUDA usable"


def test_a_fifo_given_as_the_model_is_reported_not_waited_on(tmp_path):
    import time

    from tests.helpers import fifo
    from thumbs.doctor import report

    start = time.monotonic()
    rows = dict(report(False, fifo(tmp_path / "m.onnx")))
    assert rows["model"] == f"cannot read {tmp_path / 'm.onnx'} as an ONNX model"
    assert rows["live would use"] == f"cannot load {tmp_path / 'm.onnx'}: not a model file"
    assert time.monotonic() - start < 5


def test_doctor_lists_the_hand_front_end_and_names_missing_files(tmp_path):
    line = dict(doctor.report(probe_cameras=False))["hand front end"]
    assert line.startswith("palm_detection_lite.onnx, hand_landmark_lite.onnx; opset 13")
    missing = doctor.hand_front_end(tmp_path)
    assert "missing" in missing and "reinstall thumbs" in missing and "\n" not in missing
