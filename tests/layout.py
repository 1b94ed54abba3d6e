"""The one rule for the two installs, read from the tree: every module under thumbs/ outside thumbs/training/ is
the live install (no torch, Python 3.8 on a Jetson Nano); thumbs/training/ is the training install.

tests/test_imports.py, tests/training/test_compat.py and .ci/run (`python -m tests.layout` prints the files)
all read it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "thumbs"
TRAINING = "thumbs.training"
# What the live install has not got: the training extra's packages and the training package itself.
TRAINING_ONLY = ("torch", "torchvision", "onnx", "onnxscript", "matplotlib", TRAINING)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_training(module: str) -> bool:
    return module == TRAINING or module.startswith(TRAINING + ".")


def live_modules() -> dict[str, Path]:
    return {m: p for m, p in all_modules().items() if not is_training(m)}


def needs_training(imported: str) -> bool:
    return any(imported == t or imported.startswith(t + ".") for t in TRAINING_ONLY)


if __name__ == "__main__":
    print(" ".join(str(p.relative_to(ROOT)) for p in live_modules().values()))
