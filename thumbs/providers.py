"""Which ONNX Runtime execution provider really works here (TensorRT, CUDA, CPU), and a session on it.

Asked of the driver and libraries directly, so a CPU-only machine logs nothing and `auto` never picks a
provider that is compiled in but cannot run."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from thumbs.errors import ThumbsError

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
