"""The Jetson Nano path: opset-13 exports of every architecture agree with PyTorch in the Nano's onnxruntime 1.11.0
(.venv38, tests/live_venv.py) and use only operators TensorRT 8.2 parses; the live path stays Python 3.8 code
(vermin in .ci/run checks the syntax, this the rest)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import onnx
import pytest

from tests import live_venv
from tests.layout import ROOT, live_modules

# Python 3.9+ library calls vermin cannot see on an untyped object (it only knows `"x".removesuffix`).
PY39_CALLS = {"removesuffix", "removeprefix", "is_relative_to", "with_stem", "randbytes", "lcm"}
# Operators TensorRT's ONNX parser supports ("Y" rows) for the Nano: onnx-tensorrt docs/operators.md, release/8.2-GA
# ("TensorRT 8.2 supports operators up to Opset 13"). The 8.2-GA table itself was not reachable when this was
# written; the rows are transcribed from the next stored revision of the same file (commit 009d654, "TensorRT 8.4",
# also opset 13). Check a new op against the 8.2-GA table before adding it here.
TRT82_OPS = frozenset((
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
    "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
    "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Einsum",
    "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "Gather", "GatherElements",
    "GatherND", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "GRU", "HardSigmoid", "Identity", "If", "ImageScaler", "InstanceNormalization", "IsNaN", "LeakyRelu",
    "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM", "LpNormalization", "LpPool", "MatMul",
    "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "NonMaxSuppression", "Not", "Or", "Pad",
    "ParametricSoftplus", "Pow", "PRelu", "QuantizeLinear", "RandomUniform", "RandomUniformLike", "Range",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence", "RNN",
    "Round", "ScaledTanh", "Scan", "Scatter", "ScatterElements", "ScatterND", "Selu", "Shape", "Sigmoid",
    "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt",
    "Squeeze", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Unsqueeze",
    "Upsample", "Where", "Xor",
))
RUN_OLD = """
import json, sys, numpy as np, onnxruntime as ort
out = {"version": ort.__version__}
for path in sys.argv[1:]:
    x = np.load(path + ".input.npy")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    out[path] = float(np.abs(got - np.load(path + ".torch.npy")).max())
print(json.dumps(out))
"""


def test_opset13_models_agree_with_pytorch_in_the_nanos_onnxruntime(opset13_models, live_python):
    run = subprocess.run([str(live_python), "-c", RUN_OLD, *map(str, opset13_models.values())], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["version"] == live_venv.ORT
    diffs = {arch: result[str(path)] for arch, path in opset13_models.items()}
    assert all(d < 1e-4 for d in diffs.values()), diffs


def test_opset13_models_use_only_tensorrt_82_operators(opset13_models):
    for arch, path in opset13_models.items():
        model = onnx.load(str(path))
        ops = {n.op_type for n in model.graph.node}
        assert ops <= TRT82_OPS, f"{arch} uses operators TensorRT 8.2 cannot parse: {sorted(ops - TRT82_OPS)}"
        assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {13}


@pytest.mark.parametrize("module", sorted(live_modules()))
def test_live_path_avoids_python39_library_calls(module):
    path = live_modules()[module]
    tree = ast.parse(path.read_text())
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in PY39_CALLS}
    used |= {"functools.cache" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cache"
             and isinstance(n.value, ast.Name) and n.value.id == "functools"}
    assert not used, f"{path} calls {sorted(used)}, which Python 3.8 (the Jetson Nano's) lacks"


def test_ci_checks_the_live_modules_by_the_rule():
    line = next(x for x in (ROOT / ".ci" / "run").read_text().splitlines() if "vermin" in x and "-t=3.8-" in x)
    assert "python -m tests.layout" in line
    listed = subprocess.run([sys.executable, "-m", "tests.layout"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    assert "thumbs/cli/__init__.py" in listed
