"""What the studio refuses before its window opens, each in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from thumbs.core.errors import ThumbsError
from thumbs.studio.app import StudioOptions, check_classes, check_paths


@pytest.mark.parametrize(("given", "said"), [
    ("up", "give 2 to 9 classes"),
    ("a,b,c,d,e,f,g,h,i,j", "give 2 to 9 classes"),
    ("up,down,up", "names a class twice"),
    ("up,UP", "names a class twice"),
    ("up,../x", "'../x'"),
])
def test_classes_are_refused_with_the_reason(given, said):
    with pytest.raises(ThumbsError, match=said):
        check_classes(given.split(","))


def test_classes_keep_their_key_order():
    assert check_classes(["none", "up", " down "]) == ["none", "up", "down"]


def test_a_review_queue_inside_the_data_folder_is_refused(tmp_path: Path):
    opts = StudioOptions(["up", "down"], data=tmp_path / "data", captures=tmp_path / "data" / "captures")
    with pytest.raises(ThumbsError, match="inside the data folder"):
        check_paths(opts)
    check_paths(StudioOptions(["up", "down"], data=tmp_path / "data", captures=tmp_path / "captures"))


def test_missing_model_data_file_and_foreign_event_file_are_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not events")
    (tmp_path / "file").write_text("x")
    cases = [(StudioOptions(["a", "b"], data=tmp_path / "d", start_from=tmp_path / "nope.pt"), "does not exist"),
             (StudioOptions(["a", "b"], data=tmp_path / "d", start_from=tmp_path), "is a folder, not a file: give"),
             (StudioOptions(["a", "b"], data=tmp_path / "file"), "is a file"),
             (StudioOptions(["a", "b"], data=tmp_path / "d", events=str(tmp_path / "notes.txt")), "not an event log"),
             (StudioOptions(["a", "b"], data=tmp_path / "d", events=""), "give a file name"),
             (StudioOptions(["a", "b"], data=tmp_path / "d", train={"crop": "sideways"}), "--crop sideways: use one"),
             (StudioOptions(["a", "b"], data=tmp_path / "d", train={"batch_size": 1}), "--batch-size 1 trains")]
    for opts, said in cases:
        with pytest.raises(ThumbsError, match=said):
            check_paths(opts)


def test_class_folders_beyond_the_classes_are_named_at_the_start(tmp_path: Path):
    from thumbs.studio.app import Studio

    for name in ("up", "down", "left"):
        (tmp_path / "data" / name).mkdir(parents=True)
    said: list[str] = []
    studio = Studio(None, StudioOptions(["up", "down"], data=tmp_path / "data"), None, log=said.append)
    assert said == [f"note: {tmp_path / 'data'} also holds left: training learns those classes too (move their "
                    "folders out of it to leave them out)"]
    assert studio.state.message == said[0]


def test_without_a_display_the_studio_says_what_to_do_instead(demo_video, monkeypatch):
    """The studio has no --headless: the line points at the command that records without a window."""
    from tests.helpers import thumbs_in_process

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = thumbs_in_process("studio", "--classes", "up,down", "--source", str(demo_video))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: no display (DISPLAY is not set): record without a window "
                                                  "with `thumbs collect --headless`, or over SSH use ssh -X"]


def test_a_review_queue_that_cannot_be_written_or_holds_the_source_is_refused(tmp_path: Path, monkeypatch):
    """The studio's check never asked whether --captures can be written (live's did): c then said "capture on"."""
    from tests.helpers import refuse_writes_in
    from thumbs.sources.readers import SourceSpec

    (tmp_path / "locked").mkdir()
    refuse_writes_in(monkeypatch, tmp_path / "locked")
    opts = StudioOptions(["up", "down"], data=tmp_path / "data", captures=tmp_path / "locked" / "captures")
    with pytest.raises(ThumbsError, match="--captures cannot write .*permission denied"):
        check_paths(opts)
    shots = tmp_path / "shots"
    opts = StudioOptions(["up", "down"], data=tmp_path / "data", captures=shots)
    with pytest.raises(ThumbsError, match=f"--captures '{shots}' holds the images being read"):
        check_paths(opts, SourceSpec("images", str(shots), (shots / "a.jpg",)))
