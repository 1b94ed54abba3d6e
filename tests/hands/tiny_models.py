"""Tiny hand models written with the onnx helper (no training): a landmarks model whose answer follows the thumb
(up when the thumb tip is above the wrist, down when below), and a hand-crop model, each with its contract in
the metadata as `thumbs export` writes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from thumbs.core.model_info import ModelInfo
from thumbs.hands.inputs import FEATURES

CLASSES = ["down", "none", "up"]
THUMB_TIP_Y = 4 * 3 + 1  # landmark_features: the thumb tip's y relative to the wrist, over the hand's size


def _save(path: Path, nodes: list, inputs: list, initializers: list, info: ModelInfo) -> Path:
    output = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(info.classes)])
    graph = helper.make_graph(nodes, "tiny", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7  # onnxruntime 1.11 (the Nano's) reads up to 8
    for key, value in info.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def thumb_landmarks_model(path: Path, classes: list[str] = CLASSES, gain: float = 10.0) -> Path:
    """[N, 63] landmark features -> probabilities: down ~ thumb tip below the wrist, up ~ above, none 0."""
    weights = np.zeros((FEATURES, len(classes)), np.float32)
    if "up" in classes:
        weights[THUMB_TIP_Y, classes.index("up")] = -gain
    if "down" in classes:
        weights[THUMB_TIP_Y, classes.index("down")] = gain
    nodes = [helper.make_node("MatMul", ["features", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    inputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", FEATURES])]
    info = ModelInfo(classes=list(classes), img_size=FEATURES, norm="none", mean=(), std=(), arch="landmarks",
                     input="landmarks")
    return _save(path, nodes, inputs, [numpy_helper.from_array(weights, "w")], info)


def crop_model(path: Path, size: int = 32, classes: list[str] = CLASSES) -> Path:
    """[N, 3, size, size] hand crops -> probabilities from the crop's mean colour (any fixed answer will do)."""
    weights = np.arange(3 * len(classes), dtype=np.float32).reshape(3, len(classes))
    nodes = [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])]
    info = ModelInfo(classes=list(classes), img_size=size, norm="imagenet", mean=(0.485, 0.456, 0.406),
                     std=(0.229, 0.224, 0.225), arch="tiny", input="hand")
    return _save(path, nodes, inputs, [numpy_helper.from_array(weights, "w")], info)
