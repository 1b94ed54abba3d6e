"""`thumbs export`: a checkpoint becomes model.onnx + labels.txt, checked against PyTorch.

The graph takes float32 NCHW RGB in [0, 1] at the trained size and returns class probabilities:
normalisation and softmax are inside, so the runtime only crops, resizes and scales by 1/255."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

import thumbs
from thumbs import checkpoint
from thumbs.errors import ThumbsError
from thumbs.files import write_atomic

DEFAULT_OPSET = 17  # TensorRT 8.5+ (JetPack 5/6) and every current ONNX Runtime
MIN_OPSET = 11  # JetPack 4.6's TensorRT 8.2 parses 11-13
TOLERANCE = {False: 1e-4, True: 2e-2}  # max |probability difference|, fp32 / fp16


@dataclass
class ExportResult:
    onnx_path: Path
    labels_path: Path
    max_diff: float
    opset: int


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """The exporters print progress and, on failure, whole graphs, some of it from native code:
    point file descriptors 1 and 2 at /dev/null while they run; our own messages say what matters."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _export_graph(model: nn.Module, size: int, opset: int, dynamic: bool) -> bytes:
    """TorchScript exporter up to opset 17 (fast, any low opset); the dynamo exporter from 18."""
    x = torch.rand(1, 3, size, size)
    buf = io.BytesIO()
    kw = {"input_names": ["input"], "output_names": ["probs"], "opset_version": opset}
    with warnings.catch_warnings(), _silenced():
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        if opset >= 18:
            shapes = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic else None
            program = torch.onnx.export(model, (x,), None, dynamo=True, dynamic_shapes=shapes, **kw)
            return program.model_proto.SerializeToString()
        axes = {"input": {0: "batch"}, "probs": {0: "batch"}} if dynamic else None
        torch.onnx.export(model, (x,), buf, dynamo=False, dynamic_axes=axes, do_constant_folding=True, **kw)
    return buf.getvalue()


def _export_with_fallback(model: nn.Module, size: int, opset: int, dynamic: bool,
                          log: Callable[[str], None]) -> tuple[onnx.ModelProto, int]:
    """Some layers (AlexNet's adaptive pooling at sizes other than 224) only export with the newer
    exporter: use it at opset 18 and say so, rather than fail."""
    try:
        return onnx.load_from_string(_export_graph(model, size, opset, dynamic)), opset
    except Exception as e:
        if opset >= 18:
            raise ThumbsError(f"ONNX export at opset {opset} failed ({type(e).__name__}: {str(e)[:200]})") from None
        log(f"opset {opset} cannot express this model ({str(e).splitlines()[0][:120]}); exporting at opset 18")
    try:
        return onnx.load_from_string(_export_graph(model, size, 18, dynamic)), 18
    except Exception as e:
        raise ThumbsError(f"ONNX export failed at opset {opset} and 18 ({type(e).__name__}: {str(e)[:200]})") from None


def _to_fp16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Half-precision weights and maths, float32 input and output so callers do not change."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(proto, keep_io_types=True)


def metadata(ckpt: dict, source: Path) -> dict[str, str]:
    return {
        "thumbs.classes": json.dumps(ckpt["classes"]),
        "thumbs.img_size": str(ckpt["img_size"]),
        "thumbs.mean": json.dumps(ckpt["mean"]),
        "thumbs.std": json.dumps(ckpt["std"]),
        "thumbs.normalisation": "inside the graph; feed RGB scaled to [0, 1]",
        "thumbs.input": "float32 NCHW RGB in [0, 1], centre square crop resized to img_size",
        "thumbs.output": "class probabilities (softmax inside the graph)",
        "thumbs.arch": ckpt["arch"],
        "thumbs.source": str(source),
        "thumbs.version": thumbs.__version__,
    }


def check_parity(model: nn.Module, onnx_bytes: bytes, size: int, batch: int) -> float:
    """Run the same inputs through PyTorch and ONNX Runtime; returns the max |difference|."""
    from thumbs.providers import make_session

    x = np.random.default_rng(0).random((batch, 3, size, size), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = make_session(onnx_bytes, ["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    return float(np.abs(expected - got).max())


def export(ckpt_path: str | Path, out: str | Path | None = None, opset: int = DEFAULT_OPSET, fp16: bool = False,
           dynamic_batch: bool = True, log: Callable[[str], None] = print) -> ExportResult:
    ckpt_path = Path(ckpt_path)
    if opset < MIN_OPSET:
        raise ThumbsError(f"--opset {opset} is too old: use {MIN_OPSET} or newer ({DEFAULT_OPSET} is the default)")
    ckpt = checkpoint.load(ckpt_path)
    out_path = Path(out) if out else ckpt_path.with_name("model.onnx")
    if out_path.suffix != ".onnx":
        out_path = out_path / "model.onnx"
    model = nn.Sequential(checkpoint.build_model(ckpt), nn.Softmax(dim=1)).eval()
    size = int(ckpt["img_size"])
    proto, opset = _export_with_fallback(model, size, opset, dynamic_batch, log)
    if fp16:
        proto = _to_fp16(proto)
    for key, value in metadata(ckpt, ckpt_path).items():
        proto.metadata_props.add(key=key, value=value)
    data = proto.SerializeToString()
    max_diff = check_parity(model, data, size, batch=4 if dynamic_batch else 1)
    if not max_diff <= TOLERANCE[fp16]:
        raise ThumbsError(f"the ONNX model disagrees with PyTorch: max probability difference {max_diff:.2e} "
                          f"> {TOLERANCE[fp16]:.0e}; nothing was written (try another --opset)")
    write_atomic(out_path, data)
    labels = write_atomic(out_path.with_name("labels.txt"), ("\n".join(ckpt["classes"]) + "\n").encode())
    return ExportResult(out_path, labels, max_diff, opset)
