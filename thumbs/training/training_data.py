"""Images for training: decoded and resized once (and kept in the decoded-image cache for the next run),
stacked as uint8 tensors on the training device when they fit, and served in batches that augment.py changes
on that device, so the CPU only indexes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from thumbs.core.errors import DataError
from thumbs.data import datacheck, dataset
from thumbs.runtime.preprocess import DEFAULT_CROP, canvas_size, model_view, training_view
from thumbs.training.augment import BatchAugment
from thumbs.training.hand_data import HandInput, skeleton_image
from thumbs.training.image_cache import ImageCache

DEVICE_SHARE = 0.25  # images go onto the GPU when they take at most this share of its free memory


class TensorSet:
    """Uint8 NCHW images in one tensor with their class indices."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        self.images, self.targets = images, targets

    def __len__(self) -> int:
        return len(self.targets)

    def image(self, i: int) -> np.ndarray:
        """Image i as HWC RGB uint8, for pictures in the report (a landmarks vector drawn as its skeleton)."""
        if self.images.dim() == 2:
            return skeleton_image(self.images[i].cpu().numpy())
        return self.images[i].permute(1, 2, 0).cpu().numpy()

    def to(self, device: torch.device) -> TensorSet:
        """On a GPU when they fit beside the model (else pinned host memory, copied per batch)."""
        if device.type != "cuda":
            return self
        free, _ = torch.cuda.mem_get_info(device)
        if self.images.numel() <= free * DEVICE_SHARE:
            return TensorSet(self.images.to(device), self.targets.to(device))
        return TensorSet(self.images.pin_memory(), self.targets.pin_memory())


def training_batches(n: int, batch_size: int) -> int:
    """How many batches batches() yields for training: a batch of one image is left out (none at batch size 1)."""
    if n == 1:
        return 1
    full, rest = divmod(n, batch_size)
    return (full if batch_size > 1 else 0) + (rest > 1)


def batches(data: TensorSet, batch_size: int, device: torch.device, augment: BatchAugment | None = None,
            generator: torch.Generator | None = None, memory_format: torch.memory_format = torch.contiguous_format
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Float [0, 1] image batches and targets on `device`: shuffled and augmented for training (a last
    batch of one image is left out there, as batch norm cannot train on it), in order for validation; in the
    model's `memory_format` (models.memory_format)."""
    n = len(data)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for idx in order.split(batch_size):
        if augment is not None and len(idx) < 2 <= n:
            continue
        idx = idx.to(data.images.device)
        x = data.images[idx].to(device, non_blocking=True)
        x = augment(x) if augment is not None else x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        yield x.contiguous(memory_format=memory_format), data.targets[idx].to(device, non_blocking=True)


@dataclass
class Prepared:
    """Training images and one validation set in two parts: `val_new[i]` says whether validation image i
    comes from a session training never sees (see dataset.Split)."""

    classes: list[str]
    train: TensorSet
    val: TensorSet
    skipped: list[Path] = field(default_factory=list)  # unreadable files
    val_samples: list[dataset.Sample] = field(default_factory=list)  # aligned with val.images
    val_new: list[bool] = field(default_factory=list)
    sessions: dict[str, int] = field(default_factory=dict)  # recording sessions per class
    notes: list[str] = field(default_factory=list)
    ruled: list[dataset.Sample] = field(default_factory=list)  # hand models: validation photos with no hand
    ruled_new: list[bool] = field(default_factory=list)
    none_index: int | None = None  # hand models: the class the no-hand rule answers

    def with_rule(self, y_true: list[int], y_pred: list[int]) -> tuple[list[int], list[int], list[bool], list[str]]:
        """The model's validation answers and the no-hand rule's (hand models), with each one's part and session."""
        rule = [self.none_index] * len(self.ruled) if self.none_index is not None else []
        return (y_true + [self.classes.index(s.label) for s in self.ruled], y_pred + rule,
                self.val_new + self.ruled_new, [s.session for s in self.val_samples + self.ruled])

    def counts(self, part: str) -> list[int]:
        targets = getattr(self, part).targets
        return torch.bincount(targets.cpu(), minlength=len(self.classes)).tolist()


def _decode(samples: Sequence[dataset.Sample], classes: list[str], size: int, crop: str, for_training: bool,
            skipped: list[Path], cache: ImageCache) -> TensorSet:
    """validation: exactly what eval and live feed the model; training: that view with context around it."""
    make = (lambda bgr: training_view(bgr, size, crop)) if for_training else (lambda bgr: model_view(bgr, size, crop))
    kind = f"{'train' if for_training else 'val'}-{size}-{crop}"
    side = canvas_size(size) if for_training else size
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:  # OpenCV decodes without the GIL
        decoded = list(pool.map(lambda s: cache.view(s.path, kind, make, (3, side, side)), samples))
    images, targets = [], []
    for s, image in zip(samples, decoded):
        if image is None:
            skipped.append(s.path)
            continue
        images.append(torch.from_numpy(image))
        targets.append(classes.index(s.label))
    stacked = torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8)
    return TensorSet(stacked, torch.tensor(targets, dtype=torch.int64))


def _decode_hands(hands: HandInput, samples: Sequence[dataset.Sample], classes: list[str], size: int,
                  for_training: bool, skipped: list[Path], cache: ImageCache) -> tuple[TensorSet, list[dataset.Sample]]:
    inputs, targets, kept = hands.decode(samples, classes, size, for_training, skipped, cache)
    return TensorSet(inputs, targets), kept


def prepare(root: str | Path, size: int, val_fraction: float = dataset.VAL_FRACTION,
            classes: list[str] | None = None, crop: str = DEFAULT_CROP, cache: ImageCache | None = None,
            hands: HandInput | None = None) -> Prepared:
    """Check the data set, split it, decode every image once; clear errors before any training. `hands`: a hand
    model's data (hand_data.py): the no-hand rule sorts the photos, the kept ones become crops or landmarks."""
    scanned = dataset.scan(root)
    names = classes or list(scanned)
    dataset.check_class_count(root, names)
    for name in names:
        if not scanned.get(name):
            raise dataset.no_images(root, name)
    samples = [s for s in dataset.samples(root, scanned) if s.label in names]
    parts = dataset.split(samples, val_fraction)
    skipped: list[Path] = []
    cache = cache or ImageCache(None)
    val_s = parts.new + parts.same
    if hands is None:
        train = _decode(parts.train, names, size, crop, True, skipped, cache)
        val = _decode(val_s, names, size, crop, False, skipped, cache)
        kept = [s for s in val_s if s.path not in set(skipped)]
    else:
        train, _ = _decode_hands(hands, parts.train, names, size, True, skipped, cache)
        val, kept = _decode_hands(hands, val_s, names, size, False, skipped, cache)
        hands.refuse_unlearnable(root)
    new = parts.new_sessions
    prepared = Prepared(names, train, val, skipped, kept, [s.session in new for s in kept],
                        dataset.sessions_per_class(samples), datacheck.training_notes(scanned))
    if hands is not None:
        prepared.ruled, prepared.ruled_new = hands.val_ruled, [s.session in new for s in hands.val_ruled]
        prepared.none_index, prepared.notes = names.index(hands.none_class), prepared.notes + hands.notes()
    for i, name in enumerate(names):
        if prepared.counts("train")[i] + prepared.counts("val")[i] == 0 and hands is None:
            raise DataError(f"class '{name}' in '{root}' has no readable image (all {len(scanned[name])} are corrupt)")
    if not len(val):
        raise DataError(f"'{root}' is too small for a validation split: record more frames per class "
                        f"({datacheck.MIN_PER_CLASS} or more each)")
    return prepared

