"""The two rules of the tree, read from it.

The installs: every module under thumbs/ outside thumbs/training/ is the live install (no torch, Python 3.8 on a
Jetson Nano); thumbs/training/ is the training install. tests/test_imports.py, tests/training/test_compat.py and
.ci/run (`python -m tests.layout` prints the files) all read it.

The layers (docs/architecture.md): core; beside each other on it sources (frames) and ONNX Runtime's providers
(runtime/providers.py, the bottom of the runtime, which the hand front end runs on too); hands on the providers;
data and runtime on hands; the settings on data and runtime; live on the settings and sources; the studio on
live; training beside live on the settings and sources; the commands on everything. A module
imports its own layer or one below it, never one above or beside it (tests/test_imports.py, lazy imports
included)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "thumbs"
TRAINING = "thumbs.training"
# What the live install has not got: the training extra's packages and the training package itself.
TRAINING_ONLY = ("torch", "torchvision", "onnx", "onnxscript", "matplotlib", TRAINING)


# The layers: each one's modules (packages or top-level modules), and the layers it builds on. A module imports
# its own layer and those below it; an import sideways (data -> runtime, training -> live) or up is an error.
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "root": (("thumbs",), ()),
    "core": (("thumbs.core",), ("root",)),
    "sources": (("thumbs.sources",), ("core",)),
    "providers": (("thumbs.runtime.providers",), ("core",)),
    "hands": (("thumbs.hands",), ("providers",)),
    "data": (("thumbs.data",), ("hands",)),
    "runtime": (("thumbs.runtime",), ("hands",)),
    "settings": (("thumbs.train_config", "thumbs.export_config"), ("data", "runtime")),
    "live": (("thumbs.live",), ("settings", "sources")),
    "studio": (("thumbs.studio",), ("live",)),
    "training": ((TRAINING,), ("settings", "sources")),
    "commands": (("thumbs.cli", "thumbs.__main__", "thumbs.evaluate", "thumbs.demo", "thumbs.doctor"),
                 ("studio", "training")),
}


def layer(module: str) -> str:
    """The layer of a module of the tree: that of its longest named prefix. A module no layer names is an error,
    so a new package must take its place in LAYERS."""
    parts = module.split(".")
    for n in range(len(parts), 0 if len(parts) == 1 else 1, -1):  # the root names only itself
        prefix = ".".join(parts[:n])
        for name, (modules, _) in LAYERS.items():
            if prefix in modules:
                return name
    raise KeyError(f"{module} is in no layer of tests/layout.py LAYERS: give it one")


def below(name: str) -> set[str]:
    """The layers under `name`: those it builds on, and theirs."""
    found: set[str] = set()
    todo = list(LAYERS[name][1])
    while todo:
        n = todo.pop()
        if n not in found:
            found.add(n)
            todo.extend(LAYERS[n][1])
    return found


def may_import(module: str, imported: str) -> bool:
    """Whether the layering lets `module` import `imported` (both modules of the tree)."""
    mine, theirs = layer(module), layer(imported)
    return theirs == mine or theirs in below(mine)


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
