"""`thumbs data`: what is in the data set and what will hurt training, found before training starts."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thumbs.core.files import UNREAD_EXTS, decode_image
from thumbs.data import dataset, handcheck
from thumbs.hands.found import HandCache

MIN_PER_CLASS = 20
MAX_IMBALANCE = 3.0


@dataclass
class ClassStats:
    name: str
    count: int  # readable images
    share: float
    train: int
    val: int  # both parts: val_new + held-out runs of training sessions
    sessions: int = 0  # recording sessions (see thumbs.dataset)
    val_new: int = 0  # images of whole sessions held out: the "accuracy on a new session" part
    no_hand: int | None = None  # with --hands: images where the hand front end finds no hand (handcheck.py)


@dataclass
class DataWarning:
    code: str  # few_images, empty_class, imbalance, corrupt, duplicate, no_background, one_class, no_classes,
    # no_val, one_session, nested; with --hands: no_hand, no_gesture_class
    message: str
    paths: list[str] = field(default_factory=list)


@dataclass
class DataReport:
    root: str
    classes: list[ClassStats]
    total: int
    train: int
    val: int
    warnings: list[DataWarning]

    def to_dict(self) -> dict:
        return asdict(self)


def _readable_and_hashes(paths: list[Path]) -> tuple[list[Path], list[Path], dict[str, list[Path]]]:
    good, corrupt, by_hash = [], [], defaultdict(list)
    for p in paths:
        try:
            data = p.read_bytes()  # once: decoded to check it, hashed to find copies
        except OSError:
            data = b""
        if decode_image(data) is None:
            corrupt.append(p)
            continue
        good.append(p)
        by_hash[hashlib.sha1(data).hexdigest()].append(p)
    return good, corrupt, by_hash


def check(root: str | Path, val_fraction: float = dataset.VAL_FRACTION, hands: HandCache | None = None
          ) -> DataReport:
    """Count, split and audit every class folder; decodes each image once. `hands`: also count the images
    where the hand front end finds no hand (handcheck.py)."""
    scanned = dataset.scan(root)
    warnings: list[DataWarning] = []
    all_hashes: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    corrupt_all: list[Path] = []
    readable: dict[str, list[Path]] = {}
    for name, paths in scanned.items():
        good, corrupt, hashes = _readable_and_hashes(paths)
        corrupt_all += corrupt
        readable[name] = good
        for h, ps in hashes.items():
            all_hashes[h] += [(name, p) for p in ps]
    stats = _class_stats(root, readable, val_fraction)
    warnings += _class_warnings(stats)
    if hands is not None:
        warnings += _hand_stats(stats, readable, hands)
    if corrupt_all:
        warnings.append(DataWarning("corrupt", f"{len(corrupt_all)} unreadable image(s) will be skipped; "
                                "delete or replace them", [str(p) for p in corrupt_all]))
    warnings += _duplicate_warnings(all_hashes)
    warnings += _nested_warnings(Path(root), list(scanned))
    warnings += _unread_warnings(Path(root), list(scanned))
    total = sum(s.count for s in stats)
    return DataReport(str(root), stats, total, sum(s.train for s in stats), sum(s.val for s in stats), warnings)


def _class_stats(root: str | Path, readable: dict[str, list[Path]], val_fraction: float) -> list[ClassStats]:
    """Per class: images, share, the split as training will make it, and recording sessions."""
    samples = dataset.samples(root, readable)
    parts = dataset.split(samples, val_fraction)
    sessions = dataset.sessions_per_class(samples)
    total = len(samples)
    stats = []
    for name, good in readable.items():
        val = sum(s.label == name for s in parts.val)
        new = sum(s.label == name for s in parts.new)
        share = round(len(good) / total, 4) if total else 0.0
        stats.append(ClassStats(name, len(good), share, len(good) - val, val, sessions.get(name, 0), new))
    return stats


def _hand_stats(stats: list[ClassStats], readable: dict[str, list[Path]], hands: HandCache) -> list[DataWarning]:
    counts = handcheck.no_hand_counts(readable, hands)
    for s in stats:
        s.no_hand = counts[s.name]
    return [DataWarning(code, message) for code, message in handcheck.hand_warnings(
        counts, {s.name: s.count for s in stats})]


def training_notes(scanned: dict[str, list[Path]]) -> list[str]:
    """What `thumbs train` says before training, as `thumbs data` would: a one-image class and copies of one
    image in two classes (hashes the bytes; no decoding)."""
    notes = [f"class '{name}' has a single image: record at least {MIN_PER_CLASS} (100+ is better)"
             for name, paths in scanned.items() if len(paths) == 1]
    by_hash: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for name, paths in scanned.items():
        for p in paths:
            try:
                by_hash[hashlib.sha1(p.read_bytes()).hexdigest()].append((name, p))
            except OSError:
                continue  # reported as unreadable when decoded
    cross = [group for group in by_hash.values() if len({name for name, _ in group}) > 1]
    if cross:
        example = " and ".join(str(p) for _, p in cross[0][:2])
        notes.append(f"{len(cross)} image(s) appear in two classes, a labelling error (e.g. {example}): "
                     "delete the wrong copy (`thumbs data` lists them all)")
    return notes


def _class_warnings(stats: list[ClassStats]) -> list[DataWarning]:
    out: list[DataWarning] = []
    if not stats:
        return [DataWarning("no_classes", "no class folders: record some with `thumbs collect --label NAME`")]
    if len(stats) == 1:
        out.append(DataWarning("one_class", f"only one class ('{stats[0].name}'): a classifier needs two or more"))
    for s in stats:
        if s.count == 0:
            out.append(DataWarning("empty_class", f"class '{s.name}' has no readable images"))
        elif s.count < MIN_PER_CLASS:
            out.append(DataWarning("few_images", f"class '{s.name}' has only {s.count} images; "
                               f"record at least {MIN_PER_CLASS} (100+ is better)"))
        if s.sessions == 1:
            out.append(DataWarning("one_session", f"class '{s.name}' was recorded in one session: its validation "
                                   "figure is optimistic (same room, light and hand as training); record another "
                                   f"session (`thumbs collect --label {s.name}` another day, room or light; or a "
                                   f"sub-folder per session for copied-in photos, {s.name}/kitchen/)"))
        if s.count and s.val == 0:
            out.append(DataWarning("no_val", f"class '{s.name}' has no validation images yet; record more frames"))
    counts = [s.count for s in stats if s.count]
    if len(counts) >= 2 and max(counts) / min(counts) > MAX_IMBALANCE:
        big = max(stats, key=lambda s: s.count)
        small = min((s for s in stats if s.count), key=lambda s: s.count)
        out.append(DataWarning("imbalance", f"classes are imbalanced {big.count / small.count:.1f}:1 "
                           f"('{big.name}' {big.count} vs '{small.name}' {small.count}); "
                           "training compensates, but more of the small class is better"))
    if not any(s.name.lower() in dataset.BACKGROUND_NAMES for s in stats):
        out.append(DataWarning("no_background", "no 'none' class: every scene without a gesture will be forced "
                           "into one; record one with `thumbs collect --label none`"))
    return out


def _nested_warnings(root: Path, classes: list[str]) -> list[DataWarning]:
    """Images deeper than DATA/<class>/<session>/ are not used: say so rather than skip them silently."""
    nested = [p for name in classes for sub in (root / name).iterdir() if sub.is_dir() and not
              sub.name.startswith((".", "_")) for p in sub.rglob("*") if p.parent != sub and dataset.is_image(p)]
    if not nested:
        return []
    return [DataWarning("nested", f"{len(nested)} image(s) sit deeper than one sub-folder and are not used: move "
                        "them into DATA/<class>/ or DATA/<class>/<session>/", [str(p) for p in sorted(nested)])]


def _unread_warnings(root: Path, classes: list[str]) -> list[DataWarning]:
    """Images of a type OpenCV cannot decode (GIF, HEIC) are not used: name them rather than skip them silently."""
    unread = sorted(p for name in classes for p in [*(root / name).glob("*"), *(root / name).glob("*/*")]
                    if p.suffix.lower() in UNREAD_EXTS and not p.name.startswith("."))
    if not unread:
        return []
    kinds = ", ".join(sorted({p.suffix.lower() for p in unread}))
    return [DataWarning("not_read", f"{len(unread)} image(s) of a type OpenCV cannot read ({kinds}) are not used: "
                        "convert them to .jpg or .png", [str(p) for p in unread])]


def _duplicate_warnings(by_hash: dict[str, list[tuple[str, Path]]]) -> list[DataWarning]:
    groups = [group for group in by_hash.values() if len(group) > 1]
    if not groups:
        return []
    cross = [group for group in groups if len({name for name, _ in group}) > 1]
    paths = [str(p) for group in groups for _, p in group[1:]]
    message = f"{len(paths)} image(s) are byte-identical copies of another"
    if cross:
        message += f", {len(cross)} of them across different classes (a labelling error)"
    return [DataWarning("duplicate", message, paths)]
