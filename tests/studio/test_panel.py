"""The studio's pixels: the panel beside the view, the selected class highlighted in its colour."""

from __future__ import annotations

import numpy as np

from thumbs.live.overlay import class_color
from thumbs.studio import panel


def _state(selected: int, **kw) -> panel.PanelState:
    rows = panel.class_rows(["up", "down", "none"], {"up": 12, "down": 3}, {"up": 1})
    return panel.PanelState(rows, selected, **kw)


def _has_colour(img: np.ndarray, bgr: tuple[int, int, int]) -> int:
    return int(np.all(img == np.array(bgr, np.uint8), axis=2).sum())


def test_compose_puts_the_panel_beside_the_view_at_its_height():
    view = np.zeros((480, 640, 3), np.uint8)
    canvas = panel.compose(view, _state(0))
    assert canvas.shape[0] == 480 and canvas.shape[1] > 640
    assert np.array_equal(canvas[:, :640], view)  # the view itself is untouched


def test_the_selected_class_is_highlighted_in_its_colour():
    for selected in (0, 2):
        img = panel.draw_panel(_state(selected), 480, 1.0)
        assert _has_colour(img, class_color(selected)) > 500
        assert _has_colour(img, class_color(1 - selected if selected == 0 else 1)) < 50


def test_a_failed_training_is_drawn_in_red_and_a_running_one_has_a_progress_bar():
    calm = panel.draw_panel(_state(0, training=["idle"]), 480, 1.0)
    failed = panel.draw_panel(_state(0, training=["class 'none' has no frames"], failed=True), 480, 1.0)
    red = panel.RED
    assert _has_colour(failed, red) > _has_colour(calm, red) + 50
    half = panel.draw_panel(_state(0, training=["epoch 1 of 2"], progress=0.5), 480, 1.0)
    full = panel.draw_panel(_state(0, training=["epoch 1 of 2"], progress=1.0), 480, 1.0)
    assert _has_colour(full, panel.GREEN) > _has_colour(half, panel.GREEN) + 100


def test_long_messages_wrap_inside_the_panel():
    long = "weights 'imagenet' cannot be downloaded here: " + "x " * 80
    img = panel.draw_panel(_state(0, training=[long], failed=True), 480, 1.0)
    assert img.shape == (480, panel.PANEL_WIDTH, 3)
    assert len(panel._wrapped(long, 400, 0.55)) > 2
