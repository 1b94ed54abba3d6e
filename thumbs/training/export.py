"""`thumbs export`: a checkpoint becomes <name>.onnx + <name>.labels.txt, checked against PyTorch.

The graph takes float32 NCHW RGB in [0, 1] at the trained size and returns class probabilities:
normalisation and softmax are inside, so the runtime only crops, resizes and scales by 1/255.
The checkpoint's sha256 goes into the metadata, so a reused export is known to be this model's."""

from __future__ import annotations

import contextlib
import copy
import io
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
from thumbs import export_config
from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir, write_atomic
from thumbs.core.model_info import file_sha256, labels_path
from thumbs.export_config import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET
from thumbs.runtime.loader import SOURCE_SHA_KEY, exported_from, exported_path
from thumbs.training import checkpoint, models
from thumbs.training.export_target import check_target, checked_target, name_by_source, path_text

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


def _export_graph(model: nn.Module, x: torch.Tensor, opset: int, dynamic: bool) -> bytes:
    """TorchScript exporter up to opset 17 (fast, any low opset); the dynamo exporter from 18. `x`: an example
    input (models.example_input)."""
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


class MatrixPool(nn.Module):
    """Adaptive average pooling for one fixed input size as two constant matrix products: exactly the
    same numbers, and every opset can express it (AlexNet's 6x6 pool at sizes other than 224 cannot)."""

    def __init__(self, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("rows", self._bins(in_hw[0], out_hw[0]))
        self.register_buffer("cols", self._bins(in_hw[1], out_hw[1]).T.contiguous())

    @staticmethod
    def _bins(n_in: int, n_out: int) -> torch.Tensor:
        m = torch.zeros(n_out, n_in)
        for i in range(n_out):
            lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
            m[i, lo:hi] = 1.0 / (hi - lo)
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.rows, torch.matmul(x, self.cols))


def exportable(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """A copy whose adaptive pools (other than global ones) are MatrixPools for the size of the example input x."""
    model = copy.deepcopy(model)
    seen: dict[str, tuple[int, int]] = {}
    pools = {n: m for n, m in model.named_modules() if isinstance(m, nn.AdaptiveAvgPool2d)}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, tuple(i[0].shape[-2:])))
             for n, m in pools.items()]
    with torch.no_grad():
        model(torch.zeros_like(x))
    for h in hooks:
        h.remove()
    for name, pool in pools.items():
        out_hw = tuple(pool.output_size) if isinstance(pool.output_size, tuple) else (pool.output_size,) * 2
        if out_hw != (1, 1) and name in seen:
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent), attr, MatrixPool(seen[name], out_hw))
    return model


def _export_with_fallback(model: nn.Module, x: torch.Tensor, opset: int, dynamic: bool,
                          log: Callable[[str], None]) -> tuple[onnx.ModelProto, int]:
    """Some layers (AlexNet's adaptive pooling at sizes other than 224) only export with the newer
    exporter: use it at opset 18 and say so, rather than fail."""
    try:
        return onnx.load_from_string(_export_graph(model, x, opset, dynamic)), opset
    except Exception as e:
        if opset >= 18:
            raise ThumbsError(f"ONNX export at opset {opset} failed ({type(e).__name__}: {str(e)[:200]})") from None
        log(f"opset {opset} cannot express this model ({str(e).splitlines()[0][:120]}); exporting at opset 18")
    try:
        return onnx.load_from_string(_export_graph(model, x, 18, dynamic)), 18
    except Exception as e:
        raise ThumbsError(f"ONNX export failed at opset {opset} and 18 ({type(e).__name__}: {str(e)[:200]})") from None


def _to_fp16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Half-precision weights and maths, float32 input and output so callers do not change."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(proto, keep_io_types=True)


def file_opset(proto: onnx.ModelProto) -> int:
    """The default-domain opset the file really holds."""
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def metadata(ckpt: checkpoint.Checkpoint, source: Path) -> dict[str, str]:
    return {**ckpt.info.to_metadata(), SOURCE_SHA_KEY: file_sha256(source), "thumbs.arch": ckpt.info.arch,
            "thumbs.source": path_text(source), "thumbs.version": thumbs.__version__}


def check_parity(model: nn.Module, onnx_bytes: bytes, example: torch.Tensor, batch: int) -> float:
    """Run the same inputs (of the example's shape, `batch` of them) through PyTorch and ONNX Runtime; returns the
    max |difference|."""
    from thumbs.runtime.providers import make_session

    x = np.random.default_rng(0).random((batch, *example.shape[1:]), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = make_session(onnx_bytes, ["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    return float(np.abs(expected - got).max())


def _check_finite(ckpt: checkpoint.Checkpoint, path: Path) -> None:
    broken = [k for k, v in ckpt.state_dict.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise ThumbsError(f"checkpoint '{path}' is broken: {len(broken)} weight tensor(s) hold NaN or infinity "
                          f"(e.g. {broken[0]}); the run diverged: train again with a lower --lr")


def export(ckpt_path: str | Path, out: str | Path | None = None, opset: int = DEFAULT_OPSET, fp16: bool = False,
           dynamic_batch: bool = True, log: Callable[[str], None] = print) -> ExportResult:
    ckpt_path = Path(ckpt_path)
    export_config.check(opset)
    ckpt = checkpoint.load(ckpt_path)
    out_path = checked_target(ckpt_path, out)
    _check_finite(ckpt, ckpt_path)
    model = nn.Sequential(models.from_checkpoint(ckpt), nn.Softmax(dim=1)).eval()
    x = models.example_input(ckpt.info.arch, ckpt.info.img_size)
    proto, opset = _export_with_fallback(exportable(model, x), x, opset, dynamic_batch, log)
    if file_opset(proto) != opset:
        raise ThumbsError(f"asked for opset {opset}, the exporter wrote {file_opset(proto)}: "
                          f"use --opset {MIN_OPSET}-{MAX_OPSET}")
    if fp16:
        proto = _to_fp16(proto)
    for key, value in metadata(ckpt, ckpt_path).items():
        proto.metadata_props.add(key=key, value=value)
    data = proto.SerializeToString()
    max_diff = check_parity(model, data, x, batch=4 if dynamic_batch else 1)
    if not max_diff <= TOLERANCE[fp16]:
        raise ThumbsError(f"the ONNX model disagrees with PyTorch: max probability difference {max_diff:.2e} "
                          f"> {TOLERANCE[fp16]:.0e}; nothing was written (try another --opset)")
    write_atomic(out_path, data)
    labels = write_atomic(labels_path(out_path), ckpt.info.labels_text().encode())
    return ExportResult(out_path, labels, max_diff, opset)


def export_once(ckpt_path: str | Path, log: Callable[[str], None] = print) -> Path:
    """The checkpoint's <name>.onnx beside it, exported now unless the one there came from this very file."""
    ckpt_path = Path(ckpt_path)
    target = exported_path(ckpt_path)
    if exported_from(target, ckpt_path):
        return target
    folder = target.parent
    try:
        check_writable_dir(folder, create=False)
    except ThumbsError:
        raise ThumbsError(f"'{ckpt_path}' needs exporting, but '{folder}' is read-only: run `thumbs export "
                          f"{ckpt_path} --out DIR/model.onnx` with a writable DIR and pass that .onnx to --model"
                          ) from None
    other = target.with_name(name_by_source(ckpt_path))
    check_target(target, ckpt_path, f"export this one under another name with `thumbs export {ckpt_path} --out "
                                    f"{other}`, then give that .onnx as the model")
    log(f"exporting {ckpt_path} to {target} (once; reused while it matches the checkpoint)")
    return export(ckpt_path, target, log=log).onnx_path
