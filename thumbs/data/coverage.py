"""What the data set holds per class (frames, recording sessions) and what to record next: `thumbs collect` and
the studio say it after each save, so the data covers what the model will meet live."""

from __future__ import annotations

from pathlib import Path

from thumbs.data import dataset
from thumbs.data.datacheck import MIN_PER_CLASS as MIN_FRAMES

# What to change from one recording session to the next, in this order: the model should meet every one.
VARY = ("distance: some nearer, some farther from the camera", "position: the hand left, right, high and low in "
        "the frame", "lighting: another lamp, daylight or a dimmer room", "background: another room or wall",
        "the other hand")
# The same for the class of "no gesture": across people, the frames a model gets wrong are the kinds of 'none'
# it never saw (an empty room when it learnt fists and palms, and the other way round; docs/results.md).
BACKGROUND_VARY = ("the empty scene: nobody in view", "you in view with no gesture: hands down, resting, moving",
                   "other hand shapes: open palm, fist, pointing, waving", "lighting: another lamp, daylight or a "
                   "dimmer room", "background: another room or wall")


def class_counts(data_root: Path) -> dict[str, int]:
    """Frames per class folder; nothing for a data folder not made yet."""
    root = Path(data_root)
    return {k: len(v) for k, v in dataset.scan(root).items()} if root.is_dir() else {}


def class_sessions(data_root: Path) -> dict[str, int]:
    """Recording sessions per class (dataset.sessions_per_class)."""
    root = Path(data_root)
    return dataset.sessions_per_class(dataset.samples(root)) if root.is_dir() else {}


def suggestion(label: str, frames: int, sessions: int) -> str:
    """One line on what to record next for `label`, so the data covers what the model will meet live."""
    background = label.lower() in dataset.BACKGROUND_NAMES
    vary = BACKGROUND_VARY if background else VARY
    if frames < MIN_FRAMES:
        what = ("a mix of the empty scene, you with no gesture and other hand shapes (palm, fist, pointing)"
                if background else "moving the hand a little")
        return f"keep going: {MIN_FRAMES}+ frames of '{label}' (100+ is better), {what}"
    if sessions <= 1:
        return f"next session of '{label}' (another day, room or light); vary {vary[0]}"
    return f"session {sessions + 1} of '{label}': vary {vary[(sessions - 1) % len(vary)]}"
