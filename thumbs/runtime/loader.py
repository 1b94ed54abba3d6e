"""One loader for every model file and the ONNX Runtime backend. Needs only onnxruntime, OpenCV and numpy.
The runtime knows no training: a .pt loader joins the suffix table when `thumbs.training` is imported (it
registers one that loads PyTorch on the first .pt); until then a .pt gets the one line that says what is missing.

A backend is any object with `info` (ModelInfo), `classes`, `img_size`, `crop`, `provider` and `why` (what
runs it, and why that), `path` and `predict_batch(float32 NCHW in [0, 1]) -> probabilities (N, classes)`.
A new kind (a TensorRT engine, a served model) is one new class with those members and one entry in
`load_model`'s table, keyed by a file's suffix or a URL's scheme (grpc://, http://: thumbs.runtime.triton);
a package above the runtime adds its own with `register_loader` (training's .pt)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core.backend import Backend
from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file, read_regular
from thumbs.core.model_info import ModelInfo, check_labels, file_sha256
from thumbs.runtime.providers import choose_session
from thumbs.runtime.tuned import tuned

SOURCE_SHA_KEY = "thumbs.checkpoint_sha256"  # ONNX metadata: the checkpoint an export came from
TORCH_SUFFIXES = (".pt", ".pth")


class OnnxBackend(Backend):
    """An .onnx file from `thumbs export` in ONNX Runtime (provider chosen by `providers`)."""

    def __init__(self, path: Path, provider: str | None = None, fp16: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.session, self.why = choose_session(path, provider, fp16=fp16, log=log)  # warmed up, fastest
        self.session = tuned(path, self.session)  # on the CPU: a thread fewer while other work holds a core
        info = ModelInfo.from_metadata(self.session.get_modelmeta().custom_metadata_map, path)
        check_labels(info, path)
        super().__init__(info, path)
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]
        first = self.session.get_inputs()[0].shape[0]
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None  # `export --batch 1`

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Any number of images; a model exported with a fixed batch gets them in pieces of its size."""
        n = self.fixed_batch
        if n is None or len(batch) == n:
            return self.session.run(None, {self.input_name: batch})[0]
        pieces = []
        for start in range(0, len(batch), n):
            piece = batch[start:start + n]
            padded = np.concatenate([piece, np.repeat(piece[-1:], n - len(piece), axis=0)]) if len(piece) < n \
                else piece
            pieces.append(self.session.run(None, {self.input_name: padded})[0][:len(piece)])
        return np.concatenate(pieces)


Loader = Callable[[Path, "str | None", bool, Callable[[str], None]], Backend]


def needs_pytorch(path: Path, provider: str | None = None, fp16: bool = True,
                  log: Callable[[str], None] = print) -> Backend:
    """The .pt entry while no training install registered its loader: the one line that says what is missing."""
    if importlib.util.find_spec("torch") is None:
        raise ThumbsError(f"'{path}' is a PyTorch checkpoint and PyTorch is not installed: "
                          "pip install 'thumbs[train]', or export it to .onnx on a machine that has it")
    raise ThumbsError(f"'{path}' is a PyTorch checkpoint and its loader comes with thumbs.training: import it "
                      "first (`thumbs eval` does), or export the checkpoint to .onnx")


def _served_backend(url: str, provider: str | None, fp16: bool, log: Callable[[str], None]) -> Backend:
    """The server picks its own provider and precision: --provider and --fp32 do not reach it."""
    from thumbs.runtime.triton import TritonBackend

    return TritonBackend(url, log)


LOADERS: dict[str, Loader] = {".onnx": OnnxBackend, **{suffix: needs_pytorch for suffix in TORCH_SUFFIXES},
                              "grpc://": _served_backend, "http://": _served_backend}


def register_loader(suffixes: Iterable[str], loader: Loader) -> None:
    """A model kind from a package above the runtime (training's .pt): the runtime never imports it."""
    LOADERS.update({suffix.lower(): loader for suffix in suffixes})


def served_scheme(model: str | Path) -> str | None:
    """"grpc://" or "http://" when `model` is a served model's URL (a key of LOADERS), else None: a file."""
    scheme, sep, _ = str(model).partition("://")
    key = f"{scheme.lower()}://"
    return key if sep and key in LOADERS else None


def existing_model(path: str | Path) -> Path:
    """The model file, or one line saying what is there instead (nothing, a folder, a FIFO): before anything
    derives names from it."""
    return existing_file(path, "model", " (train one with `thumbs train`)")


def load_model(path: str | Path, provider: str | None = None, fp16: bool = True,
               log: Callable[[str], None] = print) -> Backend:
    """The backend for a model file (by its suffix) or a served model (by its URL's scheme); `log` hears what the
    user must know while it loads (a TensorRT engine being built, which can take minutes) and which provider
    runs it, and why."""
    scheme = served_scheme(path)
    if scheme is None:
        path = existing_model(path)
    loader = LOADERS.get(scheme or Path(path).suffix.lower())
    if loader is None:
        raise ThumbsError(f"model '{path}': expected an .onnx file, a .pt checkpoint or a served model's URL "
                          "(grpc://HOST:PORT/NAME, http://HOST:PORT/NAME)")
    backend = loader(str(path) if scheme else path, provider, fp16, log)
    log(f"provider: {backend.why}")
    return backend


def exported_path(checkpoint: Path) -> Path:
    """The one name of a checkpoint's ONNX export: best.pt -> best.onnx, beside it."""
    return checkpoint.with_suffix(".onnx")


def exported_from(onnx_path: Path, checkpoint: Path) -> bool:
    """Whether `onnx_path` exists and was exported from this very checkpoint (by content, not time)."""
    if not (onnx_path.is_file() and checkpoint.is_file()):  # an .onnx given alone has no checkpoint beside it
        return False
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3
        # bytes, not the path: a name that is not UTF-8 cannot reach ONNX Runtime, and a FIFO must not block
        session = ort.InferenceSession(read_regular(onnx_path), options, providers=["CPUExecutionProvider"])
        recorded = session.get_modelmeta().custom_metadata_map.get(SOURCE_SHA_KEY)
    except Exception:  # an unreadable or foreign file is simply not this checkpoint's export
        return False
    return recorded == file_sha256(checkpoint)


def newest_model(runs: str | Path = "runs") -> Path:
    """The most recent run's model: its best.onnx when exported from its best.pt, else the best.pt."""
    runs = Path(runs)
    candidates = sorted(runs.glob("*/best.pt"), key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
    if not candidates:
        raise ThumbsError(f"no trained model found in {runs}/: train one with `thumbs train`, or pass --model PATH")
    onnx_path = exported_path(candidates[-1])
    return onnx_path if exported_from(onnx_path, candidates[-1]) else candidates[-1]
