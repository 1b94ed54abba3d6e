"""The data set on disk: class folders of images, safe labels, unique session-stamped file names,
recording sessions, and the train/validation split that stays put as the data set grows.

Where images are found (one rule for `thumbs data`, training and eval): DATA/<class>/*.jpg and one level
of sub-folders, DATA/<class>/<session>/*.jpg; deeper folders and hidden or `_`-prefixed ones are ignored.

A frame's recording session: the sub-folder it sits in (a name shared across classes: `kitchen` under up
and under down is one session), else the session stamp `collect` put in its file name, else one session
per class folder for loose copied-in photos."""

from __future__ import annotations

import errno
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from thumbs.core.errors import DataError
from thumbs.core.files import IMAGE_EXTS, encode_jpeg, is_utf8, write_new
from thumbs.core.metrics import CAPTURE_PREFIX

LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SESSION_RE = re.compile(r"(s\d{8}-\d{6}-[0-9a-f]{4})_(\d+)")
BACKGROUND_NAMES = {"none", "background", "nothing", "other", "no_gesture", "empty"}
VAL_FRACTION = 0.2
# Inside a training session, frames are held out in runs of this many consecutive frames, each run wholly
# on one side: near-duplicate neighbours never straddle the split (the "same session" validation part).
RUN_LENGTH = 30
# Frames of a capture session (the place a model failed: `live --capture`, then `review`) train, except the
# latest share of each class in capture order (at least one frame of a class with CAPTURE_MIN_HELD_OUT or
# more), held out as the "captured place" score: learn from the place, measure it on what came after. Every
# captured class is scored, so the headline tells the classes apart even from ~20 labelled frames.
CAPTURE_HELD_OUT = 0.3
CAPTURE_MIN_HELD_OUT = 3  # a class with fewer captured frames trains on all of them
MAX_HELD_OUT = 0.5  # whole sessions held out never take more than this share of a class's frames
# Names Windows refuses for a file or folder, whatever the extension.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    session: str = ""


def validate_label(label: str) -> str:
    """A label becomes a folder name on every supported system, so only plain, portable names pass."""
    if not LABEL_RE.fullmatch(label or "") or ".." in label:
        raise DataError(
            f"label '{label}' is not a safe folder name: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. up, thumbs_down, none)"
        )
    if label.endswith(".") or label.split(".")[0].upper() in WINDOWS_RESERVED:
        raise DataError(f"label '{label}' is not a safe folder name: Windows reserves it (CON, PRN, AUX, NUL, "
                        "COM0-9, LPT0-9, or a trailing dot); pick another name, e.g. up, thumbs_down, none")
    return label


def check_class_name(root: str | Path, name: str) -> str:
    """A class folder that training would make a class: the same rule as `collect --label` (validate_label), since
    its name becomes the model's label, one line of its labels file (a newline in it would make two)."""
    try:
        return validate_label(name)
    except DataError:
        raise DataError(f"class folder {str(Path(root) / name)!r} cannot be a class: its name becomes the model's "
                        "label; rename it to letters, digits, '_', '-' or '.' (e.g. up, thumbs_down, none), as "
                        "`thumbs collect --label` requires") from None


def new_session_id(now: datetime | None = None) -> str:
    """Time-ordered and unique across runs and machines: sYYYYMMDD-HHMMSS-xxxx."""
    now = now or datetime.now()
    return f"s{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def frame_name(session: str, seq: int) -> str:
    return f"{session}_{seq:06d}.jpg"


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def _listdir(folder: Path) -> list[Path]:
    """A folder's entries, with one clear error where it cannot be read."""
    try:
        return list(folder.iterdir())
    except PermissionError:
        raise DataError(f"cannot read folder '{folder}' (permission denied): give yourself read access "
                        f"(chmod u+rx '{folder}') or move it out of the data folder") from None
    except OSError as e:
        raise DataError(f"cannot read folder '{folder}' ({e.strerror or e}): check the disk or move it away") from None


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


def class_names(root: str | Path) -> list[str]:
    """Class folders under root, sorted; hidden and underscore folders are not classes."""
    root = Path(root)
    if root.is_file():
        raise DataError(f"data folder '{root}' is a file, not a folder: pass the folder that holds one "
                        "sub-folder per class (e.g. --data dataset)")
    if not root.is_dir():
        raise DataError(f"data folder '{root}' does not exist: record frames with `thumbs collect --label NAME`")
    names = sorted(p.name for p in _listdir(root) if p.is_dir() and _visible(p))
    for name in names:
        if not is_utf8(name):
            raise DataError(f"class folder '{root / name}' has a name that is not UTF-8 text (written by an old "
                            "camera or another system): rename it, e.g. to up, down or none; a class name "
                            "becomes the model's label")
    return names


def check_class_count(root: str | Path, names: list[str]) -> None:
    """A classifier needs two classes or more: the one wording, before training and while preparing it."""
    if not names:
        raise DataError(f"'{root}' has no class folders: record some with `thumbs collect --label NAME`")
    if len(names) < 2:
        raise DataError(f"'{root}' has one class ({names[0]}): a classifier needs at least two class folders")


def no_images(root: str | Path, label: str) -> DataError:
    """The one wording of a class folder with no images (checked before training and while preparing it)."""
    return DataError(f"class '{label}' in '{root}' has no images: record some or remove the folder")


def class_images(root: str | Path, label: str) -> list[Path]:
    """Images of one class: the class folder's own and those one sub-folder (a session) down."""
    images = []
    for entry in _listdir(Path(root) / label):
        if entry.is_dir() and _visible(entry):
            images += [p for p in _listdir(entry) if is_image(p)]
        elif is_image(entry):
            images.append(entry)
    return sorted(images)


def scan(root: str | Path) -> dict[str, list[Path]]:
    """Every class with its image files (possibly none), in class-name order."""
    return {name: class_images(root, name) for name in class_names(root)}


def session_of(path: Path, class_dir: Path) -> str:
    """The recording session of an image found in `class_dir` (see the module docstring)."""
    if path.parent != class_dir:  # DATA/<class>/<session>/image
        return path.parent.name
    m = SESSION_RE.fullmatch(path.stem)
    if m:
        return m.group(1)
    return f"{class_dir.name}/"  # loose photos of one class folder: one session


def samples(root: str | Path, scanned: dict[str, list[Path]] | None = None) -> list[Sample]:
    """Every image with its class and recording session (from `scanned` when the caller has scanned)."""
    scanned = scan(root) if scanned is None else scanned
    return [Sample(p, label, session_of(p, Path(root) / label)) for label, paths in scanned.items() for p in paths]


def split_group(path: Path) -> str:
    """Which frames of a session land on the same side: a run of a stamped session, else the file itself."""
    m = SESSION_RE.fullmatch(path.stem)
    if m:
        return f"{m.group(1)}#{int(m.group(2)) // RUN_LENGTH}"
    return f"{path.parent.name}/{path.name}"


def _unit_hash(text: str) -> float:
    """A name's place in [0, 1); a file name that is not UTF-8 hashes as its own bytes (surrogateescape)."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8", "surrogateescape")).digest()[:8], "big") / 2**64


def is_validation(path: Path, val_fraction: float = VAL_FRACTION) -> bool:
    """A held-out run inside a session; decided by a hash, so adding files never moves an existing one."""
    return _unit_hash(split_group(path)) < val_fraction


@dataclass
class Split:
    """Training frames and two validation parts: `new` holds whole sessions training never sees (it predicts
    tomorrow), `same` holds runs of frames from training sessions (optimistic: same room, light, hand).
    Where the data holds capture sessions, `new` is their later frames instead (see split())."""

    train: list[Sample]
    same: list[Sample]
    new: list[Sample]

    @property
    def val(self) -> list[Sample]:
        return self.new + self.same

    @property
    def new_sessions(self) -> set[str]:
        return {s.session for s in self.new}


def validation_sessions(samples: list[Sample], val_fraction: float = VAL_FRACTION) -> set[str]:
    """Sessions held out whole, never more than MAX_HELD_OUT of any class's frames (training needs them).
    A session whose name hashes below val_fraction is held out when it fits (stable as data grows); a class
    with two or more sessions and none held out then lends its smallest session that fits."""
    frames: dict[tuple[str, str], int] = {}
    for s in samples:
        frames[(s.label, s.session)] = frames.get((s.label, s.session), 0) + 1
    by_class: dict[str, set[str]] = {}
    classes_of: dict[str, set[str]] = {}
    for label, sess in frames:
        by_class.setdefault(label, set()).add(sess)
        classes_of.setdefault(sess, set()).add(label)
    total = {label: sum(frames[(label, s)] for s in sessions) for label, sessions in by_class.items()}

    def fits(held: set[str], candidate: str) -> bool:
        return all(sum(frames[(c, s)] for s in by_class[c] & (held | {candidate})) <= MAX_HELD_OUT * total[c]
                   for c in classes_of[candidate])

    held: set[str] = set()
    for sess in sorted((s for s in classes_of if _unit_hash(s) < val_fraction), key=_unit_hash):
        if fits(held, sess):
            held.add(sess)
    for _, sessions in sorted(by_class.items()):
        if len(sessions) < 2 or sessions & held:
            continue
        size = {s: sum(frames.get((c, s), 0) for c in classes_of[s]) for s in sessions}
        for candidate in sorted(sessions, key=lambda sess: (size[sess], _unit_hash(sess))):
            if fits(held, candidate):
                held.add(candidate)
                break
    return held


def is_capture(session: str) -> bool:
    return session.startswith(CAPTURE_PREFIX)


def capture_held_out(samples: list[Sample]) -> set[Path]:
    """The later CAPTURE_HELD_OUT of each class's frames in each capture session, in capture order (the
    frame names carry the live run's stamp and frame number, so name order is time order)."""
    groups: dict[tuple[str, str], list[Sample]] = {}
    for s in samples:
        if is_capture(s.session):
            groups.setdefault((s.label, s.session), []).append(s)
    held: set[Path] = set()
    for group in groups.values():
        later = max(1, round(len(group) * CAPTURE_HELD_OUT)) if len(group) >= CAPTURE_MIN_HELD_OUT else 0
        if later:
            held |= {s.path for s in sorted(group, key=lambda s: s.path.name)[-later:]}
    return held


def split(samples: list[Sample], val_fraction: float = VAL_FRACTION) -> Split:
    """Whole sessions to `new`, held-out runs of the remaining sessions to `same`, the rest to training;
    every class keeps training frames. With capture sessions present, a retrain is for that place: every
    other session trains (its held-out runs still go to `same`), the captures train on their earlier frames,
    and their later frames are `new`, the headline."""
    captured = capture_held_out(samples)
    has_captures = any(is_capture(s.session) for s in samples)
    held = set() if has_captures else validation_sessions(samples, val_fraction)
    result = Split([], [], [])
    for s in samples:
        if is_capture(s.session):
            (result.new if s.path in captured else result.train).append(s)
        elif s.session in held:
            result.new.append(s)
        elif is_validation(s.path, val_fraction):
            result.same.append(s)
        else:
            result.train.append(s)
    starved = {s.label for s in result.same} - {s.label for s in result.train}
    if starved:  # a class this small trains on all its frames of training sessions
        result.train += [s for s in result.same if s.label in starved]
        result.same = [s for s in result.same if s.label not in starved]
    return result if result.val else latest_held_out(samples, val_fraction)


def latest_held_out(samples: list[Sample], val_fraction: float = VAL_FRACTION) -> Split:
    """A first sitting too small for a held-out run (under RUN_LENGTH frames a session): each class's latest
    frames (name order is time order) validate instead, so a first model can train; optimistic, and the
    trainer says so. As the data grows, held-out runs take over."""
    result = Split([], [], [])
    by_class: dict[str, list[Sample]] = {}
    for s in samples:
        by_class.setdefault(s.label, []).append(s)
    for group in by_class.values():
        group.sort(key=lambda s: s.path.name)
        held = max(1, round(len(group) * val_fraction)) if len(group) >= 2 else 0
        result.train += group[:len(group) - held]
        result.same += group[len(group) - held:]
    return result


def sessions_per_class(samples: list[Sample]) -> dict[str, int]:
    counts: dict[str, set[str]] = {}
    for s in samples:
        counts.setdefault(s.label, set()).add(s.session)
    return {label: len(v) for label, v in counts.items()}


def next_free_seq(folder: Path, session: str) -> int:
    """Continue a session's numbering after whatever is already on disk."""
    seqs = [int(m.group(2)) for p in folder.glob(f"{session}_*.jpg") if (m := SESSION_RE.fullmatch(p.stem))]
    return max(seqs, default=0) + 1


class Saver:
    """Writes one session's frames under unique, time-ordered names. The class folder is created with the
    first frame, so a run that saves nothing leaves no empty class behind."""

    def __init__(self, data_root: Path, label: str, size: tuple[int, int] | None, session: str | None = None) -> None:
        """`session`: a shared id, so every class saved in one sitting (the studio) is one session."""
        self.folder = Path(data_root) / validate_label(label)
        for path, what in ((Path(data_root), "data folder"), (self.folder, f"class folder for '{label}'")):
            if path.exists() and not path.is_dir():
                raise DataError(f"{what} '{path}' is a file, not a folder: move or rename that file, or pick "
                                "another --data folder")
        self.session = session or new_session_id()
        self.seq = next_free_seq(self.folder, self.session) if self.folder.is_dir() else 1
        self.size = size

    def on_disk(self) -> list[Path]:
        """This session's frames as they are on disk (the truth after an interruption)."""
        return sorted(self.folder.glob(f"{self.session}_*.jpg")) if self.folder.is_dir() else []

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
            except OSError as e:
                for tmp in self.folder.glob(f".{path.name}.*.tmp"):  # a write that failed half-way
                    tmp.unlink(missing_ok=True)
                raise DataError(self._failure(e)) from None

    def _failure(self, e: OSError) -> str:
        saved = f"{len(self.on_disk())} frame(s) of this session were saved and are kept"
        if e.errno == errno.ENOSPC:
            return f"the disk is full while saving to '{self.folder}': {saved}; free some space and record again"
        return f"cannot save to '{self.folder}' ({e.strerror or e}): {saved}; check that the folder is writable"
