"""The studio's keys: what the panel lists is what the window does, and a digit past the classes does nothing."""

from __future__ import annotations

from thumbs.studio import keymap, panel


def _pressed(key: int, classes: int = 3) -> list[str]:
    done: list[str] = []
    actions = {name: (lambda n=name: done.append(n)) for name in keymap.ACTIONS.values()}
    keymap.dispatch(key, classes, lambda i: done.append(f"select {i}"), actions)
    return done


def test_each_key_the_panel_lists_runs_its_action_and_only_that():
    expected = {" ": "save", "a": "auto", "t": "train", "c": "capture", "r": "review", "e": "export",
                panel.HELD_KEY: "use_held"}
    listed = " ".join(panel.KEYS)
    for key, name in expected.items():
        assert ("SPACE" if key == " " else f"{key} ") in listed, f"the panel does not list {key!r} ({name})"
        assert _pressed(ord(key)) == [name], f"{key!r} does not run {name}"
    assert _pressed(ord("q")) == []  # q is the window's quit key, read before any action


def test_digits_select_their_class_and_nothing_past_the_last():
    assert _pressed(ord("1")) == ["select 0"]
    assert _pressed(ord("3")) == ["select 2"]
    assert _pressed(ord("4")) == []
    assert _pressed(-1) == [] and _pressed(ord("x")) == []
