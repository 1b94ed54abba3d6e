"""`thumbs train --from RUN/best.pt`: the model's contract and class rows carry over; a new class gets rows."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from tests.helpers import make_checkpoint, thumbs_in_process
from thumbs.core.errors import ThumbsError
from thumbs.core.files import encode_jpeg
from thumbs.data import dataset
from thumbs.training import checkpoint, synthetic, train, warm_start

QUIET = {"log": lambda m: None}
CONTRACT = {"crop": "full", "flip": False, "flip_average": False, "lr": 2e-3, "augment": "strong"}


def test_head_rows_follow_the_class_names():
    old = {"w": torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), "b": torch.tensor([1.0, 2.0, 3.0])}
    fresh = {"w": torch.zeros(4, 2), "b": torch.zeros(4)}
    mapped = warm_start.map_head(old, fresh, ["down", "none", "up"], ["down", "none", "ok", "up"])
    assert mapped["b"].tolist() == [1.0, 2.0, 0.0, 3.0]
    assert mapped["w"][3].tolist() == [3.0, 3.0] and mapped["w"][2].tolist() == [0.0, 0.0]


def test_build_keeps_the_network_and_the_rows_of_known_classes(tmp_path):
    path = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=32)
    old = checkpoint.load(path).state_dict
    model, norm, added = warm_start.build(path, ["down", "none", "ok", "up"], **QUIET)
    new = model.state_dict()
    head = "net.classifier.3."
    assert added == ["ok"] and norm == "imagenet"
    assert all(torch.equal(new[k], v) for k, v in old.items() if not k.startswith(head))
    assert torch.equal(new[head + "weight"][[0, 1, 3]], old[head + "weight"])
    assert torch.equal(new[head + "bias"][[0, 1, 3]], old[head + "bias"])
    assert not torch.equal(new[head + "weight"][2], old[head + "weight"][2])  # "ok" is not "up"'s row


def test_settings_keep_the_contract_and_choose_a_short_schedule(tmp_path):
    path = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=40, settings=CONTRACT)
    s = warm_start.settings(path)
    assert (s["arch"], s["img_size"], s["crop"], s["flip"], s["flip_average"], s["norm"], s["augment"]) == \
        ("mobilenet_v3_small", 40, "full", False, False, "imagenet", "strong")
    assert s["epochs"] == warm_start.WARM_EPOCHS and s["lr"] == pytest.approx(2e-3 * warm_start.WARM_LR_FACTOR)
    assert s["start_from"] == str(path) and s["freeze_epochs"] == 0
    assert warm_start.settings(path, epochs=5, lr=1e-4)["epochs"] == 5


def _with_capture(demo_data, root, per_class=10):
    """The demo data set, a class added since the first run, and a capture session of labelled frames."""
    data = root / "data"
    shutil.copytree(demo_data, data)
    shutil.copytree(data / "up", data / "ok")
    session = "capture-s20261202-070000-abcd"
    rng = np.random.default_rng(0)
    for label in ("down", "none", "ok", "up"):
        folder = data / label / session
        folder.mkdir()
        for i in range(per_class):
            image = (rng.random((40, 40, 3)) * 60 + 60 * ("down", "none", "ok", "up").index(label)).astype(np.uint8)
            (folder / dataset.frame_name("s20261202-070000-abcd", i + 1)).write_bytes(encode_jpeg(image))
    return data


def test_a_retrain_from_keeps_the_contract_adds_a_class_and_headlines_the_captured_place(demo_data, tmp_path):
    first = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=32, settings=CONTRACT)
    data = _with_capture(demo_data, tmp_path)
    cfg = train.TrainConfig(data=str(data), **warm_start.settings(first, epochs=1), batch_size=16,
                            out=str(tmp_path / "run2"))
    result = train.train(cfg, **QUIET)
    info = checkpoint.load(result.best).info
    assert info.classes == ["down", "none", "ok", "up"] and info.img_size == 32 and info.crop == "full"
    assert info.arch == "mobilenet_v3_small" and not info.flip_average
    v = result.validation
    assert v.captured and v.new_decides and "captured place" in v.headline_name
    assert {s.session for s in v.sessions if s.part == "new"} == {"capture-s20261202-070000-abcd"}
    assert v.new.count == 4 * 3  # the later 30 % of each class's 10 captured frames
    assert "captured place" in (result.run_dir / "report.md").read_text()


def test_options_that_would_change_the_contract_are_refused(tmp_path):
    path = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=40, settings=CONTRACT)
    warm_start.refuse_changes(path, {"img_size": 40, "crop": None, "arch": "mobilenet_v3_small"})
    with pytest.raises(ThumbsError, match="--img-size 64: --from keeps the model's img_size"):
        warm_start.refuse_changes(path, {"img_size": 64})
    with pytest.raises(ThumbsError, match="--flip True"):
        warm_start.refuse_changes(path, {"flip": True})


def test_a_chain_of_three_retrains_runs_at_the_same_rate_each_time(tmp_path):
    """Each retrain read `lr` from the one before and halved it: 1e-3, then 5e-4, then 2.5e-4."""
    data = tmp_path / "data"
    synthetic.make_dataset(data, per_class=12, seed=1, width=48, height=36, classes=("up", "down"))
    path = make_checkpoint(tmp_path / "first" / "best.pt", arch="mobilenet_v3_small", size=32,
                           classes=["down", "up"], settings={"lr": 2e-3})  # a first run at 2e-3
    rates = []
    for i in range(3):
        given = {"data": str(data), "epochs": 1, "batch_size": 8, "out": str(tmp_path / f"retrain{i}"), "cache": False}
        result = train.train(warm_start.config(path, given, **QUIET), **QUIET)
        path = result.best
        rates.append((checkpoint.load(path).settings["lr"], result.history[0]["lr"]))
    assert rates == [(pytest.approx(1e-3), pytest.approx(1e-3))] * 3


def test_every_option_given_with_from_is_applied_and_said_or_refused(tmp_path):
    """--augment, --freeze-epochs, --weights and --flip-average were dropped without a word."""
    path = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=40, settings=CONTRACT)
    said: list[str] = []
    cfg = warm_start.config(path, {"data": "d", "augment": "light", "freeze_epochs": 1, "epochs": 3, "lr": 5e-4},
                            log=said.append)
    assert (cfg.data, cfg.augment, cfg.freeze_epochs, cfg.epochs, cfg.lr) == ("d", "light", 1, 3, 5e-4)
    assert said == ["--epochs 3: applied (the retrain's own is 2)", "--lr 0.0005: applied (the retrain's own is 0.001)",
                    "--augment light: applied (the retrain's own is strong)",
                    "--freeze-epochs 1: applied (the retrain's own is 0)"]
    with pytest.raises(ThumbsError, match="--weights with --from: --from starts from the whole model"):
        warm_start.config(path, {"weights": "none"}, **QUIET)
    with pytest.raises(ThumbsError, match="--flip-average True: --from keeps the model's flip_average"):
        warm_start.config(path, {"flip_average": True}, **QUIET)
    with pytest.raises(ThumbsError, match="--val-fraction with --from"):
        warm_start.config(path, {"val_fraction": 0.3}, **QUIET)


def test_train_from_with_weights_is_one_line_before_anything_trains(tmp_path, demo_data):
    path = make_checkpoint(tmp_path / "best.pt", arch="mobilenet_v3_small", size=40, settings=CONTRACT)
    got = thumbs_in_process("train", "--from", str(path), "--weights", "none", "--data", str(demo_data),
                            "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert got.exit_code == 1 and "--weights with --from" in got.stderr
    assert not (tmp_path / "run").exists()
