"""The overlay as pixels: the model's square outlined, class colours distinct, small frames scaled up."""

from __future__ import annotations

import numpy as np
import pytest

from thumbs.live import overlay
from thumbs.runtime.preprocess import crop_box

CLASSES = ["down", "none", "up"]


def grey_frame(w: int, h: int) -> np.ndarray:
    return np.full((h, w, 3), 128, dtype=np.uint8)


def live(frame, shown, probs=(0.05, 0.1, 0.85), crop="center"):
    return overlay.draw_live(frame, CLASSES, np.array(probs), shown, 0.85, 30.0, 2.0, 0.6, crop)


def test_class_colours_are_distinct_and_never_grey():
    colours = [overlay.class_color(i) for i in range(len(overlay.PALETTE))]
    assert len(set(colours)) == len(colours) and overlay.GREY not in colours
    assert overlay.class_color(len(overlay.PALETTE)) == colours[0]


@pytest.mark.parametrize(("w", "h", "shape"), [(160, 120, (480, 640)), (320, 240, (480, 640)),
                                               (1280, 720, (720, 1280))])
def test_small_frames_are_scaled_up_for_display(w, h, shape):
    assert live(grey_frame(w, h), "up").shape[:2] == shape


def test_the_models_square_is_outlined_in_the_shown_class_colour():
    frame = grey_frame(640, 480)
    x, y, w, h = crop_box(frame.shape, "center")  # 80..560 wide
    up, down = live(frame, "up"), live(frame, "down", probs=(0.9, 0.05, 0.05))
    mid = y + h * 3 // 4  # below the text panel
    assert tuple(up[mid, x + 1]) == overlay.class_color(2)
    assert tuple(up[mid, x + w - 2]) == overlay.class_color(2)
    assert tuple(down[mid, x + 1]) == overlay.class_color(0)
    assert up[mid, x // 2].max() < 100 < up[mid, x + w // 2].min()  # outside dimmed, inside as it was


def test_no_confident_gesture_is_grey_and_full_crop_outlines_the_frame():
    frame = grey_frame(640, 480)
    img = live(frame, None, probs=(0.4, 0.35, 0.25), crop="full")
    assert tuple(img[300, 1]) == overlay.GREY and tuple(img[300, 638]) == overlay.GREY
    panel = img[:60, :300].reshape(-1, 3)
    assert not any((panel == c).all(axis=1).any() for c in overlay.PALETTE)  # no class colour in the headline


def test_the_shown_class_bar_takes_its_colour():
    img = live(grey_frame(640, 480), "up")
    for i, name in enumerate(CLASSES):
        found = (img[:200, :340].reshape(-1, 3) == overlay.class_color(i)).all(axis=1).any()
        assert found == (name == "up")


def test_collect_preview_outlines_the_default_crop_and_shows_sessions_and_hint():
    frame = grey_frame(160, 120)
    plain = overlay.draw_collect(frame, "up", {"up": 3}, auto=False, flash=False)
    more = overlay.draw_collect(frame, "up", {"up": 3}, auto=False, flash=False, sessions={"up": 2},
                                hint="next: another room")
    assert plain.shape[:2] == (480, 640)
    x, y, w, h = crop_box(plain.shape)
    assert tuple(plain[300, x + 1]) == overlay.WHITE and plain[300, x // 2].max() < 100
    assert (more != plain).any(axis=2)[:, 300:].any()  # the sessions column and the hint line drawn
