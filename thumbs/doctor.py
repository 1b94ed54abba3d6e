"""`thumbs doctor`: what this machine can do for thumbs, checked rather than assumed."""

from __future__ import annotations

import importlib.util
import platform
import re
from pathlib import Path

import cv2
import onnxruntime as ort

from thumbs.core.errors import ThumbsError
from thumbs.core.files import read_regular
from thumbs.live import window
from thumbs.runtime import providers
from thumbs.sources import readers as sources

TEGRA_RELEASE = Path("/etc/nv_tegra_release")
JETPACK = {(32, 4): "4.4.x", (32, 5): "4.5.x", (32, 6): "4.6", (32, 7): "4.6.x", 35: "5.x", 36: "6.x"}
# The newest ONNX opset each runtime takes: ONNX Runtime's compatibility table, onnx-tensorrt's docs/operators.md.
ORT_MAX_OPSET = {(1, 11): 16, (1, 12): 17, (1, 13): 17, (1, 14): 18, (1, 15): 19, (1, 16): 19, (1, 17): 20,
                 (1, 18): 21, (1, 19): 21, (1, 20): 21}
TRT_MAX_OPSET = {(8, 0): 13, (8, 2): 13, (8, 4): 13, (8, 5): 17, (8, 6): 17, 10: 20}


def jetson_release(path: Path = TEGRA_RELEASE) -> str | None:
    """'L4T R32.7.1 (JetPack 4.6.x)' from /etc/nv_tegra_release, or None when this is not a Jetson."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?", text)
    if not m:
        return f"a Jetson, but {path} is not in the expected form: {text.strip()[:80]}"
    major, minor, patch = int(m.group(1)), int(m.group(2)), m.group(3)
    jetpack = JETPACK.get((major, minor)) or JETPACK.get(major) or "unknown"
    return f"L4T R{major}.{minor}{'.' + patch if patch else ''} (JetPack {jetpack})"


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def model_opset(data: bytes) -> int | None:
    """The default-domain opset of an ONNX model, read from its protobuf without the onnx package (live-only
    installs have none): ModelProto field 8 is opset_import {1: domain, 2: version}."""
    i, opset = 0, None
    while i < len(data):
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            if field == 8:
                opset = _opset_entry(data[i:i + length]) or opset
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            return opset
    return opset


def _opset_entry(data: bytes) -> int | None:
    i, domain, version = 0, "", None
    while i < len(data):
        key, i = _varint(data, i)
        if key & 7 == 2:
            length, i = _varint(data, i)
            domain = data[i:i + length].decode(errors="replace") if key >> 3 == 1 else domain
            i += length
        else:
            value, i = _varint(data, i)
            version = value if key >> 3 == 2 else version
    return version if domain in ("", "ai.onnx") else None


def _max_opset(table: dict, version: str | None) -> int | None:
    m = re.match(r"(\d+)\.(\d+)", version or "")
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    return table.get((major, minor)) or table.get(major)


def check_model_file(path: Path) -> None:
    """A file doctor cannot read an opset from (empty, text, a checkpoint, cut short) is refused before the report:
    one line and exit code 1, in a moment."""
    try:
        opset = model_opset(read_regular(path))
    except (OSError, IndexError):
        opset = None
    if opset is None:
        raise ThumbsError(f"--model '{path}' is not a whole ONNX model (no opset found): give an .onnx file from "
                          "`thumbs export`")


def model_fit(path: Path, ort_version: str, trt_version: str | None) -> str:
    """Whether a model's opset suits this ONNX Runtime and TensorRT, and what to do when it does not."""
    try:
        opset = model_opset(read_regular(path))  # a FIFO is refused, not waited on
    except (OSError, IndexError):
        return f"cannot read {path} as an ONNX model"
    if opset is None:
        return f"{path}: no ONNX opset found (is it an .onnx file?)"
    notes = []
    for name, table, version in (("onnxruntime", ORT_MAX_OPSET, ort_version), ("TensorRT", TRT_MAX_OPSET, trt_version)):
        limit = _max_opset(table, version)
        if version is None or limit is None:
            continue
        ok = opset <= limit
        notes.append(f"{name} {version} takes up to {limit}: {'ok' if ok else 'too new'}")
    advice = "" if all(n.endswith("ok") for n in notes) else "; re-export with `thumbs export --opset 13`"
    return f"opset {opset}; " + ("; ".join(notes) or "no known opset limit for these versions") + advice


def _opencv_gui() -> str:
    m = re.search(r"GUI:\s+(\S+)", cv2.getBuildInformation())
    return m.group(1) if m else "NONE"


def _torch() -> str:
    if importlib.util.find_spec("torch") is None:
        return "not installed (live-only install; training needs pip install 'thumbs[train]')"
    import torch

    cuda = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s) usable" if torch.cuda.is_available() \
        else "CPU only here"
    return f"{torch.__version__} ({cuda})"


def cameras(max_index: int = 4) -> list[int]:
    found = []
    for i in range(max_index):
        try:
            with sources.open_source(i):
                found.append(i)
        except sources.SourceError:
            pass
    return found


def _gpu_providers(usable: list[str]) -> str:
    """Each GPU provider's state, naming the missing driver or library when it cannot run."""
    states = {p: "usable" if p in usable else f"not usable: {providers.unavailable_reason(p) or 'unknown reason'}"
              for p in providers.ORDER[:2]}
    if len(set(states.values())) == 1:
        return f"TensorRT, CUDA {states[providers.ORDER[0]]}"
    return "; ".join(f"{providers.short(p)} {state}" for p, state in states.items())


def _live_choice(usable: list[str]) -> str:
    if len(usable) == 1:
        return f" (live uses {providers.short(usable[0])})"
    return " (live --provider auto times each at start and keeps the fastest; --model PATH shows which)"


LIVE_ROW = "live would use"
CANNOT_LOAD = "cannot load"  # how the LIVE_ROW of a model live could not run begins


def _live_provider(model: Path) -> str:
    """The provider `live --provider auto` picks for this model, measured the same way."""
    if not Path(model).is_file():  # ONNX Runtime would wait for ever on a FIFO
        return f"{CANNOT_LOAD} {model}: not a model file"
    try:
        _, why = providers.choose_session(model, "auto", log=lambda m: None)
    except Exception as e:  # doctor reports, it does not stop
        return f"{CANNOT_LOAD} {model}: {e}"
    return why


def unusable_model(rows: list[tuple[str, str]]) -> str | None:
    """Why live could not run the model the report was asked about (None when it could, or none was asked):
    `thumbs doctor --model` then ends with exit code 1, so a script can tell."""
    used = dict(rows).get(LIVE_ROW, "")
    return used if used.startswith(CANNOT_LOAD) else None


def hand_front_end(models: Path | None = None) -> str:
    """The hand front end's model files (hand models need them): present, and whether their opset fits here."""
    from thumbs.hands.frontend import MODELS, model_files

    try:
        paths = model_files(models or MODELS)
    except ThumbsError as e:
        return str(e)
    fits = sorted({model_fit(p, ort.__version__, providers.tensorrt_version()) for p in paths})
    return f"{', '.join(p.name for p in paths)}; " + "; ".join(fits)


def report(probe_cameras: bool = True, model: Path | None = None,
           tegra_release: Path = TEGRA_RELEASE) -> list[tuple[str, str]]:
    usable = providers.usable_providers()
    jetson = jetson_release(tegra_release)
    rows = [
        ("python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("opencv", f"{cv2.__version__}; GUI {_opencv_gui()}; GStreamer {'yes' if sources.has_gstreamer() else 'no'}"),
        ("display", "yes" if window.display_available() else "none (use --headless)"),
        ("onnxruntime", f"{ort.__version__}; compiled in: "
                        + ", ".join(providers.short(p) for p in ort.get_available_providers())),
        ("usable providers", ", ".join(providers.short(p) for p in usable) + _live_choice(usable)),
        ("gpu providers", _gpu_providers(usable)),
        ("nvidia gpus", str(providers.cuda_device_count())),
        ("tensorrt", providers.tensorrt_version() or "not found"),
        ("torch", _torch()),
        ("hand front end", hand_front_end()),
    ]
    if jetson:
        rows.insert(1, ("jetson", jetson))
    if model is not None:
        rows.append(("model", model_fit(model, ort.__version__, providers.tensorrt_version())))
        rows.append((LIVE_ROW, _live_provider(model)))
    if probe_cameras:
        found = cameras()
        rows.append(("cameras", ", ".join(map(str, found)) if found else "none opened (indices 0-3)"))
    return rows
