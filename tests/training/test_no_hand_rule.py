"""The no-hand rule's class: which class a frame with no hand belongs to."""

from thumbs.hands.inputs import no_hand_class


def test_the_no_gesture_class_is_found_by_any_of_its_names_in_any_case():
    assert no_hand_class(["down", "none", "up"]) == "none"
    assert no_hand_class(["Background", "fist"]) == "Background"
    assert no_hand_class(["ok", "No-Gesture"]) == "No-Gesture"
    assert no_hand_class(["no_gesture", "palm"]) == "no_gesture"
    assert no_hand_class(["nothing", "up"]) == "nothing"


def test_classes_without_a_no_gesture_class_have_none():
    assert no_hand_class(["down", "up"]) is None
    assert no_hand_class(["nonempty", "none_of_these"]) is None
    assert no_hand_class([]) is None
