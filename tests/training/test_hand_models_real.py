"""Hand models on real photos with the real hand front end, as a user runs them: `thumbs data --hands`,
`thumbs train --input hand`, `train --from` of that model, `thumbs eval` of the .pt, and `--arch landmarks`."""

from __future__ import annotations

import json
import shutil

import pytest

from tests import helpers
from tests.conftest import REAL_THUMBS, require
from thumbs.training import checkpoint


@pytest.fixture(scope="module")
def few_real(tmp_path_factory):
    """Eight photos a class from each of the two people in ../shared/real-thumbs, in class folders."""
    root = tmp_path_factory.mktemp("real") / "data"
    for label in ("up", "down", "none"):
        photos = sorted(require(REAL_THUMBS / label).glob("*.jpg"))
        (root / label).mkdir(parents=True)
        for person in ("a_", "b_"):
            for p in [p for p in photos if p.name.startswith(person)][:8]:
                shutil.copy(p, root / label / p.name)
    return root


def test_train_input_hand_then_from_then_eval_on_real_photos(few_real, tmp_path):
    run = helpers.thumbs("data", "--data", few_real, "--hands", "--json")
    assert run.returncode == 0, run.stderr
    no_hand = {c["name"]: c["no_hand"] for c in json.loads(run.stdout)["classes"]}
    assert set(no_hand) == {"down", "none", "up"} and all(0 <= n <= 16 for n in no_hand.values())
    assert no_hand["up"] + no_hand["down"] < 16  # the front end finds most hands in these photos

    run = helpers.thumbs("train", "--data", few_real, "--input", "hand", "--arch", "mobilenet_v3_small",
                         "--weights", "none", "--img-size", "48", "--epochs", "1", "--batch-size", "8",
                         "--out", tmp_path / "hand")
    assert run.returncode == 0, run.stderr
    assert "hands: 48 photos from the found-hands cache, 0 through the front end" in run.stdout  # data --hands ran
    assert "note: no-hand rule: a frame where the hand front end finds no hand is 'none'" in run.stdout
    info = checkpoint.load(tmp_path / "hand" / "best.pt").info
    assert (info.input, info.img_size, info.arch) == ("hand", 48, "mobilenet_v3_small")
    assert "no-hand rule" in (tmp_path / "hand" / "report.md").read_text()

    run = helpers.thumbs("train", "--from", tmp_path / "hand" / "best.pt", "--data", few_real, "--epochs", "1",
                         "--out", tmp_path / "again")
    assert run.returncode == 0, run.stderr
    assert checkpoint.load(tmp_path / "again" / "best.pt").info.input == "hand"

    run = helpers.thumbs("eval", tmp_path / "again" / "best.pt", "--data", few_real, "--json")
    assert run.returncode == 0, run.stderr
    scores = json.loads(run.stdout)
    assert scores["count"] == 48 and scores["no_hand"] == {k: v for k, v in no_hand.items() if v}


def test_train_arch_landmarks_on_real_photos(few_real, tmp_path):
    run = helpers.thumbs("train", "--data", few_real, "--arch", "landmarks", "--epochs", "3", "--out",
                         tmp_path / "lm")
    assert run.returncode == 0, run.stderr
    info = checkpoint.load(tmp_path / "lm" / "best.pt").info
    assert (info.input, info.arch, info.img_size) == ("landmarks", "landmarks", 63)
