"""The windowed paths of collect and live on a real X display (Xvfb), driven by real key presses."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from thumbs.live import loop as live
from thumbs.live.collect import collect
from thumbs.runtime.classifier import Classifier
from thumbs.sources.readers import open_source

# No PyTorch at module level: every window runs in a child process that imports this module, and importing torch
# there cost seconds per window. The models are made in the test process (onnx_model).

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (apt install xvfb xdotool); .ci/run installs them")


class Slow:
    """A file source slowed to camera pace, so key presses land while frames still flow."""

    def __init__(self, source, delay: float = 0.01) -> None:
        self.source, self.delay, self.spec, self.fps, self.dropped, self.read = source, delay, source.spec, 30.0, 0, 0

    def __iter__(self):
        for frame in self.source:
            time.sleep(self.delay)
            self.read += 1
            yield frame


def press(display: str, title: str, keys: list[str], wait: float = 60.0) -> threading.Thread:
    """Send keys to the window called `title` once it exists (the child process needs a while to start)."""

    def run():
        env = {"DISPLAY": display}
        deadline = time.monotonic() + wait
        window: list[str] = []
        while not window and time.monotonic() < deadline:
            time.sleep(0.2)
            window = subprocess.run(["xdotool", "search", "--name", title], capture_output=True, text=True,
                                    env=env).stdout.split()
        if not window:
            return
        time.sleep(0.5)
        subprocess.run(["xdotool", "windowfocus", window[0]], env=env, capture_output=True)
        for key in keys:
            subprocess.run(["xdotool", "key", key], env=env)
            time.sleep(0.3)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _run_and_report(queue, display, fn, args) -> None:
    os.environ["DISPLAY"] = display
    queue.put(fn(*args))


def in_child(display: str, fn, *args):
    """Run fn in a fresh child process (spawned: a fork would inherit torch's busy thread pools and can
    deadlock). Qt also keeps its X connection for the life of a process and exits it when the display
    goes, so the window must live and die in a process of its own, as a user's does."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_run_and_report, args=(queue, display, fn, args))
    child.start()
    child.join(120)
    assert child.exitcode == 0, f"the window process ended with exit code {child.exitcode}"
    return queue.get(timeout=5)


def _collect(video, data):
    with open_source(str(video)) as src:
        slow = Slow(src, 0.05)
        result = collect(slow, "up", data, headless=False)
    return len(result.saved), result.interrupted, slow.read


def test_collect_window_saves_on_space_and_quits_on_q(display, tmp_path, live_video):
    keys = press(display, "thumbs collect", ["space", "space", "q"])
    saved, interrupted, read = in_child(display, _collect, live_video, tmp_path)
    keys.join()
    assert saved == 2 and not interrupted
    assert len(list((tmp_path / "up").glob("*.jpg"))) == 2
    assert read < 140  # q ended it before the clip did


def _live(model, video, data):
    clf = Classifier.load(model, log=lambda m: None)
    with open_source(str(video)) as src:
        summary = live.run(Slow(src, 0.05), clf, live.LiveOptions(headless=False, data=str(data)))
    return [p.parent.name for p in summary.saved], summary.frames, clf.classes


def onnx_model(folder):
    from tests.helpers import make_checkpoint
    from thumbs.training.export import export

    return export(make_checkpoint(folder / "best.pt"), log=lambda m: None).onnx_path


def test_live_window_digit_saves_a_hard_example(display, tmp_path, live_video):
    model = onnx_model(tmp_path)
    keys = press(display, "thumbs live", ["2", "q"])
    saved, frames, classes = in_child(display, _live, model, live_video, tmp_path / "data")
    keys.join()
    assert saved == [classes[1]]
    assert len(list((tmp_path / "data" / classes[1]).glob("*.jpg"))) == 1
    assert frames < 140


def _show_small_frame(title):
    import cv2
    import numpy as np

    from thumbs.live.overlay import draw_live
    from thumbs.live.window import QUIT_KEYS, Window

    window = Window(title)
    canvas = draw_live(np.full((120, 160, 3), 100, np.uint8), ["a", "b"], np.array([0.9, 0.1]), "a", 0.9, 30.0,
                       1.0, 0.6)
    for _ in range(10):
        window.show(canvas)
        time.sleep(0.05)
    rect = tuple(cv2.getWindowImageRect(title))
    keys = [window.quit_requested(k) for k in (*QUIT_KEYS, ord("a"), -1)]
    window.close()
    return rect, keys


def test_window_shows_the_scaled_up_canvas_without_a_toolbar(display):
    rect, keys = in_child(display, _show_small_frame, "thumbs geometry")
    assert rect == (0, 0, 640, 480)  # a Qt toolbar and status bar would push the image in and shrink it
    assert keys == [True, True, True, False, False]


def test_live_window_quits_on_escape(display, tmp_path, live_video):
    model = onnx_model(tmp_path)
    keys = press(display, "thumbs live", ["Escape"])
    saved, frames, _ = in_child(display, _live, model, live_video, tmp_path / "data")
    keys.join()
    assert saved == [] and frames < 140


def _review(folder, data):
    from thumbs.live.review import review

    return [(d.file, d.label) for d in review(folder, data)]


def test_review_window_keys_label_accept_discard_undo_quit_and_resume(display, tmp_path):
    from tests.data.test_captures import make_capture, make_data
    from thumbs.data import captures

    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder, 5)  # the model's classes: down, none, up; its guess: up
    keys = press(display, "thumbs review", ["1", "Return", "x", "u", "space", "q"])
    decided = in_child(display, _review, folder, data)
    keys.join()
    assert decided == [(names[0], "down"), (names[1], "up"), (names[2], "up")]  # x then u: undone
    session = f"capture-{names[0].split('_')[0]}"
    assert (data / "down" / session / names[0]).is_file() and (data / "up" / session / names[2]).is_file()
    assert not list((folder / captures.DISCARDED).glob("*"))
    keys = press(display, "thumbs review", ["2", "q"])  # the next review continues with the 4th frame
    decided = in_child(display, _review, folder, data)
    keys.join()
    assert decided == [(names[3], "none")]
    assert [w.path.name for w in captures.waiting(folder)] == [names[4]]


def test_a_running_x_server_answers(display, monkeypatch):
    from thumbs.live.window import x_server_answers

    monkeypatch.setenv("DISPLAY", display)
    assert x_server_answers()


@pytest.mark.parametrize(("raw", "key"), [(-1, -1), (0x71, ord("q")), (0x1B, 27), (0x20, ord(" ")),
                                          (0x10061, ord("a"))])
def test_character_keys_read_as_themselves(raw, key):
    from thumbs.live.window import key_code

    assert key_code(raw) == key


@pytest.mark.parametrize("raw", [0xFF51, 0xFF61, 0xFF63, 0xFFE1, 0xFFFF, 0x250000])
def test_arrows_print_insert_shift_and_windows_special_keys_are_no_character(raw):
    """X11's Left is 0xff51: its low byte is 'Q', which quit every window; Print's is 'a', Insert's 'c'."""
    from thumbs.live.window import NOT_A_CHARACTER, QUIT_KEYS, key_code

    assert key_code(raw) == NOT_A_CHARACTER and key_code(raw) not in QUIT_KEYS


def test_one_digit_rule_for_live_review_and_the_studio():
    from thumbs.live.review import key_label
    from thumbs.live.window import digit_class

    classes = ["up", "down", "none"]
    assert [digit_class(ord(c), 3) for c in "0123459"] == [None, 0, 1, 2, None, None, None]
    assert digit_class(ord("9"), 12) == 8 and digit_class(ord("a"), 12) is None  # 1-9 only, whatever the count
    assert [live.hard_example_class(ord(c), classes) for c in "1340"] == ["up", "none", None, None]
    assert [key_label(ord(c), classes, "down") for c in "13 4"] == ["up", "none", "down", None]


def long_video(path, frames: int = 30000):
    """A clip long enough to outlast any test (16 minutes at 30 fps, seconds to write, 600 KB): what ends the
    run is the test's doing, not the clip's end."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (80, 60))
    shades = [np.full((60, 80, 3), v, np.uint8) for v in range(0, 250, 25)]
    for i in range(frames):
        writer.write(shades[(i // 30) % len(shades)])
    writer.release()
    return path


def destroy_window(display: str, proc: subprocess.Popen, title: str, keys: tuple[str, ...] = ()) -> None:
    """`xdotool windowclose`: another X client destroys the window under the program (XDestroyWindow), which
    OpenCV never notices. `keys` are pressed first."""
    env = {**os.environ, "DISPLAY": display}
    deadline, found = time.monotonic() + 60, []
    while not found and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True,
                               text=True, env=env).stdout.split()
    assert found, f"no '{title}' window appeared: {proc.communicate(timeout=30)}"
    time.sleep(1.0)
    for key in keys:
        subprocess.run(["xdotool", "windowfocus", found[0]], env=env, capture_output=True)
        subprocess.run(["xdotool", "key", key], env=env, capture_output=True)
        time.sleep(0.5)
    subprocess.run(["xdotool", "windowclose", found[0]], env=env, check=True, capture_output=True)
    assert not subprocess.run(["xdotool", "search", "--name", title], capture_output=True, text=True,
                              env=env).stdout.split(), "the window is still there"


def ended_after_destroy(proc: subprocess.Popen, seconds: float = 30) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {seconds:.0f} s after its window was destroyed; stderr: {err[-300:]}")


def test_live_ends_with_its_summary_when_another_client_destroys_its_window(display, tmp_path):
    from tests.helpers import installed_thumbs

    model, video = onnx_model(tmp_path), long_video(tmp_path / "long.mp4")
    proc = subprocess.Popen([*installed_thumbs(), "live", "--model", str(model), "--source", str(video),
                             "--data", str(tmp_path / "data")], env={**os.environ, "DISPLAY": display},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    destroy_window(display, proc, "thumbs live")
    out, err = ended_after_destroy(proc)
    assert proc.returncode == 0, err[-500:]
    summary = re.search(r"(\d+) frames in [\d.]+ s: [\d.]+ fps", out + err)
    assert summary, out + err
    assert 0 < int(summary.group(1)) < 30000 and "interrupted" not in out + err


def test_review_keeps_its_labels_and_ends_when_another_client_destroys_its_window(display, tmp_path):
    from tests.data.test_captures import make_capture, make_data
    from tests.helpers import installed_thumbs
    from thumbs.data import captures

    folder, data = tmp_path / "cap", make_data(tmp_path / "data")
    names = make_capture(folder, 4)
    proc = subprocess.Popen([*installed_thumbs(), "review", str(folder), "--data", str(data)],
                            env={**os.environ, "DISPLAY": display, "COLUMNS": "200"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    destroy_window(display, proc, "thumbs review", keys=("1",))
    out, err = ended_after_destroy(proc)
    assert proc.returncode == 0, err[-500:]
    assert "labelled 1 frame(s)" in out and "(1 down)" in out and "3 still waiting" in out, out
    assert (data / "down" / f"capture-{names[0].split('_')[0]}" / names[0]).is_file()
    assert [w.path.name for w in captures.waiting(folder)] == names[1:]
