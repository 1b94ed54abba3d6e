"""The live install as a Jetson Nano gets it: .venv38 (Python 3.8, onnxruntime 1.11.0, no torch), made by .ci/run.

Tests run the installed copy of thumbs there, not the tree: so it is also a check that `pip install .` ships every
live module. When the tree has changed since the install, `current()` reinstalls it offline (.ci/run put setuptools
and wheel in the venv for that)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.layout import PACKAGE, ROOT

VENV = ROOT / ".venv38"
PYTHON = VENV / "bin" / "python"
PY = (3, 8)  # the newest Python JetPack 4.6 can run (its own is 3.6)
ORT = "1.11.0"  # the Nano's onnxruntime: the last Jetson Zoo wheel for JetPack 4.6
PROBE = """
import importlib.util, json, sys, onnxruntime, thumbs
print(json.dumps({"python": sys.version_info[:2], "onnxruntime": onnxruntime.__version__,
                  "torch": importlib.util.find_spec("torch") is not None, "thumbs": thumbs.__file__}))
"""


def env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH (the installed copy runs), no display."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY")} | {"COLUMNS": "200"}


def describe() -> dict:
    """What .venv38 really is, asked of its own Python from a folder outside the tree."""
    with tempfile.TemporaryDirectory() as cwd:
        run = subprocess.run([str(PYTHON), "-c", PROBE], capture_output=True, text=True, cwd=cwd, env=env(),
                             timeout=120)
    if run.returncode:
        raise RuntimeError(f"{PYTHON} cannot import onnxruntime and thumbs: {run.stderr.strip()[-500:]}")
    return json.loads(run.stdout)


def problems(found: dict) -> list[str]:
    """Why the venv is not the Nano's live install (empty when it is)."""
    wrong = []
    if tuple(found["python"]) != PY:
        wrong.append(f"Python {'.'.join(map(str, found['python']))}, not {'.'.join(map(str, PY))}")
    if found["onnxruntime"] != ORT:
        wrong.append(f"onnxruntime {found['onnxruntime']}, not {ORT}")
    if found["torch"]:
        wrong.append("torch is installed (the live install has none)")
    if Path(found["thumbs"]).resolve().is_relative_to(ROOT / "thumbs"):
        wrong.append(f"thumbs is imported from the tree ({found['thumbs']}), not installed")
    return wrong


def _sources(package: Path) -> dict[str, bytes]:
    return {str(p.relative_to(package)): p.read_bytes() for p in package.rglob("*.py")}


def stale(found: dict) -> bool:
    """Whether the installed copy differs from the tree's thumbs/ (a changed, added or removed module)."""
    return _sources(Path(found["thumbs"]).parent) != _sources(PACKAGE)


def reinstall() -> None:
    """`pip install --no-deps .` of the tree as it is now, offline, from a clean copy (no stale build/ folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "thumbs-src"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, copy / name)
        shutil.copytree(PACKAGE, copy / "thumbs", ignore=shutil.ignore_patterns("__pycache__"))
        run = subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "--no-deps", "--no-build-isolation", "--no-index", "--force-reinstall", str(copy)],
                             capture_output=True, text=True, env=env(), timeout=300)
    if run.returncode:
        raise RuntimeError(f"could not reinstall thumbs into {VENV} (run .ci/run): {run.stderr.strip()[-500:]}")
