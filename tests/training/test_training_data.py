"""Training images: validation sees exactly what live sees, training batches start from that view."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from thumbs.runtime.preprocess import CROPS, Preprocessor
from thumbs.training import training_data


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
    for x, y in training_data.batches(prepared.val, 1, torch.device("cpu")):
        x, y = x[0], int(y[0])
        live = torch.from_numpy(Preprocessor(32, crop)(frames[prepared.classes[y]])[0].copy())
        torch.testing.assert_close(x, live, atol=1e-6, rtol=0)
    other = "full" if crop == "center" else "center"
    x, y = next(training_data.batches(prepared.val, 1, torch.device("cpu")))
    x, y = x[0], int(y[0])
    assert not torch.allclose(x, torch.from_numpy(Preprocessor(32, other)(frames[prepared.classes[y]])[0].copy()))


def test_training_batches_are_shuffled_augmented_and_never_a_lone_image(tmp_path):
    """A training epoch visits every image once in a new order; a last batch of one is left out (batch norm
    cannot train on it)."""
    images = torch.arange(7, dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 3, 4, 4).contiguous()
    data = training_data.TensorSet(images, torch.arange(7))
    seen = [y.tolist() for _, y in training_data.batches(data, 3, torch.device("cpu"),
                                                             augment=lambda x: x.float(),
                                                             generator=torch.Generator().manual_seed(0))]
    assert [len(b) for b in seen] == [3, 3] and training_data.training_batches(7, 3) == 2
    assert len(set(sum(seen, []))) == 6
    again = [y.tolist() for _, y in training_data.batches(data, 3, torch.device("cpu"), augment=lambda x: x.float(),
                                                              generator=torch.Generator().manual_seed(1))]
    assert again != seen
    ordered = [y.tolist() for _, y in training_data.batches(data, 3, torch.device("cpu"))]
    assert ordered == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_second_prepare_reads_the_decoded_image_cache(tmp_path):
    from thumbs.training.image_cache import ImageCache

    rng = np.random.default_rng(1)
    for name in ("down", "up"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(tmp_path / "data" / name / f"{name}_{i}.png"), rng.integers(0, 256, (40, 60, 3), np.uint8))
    first, second = ImageCache(tmp_path / "cache"), ImageCache(tmp_path / "cache")
    a = training_data.prepare(tmp_path / "data", 32, val_fraction=0.5, cache=first)
    b = training_data.prepare(tmp_path / "data", 32, val_fraction=0.5, cache=second)
    assert (first.hits, first.misses) == (0, 12) and (second.hits, second.misses) == (12, 0)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.images, b.val.images)
