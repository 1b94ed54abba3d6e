"""What a file that torch.save wrote looks like, told without PyTorch: importing it takes seconds, and a file that
is empty, cut short, text or an ONNX model is refused in a moment instead (checkpoints, --weights, --resume, --from).

torch.save writes a zip archive holding `<name>/data.pkl` (since PyTorch 1.6); older files are one pickle
stream, which begins with the pickle protocol's byte 0x80. A zip cut short has lost its central directory at the
end, so `zipfile` no longer opens it."""

from __future__ import annotations

import zipfile
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file

PICKLE_START = b"\x80"  # the PROTO opcode: how the pre-zip format (and any pickle of protocol 2 or later) begins
ONNX_SUFFIX = ".onnx"
GIVE = ": give a run's best.pt or last.pt"


def check_torch_file(path: str | Path, what: str = "checkpoint", hint: str = "") -> Path:
    """`path` when it can be a file torch.save wrote; else one line that says what it is instead."""
    path = existing_file(path, what, hint)
    with open(path, "rb") as f:
        start = f.read(12)
    if not start:
        raise ThumbsError(f"{what} '{path}' is empty (0 bytes): was it copied while being written? Copy it again"
                          f"{hint}")
    if start.startswith(PICKLE_START):
        return path
    if start.startswith(b"PK"):
        if _holds_pickle(path):
            return path
        raise ThumbsError(f"{what} '{path}' is incomplete or damaged (a zip without the data torch.save writes): "
                          f"was it copied while being written? Copy it again{hint}")
    if path.suffix.lower() == ONNX_SUFFIX:
        raise ThumbsError(f"{what} '{path}' is an ONNX model, not a PyTorch checkpoint: give the .pt it was "
                          f"exported from (e.g. runs/X/best.pt){hint}")
    shown = "".join(c if c.isprintable() else "." for c in start.decode("latin-1"))
    raise ThumbsError(f"{what} '{path}' is not a file torch.save wrote (it begins '{shown}'){hint or GIVE}")


def _holds_pickle(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(name.endswith("data.pkl") for name in z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False

