"""Batched augmentation: the same view as live when it does nothing, its own random change per image,
and never a change that turns one gesture into another."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from thumbs.runtime.preprocess import CROPS, canvas_size, model_view, training_view
from thumbs.training import augment


def _augment(name: str | augment.Recipe, size: int, seed: int = 0) -> augment.BatchAugment:
    chosen = augment.RECIPES[name] if isinstance(name, str) else name
    return augment.BatchAugment(size, canvas_size(size), chosen, torch.Generator().manual_seed(seed))


def _geometry_only(name: str) -> augment.Recipe:
    r = augment.RECIPES[name]
    return augment.Recipe(zoom=r.zoom, stretch=r.stretch, shift=r.shift, rotate=r.rotate, flip=r.flip,
                          perspective=r.perspective, perspective_p=r.perspective_p)


def _tilt_degrees(image: torch.Tensor) -> float:
    """Direction in which the image gets brighter, in degrees from straight up (a plane fitted to it)."""
    h, w = image.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    design = torch.stack([torch.ones(h * w), xs.flatten(), ys.flatten()], 1).double()
    coef = torch.linalg.lstsq(design, image[0].flatten().double().unsqueeze(1)).solution.squeeze(1)
    return math.degrees(math.atan2(float(coef[1]), float(-coef[2])))


@pytest.mark.parametrize("crop", CROPS)
@pytest.mark.parametrize("shape", [(60, 100, 3), (100, 60, 3), (48, 48, 3)])
def test_no_change_gives_exactly_the_models_view(crop, shape):
    """Training's geometry is live's: with every parameter at zero the batch equals model_view / 255."""
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    canvas = torch.from_numpy(training_view(frame, 32, crop)).unsqueeze(0)
    out = _augment("none", 32)(canvas)
    expected = torch.from_numpy(model_view(frame, 32, crop)).float().div(255).unsqueeze(0)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", augment.AUGMENTS)
def test_every_image_gets_its_own_change(name):
    frame = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    canvas = torch.from_numpy(training_view(frame, 32)).unsqueeze(0).expand(16, -1, -1, -1)
    out = _augment(name, 32)(canvas)
    assert out.shape == (16, 3, 32, 32) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    flat = out.flatten(1)
    assert torch.cdist(flat, flat).fill_diagonal_(1).min() > 0.1  # no two images alike
    torch.testing.assert_close(out, _augment(name, 32)(canvas))  # the seed decides
    assert not torch.allclose(out, _augment(name, 32, seed=1)(canvas))


@pytest.mark.parametrize("name", augment.AUGMENTS)
def test_augmentation_never_flips_vertically_nor_rotates_far(name):
    """A ramp bright at the top must still rise upwards, tilted at most ~20 degrees (a vertical flip gives
    180: thumbs up read as down). Geometry only: colour changes do not move pixels."""
    ramp = torch.linspace(255, 1, 40).view(1, 40, 1).expand(200, 3, 40, 40).to(torch.uint8).contiguous()
    out = _augment(_geometry_only(name), 32)(ramp)
    tilts = [abs(_tilt_degrees(image)) for image in out]
    assert max(tilts) < 25
    assert max(tilts) > 5  # it does rotate


def test_no_flip_keeps_left_and_right():
    """--no-flip for gestures whose side matters: a ramp bright on the left stays bright on the left."""
    ramp = torch.linspace(255, 1, 40).view(1, 1, 40).expand(200, 3, 40, 40).to(torch.uint8).contiguous()
    flipping = _augment(_geometry_only("light"), 32)(ramp)
    kept = _augment(replace(_geometry_only("light"), flip=False), 32)(ramp)
    left_brighter = lambda x: (x[:, 0, :, :8].mean((1, 2)) > x[:, 0, :, -8:].mean((1, 2)))  # noqa: E731
    assert left_brighter(kept).all()
    assert 0.3 < left_brighter(flipping).float().mean() < 0.7


def test_colour_changes_stay_in_range_and_keep_a_grey_image_grey():
    grey = torch.full((64, 3, 40, 40), 128, dtype=torch.uint8)
    r = augment.RECIPES["strong"]
    colour_only = augment.Recipe(brightness=r.brightness, contrast=r.contrast, saturation=r.saturation, hue=r.hue,
                                 grayscale_p=r.grayscale_p, blur_p=r.blur_p)
    out = _augment(colour_only, 32)(grey)
    torch.testing.assert_close(out[:, 0], out[:, 1], atol=1e-4, rtol=0)  # hue and saturation need colour
    assert out.mean((1, 2, 3)).std() > 0.02  # brightness differs per image


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment.recipe("wild")
