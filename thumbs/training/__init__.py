"""The training install (needs torch, Python 3.9+): models, data on the training device, the trainer,
checkpoints, reports, ONNX export and the PyTorch backend. Nothing outside this package imports it at module level:
the live install (everything else under thumbs/) stays torch-free, and Python 3.8 code.

Importing it registers the .pt loader in the runtime's suffix table (the runtime never imports training). This
file stays light and Python 3.8 code: `thumbs eval` imports it on the live install too, where a .pt then gets the
runtime's line "PyTorch is not installed"."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

from thumbs.core.backend import Backend
from thumbs.core.torch_file import check_torch_file
from thumbs.runtime.loader import TORCH_SUFFIXES, needs_pytorch, register_loader

UNREADABLE = "cannot be read; is the file complete?"  # a checkpoint PyTorch cannot read (checkpoint.load)


def _torch_backend(path: Path, provider: str | None, fp16: bool, log: Callable[[str], None]) -> Backend:
    """PyTorch loads with the first .pt, not with this package; a file that is no PyTorch file at all (empty, cut
    short, text) is refused before it loads, in a moment instead of seconds."""
    if importlib.util.find_spec("torch") is not None:
        check_torch_file(path)
    try:
        from thumbs.training.torch_backend import TorchBackend
    except ImportError:
        return needs_pytorch(path)
    return TorchBackend(path, provider)


register_loader(TORCH_SUFFIXES, _torch_backend)
