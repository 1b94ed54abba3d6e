"""The data set on disk: class folders of images, safe labels, unique session-stamped file names,
and the train/validation split that stays put as the data set grows."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from thumbs.errors import DataError
from thumbs.files import encode_jpeg, write_new
from thumbs.sources import IMAGE_EXTS

LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SESSION_RE = re.compile(r"(s\d{8}-\d{6}-[0-9a-f]{4})_(\d+)")
BACKGROUND_NAMES = {"none", "background", "nothing", "other", "no_gesture", "empty"}
VAL_FRACTION = 0.2
# Frames of one session are split in runs of this many consecutive frames, each run wholly on one side:
# near-duplicate neighbours never straddle the split, yet a class recorded in a single session still
# gets validation frames.
RUN_LENGTH = 30


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str


def validate_label(label: str) -> str:
    """A label becomes a folder name, so only plain names are allowed (no paths, no dot-dot)."""
    if not LABEL_RE.fullmatch(label or "") or ".." in label:
        raise DataError(
            f"label '{label}' is not a safe folder name: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. up, thumbs_down, none)"
        )
    return label


def new_session_id(now: datetime | None = None) -> str:
    """Time-ordered and unique across runs and machines: sYYYYMMDD-HHMMSS-xxxx."""
    now = now or datetime.now()
    return f"s{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def frame_name(session: str, seq: int) -> str:
    return f"{session}_{seq:06d}.jpg"


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def class_names(root: str | Path) -> list[str]:
    """Class folders under root, sorted; hidden and underscore folders are not classes."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder '{root}' does not exist: record frames with `thumbs collect --label NAME`")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def class_images(root: str | Path, label: str) -> list[Path]:
    return sorted(p for p in (Path(root) / label).iterdir() if is_image(p))


def scan(root: str | Path) -> dict[str, list[Path]]:
    """Every class with its image files (possibly none), in class-name order."""
    return {name: class_images(root, name) for name in class_names(root)}


def split_group(path: Path) -> str:
    """Which frames must land on the same side: a run of one capture session, else the file itself."""
    m = SESSION_RE.fullmatch(path.stem)
    if m:
        return f"{m.group(1)}#{int(m.group(2)) // RUN_LENGTH}"
    return f"{path.parent.name}/{path.name}"


def is_validation(path: Path, val_fraction: float = VAL_FRACTION) -> bool:
    """Decided by a hash of the split group, so adding files never moves an existing one."""
    digest = hashlib.sha1(split_group(path).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_fraction


def split(samples: list[Sample], val_fraction: float = VAL_FRACTION) -> tuple[list[Sample], list[Sample]]:
    train = [s for s in samples if not is_validation(s.path, val_fraction)]
    val = [s for s in samples if is_validation(s.path, val_fraction)]
    return train, val


def samples(root: str | Path) -> list[Sample]:
    return [Sample(p, label) for label, paths in scan(root).items() for p in paths]


def next_free_seq(folder: Path, session: str) -> int:
    """Continue a session's numbering after whatever is already on disk."""
    seqs = [int(m.group(2)) for p in folder.glob(f"{session}_*.jpg") if (m := SESSION_RE.fullmatch(p.stem))]
    return max(seqs, default=0) + 1


class Saver:
    """Writes one session's frames under unique, time-ordered names."""

    def __init__(self, data_root: Path, label: str, size: tuple[int, int] | None) -> None:
        self.folder = Path(data_root) / validate_label(label)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.session = new_session_id()
        self.seq = next_free_seq(self.folder, self.session)
        self.size = size

    def save(self, image: np.ndarray) -> Path:
        if self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        data = encode_jpeg(image)
        while True:
            path = self.folder / frame_name(self.session, self.seq)
            self.seq += 1
            try:
                return write_new(path, data)
            except FileExistsError:
                continue
