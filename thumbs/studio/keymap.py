"""The studio's keys and what each does: digits select a class (live's digit rule), the letters name actions. The
panel's key lines (panel.KEYS) say the same."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from thumbs.live.window import digit_class
from thumbs.studio.panel import HELD_KEY

ACTIONS = {" ": "save", "a": "auto", "t": "train", "c": "capture", "r": "review", "e": "export", HELD_KEY: "use_held"}
_BY_CODE = {ord(k): name for k, name in ACTIONS.items()}


def dispatch(key: int, classes: int, select: Callable[[int], None],
             actions: Mapping[str, Callable[[], None]]) -> None:
    """Act on one key read from the window (-1: none): a digit of a class selects it, a known letter runs its
    action, anything else does nothing."""
    index = digit_class(key, classes)
    if index is not None:
        select(index)
        return
    name = _BY_CODE.get(key)
    if name is not None:
        actions[name]()
