"""Training data for hand models (`--input hand`, `--arch landmarks`): the front end finds the hands in each photo
once (hands/found.py keeps them), the no-hand rule sorts the photos, and each kept photo becomes what live feeds the
model: the crop around its best hand (hands.inputs.hand_crop) or that hand's landmark features.

The no-hand rule (hands.inputs.no_hand_class): a frame where no hand is found is the no-gesture class, without the
model. So a no-gesture photo without a hand is right by the rule and not trained on; a no-gesture photo with a hand
(a fist, an open palm) trains that class; a gesture photo without a hand is left out of training, counted, and in
validation scored as the rule answers it (the no-gesture class: wrong)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from thumbs.core.errors import DataError
from thumbs.data.dataset import Sample
from thumbs.data.handcheck import mostly_missed
from thumbs.hands.found import HandCache, default_dir
from thumbs.hands.hand import CONNECTIONS, LANDMARKS, Hand
from thumbs.hands.inputs import crop_square, hand_crop, landmark_features, no_hand_class
from thumbs.runtime.preprocess import canvas_size
from thumbs.train_config import LANDMARKS as LANDMARKS_INPUT
from thumbs.training.image_cache import ImageCache


def front_end(log: Callable[[str], None] = print) -> object:
    """The hand front end that training runs on each photo (one still image at a time: no tracking)."""
    from thumbs.hands import HandFrontEnd

    return HandFrontEnd(max_hands=1, track=False, log=log)


def hand_canvas(bgr: np.ndarray, hand: Hand, size: int) -> np.ndarray:
    """hand_crop with context around it, as a uint8 CHW RGB canvas of canvas_size(size) at the same scale: its
    centre is exactly hand_crop(bgr, hand, size), so augment.py's shifts and zooms see the hand as live would
    with the front end's box a little off."""
    cx, cy, side = crop_square(hand, bgr.shape)
    out = canvas_size(size)
    scale = size / side
    matrix = np.array([[scale, 0.0, out / 2 - cx * scale], [0.0, scale, out / 2 - cy * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas = cv2.warpAffine(bgr, matrix, (out, out), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).transpose(2, 0, 1))


def hand_view(bgr: np.ndarray, hand: Hand, size: int) -> np.ndarray:
    """What a hand-crop model is fed, as uint8 CHW RGB (scale by 1/255): the validation view."""
    return np.ascontiguousarray(hand_crop(bgr, hand, size).transpose(2, 0, 1))


@dataclass
class HandInput:
    """The front end's view of a data set for one run: `kind` is "hand" or "landmarks"; what the rule did is
    counted per class in `ruled` (no-gesture photos with no hand: right by the rule) and `missed` (gesture photos
    with no hand: left out); `val_ruled` are the validation photos the rule answers, scored with the model's."""

    kind: str
    found: HandCache
    classes: list[str] = field(default_factory=list)
    ruled: dict[str, int] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    with_hand: dict[str, int] = field(default_factory=dict)
    val_ruled: list[Sample] = field(default_factory=list)

    @classmethod
    def open(cls, kind: str, cache: bool, log: Callable[[str], None] = print, frontend: object | None = None
             ) -> HandInput:
        return cls(kind, HandCache(default_dir() if cache else None, frontend or front_end(log)))

    @property
    def none_class(self) -> str:
        found = no_hand_class(self.classes)
        if found is None:  # train_config.check_no_gesture refuses this before any photo is read
            raise DataError(f"a hand model needs a no-gesture class (none): the classes are {', '.join(self.classes)}")
        return found

    def sort(self, samples: Sequence[Sample], for_training: bool) -> tuple[list[Sample], list[Hand], list[Path]]:
        """The photos with a hand and their best hand; the unreadable ones. Counts what the rule did."""
        kept, hands, unreadable = [], [], []
        for s in samples:
            found = self.found.hands(s.path)
            if found is None:
                unreadable.append(s.path)
            elif found:
                kept.append(s)
                hands.append(found[0])
                self.with_hand[s.label] = self.with_hand.get(s.label, 0) + 1
            else:
                counts = self.ruled if s.label == self.none_class else self.missed
                counts[s.label] = counts.get(s.label, 0) + 1
                if not for_training:
                    self.val_ruled.append(s)
        return kept, hands, unreadable

    def decode(self, samples: Sequence[Sample], classes: list[str], size: int, for_training: bool,
               skipped: list[Path], images: ImageCache) -> tuple[torch.Tensor, torch.Tensor, list[Sample]]:
        """(inputs, targets, the samples they are) for the photos with a hand: uint8 canvases (training) or views
        (validation) of the hand crop, or float32 landmark features (N, FEATURES)."""
        self.classes = classes
        kept, hands, unreadable = self.sort(samples, for_training)
        skipped += unreadable
        targets = torch.tensor([classes.index(s.label) for s in kept], dtype=torch.int64)
        if self.kind == LANDMARKS_INPUT:
            features = np.stack([landmark_features(h) for h in hands]) if hands else np.zeros((0, 3 * LANDMARKS))
            return torch.from_numpy(features.astype(np.float32)), targets, kept
        side = canvas_size(size) if for_training else size
        kind = f"hand-{'train' if for_training else 'val'}-{size}-{self.found.identity}"
        crops = []
        for s, hand in zip(kept, hands):
            make = (lambda bgr, h=hand: hand_canvas(bgr, h, size)) if for_training else \
                (lambda bgr, h=hand: hand_view(bgr, h, size))
            crops.append(images.view(s.path, f"{kind}-{hand.box}", make, (3, side, side)))
        stacked = torch.from_numpy(np.stack(crops)) if crops else torch.empty(0, 3, side, side, dtype=torch.uint8)
        return stacked, targets, kept

    def refuse_unlearnable(self, root: str | Path) -> None:
        """A gesture class where no photo shows a hand the front end finds cannot be learned."""
        for name in self.classes:
            if name != self.none_class and not self.with_hand.get(name):
                raise DataError(f"class '{name}' in '{root}': the hand front end found no hand in any of its "
                                f"{self.missed.get(name, 0)} photos, so a hand model cannot learn it; check that "
                                "they show the hand whole, or train a frame model (no --input hand / --arch landmarks)")

    def notes(self) -> list[str]:
        """The rule and what it did, for `train`'s output and report.md."""
        none = self.none_class
        missed = ", ".join(f"{c} {self.missed[c]}" for c in self.classes if self.missed.get(c))
        lines = [f"no-hand rule: a frame where the hand front end finds no hand is '{none}' without running the "
                 f"model; {self.ruled.get(none, 0)} '{none}' photos have no hand (right by the rule, not trained "
                 f"on); gesture photos with no hand found, left out of training and scored '{none}' in "
                 f"validation: {missed or 'none'}"]
        for c in self.classes:
            total = self.missed.get(c, 0) + self.with_hand.get(c, 0)
            if mostly_missed(c, self.missed.get(c, 0), total, none):
                lines.append(f"class '{c}': no hand found in {self.missed[c]} of its {total} photos: the front end "
                             "misses these hands (cut off at the edge, far away, gloved?); record them whole and "
                             "nearer, or train a frame model")
        return lines


class LandmarkAugment:
    """(N, FEATURES) landmark features -> the same, each hand with its own small change: scale, a rotation in the
    image plane, jitter of every point and (with flip) a mirror. Small rotations only: a large one turns thumbs
    up into thumbs down."""

    def __init__(self, flip: bool, generator: torch.Generator, scale: float = 0.1, rotate: float = 12.0,
                 jitter: float = 0.015) -> None:
        self.flip, self.gen, self.scale, self.rotate, self.jitter = flip, generator, scale, rotate, jitter

    def _uniform(self, n: int, device: torch.device, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, device=device, generator=self.gen) * (high - low) + low

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, device = len(x), x.device
        points = x.float().view(n, LANDMARKS, 3)
        angle = self._uniform(n, device, -self.rotate, self.rotate) * math.pi / 180
        cos, sin = torch.cos(angle), torch.sin(angle)
        mirror = torch.where(torch.rand(n, device=device, generator=self.gen) < (0.5 if self.flip else 0.0), -1.0, 1.0)
        size = self._uniform(n, device, 1 - self.scale, 1 + self.scale)
        xs, ys = points[..., 0] * mirror.view(n, 1), points[..., 1]
        turned = torch.stack([cos.view(n, 1) * xs - sin.view(n, 1) * ys, sin.view(n, 1) * xs + cos.view(n, 1) * ys,
                              points[..., 2]], -1) * size.view(n, 1, 1)
        noise = torch.randn(turned.shape, device=device, generator=self.gen) * self.jitter
        return (turned + noise).reshape(n, -1)


def skeleton_image(features: np.ndarray, size: int = 96) -> np.ndarray:
    """A landmark vector drawn as a hand skeleton, HWC RGB uint8: the landmarks model's "image" in report.md."""
    points = features.reshape(LANDMARKS, 3)[:, :2]
    span = max(float(np.ptp(points, axis=0).max()), 1e-6)
    xy = ((points - points.min(axis=0)) / span * (size - 16) + 8).astype(int)
    image = np.full((size, size, 3), 255, np.uint8)
    for a, b in CONNECTIONS:
        cv2.line(image, tuple(map(int, xy[a])), tuple(map(int, xy[b])), (40, 90, 200), 2, cv2.LINE_AA)
    for x, y in xy:
        cv2.circle(image, (int(x), int(y)), 2, (200, 40, 40), -1, cv2.LINE_AA)
    return image
