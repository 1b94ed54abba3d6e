"""The found-hands cache: the front end runs once per photo content and front end, the answer comes back whole."""

from __future__ import annotations

import numpy as np

from tests.training.fake_hands import FakeFrontEnd, photo
from thumbs.hands.found import HandCache


def test_a_second_run_reads_the_hands_from_the_cache_and_gets_the_same_hands(tmp_path):
    up = photo(tmp_path / "up.png", (40, 20, 60, 80))
    empty = photo(tmp_path / "empty.png", None)
    first = FakeFrontEnd()
    found = [HandCache(tmp_path / "cache", first).hands(p) for p in (up, empty)]
    assert first.calls == 2 and len(found[0]) == 1 and found[1] == []
    again = FakeFrontEnd()
    cache = HandCache(tmp_path / "cache", again)
    [hand] = cache.hands(up)
    assert cache.hands(empty) == [] and again.calls == 0 and cache.hits == 2
    assert np.array_equal(hand.landmarks, found[0][0].landmarks) and hand.landmarks.dtype == np.float32
    assert (hand.score, hand.handedness) == (np.float32(0.9), "right") and abs(hand.handedness_score - 0.8) < 1e-6


def test_a_changed_photo_or_another_front_end_is_detected_again(tmp_path):
    path = photo(tmp_path / "a.png", (40, 20, 60, 80))
    HandCache(tmp_path / "cache", FakeFrontEnd()).hands(path)
    photo(path, (10, 10, 30, 30))
    moved = FakeFrontEnd()
    [hand] = HandCache(tmp_path / "cache", moved).hands(path)
    assert moved.calls == 1 and hand.box[0] == 10
    other = FakeFrontEnd()
    other.identity = "another-model"
    HandCache(tmp_path / "cache", other).hands(path)
    assert other.calls == 1


def test_no_cache_detects_every_time_and_an_unreadable_file_has_none(tmp_path):
    path = photo(tmp_path / "a.png", (40, 20, 60, 80))
    front = FakeFrontEnd()
    cache = HandCache(None, front)
    cache.hands(path)
    cache.hands(path)
    assert front.calls == 2
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    assert cache.hands(tmp_path / "bad.jpg") is None
