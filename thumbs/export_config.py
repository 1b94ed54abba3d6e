"""The settings of `thumbs export` and their checks, written once and torch-free: the command shows them as its
options' defaults and refuses a bad one before PyTorch loads (seconds)."""

from __future__ import annotations

from thumbs.core.errors import ThumbsError

DEFAULT_OPSET = 13  # the newest that JetPack 4.6's TensorRT 8.2 parses; every architecture exports at it
MIN_OPSET = 11
MAX_OPSET = 18  # the exporters here write 11-18 as asked; newer numbers would silently come out as 18
BATCHES = ("dynamic", "1")  # a dynamic batch axis, or a fixed batch of one (some TensorRT setups want it)
# --format: what `export` writes (thumbs/training/serve_export.py writes the two serving layouts)
FORMATS = {
    "onnx": "NAME.onnx + NAME.labels.txt (thumbs live, eval, ONNX Runtime, TensorRT)",
    "triton": "a Triton model repository in the --out folder: NAME/config.pbtxt, NAME/1/model.onnx, NAME/labels.txt",
    "deepstream": "in the --out folder NAME.onnx, NAME.nvinfer.txt (a DeepStream nvinfer classifier config) and "
                  "NAME.nvinfer-labels.txt",
}
SERVED = ("triton", "deepstream")  # the formats whose --out is a folder and whose name comes from --name or the run
INSTANCES = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}  # --instance: Triton's instance_group kind
MAX_BATCH = 16  # Triton's max_batch_size: the most frames one request or one dynamic batch holds


def check(opset: int, batch: str = "dynamic", fmt: str = "onnx", instance: str = "gpu") -> None:
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ThumbsError(f"--opset {opset} is not supported: use {MIN_OPSET}-{MAX_OPSET} ({DEFAULT_OPSET}, the "
                          "default, suits TensorRT 8.2 on JetPack 4.6 and every newer runtime)")
    if batch not in BATCHES:
        raise ThumbsError(f"--batch '{batch}': use {' or '.join(BATCHES)}")
    if fmt not in FORMATS:
        raise ThumbsError(f"--format '{fmt}': use {', '.join(FORMATS)}")
    if instance not in INSTANCES:
        raise ThumbsError(f"--instance '{instance}': use {' or '.join(INSTANCES)}")
    if fmt == "triton" and batch != "dynamic":
        raise ThumbsError("--format triton batches frames from many cameras: it needs --batch dynamic (the default)")
