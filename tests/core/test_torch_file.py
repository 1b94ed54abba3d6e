"""core/torch_file.py: the glance that tells a file torch.save wrote from one it did not, checked against files
PyTorch itself writes (today's zip and the old pickle stream) and the ways a checkpoint arrives broken."""

from __future__ import annotations

import pickle
import re

import pytest
import torch

from thumbs.core.errors import ThumbsError
from thumbs.core.torch_file import check_torch_file


@pytest.mark.parametrize("zip_format", [True, False])
def test_what_torch_save_writes_passes(tmp_path, zip_format):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.ones(3)}, path, _use_new_zipfile_serialization=zip_format)
    assert check_torch_file(path) == path


def _saved(tmp_path) -> bytes:
    torch.save({"w": torch.ones(1000)}, tmp_path / "whole.pt")
    return (tmp_path / "whole.pt").read_bytes()


@pytest.mark.parametrize("name, content, says", [
    ("empty.pt", lambda whole: b"", "is empty (0 bytes)"),
    ("cut.pt", lambda whole: whole[: len(whole) // 2], "is incomplete or damaged"),
    ("text.pt", lambda whole: b"hello, I am text\n", "is not a file torch.save wrote (it begins 'hello, I am ')"),
    ("best.onnx", lambda whole: b"\x08\x07\x12\x07pytorch", "is an ONNX model, not a PyTorch checkpoint"),
])
def test_a_broken_or_foreign_file_is_one_line(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content(_saved(tmp_path)))
    with pytest.raises(ThumbsError, match=re.escape(says)):
        check_torch_file(path, "checkpoint")
    with pytest.raises((RuntimeError, EOFError, pickle.UnpicklingError, KeyError)):  # PyTorch cannot load it either
        torch.load(path, weights_only=True)


def test_a_folder_or_fifo_is_refused_without_reading(tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo.pt")
    for path, says in ((tmp_path, "is a folder"), (tmp_path / "fifo.pt", "not a regular file")):
        with pytest.raises(ThumbsError, match=says):
            check_torch_file(path, "weights file")
