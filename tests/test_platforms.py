"""What the install claims per platform, read from pyproject.toml: ONNX Runtime's GPU wheel only where the tests
run it (x86-64 Linux), the plain one everywhere else, and never both or neither. Windows is not claimed: the live
install uses fcntl and os.fchmod (README "Install")."""

from __future__ import annotations

import pytest
import tomllib
from packaging.requirements import Requirement

from tests.layout import ROOT

PLATFORMS = {  # (sys_platform, platform_machine) -> the ONNX Runtime package it gets
    ("linux", "x86_64"): "onnxruntime-gpu",
    ("linux", "aarch64"): "onnxruntime",
    ("darwin", "arm64"): "onnxruntime",
    ("darwin", "x86_64"): "onnxruntime",
    ("win32", "AMD64"): "onnxruntime",
}


def runtimes(sys_platform: str, machine: str) -> list[str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = {"sys_platform": sys_platform, "platform_machine": machine, "platform_system": "", "python_version": "3.11"}
    found = [Requirement(d) for d in deps]
    return [r.name for r in found if r.name.startswith("onnxruntime") and (r.marker is None or r.marker.evaluate(env))]


@pytest.mark.parametrize(("where", "wanted"), PLATFORMS.items(), ids=["-".join(p) for p in PLATFORMS])
def test_each_platform_gets_one_onnx_runtime(where, wanted):
    assert runtimes(*where) == [wanted]


def test_the_live_install_is_posix_as_the_readme_says():
    """The two calls that keep Windows out: if they go, the README's platform line must change too."""
    assert "import fcntl" in (ROOT / "thumbs" / "live" / "recorder.py").read_text()
    assert "os.fchmod(" in (ROOT / "thumbs" / "core" / "files.py").read_text()
    assert "Windows is not supported" in (ROOT / "README.md").read_text()
