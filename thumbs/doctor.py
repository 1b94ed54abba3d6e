"""`thumbs doctor`: what this machine can do for thumbs, checked rather than assumed."""

from __future__ import annotations

import importlib.util
import platform
import re

import cv2
import onnxruntime as ort

from thumbs import providers, sources, window


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


def report(probe_cameras: bool = True) -> list[tuple[str, str]]:
    usable = providers.usable_providers()
    rows = [
        ("python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("opencv", f"{cv2.__version__}; GUI {_opencv_gui()}; GStreamer {'yes' if sources.has_gstreamer() else 'no'}"),
        ("display", "yes" if window.display_available() else "none (use --headless)"),
        ("onnxruntime", f"{ort.__version__}; compiled in: "
                        + ", ".join(p.removesuffix("ExecutionProvider") for p in ort.get_available_providers())),
        ("usable providers", ", ".join(p.removesuffix("ExecutionProvider") for p in usable)
         + f" (live uses {usable[0].removesuffix('ExecutionProvider')})"),
        ("nvidia gpus", str(providers.cuda_device_count())),
        ("tensorrt", providers.tensorrt_version() or "not found"),
        ("torch", _torch()),
    ]
    if probe_cameras:
        found = cameras()
        rows.append(("cameras", ", ".join(map(str, found)) if found else "none opened (indices 0-3)"))
    return rows
