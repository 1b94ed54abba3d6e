"""The Jetson Nano path: opset-13 exports of every architecture run in an old ONNX Runtime and use only operators
TensorRT 8.2 parses; the live path stays Python 3.8 code (vermin in .ci/run checks the syntax, this the rest)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from tests.helpers import make_checkpoint
from tests.layout import live_modules
from thumbs.training import checkpoint, export, models

ROOT = Path(__file__).resolve().parents[1]
ORT_OLD = ROOT / ".venv-ort115" / "bin" / "python"
ORT_OLD_VERSION = "1.15.1"  # the oldest onnxruntime pip offers for Python 3.11
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
# alexnet's adaptive pooling exports at opset 13 only when its last feature map is 6x6 (224 px); the rest at 64.
SIZES = {"alexnet": 224}
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


def _old_runtime() -> Path:
    """The oldest onnxruntime for this Python, in its own venv (made once from PyPI, then reused)."""
    if not ORT_OLD.exists():
        venv = ORT_OLD.parents[1]
        made = subprocess.run(f'{sys.executable} -m venv {venv} && {venv}/bin/pip install --quiet '
                              f'--disable-pip-version-check onnxruntime=={ORT_OLD_VERSION} "numpy<2"',
                              shell=True, capture_output=True, text=True)
        if made.returncode:
            pytest.fail(f"could not create {venv} with onnxruntime {ORT_OLD_VERSION} (needs PyPI): "
                        f"{made.stderr.strip().splitlines()[-1:]}")
    return ORT_OLD


@pytest.fixture(scope="module")
def opset13_models(tmp_path_factory) -> dict[str, Path]:
    """`thumbs export --opset 13` of every architecture, with a PyTorch reference output beside each."""
    root = tmp_path_factory.mktemp("opset13")
    exported = {}
    for arch in models.ARCHS:
        size = SIZES.get(arch, 64)
        ckpt = make_checkpoint(root / arch / "best.pt", arch, size)
        result = export.export(ckpt, opset=13, log=lambda m: None)
        assert result.opset == 13, f"{arch} fell back to opset {result.opset}"
        x = np.random.default_rng(0).random((2, 3, size, size), dtype=np.float32)
        net = torch.nn.Sequential(models.from_checkpoint(checkpoint.load(ckpt)), torch.nn.Softmax(dim=1)).eval()
        with torch.no_grad():
            reference = net(torch.from_numpy(x)).numpy()
        np.save(f"{result.onnx_path}.input.npy", x)
        np.save(f"{result.onnx_path}.torch.npy", reference)
        exported[arch] = result.onnx_path
    return exported


def test_opset13_models_agree_with_pytorch_in_onnxruntime_115(opset13_models):
    python = _old_runtime()
    run = subprocess.run([str(python), "-c", RUN_OLD, *map(str, opset13_models.values())], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["version"] == ORT_OLD_VERSION
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
    assert "thumbs/cli.py" in subprocess.run([sys.executable, "-m", "tests.layout"], cwd=ROOT, capture_output=True,
                                             text=True, check=True).stdout
