"""What `thumbs studio` is asked to do, and every reason it could not, said before the window opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file
from thumbs.core.outputs import check_queue
from thumbs.data import dataset
from thumbs.live.loop import EMPTY_EVENTS, check_events
from thumbs.sources.readers import SourceSpec
from thumbs.train_config import TrainConfig, check_settings

MAX_CLASSES = 9  # one digit key each


@dataclass
class StudioOptions:
    classes: list[str]
    data: Path = Path("dataset")
    train: dict = field(default_factory=dict)  # TrainConfig fields of the first training (train's options)
    start_from: Path | None = None  # a model to start with: RUN/best.pt (retrained by t) or an .onnx
    events: str | None = None  # JSON Lines path, or "-" for stdout
    interval: float = 0.2  # seconds between the saves of an automatic burst
    captures: Path = Path("captures")  # the review queue that c fills
    threshold: float = 0.6
    smooth: int = 5
    provider: str = "auto"


def check_classes(classes: list[str]) -> list[str]:
    """--classes: 2 to 9 distinct, valid class names (each has a digit key)."""
    names = [c.strip() for c in classes if c.strip()]
    for name in names:
        dataset.validate_label(name)
    if len({n.casefold() for n in names}) != len(names):
        raise ThumbsError(f"--classes '{','.join(classes)}' names a class twice (up and UP are one folder on "
                          "Windows and macOS): give each class once")
    if not 2 <= len(names) <= MAX_CLASSES:
        raise ThumbsError(f"--classes '{','.join(classes)}': give 2 to {MAX_CLASSES} classes (keys 1-9), "
                          "e.g. up,down,none")
    return names


def check_paths(opts: StudioOptions, source: SourceSpec | None = None) -> None:
    """What would fail or mix files up, said before the window opens (the review queue: as live's --capture)."""
    if opts.data.exists() and not opts.data.is_dir():
        raise ThumbsError(f"--data '{opts.data}' is a file: give a folder (one sub-folder per class)")
    check_queue(opts.captures, "--captures", opts.data, source.paths if source else ())
    if opts.start_from is not None:
        existing_file(opts.start_from, "--from", ": give a run's best.pt (or an exported .onnx)")
    if opts.events == "":
        raise ThumbsError(EMPTY_EVENTS)
    if opts.events and opts.events != "-":
        check_events(Path(opts.events))
    check_settings(TrainConfig(**{**opts.train, "data": str(opts.data)}))  # the first training's, as train's
