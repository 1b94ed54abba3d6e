"""Images for training: decoded and resized once per run into memory (the data sets are small),
augmented per batch with transforms that keep the label true."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from thumbs import datacheck, dataset
from thumbs.errors import DataError
from thumbs.files import read_image
from thumbs.preprocess import DEFAULT_CROP, model_view, training_view

TRAIN_MARGIN = 1.15  # training views are stored this much larger, so random crops keep their detail
AUGMENTS = ("light", "strong")
DEFAULT_AUGMENT = "light"


def train_transform(size: int, augment: str = DEFAULT_AUGMENT) -> v2.Compose:
    """Random crops of the model's view with its context (preprocess.training_view, stored larger), so
    training sees the geometry that validation and live see, and the hand a little off its usual place.
    Never a vertical flip or a large rotation: either turns
    thumbs up into thumbs down. "strong" adds what changes between rooms and cameras: distance,
    perspective, blur, colour, occlusion."""
    if augment == "light":
        return v2.Compose([
            v2.RandomResizedCrop(size, scale=(0.7, 1.0), ratio=(0.8, 1.25), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomRotation(15),
            v2.ColorJitter(brightness=0.35, contrast=0.35, saturation=0.3, hue=0.04),
            v2.ToDtype(torch.float32, scale=True),
        ])
    if augment != "strong":
        raise ValueError(f"unknown augmentation {augment!r}: one of {', '.join(AUGMENTS)}")
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.4, 1.0), ratio=(0.75, 1.333), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomRotation(15),
        v2.RandomPerspective(0.2, p=0.3),
        v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.05),
        v2.RandomGrayscale(0.1),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 2.0))], p=0.2),
        v2.ToDtype(torch.float32, scale=True),
        v2.RandomErasing(p=0.25, scale=(0.02, 0.15)),
    ])


class ImageSet(Dataset):
    """Uint8 CHW images held in memory with their class indices."""

    def __init__(self, images: list[torch.Tensor], targets: list[int], transform=None) -> None:
        self.images, self.targets, self.transform = images, targets, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.images[i]
        image = self.transform(image) if self.transform else image.float().div_(255)
        return image, self.targets[i]


@dataclass
class Prepared:
    """Training images and one validation set in two parts: `val_new[i]` says whether validation image i
    comes from a session training never sees (see dataset.Split)."""

    classes: list[str]
    train: ImageSet
    val: ImageSet
    skipped: list[Path] = field(default_factory=list)  # unreadable files
    val_samples: list[dataset.Sample] = field(default_factory=list)  # aligned with val.images
    val_new: list[bool] = field(default_factory=list)
    sessions: dict[str, int] = field(default_factory=dict)  # recording sessions per class
    notes: list[str] = field(default_factory=list)

    def counts(self, part: str) -> list[int]:
        targets = getattr(self, part).targets
        return [targets.count(i) for i in range(len(self.classes))]


def _decode(samples: Sequence[dataset.Sample], classes: list[str], size: int, crop: str, for_training: bool,
            skipped: list[Path]) -> tuple[list[torch.Tensor], list[int]]:
    images, targets = [], []
    for s in samples:
        bgr = read_image(s.path)
        if bgr is None:
            skipped.append(s.path)
            continue
        # validation: exactly what eval and live feed the model; training: that view with its context, larger
        image = training_view(bgr, round(size * TRAIN_MARGIN), crop) if for_training else model_view(bgr, size, crop)
        images.append(torch.from_numpy(image))
        targets.append(classes.index(s.label))
    return images, targets


def prepare(root: str | Path, size: int, val_fraction: float = dataset.VAL_FRACTION,
            classes: list[str] | None = None, crop: str = DEFAULT_CROP, augment: str = DEFAULT_AUGMENT) -> Prepared:
    """Check the data set, split it, decode every image once; clear errors before any training."""
    scanned = dataset.scan(root)
    names = classes or list(scanned)
    if not names:
        raise DataError(f"'{root}' has no class folders: record some with `thumbs collect --label NAME`")
    if len(names) < 2:
        raise DataError(f"'{root}' has one class ({names[0]}): a classifier needs at least two class folders")
    for name in names:
        if not scanned.get(name):
            raise DataError(f"class '{name}' in '{root}' has no images: record some or remove the folder")
    samples = [s for s in dataset.samples(root, scanned) if s.label in names]
    parts = dataset.split(samples, val_fraction)
    skipped: list[Path] = []
    train = ImageSet(*_decode(parts.train, names, size, crop, True, skipped),
                     transform=train_transform(size, augment))
    val_s = parts.new + parts.same
    val = ImageSet(*_decode(val_s, names, size, crop, False, skipped))
    kept = [s for s in val_s if s.path not in set(skipped)]
    new = parts.new_sessions
    prepared = Prepared(names, train, val, skipped, kept, [s.session in new for s in kept],
                        dataset.sessions_per_class(samples), datacheck.training_notes(scanned))
    for i, name in enumerate(names):
        if prepared.counts("train")[i] + prepared.counts("val")[i] == 0:
            raise DataError(f"class '{name}' in '{root}' has no readable image (all {len(scanned[name])} are corrupt)")
    if not val.images:
        raise DataError(f"'{root}' is too small for a validation split: record more frames per class")
    return prepared

