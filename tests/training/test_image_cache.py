"""The decoded-image cache: found by content, never stale, never in the way."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from thumbs.core.errors import ThumbsError
from thumbs.training import image_cache
from thumbs.training.image_cache import ImageCache


def _photo(path, value: int) -> None:
    cv2.imwrite(str(path), np.full((20, 30, 3), value, np.uint8))


def _half(bgr: np.ndarray) -> np.ndarray:
    return cv2.resize(bgr, (15, 10))


def test_a_changed_photo_is_decoded_again_even_with_the_same_name_and_time(tmp_path):
    photo = tmp_path / "a.png"
    _photo(photo, 10)
    cache = ImageCache(tmp_path / "cache")
    assert cache.view(photo, "v", _half)[0, 0, 0] == 10
    assert cache.view(photo, "v", _half)[0, 0, 0] == 10 and cache.hits == 1
    stat = photo.stat()
    _photo(photo, 200)
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.view(photo, "v", _half)[0, 0, 0] == 200 and cache.misses == 2


def test_another_view_of_the_same_photo_is_another_entry(tmp_path):
    photo = tmp_path / "a.png"
    _photo(photo, 10)
    cache = ImageCache(tmp_path / "cache")
    cache.view(photo, "train-32-center", _half)
    assert cache.view(photo, "train-64-center", lambda bgr: bgr).shape == (20, 30, 3)
    assert cache.misses == 2


def test_a_broken_entry_is_decoded_again(tmp_path):
    photo = tmp_path / "a.png"
    _photo(photo, 10)
    cache = ImageCache(tmp_path / "cache")
    cache.view(photo, "v", _half)
    [entry] = (tmp_path / "cache").rglob("*.npy")
    entry.write_bytes(entry.read_bytes()[:40])
    assert cache.view(photo, "v", _half).shape == (10, 15, 3) and cache.misses == 2


def test_an_unwritable_cache_is_left_alone_and_an_unreadable_photo_is_none(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    photo = tmp_path / "a.png"
    _photo(photo, 10)
    cache = ImageCache(tmp_path / "file" / "cache")  # a file where the folder must be
    assert cache.view(photo, "v", _half).shape == (10, 15, 3)
    assert cache.root is None
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert cache.view(tmp_path / "bad.jpg", "v", _half) is None
    assert cache.view(tmp_path / "missing.jpg", "v", _half) is None


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("THUMBS_CACHE", "off")
    assert image_cache.default_dir() is None
    monkeypatch.setenv("THUMBS_CACHE", str(tmp_path))
    assert image_cache.default_dir() == tmp_path / "images"
    monkeypatch.delenv("THUMBS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert image_cache.default_dir() == tmp_path / "xdg" / "thumbs" / "images"


def test_prune_keeps_the_cache_under_its_limit_dropping_the_least_recently_used(tmp_path):
    cache = ImageCache(tmp_path / "cache")
    photos = []
    for i in range(4):
        photos.append(tmp_path / f"{i}.png")
        _photo(photos[-1], 10 * i)
        cache.view(photos[-1], "v", lambda bgr: bgr)
    used = cache._entry(cache.key(photos[0].read_bytes(), "v"))
    entries = [used] + sorted(set((tmp_path / "cache").rglob("*.npy")) - {used})
    size = used.stat().st_size
    for age, entry in enumerate(entries):  # made long ago, one second apart, photo 0's the oldest
        os.utime(entry, (1000 + age, 1000 + age))
    cache.view(photos[0], "v", lambda bgr: bgr)  # a hit: now the most recently used
    newest_other = entries[-1]
    assert cache.prune(2 * size) == (2, 2 * size)
    assert set((tmp_path / "cache").rglob("*.npy")) == {used, newest_other}
    assert cache.view(photos[0], "v", lambda bgr: bgr) is not None and cache.hits == 2  # the one used survived
    assert cache.prune(10**9) == (0, 0) and ImageCache(None).prune(0) == (0, 0)


def test_the_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(image_cache.LIMIT_ENV, "1.5")
    assert image_cache.limit_bytes() == int(1.5 * 2**20)
    monkeypatch.delenv(image_cache.LIMIT_ENV)
    assert image_cache.limit_bytes() == image_cache.DEFAULT_LIMIT_MB * 2**20
    monkeypatch.setenv(image_cache.LIMIT_ENV, "inf")
    assert image_cache.limit_bytes() > 2**60
    monkeypatch.setenv(image_cache.LIMIT_ENV, "-5")
    assert image_cache.limit_bytes() == 0


def test_an_entry_cut_to_nothing_or_of_another_shape_is_made_again(tmp_path):
    """A 0-byte entry (a full disk) made np.load raise EOFError, which click answers with "Aborted."; an entry
    of the wrong shape crashed training later. Both are misses, and the entry is written again."""
    photo = tmp_path / "a.png"
    _photo(photo, 10)
    cache = ImageCache(tmp_path / "cache")
    cache.view(photo, "v", _half)
    [entry] = (tmp_path / "cache").rglob("*.npy")
    entry.write_bytes(b"")
    assert cache.view(photo, "v", _half).shape == (10, 15, 3) and cache.misses == 2
    assert entry.stat().st_size > 0  # rebuilt
    with open(entry, "wb") as f:
        np.save(f, np.zeros((3, 5), np.uint8))
    assert cache.view(photo, "v", _half, (10, 15, 3)).shape == (10, 15, 3) and cache.misses == 3
    assert cache.view(photo, "v", _half, (10, 15, 3)).shape == (10, 15, 3) and cache.hits == 1


@pytest.mark.parametrize("value", ["lots", "nan", "2GB"])
def test_a_cache_limit_that_is_not_a_number_is_refused(monkeypatch, value):
    monkeypatch.setenv(image_cache.LIMIT_ENV, value)
    with pytest.raises(ThumbsError, match=f"THUMBS_CACHE_MB='{value}' is not a number of megabytes"):
        image_cache.limit_bytes()


def test_a_fifo_among_the_photos_is_unreadable_not_a_hang(tmp_path):
    import time

    from tests.helpers import fifo

    start = time.monotonic()
    assert ImageCache(tmp_path / "cache").view(fifo(tmp_path / "a.png"), "v", _half) is None
    assert time.monotonic() - start < 2
