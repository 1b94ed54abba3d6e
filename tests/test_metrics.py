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
