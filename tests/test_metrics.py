from thumbs import metrics


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
