"""`thumbs data`: what is in the data set and what will hurt training, found before training starts."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thumbs import dataset
from thumbs.files import decode_image

MIN_PER_CLASS = 20
MAX_IMBALANCE = 3.0


@dataclass
class ClassStats:
    name: str
    count: int  # readable images
    share: float
    train: int
    val: int


@dataclass
class DataWarning:
    code: str  # few_images, empty_class, imbalance, corrupt, duplicate, no_background, one_class, no_classes
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

    def codes(self) -> list[str]:
        return [w.code for w in self.warnings]


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


def check(root: str | Path, val_fraction: float = dataset.VAL_FRACTION) -> DataReport:
    """Count, split and audit every class folder; decodes each image once."""
    scanned = dataset.scan(root)
    warnings: list[DataWarning] = []
    stats: list[ClassStats] = []
    all_hashes: dict[str, list[Path]] = defaultdict(list)
    corrupt_all: list[Path] = []
    for name, paths in scanned.items():
        good, corrupt, hashes = _readable_and_hashes(paths)
        corrupt_all += corrupt
        for h, ps in hashes.items():
            all_hashes[h] += ps
        val = sum(dataset.is_validation(p, val_fraction) for p in good)
        stats.append(ClassStats(name, len(good), 0.0, len(good) - val, val))
    total = sum(s.count for s in stats)
    for s in stats:
        s.share = round(s.count / total, 4) if total else 0.0
    warnings += _class_warnings(stats)
    if corrupt_all:
        warnings.append(DataWarning("corrupt", f"{len(corrupt_all)} unreadable image(s) will be skipped; "
                                "delete or replace them", [str(p) for p in corrupt_all]))
    warnings += _duplicate_warnings(all_hashes)
    return DataReport(str(root), stats, total, sum(s.train for s in stats), sum(s.val for s in stats), warnings)


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


def _duplicate_warnings(by_hash: dict[str, list[Path]]) -> list[DataWarning]:
    groups = [ps for ps in by_hash.values() if len(ps) > 1]
    if not groups:
        return []
    cross = [ps for ps in groups if len({p.parent.name for p in ps}) > 1]
    paths = [str(p) for ps in groups for p in ps[1:]]
    message = f"{len(paths)} image(s) are byte-identical copies of another"
    if cross:
        message += f", {len(cross)} of them across different classes (a labelling error)"
    return [DataWarning("duplicate", message, paths)]
