"""Training images: augmentation keeps the label true, validation sees exactly what live sees."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from thumbs import training_data
from thumbs.preprocess import CROPS, Preprocessor


def _tilt_degrees(mask: torch.Tensor) -> float:
    """Direction in which a top-bright ramp gets brighter, in degrees from straight up (a plane fitted to the
    pixels the transform filled from the image; 0 marks the fill outside it)."""
    ys, xs = torch.nonzero(mask[0] > 0, as_tuple=True)
    design = torch.stack([torch.ones_like(xs), xs, ys], 1).double()
    coef = torch.linalg.lstsq(design, mask[0][ys, xs].double().unsqueeze(1)).solution.squeeze(1)
    return math.degrees(math.atan2(float(coef[1]), float(-coef[2])))


@pytest.mark.filterwarnings("ignore:RandomErasing.*Mask")
@pytest.mark.parametrize("augment", training_data.AUGMENTS)
def test_augmentation_never_flips_vertically_nor_rotates_far(augment):
    """The same geometry goes to the image and to a ramp (bright at the top) carried as a mask, which
    colour, blur and erasing leave alone: the ramp must still rise upwards, tilted at most ~20 degrees
    (a vertical flip gives 180, thumbs up read as down)."""
    torch.manual_seed(0)
    ramp = torch.linspace(255, 1, 80).view(1, 80, 1).expand(3, 80, 80).to(torch.uint8).contiguous()
    transform = training_data.train_transform(48, augment)
    tilts = []
    for _ in range(200):
        image, mask = transform(tv_tensors.Image(ramp), tv_tensors.Mask(ramp[:1]))
        assert image.shape == (3, 48, 48) and image.dtype == torch.float32
        tilts.append(abs(_tilt_degrees(mask)))
    assert max(tilts) < 25
    assert max(tilts) > 5  # it does rotate


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        training_data.train_transform(48, "wild")


@pytest.mark.parametrize("crop", CROPS)
def test_validation_tensor_is_the_live_preprocessing(tmp_path, crop):
    """Each class holds copies of one wide frame, so every validation tensor must equal live's view of it."""
    rng = np.random.default_rng(0)
    frames = {name: rng.integers(0, 256, (60, 100, 3), dtype=np.uint8) for name in ("down", "up")}
    for name, frame in frames.items():
        (tmp_path / name).mkdir()
        for i in range(8):
            cv2.imwrite(str(tmp_path / name / f"{name}_{i}.png"), frame)
    prepared = training_data.prepare(tmp_path, 32, val_fraction=0.5, crop=crop)
    assert len(prepared.val) > 0
    for x, y in prepared.val:
        live = torch.from_numpy(Preprocessor(32, crop)(frames[prepared.classes[y]])[0].copy())
        torch.testing.assert_close(x, live, atol=1e-6, rtol=0)
    other = "full" if crop == "center" else "center"
    x, y = prepared.val[0]
    assert not torch.allclose(x, torch.from_numpy(Preprocessor(32, other)(frames[prepared.classes[y]])[0].copy()))
