"""The `thumbs` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import zipfile

import pytest

from tests.helpers import installed_thumbs, make_checkpoint, thumbs, thumbs_in_process


def test_help_lists_every_registered_command():
    from thumbs.cli import app

    result = thumbs("--help")
    assert result.returncode == 0
    registered = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    assert {"collect", "data", "train", "eval", "export", "live", "doctor", "demo"} <= registered
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ") and line[2] != " "]
    listed = {row.split()[1] for row in rows}
    assert registered <= listed  # each command has its own row, not just a mention in another's help


def test_collect_then_data_json(tmp_path, demo_video):
    data = tmp_path / "dataset"
    got = thumbs("collect", "--label", "up", "--source", str(demo_video), "--data", str(data), "--headless",
                 "--count", "7", "--size", "64x48")
    assert got.returncode == 0, got.stderr
    assert "saved 7 frame(s)" in got.stdout
    report = json.loads(thumbs("data", "--data", str(data), "--json").stdout)
    assert report["total"] == 7 and report["classes"][0]["name"] == "up"
    assert {"few_images", "one_class", "no_background"} <= {w["code"] for w in report["warnings"]}


@pytest.mark.parametrize("args, message", [
    (["collect", "--label", "../up", "--source", "x.mp4", "--headless"], "label '../up' is not a safe folder name"),
    (["collect", "--label", "up", "--source", "missing.mp4", "--headless"], "source 'missing.mp4': no such file"),
    (["collect", "--label", "up", "--source", "7", "--headless", "--count", "1"], "could not open camera 7"),
    (["collect", "--label", "up", "--source", "videotestsrc ! appsink"], "the frame size is not known"),
    (["data", "--data", "nowhere"], "data folder 'nowhere' does not exist"),
    (["train", "--data", "nowhere"], "data folder 'nowhere' does not exist"),
    (["export", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
    (["export", "."], "checkpoint '.' is a folder, not a file"),
    (["live", "--model", ".", "--headless"], "model '.' is a folder, not a file (train one with `thumbs train`)"),
    (["doctor", "--no-cameras", "--model", "missing.onnx"], "model 'missing.onnx' does not exist"),
    (["live", "--model", "missing.onnx", "--headless"], "model 'missing.onnx' does not exist"),
    (["live", "--headless"], "no trained model found in runs/"),
    (["eval", "missing.pt"], "model 'missing.pt' does not exist"),
    (["export", "missing.pt", "--opset", "99"], "--opset 99 is not supported: use 11-18"),
])
def test_bad_input_gives_one_clear_line_and_exit_1(tmp_path, args, message):
    result = thumbs_in_process(*args, cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_symlink_loop_given_as_a_path_is_one_line_not_a_traceback(tmp_path, demo_data):
    (tmp_path / "loop").symlink_to("loop")
    for args in (["train", "--data", str(demo_data), "--out", "loop"], ["studio", "--classes", "up,down", "--data",
                                                                          "loop"]):
        result = thumbs_in_process(*args, cwd=tmp_path)
        assert result.exit_code == 1 and result.stdout == "", result.output
        assert result.stderr.strip() == (f"error: Symlink loop from '{tmp_path / 'loop'}': a link leads back to "
                                         "itself; give the real path")


def test_the_real_command_ends_bad_input_with_one_line_on_stderr_and_exit_1(tmp_path):
    """The cases above run in-process; this one as a user runs it: the entry point's own exit code and stderr."""
    result = thumbs("data", "--data", "nowhere", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("error: data folder 'nowhere' does not exist: record frames with `thumbs collect "
                                     "--label NAME`")


NO_TORCH = """
import json, sys
sys.modules["torch"] = None  # `import torch` now raises ImportError
from typer.testing import CliRunner
from thumbs.cli import app
runs = [CliRunner().invoke(app, args, env={"COLUMNS": "200"}) for args in json.loads(sys.argv[1])]
print(json.dumps([[r.exit_code, r.stderr, repr(r.exception)] for r in runs]))
"""


def test_train_and_export_refuse_settings_before_pytorch_is_imported(tmp_path, demo_data):
    """`thumbs train --data nowhere` took 10 s to say so (`thumbs export missing.pt` 5 s): the refusal waited for
    `import torch`. Here PyTorch cannot be imported at all, and every refusal still comes, as its one line: the
    settings, the paths to write, and a checkpoint that is no PyTorch file (empty, text, an ONNX model)."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"x")
    with zipfile.ZipFile(tmp_path / "zip.pt", "w") as z:  # what torch.save writes, as far as a glance can tell
        z.writestr("zip/data.pkl", b"")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "no-classes").mkdir()
    (tmp_path / "notes.txt").write_text("text\n")
    data = str(demo_data)
    cases = [(["train", "--data", "nowhere"], "data folder 'nowhere' does not exist"),
             (["train", "--data", data, "--crop", "middle"], "--crop middle: use one of center, full"),
             (["train", "--data", data, "--augment", "wild"], "--augment wild: use one of light, strong"),
             (["train", "--data", data, "--batch-size", "1"], "--batch-size 1 trains nothing"),
             (["train", "--data", data, "--lr", "1e9"], "--lr 1e+09: too large to train"),
             (["train", "--data", data, "--out", f"{data}/run"], "is inside the data folder"),
             (["train", "--data", data, "--out", "run"], "continue that run with `thumbs train --resume run/last.pt`"),
             (["train", "--data", data, "--weights", "missing.pth"], "weights file 'missing.pth' does not exist"),
             (["train", "--data", data, "--resume", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
             (["train", "--data", data, "--from", "run"], "checkpoint 'run' is a folder, not a file"),
             (["export", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
             (["export", "."], "checkpoint '.' is a folder, not a file"),
             (["export", "run/last.pt", "--opset", "19"], "--opset 19 is not supported: use 11-18"),
             (["export", "run/last.pt", "--batch", "4"], "--batch '4': use dynamic or 1"),
             (["train", "--data", data, "--arch", ""], "unknown architecture '': choose one of alexnet"),
             (["train", "--data", data, "--device", "gpu"], "--device 'gpu': use auto, cpu, cuda or cuda:N"),
             (["train", "--data", data, "--norm", ""], "--norm '': use imagenet or inception"),
             (["train", "--data", data, "--out", "notes.txt"], "'notes.txt' is a file, not a folder"),
             (["train", "--data", "no-classes"], "'no-classes' has no class folders"),
             (["train", "--data", data, "--weights", "empty.pt"], "weights file 'empty.pt' is empty (0 bytes)"),
             (["train", "--data", data, "--from", "run/last.pt"], "'run/last.pt' is not a file torch.save wrote"),
             (["train", "--data", data, "--resume", "notes.txt"], "'notes.txt' is not a file torch.save wrote"),
             (["export", "run/last.pt"], "checkpoint 'run/last.pt' is not a file torch.save wrote"),
             (["export", "zip.pt", "--out", "notes.txt"], "'notes.txt' is an existing file, not .onnx"),
             (["export", "zip.pt", "--out", "/proc/x/m.onnx"], "--out cannot write '/proc/x'"),
             (["live", "--model", "empty.pt", "--headless"], "checkpoint 'empty.pt' is empty"),
             (["doctor", "--no-cameras", "--model", "notes.txt"], "'notes.txt' is not a whole ONNX model")]
    run = subprocess.run([sys.executable, "-c", NO_TORCH, json.dumps([args for args, _ in cases])],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    for (args, message), (code, stderr, exception) in zip(cases, json.loads(run.stdout)):
        assert code == 1 and message in stderr and len(stderr.strip().splitlines()) == 1, (args, stderr, exception)
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"x" and not (demo_data / "run").exists()


def test_window_without_display_says_use_headless(tmp_path, demo_video):
    result = thumbs_in_process("collect", "--label", "up", "--source", str(demo_video), "--data", str(tmp_path))
    assert result.exit_code == 1 and "run with --headless" in result.stderr
    assert not list(tmp_path.rglob("*.jpg"))


def test_export_then_live_with_events_on_stdout(tmp_path, demo_video):
    ckpt = make_checkpoint(tmp_path / "run" / "best.pt")
    exported = thumbs_in_process("export", str(ckpt))
    assert exported.exit_code == 0 and "max difference to PyTorch" in exported.stdout
    assert exported.stdout.startswith("cpu: 1 thread(s) (as OMP_NUM_THREADS say)\n")  # conftest's one thread
    result = thumbs("live", "--model", str(tmp_path / "run" / "best.onnx"), "--source", str(demo_video),
                    "--headless", "--events", "-", "--max-frames", "6")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["frame"] for e in events] == list(range(6))
    assert "6 frames" in result.stderr and "p50" in result.stderr  # the summary stays off the event stream
    assert result.stderr.startswith("cpu: 1 thread(s)")  # the policy's line first, off the event stream too


def test_live_failing_source_names_it(tmp_path):
    ckpt = make_checkpoint(tmp_path / "best.pt")
    result = thumbs_in_process("live", "--model", str(ckpt), "--source", "rtsp://127.0.0.1:9/none", "--headless")
    assert result.exit_code == 1 and "could not open url 'rtsp://127.0.0.1:9/none'" in result.stderr


def test_doctor_reports_this_machine():
    result = thumbs_in_process("doctor", "--no-cameras")
    assert result.exit_code == 0, result.output
    for key in ("python", "opencv", "onnxruntime", "usable providers", "torch"):
        assert key in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--lr", "nan"], "nan is not a positive number"),
    (["train", "--lr", "0"], "0.0 is not a positive number"),
    (["train", "--img-size", "10000"], "--img-size"),
    (["train", "--epochs", "0"], "--epochs"),
    (["demo-data", "--per-class", "0"], "--per-class"),
    (["collect", "--label", "up", "--count", "-1"], "--count"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--seed", str(2**32)], "--seed"),  # NumPy's own ValueError was a traceback
    (["demo-data", "--seed", "-5"], "--seed"),
    (["live", "--fps", "inf"], "--fps"),
    (["live", "--smooth", str(10**12)], "--smooth"),
])
def test_option_range_checks(args, message):
    from typer.testing import CliRunner

    from thumbs.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_train_into_an_existing_run_and_demo_data_into_my_folder_are_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "photo.jpg").write_bytes(b"x")
    for args, message in ((["train", "--out", "run"], "continue that run with `thumbs train --resume run/last.pt`"),
                          (["demo-data", "--out", "mine"], "already holds files that demo-data did not write")):
        result = thumbs_in_process(*args, cwd=tmp_path)
        assert result.exit_code == 1 and message in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"x" and os.listdir(tmp_path / "mine") == ["photo.jpg"]


def test_ctrl_c_in_the_first_epoch_exits_130_and_leaves_no_run_folder(demo_data, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from thumbs.cli import app
    from thumbs.training.trainer import Trainer

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_epoch", interrupted)
    result = CliRunner().invoke(app, ["train", "--data", str(demo_data), "--out", str(tmp_path / "run"),
                                      "--weights", "none", "--arch", "mobilenet_v3_small", "--img-size", "32"])
    assert result.exit_code == 130 and "interrupted: before the first epoch finished" in result.output
    assert not (tmp_path / "run").exists()


def _invoke(*args: str):
    from typer.testing import CliRunner

    from thumbs.cli import app

    return CliRunner().invoke(app, list(args))


def test_train_resume_through_the_cli_takes_the_run_settings_and_refuses_others(demo_data, tmp_path):
    from thumbs.training import checkpoint

    run = tmp_path / "run"
    tiny = ["--weights", "none", "--arch", "mobilenet_v3_small", "--img-size", "32", "--batch-size", "16"]
    first = _invoke("train", "--data", str(demo_data), "--out", str(run), "--epochs", "1", *tiny)
    assert first.exit_code == 0, first.output
    refused = _invoke("train", "--resume", str(run / "last.pt"), "--arch", "resnet18", "--lr", "0.5", "--data",
                      "/nonexistent", "--no-flip")
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert "--arch resnet18 (the run has mobilenet_v3_small)" in refused.output and "--no-flip" in refused.output
    resumed = _invoke("train", "--resume", str(run / "best.pt"), "--epochs", "2", "--data", str(demo_data), *tiny)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming from" in resumed.output and "not best.pt" in resumed.output
    assert "--epochs 2: applied (the run had 1)" in resumed.output and f"model: {run / 'best.pt'}" in resumed.output
    assert [h["epoch"] for h in json.loads((run / "metrics.json").read_text())["history"]] == [1, 2]
    assert checkpoint.load(run / "last.pt").epoch == 1


def test_train_batch_size_1_is_refused_before_training(tmp_path, demo_data):
    result = _invoke("train", "--data", str(demo_data), "--out", str(tmp_path / "run"), "--batch-size", "1")
    assert result.exit_code == 1 and "--batch-size 1 trains nothing" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from thumbs.training.export import export

    return export(make_checkpoint(tmp_path_factory.mktemp("model") / "best.pt"), log=lambda m: None).onnx_path


def live_process(model, source, *args: str) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    return subprocess.Popen([*installed_thumbs(), "live", "--model", str(model), "--source",
                             str(source), "--headless", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_live_events_into_a_closed_pipe_end_quietly(onnx_model, demo_video):
    proc = live_process(onnx_model, demo_video, "--events", "-")
    proc.stdout.close()  # as `| head -1` does once it has its line
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "frames in" in stderr


def test_live_ctrl_c_prints_the_summary_and_exits_130(onnx_model, tmp_path):
    import cv2
    import numpy as np

    clip = tmp_path / "long.avi"  # long enough to be running when the signal comes
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(3000):
        writer.write(np.full((48, 64, 3), i % 255, np.uint8))
    writer.release()
    proc = live_process(onnx_model, clip, "--events", "-")
    # the reads below block: a watchdog kills a hung process, so the reads end and the test fails, not hangs
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        first = proc.stdout.readline()
        assert json.loads(first)["frame"] == 0
        proc.send_signal(signal.SIGINT)
        # read on through proc.stdout: communicate() reads the pipe itself and would miss the lines that
        # readline() already buffered
        rest, stderr = proc.stdout.read(), proc.stderr.read()
    finally:
        watchdog.cancel()
    assert proc.wait(timeout=120) == 130, stderr
    events = 1 + len(rest.splitlines())
    assert f"{events} frames in" in stderr and "(interrupted)" in stderr and "Traceback" not in stderr


def _one_line_error(result, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["data", "--data", "{data}"],
                                  ["data", "--json", "--data", "{data}"], ["doctor", "--no-cameras"],
                                  ["eval", "{model}", "--data", "{data}", "--provider", "cpu"],
                                  ["live", "--model", "{model}", "--source", "{video}", "--headless", "--max-frames",
                                   "3", "--provider", "cpu"],
                                  ["collect", "--label", "up", "--source", "{video}", "--data", "{tmp}", "--headless",
                                   "--count", "2"]])
def test_a_reader_that_closed_the_pipe_ends_every_command_quietly_with_exit_0(args, demo_data, onnx_model,
                                                                              demo_video, tmp_path):
    """`thumbs ... | head -1` with the installed command: click answered exit 1 (and Python "Exception ignored ...
    BrokenPipeError"), and the console script once skipped main(), so rich's SystemExit(1) came through."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DISPLAY", None)
    given = [a.format(data=demo_data, model=onnx_model, video=demo_video, tmp=tmp_path / "d") for a in args]
    proc = subprocess.Popen([*installed_thumbs(), *given],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc.stdout.close()  # the reader is gone before the first line is written
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr
    assert all(line.startswith(("warning", "    ")) for line in stderr.splitlines()), stderr  # data's own notes


@pytest.mark.parametrize("args", [["--help"], ["data", "--json", "--data", "{data}"], ["data", "--data", "{data}"]])
def test_a_full_disk_under_stdout_is_one_line(args, demo_data):
    """`thumbs data --json > /dev/full` was a traceback (the last flush, or rich's write); with the installed
    command, `thumbs --help > /dev/full` too (its entry point skipped main())."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([*installed_thumbs(), *(a.format(data=demo_data) for a in args)],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    _one_line_error(result, "no space left on the device")


def test_a_path_name_too_long_is_one_line_naming_it(tmp_path):
    from typer.testing import CliRunner

    from thumbs.cli import app

    result = CliRunner().invoke(app, ["data", "--data", "x" * 300])
    assert result.exit_code == 1 and "the name is too long: choose a shorter path" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_file_names_that_are_not_utf8_are_shown_as_bytes(tmp_path, onnx_model):
    """Latin-1 names from an old camera: printing one raised UnicodeEncodeError, and the split's hash too."""
    import cv2
    import numpy as np

    for label in ("up", "down"):
        (tmp_path / label).mkdir()
        cv2.imwrite(str(tmp_path / label / "a.jpg"), np.full((16, 16, 3), 40 if label == "up" else 200, np.uint8))
    session = os.path.join(bytes(tmp_path / "up"), b"caf\xe9")
    os.mkdir(session)
    with open(os.path.join(session, b"b.jpg"), "wb") as f:  # OpenCV itself crashes on such a name
        f.write(cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    with open(os.path.join(bytes(tmp_path / "down"), b"photo\xe9.jpg"), "wb") as f:
        f.write(b"not a jpeg")
    result = thumbs("data", "--data", str(tmp_path))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "photo\\xe9.jpg" in result.stderr  # the corrupt file, named as `ls -b` would
    video = os.path.join(bytes(tmp_path), b"clip\xe9.mp4")
    with open(video, "wb") as f:
        f.write(b"\0" * 100)
    _one_line_error(thumbs("live", "--model", str(onnx_model), "--source", os.fsdecode(video), "--headless"),
                    "its name is not UTF-8 text, which OpenCV cannot open")


def test_a_video_with_no_frame_says_nothing_was_classified(onnx_model, tmp_path):
    import cv2

    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48)).release()  # a header only
    _one_line_error(thumbs("live", "--model", str(onnx_model), "--source", str(empty), "--headless"),
                    f"nothing was classified: video '{empty}' gave no frame")
    # an --events file it made is removed again (it was left 0 bytes); one that was there keeps its lines
    _one_line_error(thumbs("live", "--model", str(onnx_model), "--source", str(empty), "--headless", "--events",
                           str(tmp_path / "new.jsonl")), "nothing was classified")
    assert not (tmp_path / "new.jsonl").exists()
    (tmp_path / "old.jsonl").write_text('{"event": "frame", "frame": 0}\n')
    _one_line_error(thumbs("live", "--model", str(onnx_model), "--source", str(empty), "--headless", "--events",
                           str(tmp_path / "old.jsonl")), "nothing was classified")
    assert (tmp_path / "old.jsonl").read_text() == '{"event": "frame", "frame": 0}\n'


def test_a_display_with_no_x_server_is_one_line_not_a_qt_abort(onnx_model, demo_video):
    env = {**os.environ, "DISPLAY": ":93"}  # no X server there
    result = subprocess.run([*installed_thumbs(), "live", "--model", str(onnx_model), "--source",
                             str(demo_video)], capture_output=True, text=True, env=env, timeout=120)
    _one_line_error(result, "no X server answers at DISPLAY=:93")


@pytest.mark.parametrize("args", [["collect", "--label", "up", "--headless", "--data", ""], ["train", "--out", ""],
                                  ["demo-data", "--out", ""], ["export", ""], ["live", "--headless", "--record", ""],
                                  ["studio", "--classes", "up,down", "--captures", ""]])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(tmp_path, args):
    """Typer reads '' as Path('.'): `collect --data ''` saved into ./up/ and `demo --out ''` wrote the whole demo
    into the current folder."""
    result = thumbs_in_process(*args, cwd=tmp_path)
    assert result.exit_code == 2 and "an empty path: give a file or folder name" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["up\nx", "thumbs up", "CON"])
def test_train_refuses_a_class_folder_collect_would_refuse_in_one_line(tmp_path, demo_data, name):
    """A class folder whose name held a newline trained and exported: its labels file then had a line too many,
    and live refused the fresh export. train now checks class names by collect's rule."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    (data / "up").rename(data / name)
    got = thumbs_in_process("train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                            "--arch", "mobilenet_v3_small", "--weights", "none", "--img-size", "32")
    assert got.exit_code == 1 and not (tmp_path / "run").exists()
    assert got.stderr.startswith(f"error: class folder {str(data / name)!r} cannot be a class"), got.stderr
    assert len(got.stderr.strip().splitlines()) == 1
    collect = thumbs_in_process("collect", "--label", name, "--source", "x.mp4", "--headless")
    assert collect.exit_code == 1 and "is not a safe folder name" in collect.stderr
