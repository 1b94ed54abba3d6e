"""Serving through the real Triton core (nvidia-pytriton's tritonserver, tests/serve/server.py): the repository that
`thumbs export --format triton` writes loads unchanged, `thumbs live --model grpc://...` agrees with the local model
frame for frame, the batch limit holds, and a server lost mid-run costs no frame its event."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import make_checkpoint, thumbs, thumbs_in_process
from tests.serve.server import TritonServer, missing
from thumbs.training import synthetic

pytest.importorskip("tritonclient.grpc", reason="tritonclient is not installed: pip install 'thumbs[serve]'")
WHY_NOT = missing()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no Triton server here: {WHY_NOT}")
SIZE = 48


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A repository as `thumbs export --format triton --instance cpu` writes it, of an untrained SqueezeNet
    (its outputs differ from frame to frame, so agreement means something)."""
    root = tmp_path_factory.mktemp("serve")
    make_checkpoint(root / "runs" / "sq" / "best.pt", "squeezenet1_1", SIZE)
    result = thumbs_in_process("export", "runs/sq/best.pt", "--format", "triton", "--out", "repo", "--instance",
                               "cpu", cwd=root)
    assert result.exit_code == 0, result.output
    return root


def _without_contract(repo: Path) -> None:
    """repo/bare: the same model with its config's thumbs parameters cut off (as if written by hand)."""
    shutil.copytree(repo / "sq", repo / "bare")
    config = (repo / "bare" / "config.pbtxt").read_text()
    (repo / "bare" / "config.pbtxt").write_text(config[:config.index("parameters [")].replace('"sq"', '"bare"'))


@pytest.fixture(scope="module")
def server(exported, tmp_path_factory):
    """One server for the module (ready in 2-3 s), the exported repository loaded as it is, beside a model
    without the thumbs contract."""
    repo = tmp_path_factory.mktemp("served") / "repo"
    shutil.copytree(exported / "repo", repo)
    _without_contract(repo)
    with TritonServer(repo, tmp_path_factory.mktemp("triton")) as running:
        yield running


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return synthetic.make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", segments=[
        ("up", 30), ("none", 30), ("down", 30)], seed=5, width=160, height=120)


def _local(exported: Path) -> Path:
    return exported / "repo" / "sq" / "1" / "model.onnx"


def test_the_exported_repository_loads_unchanged_and_answers_as_onnx_runtime(exported, server):
    import onnxruntime as ort
    import tritonclient.grpc as grpcclient

    model = exported / "repo" / "sq"
    assert sorted(str(p.relative_to(model)) for p in model.rglob("*")) == [
        "1", "1/model.labels.txt", "1/model.onnx", "config.pbtxt", "labels.txt"]
    assert (model / "labels.txt").read_text() == "down\nnone\nup\n"
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    assert client.is_model_ready("sq")
    config = client.get_model_config("sq", as_json=True)["config"]
    assert (config["max_batch_size"], config["input"][0]["dims"], config["instance_group"][0]["kind"]) == (
        16, ["3", str(SIZE), str(SIZE)], "KIND_CPU")
    assert json.loads(config["parameters"]["thumbs.info"]["string_value"])["classes"] == ["down", "none", "up"]
    x = np.random.default_rng(1).random((5, 3, SIZE, SIZE), dtype=np.float32)
    tensor = grpcclient.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    served = client.infer("sq", [tensor]).as_numpy("probs")
    local = ort.InferenceSession(str(_local(exported)), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert np.abs(served - local).max() < 1e-6
    assert len({tuple(np.round(row, 5)) for row in served}) == 5  # five inputs, five answers


def test_a_batch_above_max_batch_size_is_refused_and_the_client_sends_pieces(exported, server):
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    from thumbs.runtime.classifier import Classifier

    x = np.random.default_rng(2).random((40, 3, SIZE, SIZE), dtype=np.float32)
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    tensor = grpcclient.InferInput("input", [17, 3, SIZE, SIZE], "FP32")
    tensor.set_data_from_numpy(x[:17])
    with pytest.raises(InferenceServerException, match="batch-size must be <= 16"):
        client.infer("sq", [tensor])
    served = Classifier.load(server.url("grpc", "sq"), log=lambda m: None).predict_batch(x)
    local = Classifier.load(_local(exported), log=lambda m: None).predict_batch(x)
    assert served.shape == (40, 3) and np.abs(served - local).max() < 1e-6


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_live_through_triton_agrees_with_the_local_model_frame_for_frame(exported, server, clip, tmp_path, scheme):
    """With the outputs a local model has: events, --record and --capture (which names the served model)."""
    local, served = tmp_path / "local.jsonl", tmp_path / "served.jsonl"
    result = thumbs("live", "--model", str(_local(exported)), "--source", str(clip), "--headless", "--events",
                    str(local))
    assert result.returncode == 0, result.stderr
    result = thumbs("live", "--model", server.url(scheme, "sq"), "--source", str(clip), "--headless", "--events",
                    str(served), "--record", str(tmp_path / "served.avi"), "--capture", str(tmp_path / "cap"))
    assert result.returncode == 0, result.stderr
    assert f"on Triton {scheme} 127.0.0.1:" in result.stdout
    assert (tmp_path / "served.avi").stat().st_size > 0
    kept = _events(tmp_path / "cap" / "captures.jsonl")
    assert kept and {k["model"] for k in kept} == {server.url(scheme, "sq")}
    mine, theirs = _events(served), _events(local)
    assert len(mine) == len(theirs) == 90
    agree = sum(a["label"] == b["label"] and a["stable_label"] == b["stable_label"] for a, b in zip(mine, theirs))
    assert agree / 90 >= 0.99, f"{agree}/90 frames agree"
    assert max(abs(a["probs"][c] - b["probs"][c]) for a, b in zip(mine, theirs) for c in a["probs"]) <= 1e-4
    assert len({e["label"] for e in mine}) > 1  # the model's answer changes along the clip


def test_a_server_that_is_not_there_silent_or_lacks_the_model_is_one_clear_line(server, clip):
    """Nothing on the port, a port that takes connections and never answers (a hung server), a model the server
    lacks, a model without the thumbs contract, a URL without a port: one line each, exit code 1, in bounded
    time."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        cases = [(f"grpc://127.0.0.1:{_closed_port()}/sq", "no Triton server answers"),
                 (f"http://127.0.0.1:{silent.getsockname()[1]}/sq", "no Triton server answers"),
                 (server.url("http", "nope"), "has no ready model 'nope'"),
                 (server.url("grpc", "bare"), "has no thumbs contract in its config"),
                 ("grpc://127.0.0.1/sq", "grpc://HOST:PORT/NAME")]
        for model, message in cases:
            start = time.monotonic()
            result = thumbs_in_process("live", "--model", model, "--source", str(clip), "--headless")
            assert result.exit_code == 1 and message in result.stderr, result.output
            assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout
            assert time.monotonic() - start < 15


def _closed_port() -> int:
    from tests.serve.server import free_port

    return free_port()  # bound and released: nothing listens there


def test_a_server_lost_mid_run_costs_no_frame_its_event(exported, clip, tmp_path):
    """Killed at frame 10, started again at frame 40 on the same ports: every frame has its event, the ones in
    between are marked failed, the loss and the return are each said once, and the frames after agree again."""
    from thumbs.live import loop
    from thumbs.runtime.classifier import Classifier
    from thumbs.sources.readers import open_source

    heard: list[str] = []
    events: list[dict] = []
    first = TritonServer(exported / "repo", tmp_path / "first").start()
    second = TritonServer(exported / "repo", tmp_path / "second", (first.http_port, first.grpc_port))
    try:
        clf = Classifier.load(first.url("grpc", "sq"), log=heard.append)

        def on_frame(event: dict) -> None:
            events.append(event)
            if event["frame"] == 10:
                first.kill()
            if event["frame"] == 40:
                second.start()
            if event["frame"] >= 40:  # a camera's pace after the restart: a retry a second comes within the clip
                time.sleep(1 / 30)

        with open_source(str(clip)) as source:
            summary = loop.run(source, clf, loop.LiveOptions(headless=True), on_frame=on_frame)
    finally:
        first.stop()
        second.stop()
    assert summary.frames == len(events) == 90 and [e["frame"] for e in events] == list(range(90))
    failed = [e["frame"] for e in events if "failed" in e]
    assert failed and failed[0] == 11 and all(e["label"] is None for e in events if "failed" in e)
    assert max(failed) < 89, "live never got the server back"
    assert sum("lost Triton" in m for m in heard) == 1 and sum("answers again" in m for m in heard) == 1, heard
    local = Classifier.load(_local(exported), log=lambda m: None)
    with open_source(str(clip)) as source:
        expected = [local(frame.image).label for frame in source]
    answered = [e for e in events if "failed" not in e]
    assert all(e["label"] == expected[e["frame"]] for e in answered)


def test_export_never_replaces_another_checkpoints_model(exported, tmp_path):
    other = make_checkpoint(tmp_path / "runs" / "other" / "best.pt", "squeezenet1_1", SIZE, seed=3)
    config = exported / "repo" / "sq" / "config.pbtxt"
    before = config.read_bytes(), (exported / "repo" / "sq" / "1" / "model.onnx").read_bytes()
    result = thumbs_in_process("export", str(other), "--format", "triton", "--out", str(exported / "repo"),
                               "--name", "sq")
    assert result.exit_code == 1 and "holds the model of 'runs/sq/best.pt'" in result.output, result.output
    assert "give another --name" in result.output
    assert (config.read_bytes(), (exported / "repo" / "sq" / "1" / "model.onnx").read_bytes()) == before
    again = thumbs_in_process("export", "runs/sq/best.pt", "--format", "triton", "--out", "repo", "--instance",
                              "gpu", cwd=exported)  # the same checkpoint replaces its own model
    assert again.exit_code == 0, again.output
    assert "kind: KIND_GPU" in config.read_text()
    thumbs_in_process("export", "runs/sq/best.pt", "--format", "triton", "--out", "repo", "--instance", "cpu",
                      cwd=exported)
    assert "kind: KIND_CPU" in config.read_text()


def test_deepstream_export_writes_nvinfer_files(exported, tmp_path):
    result = thumbs_in_process("export", str(exported / "runs" / "sq" / "best.pt"), "--format", "deepstream",
                               "--out", str(tmp_path / "ds"))
    assert result.exit_code == 0, result.output
    config = (tmp_path / "ds" / "sq.nvinfer.txt").read_text().splitlines()
    for line in ("onnx-file=sq.onnx", "labelfile-path=sq.nvinfer-labels.txt", "network-type=1", "process-mode=1",
                 "model-color-format=0", "offsets=0;0;0", f"infer-dims=3;{SIZE};{SIZE}", "output-blob-names=probs"):
        assert line in config
    scale = float(next(v for v in config if v.startswith("net-scale-factor=")).split("=")[1])
    assert abs(scale * 255 - 1) < 1e-8
    assert (tmp_path / "ds" / "sq.nvinfer-labels.txt").read_text() == "down;none;up\n"
    assert (tmp_path / "ds" / "sq.onnx").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "triton"], "give it with --out"),
    (["--format", "triton", "--out", "r", "--batch", "1"], "needs --batch dynamic"),
    (["--format", "triton", "--out", "r", "--name", "a/b"], "--name 'a/b'"),
    (["--format", "tensorflow"], "--format 'tensorflow'"),
    (["--format", "triton", "--out", "r", "--instance", "tpu"], "--instance 'tpu'"),
])
def test_bad_serving_options_are_one_clear_line(exported, args, message):
    result = thumbs_in_process("export", "runs/sq/best.pt", *args, cwd=exported)
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (exported / "r").exists()


def test_the_live_install_reads_a_served_model_without_torch():
    """The client and the loader's table entry import no training package (the Jetson's live install)."""
    code = ("import sys; from thumbs.runtime import loader, triton; loader.served_scheme('grpc://h:1/m'); "
            "assert not any(m.split('.')[0] in ('torch', 'torchvision', 'onnx') for m in sys.modules), 'torch'; "
            "print(loader.served_scheme('grpc://h:1/m'), loader.served_scheme('http://h:1/m'), "
            "loader.served_scheme('runs/x/best.onnx'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.split() == ["grpc://", "http://", "None"], result.stderr
