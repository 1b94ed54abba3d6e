import numpy as np

from thumbs.live.smoothing import Smoother

CLASSES = ["down", "none", "up"]
P = {"down": [0.9, 0.05, 0.05], "none": [0.05, 0.9, 0.05], "up": [0.05, 0.05, 0.9], "unsure": [0.4, 0.3, 0.3]}


def _run(stream, **kw):
    s = Smoother(CLASSES, **kw)
    return [s.update(np.array(P[name]))[0] for name in stream]


def test_single_frame_flips_are_removed():
    stream = ["up"] * 6 + ["down"] + ["up"] * 5 + ["none"] + ["up"] * 4
    raw_flips = sum(a != b for a, b in zip(stream, stream[1:]))
    out = _run(stream, window=5, threshold=0.6)
    assert raw_flips == 4
    assert out[0] == "up" and all(label == "up" for label in out)


def test_a_real_change_comes_through_after_a_few_frames():
    out = _run(["up"] * 8 + ["down"] * 8, window=5, threshold=0.6)
    assert out[7] == "up" and out[-1] == "down"
    switch = out.index("down")
    assert 8 < switch <= 12 and all(label == "down" for label in out[switch:])


def test_low_confidence_means_no_gesture_and_window_one_is_raw():
    assert _run(["unsure"] * 4, window=3, threshold=0.6) == [None] * 4
    assert _run(["up", "down", "up"], window=1, threshold=0.6) == ["up", "down", "up"]
