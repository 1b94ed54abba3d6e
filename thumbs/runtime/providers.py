"""Which ONNX Runtime execution provider really works here (TensorRT, CUDA, CPU), and a session on it.

Asked of the driver and libraries directly, so a CPU-only machine logs nothing and `auto` never picks a
provider that is compiled in but cannot run."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from thumbs.core import cache as thumbs_cache
from thumbs.core import threads
from thumbs.core.errors import ThumbsError

ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
SHORT = {"tensorrt": ORDER[0], "trt": ORDER[0], "cuda": ORDER[1], "cpu": ORDER[2]}
# The shared libraries each GPU provider needs, as the loader names them (newest first), and what they are.
NEEDS = {
    ORDER[1]: (("CUDA runtime", ("libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so.10.2",
                                 "libcudart.so")),
               ("cuBLAS", ("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so.10",
                           "libcublas.so")),
               ("cuDNN", ("libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"))),
    ORDER[0]: (("TensorRT", ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so")),),
}
WARMUP_RUNS = 3  # the first inferences allocate memory and pick kernels: keep them out of the first frame
TIMED_RUNS = 5
ort.set_default_logger_severity(3)  # errors only: no wall of provider warnings on CPU-only machines


def short(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA' (str.removesuffix is Python 3.9+; the Nano runs 3.8)."""
    suffix = "ExecutionProvider"
    return provider[: -len(suffix)] if provider.endswith(suffix) else provider


@functools.lru_cache(maxsize=1)
def preload_libraries() -> None:
    """Let ONNX Runtime find CUDA/cuDNN libraries that pip packages (torch, nvidia-*) brought; ORT >= 1.21 only."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None and cuda_device_count() > 0:
        with contextlib.suppress(Exception):  # a partial CUDA install: missing_libraries() names what is absent
            preload()


def missing_libraries(provider: str, load: Callable[[str], object] | None = None) -> list[str]:
    """The libraries a GPU provider needs that the loader cannot find, e.g. ['cuDNN (libcudnn.so.9, ...)']."""
    load = load or ctypes.CDLL
    missing = []
    for what, names in NEEDS.get(provider, ()):
        for name in names:
            try:
                load(name)
                break
            except OSError:
                continue
        else:
            missing.append(f"{what} ({', '.join(names[:2])})")
    return missing


def unavailable_reason(provider: str) -> str:
    """Why a GPU provider cannot run here, naming the missing driver or library."""
    if provider == ORDER[2]:
        return ""
    if provider not in ort.get_available_providers():
        return (f"this onnxruntime {ort.__version__} has no {short(provider)} provider compiled in "
                "(install onnxruntime-gpu; on a Jetson, NVIDIA's wheel from the Jetson Zoo)")
    if cuda_device_count() == 0:
        return "no NVIDIA GPU/driver is usable (libcuda.so.1 absent or no device)"
    missing = missing_libraries(provider) + (missing_libraries(ORDER[1]) if provider == ORDER[0] else [])
    if missing:
        return "missing " + "; ".join(missing) + " (install them or add their folder to LD_LIBRARY_PATH)"
    return ""


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
    preload_libraries()
    return [p for p in ORDER if p == ORDER[2] or (p in available and not unavailable_reason(p))]


def resolve_provider(name: str | None) -> list[str]:
    """The provider chain to use: the best usable by default, or exactly the one asked for."""
    usable = usable_providers()
    if not name or name == "auto":
        return usable
    full = SHORT.get(name.lower(), name)
    if full not in ORDER:
        raise ThumbsError(f"unknown provider '{name}': use auto, tensorrt, cuda or cpu")
    if full not in usable:
        raise ThumbsError(f"provider '{name}' is not available on this machine ({unavailable_reason(full)}); "
                          "usable here: " + ", ".join(short(p).lower() for p in usable))
    return [full, ORDER[2]] if full != ORDER[2] else [full]


def trt_cache_dir(model_bytes: bytes, fp16: bool) -> Path | None:
    """trt/ in the cache root (thumbs/core/cache.py), keyed by model hash, precision and TensorRT version, so a new
    model never reuses a stale engine; None when THUMBS_CACHE=off (the engine is then built on every run)."""
    engines = thumbs_cache.folder(thumbs_cache.ENGINES)
    if engines is None:
        return None
    key = f"{hashlib.sha256(model_bytes).hexdigest()[:16]}-{'fp16' if fp16 else 'fp32'}-trt{tensorrt_version()}"
    return engines / key


def _ort_version() -> tuple[int, int]:
    major, minor = (int(x) for x in ort.__version__.split(".")[:2])
    return major, minor


def trt_options(cache: Path | None, fp16: bool) -> dict[str, object]:
    """TensorRT provider options this onnxruntime knows: an unknown key fails the session, and
    trt_timing_cache_path only exists from 1.17 (the Nano's 1.11 has the timing cache, in the engine folder).
    No cache folder (THUMBS_CACHE=off): neither cache is enabled, so nothing is written anywhere."""
    if cache is None:
        return {"trt_fp16_enable": fp16}
    options: dict[str, object] = {"trt_fp16_enable": fp16, "trt_engine_cache_enable": True,
                                  "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True}
    if _ort_version() >= (1, 17):
        options["trt_timing_cache_path"] = str(cache)
    return options


def _engine_folder(model: bytes, fp16: bool, log: Callable[[str], None]) -> Path | None:
    """The engine cache folder, made; the user hears when an engine is about to be built (minutes on a Nano)."""
    cache = trt_cache_dir(model, fp16)
    if cache is None:
        log(f"building the TensorRT engine ({thumbs_cache.ENV}=off: again on every run, this takes a while)")
        return None
    if not (cache.is_dir() and any(cache.iterdir())):
        log(f"building the TensorRT engine (first run of this model, this takes a while): cache {cache}")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ThumbsError(f"TensorRT engine cache '{cache}' cannot be created ({e.strerror}): set "
                          f"{thumbs_cache.ENV} to a writable folder, or {thumbs_cache.ENV}=off") from None
    return cache


def make_session(model: bytes | str | Path, providers: Sequence[str], fp16: bool = True,
                 log=print, cpu_threads: int | None = None) -> ort.InferenceSession:
    """`cpu_threads`: the CPU's intra-op threads, else the thread policy's (thumbs/core/threads.py)."""
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    threads.current().configure(options, cpu_threads)
    chain: list = []
    for p in providers:
        if p == ORDER[0]:
            cache = _engine_folder(data, fp16, log)
            chain.append((p, trt_options(cache, fp16)))
        else:
            chain.append(p)
    try:
        return ort.InferenceSession(data, sess_options=options, providers=chain)
    except Exception as e:
        raise ThumbsError(f"ONNX Runtime cannot load the model ({type(e).__name__}: {str(e).strip()[:200]}); "
                          "is the file complete? re-export it with `thumbs export`") from None


def _zero_feed(session: ort.InferenceSession) -> dict[str, np.ndarray]:
    """A zero input of the model's shape (batch 1 where the size is dynamic)."""
    inp = session.get_inputs()[0]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    return {inp.name: np.zeros(shape, np.float16 if "float16" in inp.type else np.float32)}


def warm_up(session: ort.InferenceSession, runs: int = WARMUP_RUNS) -> float:
    """Run a few inferences on a zero input so the first camera frame is not the slow one; returns seconds."""
    feed = _zero_feed(session)
    start = time.perf_counter()
    for _ in range(runs):
        session.run(None, feed)
    return time.perf_counter() - start


def median_ms(session: ort.InferenceSession, runs: int = TIMED_RUNS) -> float:
    """Median milliseconds of one inference on a warmed-up session."""
    feed = _zero_feed(session)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _open(model: bytes, provider: str, fp16: bool, log) -> ort.InferenceSession:
    """A session on exactly `provider`; a GPU provider that ORT silently dropped is an error naming why."""
    chain = [provider] if provider == ORDER[2] else [provider, ORDER[2]]
    session = make_session(model, chain, fp16=fp16, log=log)
    if session.get_providers()[0] != provider:
        why = unavailable_reason(provider) or "ONNX Runtime could not load it (run `thumbs doctor`)"
        raise ThumbsError(f"provider '{short(provider).lower()}' did not start: {why}")
    return session


def choose_session(model: bytes | str | Path, provider: str | None = "auto", fp16: bool = True,
                   log=print) -> tuple[ort.InferenceSession, str]:
    """A warmed-up session and one line saying which provider runs and why.

    `auto` times a few inferences on every usable provider and keeps the fastest: a small model can be faster
    on the CPU than on CUDA, where each call pays a copy to and from the GPU."""
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    chain = resolve_provider(provider)
    if provider and provider != "auto":
        session = _open(data, chain[0], fp16, log)
        seconds = warm_up(session)
        return session, f"{short(chain[0])} as asked; warm-up {seconds * 1000:.0f} ms"
    timings: dict[str, float] = {}
    best: ort.InferenceSession | None = None
    warm = 0.0
    for name in chain:
        try:
            session = _open(data, name, fp16, log)
        except ThumbsError as e:
            if name == ORDER[2]:
                raise  # the model itself does not load: say why, not "no provider"
            log(f"skipping {short(name)}: {e}")
            continue
        seconds = warm_up(session)
        timings[name] = median_ms(session)
        if best is None or timings[name] < timings[best.get_providers()[0]]:
            best, warm = session, seconds
    chosen = best.get_providers()[0]
    if len(timings) == 1:
        return best, f"{short(chosen)}, the only usable provider; warm-up {warm * 1000:.0f} ms"
    measured = ", ".join(f"{short(p)} {ms:.2f} ms" for p, ms in timings.items())
    return best, f"{short(chosen)}, the fastest here ({measured} per inference); warm-up {warm * 1000:.0f} ms"
