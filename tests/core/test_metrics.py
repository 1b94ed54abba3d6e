from thumbs.core import metrics


def test_scores_by_hand():
    s = metrics.score([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert s.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert s.accuracy == round(4 / 6, 4)
    a, b, c = s.per_class
    assert (a.precision, a.recall, a.support) == (1.0, round(2 / 3, 4), 3)
    assert (b.precision, b.recall) == (0.5, 0.5)
    assert c.f1 == round(2 * 0.5 * 1 / 1.5, 4)
    table = metrics.markdown(s)
    assert "| a | 1.000 | 0.667 |" in table and "| c | 0 | 0 | 1 |" in table


def test_parts_and_sessions_are_scored_apart():
    v = metrics.score_parts([0, 1, 1, 0], [0, 0, 1, 0], [True, True, False, False], ["a", "a", "b", "c"],
                            ["x", "y"], 0.5)
    assert v.new.accuracy == 0.5 and v.same.accuracy == 1.0 and v.headline is v.new
    assert [(s.session, s.part, s.images, s.accuracy) for s in v.sessions] == \
        [("a", "new", 2, 0.5), ("b", "same", 1, 1.0), ("c", "same", 1, 1.0)]
    assert metrics.weakest_class(v.new) == ("y", 0.0, "x", 1)
    only_same = metrics.score_parts([0], [0], [False], ["c"], ["x", "y"], 0.1)
    assert only_same.new is None and only_same.headline is only_same.same


def test_a_new_session_part_of_one_class_does_not_pick_the_checkpoint():
    classes = ["down", "none", "up"]
    # new part: 4 images of 'up' only (a single new session of one class); same part: every class
    narrow = metrics.score_parts([2, 2, 2, 2, 0, 1, 2], [0, 0, 0, 0, 0, 1, 2], [True] * 4 + [False] * 3,
                                 ["s2"] * 4 + ["s1"] * 3, classes, 0.5)
    assert narrow.new.accuracy == 0.0 and not narrow.new_decides
    assert narrow.headline is narrow.same and narrow.headline_name.startswith("accuracy on held-out frames")
    wide = metrics.score_parts([2, 0, 2, 0, 1, 2], [2, 0, 0, 0, 1, 2], [True] * 3 + [False] * 3,
                               ["s2"] * 3 + ["s1"] * 3, classes, 0.5)
    assert wide.new_decides and wide.headline is wide.new and wide.headline_name == "accuracy on a new session"
