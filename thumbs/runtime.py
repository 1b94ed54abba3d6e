"""Inference with ONNX Runtime on the best provider that really works here (TensorRT, CUDA, CPU),
and the `Classifier` API for users' own scripts. Needs only onnxruntime, OpenCV and numpy."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from thumbs.errors import ThumbsError
from thumbs.preprocess import Preprocessor

ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
SHORT = {"tensorrt": ORDER[0], "trt": ORDER[0], "cuda": ORDER[1], "cpu": ORDER[2]}
ort.set_default_logger_severity(3)  # errors only: no wall of provider warnings on CPU-only machines


@functools.lru_cache(maxsize=1)
def cuda_device_count() -> int:
    """GPUs the NVIDIA driver reports, asked directly so nothing is logged when there is none."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0:
            return count.value
        return 0
    return 0


@functools.lru_cache(maxsize=1)
def tensorrt_version() -> str | None:
    """The TensorRT library version ONNX Runtime would load, or None when it is not installed."""
    for name in ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so", "nvinfer_10.dll", "nvinfer.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            v = lib.getInferLibVersion()
            return f"{v // 10000}.{v // 100 % 100}.{v % 100}" if v > 10000 else f"{v // 1000}.{v // 100 % 10}.{v % 100}"
        except AttributeError:
            return "unknown"
    return None


def usable_providers() -> list[str]:
    """Providers in preference order that can really run here, not just the ones compiled in."""
    available = set(ort.get_available_providers())
    usable = []
    gpu = cuda_device_count() > 0
    if gpu and ORDER[0] in available and tensorrt_version():
        usable.append(ORDER[0])
    if gpu and ORDER[1] in available:
        usable.append(ORDER[1])
    usable.append(ORDER[2])
    return usable


def resolve_provider(name: str | None) -> list[str]:
    """The provider chain to use: the best usable by default, or exactly the one asked for."""
    usable = usable_providers()
    if not name or name == "auto":
        return usable
    full = SHORT.get(name.lower(), name)
    if full not in ORDER:
        raise ThumbsError(f"unknown provider '{name}': use auto, tensorrt, cuda or cpu")
    if full not in usable:
        why = "no NVIDIA GPU/driver is usable" if not cuda_device_count() else "its libraries are not installed"
        raise ThumbsError(f"provider '{name}' is not available on this machine ({why}); usable here: "
                          + ", ".join(p.removesuffix("ExecutionProvider").lower() for p in usable))
    return [full, ORDER[2]] if full != ORDER[2] else [full]


def trt_cache_dir(model_bytes: bytes, fp16: bool) -> Path:
    """Engines are keyed by model hash, precision and TensorRT version: a new model never reuses a stale one."""
    key = f"{hashlib.sha256(model_bytes).hexdigest()[:16]}-{'fp16' if fp16 else 'fp32'}-trt{tensorrt_version()}"
    root = Path(os.environ.get("THUMBS_CACHE", Path.home() / ".cache" / "thumbs"))
    return root / "trt" / key


def make_session(model: bytes | str | Path, providers: Sequence[str], fp16: bool = True,
                 log=print) -> ort.InferenceSession:
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    chain: list = []
    for p in providers:
        if p == ORDER[0]:
            cache = trt_cache_dir(data, fp16)
            if not (cache.is_dir() and any(cache.iterdir())):
                log(f"building the TensorRT engine (first run of this model, this takes a while): cache {cache}")
            cache.mkdir(parents=True, exist_ok=True)
            chain.append((p, {"trt_fp16_enable": fp16, "trt_engine_cache_enable": True,
                              "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True,
                              "trt_timing_cache_path": str(cache)}))
        else:
            chain.append(p)
    try:
        return ort.InferenceSession(data, sess_options=options, providers=chain)
    except Exception as e:
        raise ThumbsError(f"ONNX Runtime cannot load the model ({type(e).__name__}: {str(e).strip()[:200]}); "
                          "is the file complete? re-export it with `thumbs export`") from None


@dataclass
class Prediction:
    label: str
    score: float
    probs: np.ndarray  # one probability per class, in `classes` order
    latency_ms: float  # inference only


def _read_metadata(session: ort.InferenceSession, path: Path) -> tuple[list[str], int]:
    meta = session.get_modelmeta().custom_metadata_map
    if "thumbs.classes" not in meta:
        raise ThumbsError(f"'{path}' has no thumbs metadata (class names, input size): export it with `thumbs export`")
    classes, size = json.loads(meta["thumbs.classes"]), int(meta["thumbs.img_size"])
    labels = path.with_name("labels.txt")
    if labels.exists():
        listed = [line.strip() for line in labels.read_text().splitlines() if line.strip()]
        if listed != classes:
            raise ThumbsError(f"{labels} ({', '.join(listed)}) disagrees with the classes inside {path.name} "
                              f"({', '.join(classes)}): re-export, or delete the stale labels.txt")
    return classes, size


def _fresh(derived: Path, source: Path) -> bool:
    """An exported file is usable while it is at least as new as the checkpoint it came from."""
    return derived.exists() and derived.stat().st_mtime >= source.stat().st_mtime


def onnx_for(path: Path, log=print) -> Path:
    """A .pt checkpoint is exported once to <name>.onnx beside it (again only when the .pt is newer)."""
    target = path.with_name(f"{path.stem}.onnx")
    if _fresh(target, path):
        return target
    try:
        from thumbs.export import export
    except ImportError:
        raise ThumbsError(f"'{path}' is a PyTorch checkpoint: export it to .onnx on a machine with "
                          "`pip install 'thumbs[train]'` (thumbs export), then copy the .onnx here") from None
    log(f"exporting {path} to {target} (once)")
    return export(path, target, log=log).onnx_path


def newest_model(runs: str | Path = "runs") -> Path:
    """The most recent run's model: its model.onnx when that is up to date, else its best.pt."""
    runs = Path(runs)
    candidates = sorted(runs.glob("*/best.pt"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
    if not candidates:
        raise ThumbsError(f"no trained model found in {runs}/: train one with `thumbs train`, or pass --model PATH")
    onnx_path = candidates[-1].with_name("model.onnx")
    return onnx_path if _fresh(onnx_path, candidates[-1]) else candidates[-1]


class Classifier:
    """`Classifier.load("model.onnx")(bgr_frame) -> Prediction`: the whole runtime in one object."""

    def __init__(self, session: ort.InferenceSession, classes: list[str], img_size: int, path: Path) -> None:
        self.session, self.classes, self.img_size, self.path = session, classes, img_size, path
        self.input_name = session.get_inputs()[0].name
        self.provider = session.get_providers()[0]
        self.preprocess = Preprocessor(img_size)

    @classmethod
    def load(cls, path: str | Path, provider: str | None = None, fp16: bool = True, log=print) -> Classifier:
        path = Path(path)
        if not path.is_file():
            raise ThumbsError(f"model '{path}' does not exist (train one with `thumbs train`)")
        if path.suffix in (".pt", ".pth"):
            path = onnx_for(path, log)
        elif path.suffix != ".onnx":
            raise ThumbsError(f"model '{path}': expected an .onnx file or a .pt checkpoint")
        session = make_session(path, resolve_provider(provider), fp16=fp16, log=log)
        classes, size = _read_metadata(session, path)
        return cls(session, classes, size, path)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """float32 NCHW in [0, 1] -> probabilities (N, classes)."""
        return self.session.run(None, {self.input_name: batch})[0]

    def infer(self, tensor: np.ndarray) -> Prediction:
        start = time.perf_counter()
        probs = self.predict_batch(tensor)[0]
        latency = (time.perf_counter() - start) * 1000
        top = int(probs.argmax())
        return Prediction(self.classes[top], float(probs[top]), probs, latency)

    def __call__(self, bgr: np.ndarray) -> Prediction:
        return self.infer(self.preprocess(bgr))
