"""`thumbs export --format triton|deepstream`: the checkpoint's ONNX export laid out for a serving stack.

Triton gets a model repository it loads unchanged (REPO/NAME/config.pbtxt, 1/model.onnx, labels.txt): the config
is read from the graph, with a dynamic batch, and carries the thumbs contract in its `parameters`, which
`thumbs live --model grpc://...` reads back (thumbs/runtime/triton.py). DeepStream gets the ONNX, an nvinfer
config for a whole-frame classifier and nvinfer's labels file. Both reuse `export.export` (parity-checked, atomic,
never replacing another checkpoint's model) and only add files around it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx

from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir, ensure_dir, write_atomic
from thumbs.core.model_info import META_KEY, ModelInfo, file_sha256
from thumbs.export_config import DEFAULT_OPSET, INSTANCES, MAX_BATCH
from thumbs.runtime.loader import SOURCE_SHA_KEY
from thumbs.training import checkpoint, export, export_target

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a folder name Triton and a URL path both take as is
VERSION = "1"  # Triton's version folder; one version a model
SOURCE_KEY = "thumbs.source"  # the checkpoint path, as the ONNX metadata records it
DTYPES = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}


@dataclass
class ServedExport:
    model_dir: Path  # REPO/NAME for Triton, the --out folder for DeepStream
    written: list[Path]
    max_diff: float
    opset: int


def default_name(ckpt_path: Path) -> str:
    """runs/two/best.pt -> "two" (runs/two/last.pt -> "two-last"): one run, one served model."""
    folder = ckpt_path.resolve().parent.name or "model"
    raw = folder if ckpt_path.stem == "best" else f"{folder}-{ckpt_path.stem}"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.") or "model"
    return name if name[0].isalnum() else f"m{name}"


def check_name(name: str) -> str:
    if not NAME_RULE.match(name):
        raise ThumbsError(f"--name '{name}': use letters, digits, '_', '.' and '-' (it is a folder and part of "
                          "the model's URL), starting with a letter or digit")
    return name


def _pbtxt(text: str) -> str:
    """A protobuf text-format string literal; UTF-8 stays as it is (class names in any language)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _tensor(value: onnx.ValueInfoProto) -> tuple[str, str, list[int]]:
    """(name, Triton data type, dims without the batch axis) of a graph input or output."""
    kind = value.type.tensor_type
    if kind.elem_type not in DTYPES:
        raise ThumbsError(f"graph tensor '{value.name}' has ONNX type {kind.elem_type}: Triton's config here "
                          "knows float32 and float16 only")
    dims = [d.dim_value for d in kind.shape.dim][1:]
    if any(d <= 0 for d in dims):
        raise ThumbsError(f"graph tensor '{value.name}' has a dynamic axis besides the batch: export it again")
    return value.name, DTYPES[kind.elem_type], dims


def _io_block(kind: str, tensors: list[tuple[str, str, list[int]]], extra: str = "") -> str:
    rows = [f'  {{\n    name: {_pbtxt(name)}\n    data_type: {dtype}\n    dims: [ {", ".join(map(str, dims))} ]\n'
            f"{extra}  }}" for name, dtype, dims in tensors]
    return f"{kind} [\n" + ",\n".join(rows) + "\n]\n"


def triton_config(name: str, graph: onnx.ModelProto, instance: str, parameters: dict[str, str]) -> str:
    """config.pbtxt from the graph itself: its tensors' names, types and shapes, batched up to MAX_BATCH."""
    inputs = [_tensor(v) for v in graph.graph.input]
    outputs = [_tensor(v) for v in graph.graph.output]
    params = ",\n".join(f"  {{ key: {_pbtxt(k)} value: {{ string_value: {_pbtxt(v)} }} }}"
                        for k, v in parameters.items())
    return (f"name: {_pbtxt(name)}\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {MAX_BATCH}\n"
            + _io_block("input", inputs, "    format: FORMAT_NCHW\n")
            + _io_block("output", outputs, '    label_filename: "labels.txt"\n')
            + "dynamic_batching { }\n"
            + f"instance_group [ {{ count: 1, kind: {INSTANCES[instance]} }} ]\n"
            + f"parameters [\n{params}\n]\n")


def _recorded(config: Path) -> dict[str, str]:
    """The thumbs parameters an earlier export wrote into a config.pbtxt ({} for any other file)."""
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found = re.findall(r'key: "(thumbs\.[a-z_0-9.]+)" value: \{ string_value: ("(?:[^"\\]|\\.)*") \}', text)
    return {key: json.loads(value) for key, value in found if key in (SOURCE_SHA_KEY, SOURCE_KEY)}


def _check_model_dir(model_dir: Path, ckpt_path: Path) -> None:
    """REPO/NAME may only be replaced by the checkpoint it came from (same content or same path)."""
    if not (model_dir.exists() or model_dir.is_symlink()):
        return
    config = model_dir / "config.pbtxt"
    recorded = _recorded(config)
    sources = export_target.text_paths(recorded[SOURCE_KEY]) if SOURCE_KEY in recorded else set()
    ours = recorded.get(SOURCE_SHA_KEY) == file_sha256(ckpt_path) or ckpt_path.resolve() in {
        p.resolve() for p in sources}
    if not ours:
        what = f"the model of '{recorded[SOURCE_KEY]}'" if SOURCE_KEY in recorded else \
            "something that is not a thumbs export of this checkpoint"
        raise ThumbsError(f"--out: '{model_dir}' holds {what}; an export never replaces it: give another --name")


def export_triton(ckpt_path: str | Path, repo: str | Path, name: str | None = None, instance: str = "gpu",
                  opset: int = DEFAULT_OPSET, fp16: bool = False, log: Callable[[str], None] = print) -> ServedExport:
    ckpt_path, repo = Path(ckpt_path), Path(repo)
    name = check_name(name or default_name(ckpt_path))
    model_dir = repo / name
    _check_model_dir(model_dir, ckpt_path)
    check_writable_dir(repo, "--out")
    made = not model_dir.exists()
    try:
        result = export.export(ckpt_path, ensure_dir(model_dir / VERSION) / "model.onnx", opset=opset, fp16=fp16,
                               dynamic_batch=True, log=log)
    except BaseException:
        if made:  # nothing half-made stays in the repository, where Triton would refuse to start over it
            for folder in (model_dir / VERSION, model_dir):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        raise
    graph = onnx.load(str(result.onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in graph.metadata_props}
    info = ModelInfo.from_metadata(meta, result.onnx_path)
    labels = write_atomic(model_dir / "labels.txt", info.labels_text().encode())
    parameters = {k: meta[k] for k in (META_KEY, SOURCE_SHA_KEY, SOURCE_KEY) if k in meta}
    config = write_atomic(model_dir / "config.pbtxt", triton_config(name, graph, instance, parameters).encode())
    return ServedExport(model_dir, [config, result.onnx_path, labels, result.labels_path], result.max_diff,
                        result.opset)


def nvinfer_config(onnx_name: str, labels_name: str, info: ModelInfo, output: str, size: int) -> str:
    """A primary (whole-frame) classifier for DeepStream's nvinfer. The graph normalises and ends in a softmax, so
    nvinfer only scales pixels to [0, 1] (y = net-scale-factor * (x - offsets)) in RGB order."""
    return "\n".join([
        "# DeepStream nvinfer: a whole-frame classifier (thumbs export --format deepstream)",
        f"# thumbs crop policy '{info.crop}': nvinfer scales the whole frame to the input size; "
        + ("crop the frame to its centre square upstream (nvvideoconvert src-crop) to match thumbs live"
           if info.crop == "center" else "thumbs live does the same"),
        "[property]", "gpu-id=0", f"onnx-file={onnx_name}", f"labelfile-path={labels_name}",
        "batch-size=1", "network-mode=0", "network-type=1", "process-mode=1", "model-color-format=0",
        f"net-scale-factor={1 / 255:.10f}", "offsets=0;0;0", f"infer-dims=3;{size};{size}",
        "classifier-threshold=0.6", f"output-blob-names={output}", "gie-unique-id=1", ""])


def export_deepstream(ckpt_path: str | Path, out_dir: str | Path, name: str | None = None,
                      opset: int = DEFAULT_OPSET, fp16: bool = False,
                      log: Callable[[str], None] = print) -> ServedExport:
    ckpt_path, out_dir = Path(ckpt_path), Path(out_dir)
    name = check_name(name or default_name(ckpt_path))
    bad = [c for c in checkpoint.load(ckpt_path).info.classes if ";" in c]
    if bad:  # before anything is written
        raise ThumbsError(f"class '{bad[0]}' holds ';', which separates labels in nvinfer's labels file: "
                          "rename the class folder and train again")
    check_writable_dir(out_dir, "--out")
    result = export.export(ckpt_path, out_dir / f"{name}.onnx", opset=opset, fp16=fp16, dynamic_batch=True, log=log)
    graph = onnx.load(str(result.onnx_path), load_external_data=False)
    info = ModelInfo.from_metadata({p.key: p.value for p in graph.metadata_props}, result.onnx_path)
    labels = write_atomic(out_dir / f"{name}.nvinfer-labels.txt", (";".join(info.classes) + "\n").encode())
    config = write_atomic(out_dir / f"{name}.nvinfer.txt", nvinfer_config(
        result.onnx_path.name, labels.name, info, graph.graph.output[0].name, info.img_size).encode())
    return ServedExport(out_dir, [config, result.onnx_path, labels, result.labels_path], result.max_diff,
                        result.opset)
