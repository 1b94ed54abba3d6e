"""Run `thumbs` as careless, unlucky or hostile users would, and count what goes wrong.

Each case is one command line (or a shell pipeline), with an optional setup in its own folder, and what a
polished tool does with it: `error` (a non-zero exit, and one "error:" line as stderr's last), `ok` (exit 0,
stderr at most notes) or `any` (either, as long as nothing crashes). Every case is checked for:

- traceback: a Python traceback, click's "Aborted!", a core dump or a death by signal;
- silent: a bad input that exited 0, an error not said as one last "error:" line (notes may come before it;
  the option parser's usage box, exit 2, counts as one refusal), or a good input that failed;
- loss: a file that existed before the command (the fixtures, what the setup made) changed or vanished;
- hang: no exit within the case's time limit.

tests/probes/test_probe_hostile.py runs each case as a test: `pytest -m slow tests/probes -k hostile`."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
THUMBS = f"{shlex.quote(PY)} -m thumbs.cli"
LONG = "x" * 300  # longer than any file system's 255-byte name limit
LATIN1 = b"caf\xe9"  # a Latin-1 name an old camera wrote: not UTF-8


@dataclass
class Case:
    name: str
    argv: list = field(default_factory=list)  # `thumbs` arguments (str or bytes); or use shell
    expect: str = "error"  # error, ok or any
    setup: Callable[[Path, Path], None] | None = None  # (case folder, fixtures)
    shell: str = ""  # a bash line; {thumbs} and {F} are filled in; its exit status is thumbs' own
    env: dict = field(default_factory=dict)
    timeout: float = 90
    needs_root: bool = False
    outputs: tuple = ()  # names in the case folder the command may rewrite (a cache), not counted as losses


def fixtures(folder: Path) -> Path:
    """A small data set, models (.pt, .onnx, fixed-batch .onnx, NaN weights) and videos, made once."""
    import cv2
    import numpy as np
    import torch

    from thumbs.training import checkpoint, models, synthetic
    from thumbs.training.export import export

    synthetic.make_dataset(folder / "data", per_class=6, seed=0, width=64, height=48)
    synthetic.make_video(folder / "clip.mp4", segments=[("up", 5), ("none", 5)], seed=1, width=64, height=48)
    torch.manual_seed(0)
    model, norm = models.build("squeezenet1_1", 3, weights="none", log=lambda m: None)
    save = dict(arch="squeezenet1_1", classes=["down", "none", "up"], img_size=48, norm=norm, settings={},
                metrics={}, history=[], epoch=0, stage="full")
    checkpoint.save(folder / "model.pt", model.eval(), **save)
    export(folder / "model.pt", folder / "model.onnx", log=lambda m: None)
    export(folder / "model.pt", folder / "fixed.onnx", dynamic_batch=False, log=lambda m: None)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    checkpoint.save(folder / "nan.pt", model.eval(), **save)
    writer = cv2.VideoWriter(str(folder / "empty.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    writer.release()  # a header and no frame
    (folder / "empty.jpg").write_bytes(b"")
    cv2.imwrite(str(folder / "one.png"), np.zeros((48, 64, 3), np.uint8))
    return folder


def _latin1_files(case: Path, f: Path) -> None:
    """Photos named by an old camera in Latin-1, in a session folder of such a name too."""
    shutil.copytree(f / "data", case / "data")
    for src in sorted((case / "data" / "down").iterdir())[:2]:
        os.rename(src, os.path.join(bytes(src.parent), LATIN1 + src.name.encode() ))
    session = os.path.join(bytes(case / "data" / "up"), LATIN1)
    os.mkdir(session)
    for src in sorted((case / "data" / "up").glob("*.jpg"))[:2]:
        os.rename(src, os.path.join(session, src.name.encode()))


def _latin1_class(case: Path, f: Path) -> None:
    shutil.copytree(f / "data", case / "data")
    os.rename(case / "data" / "up", os.path.join(bytes(case / "data"), LATIN1))


def _copy_data(case: Path, f: Path) -> None:
    shutil.copytree(f / "data", case / "data")


def _fifo_in_data(case: Path, f: Path) -> None:
    _copy_data(case, f)
    os.mkfifo(case / "data" / "up" / "fifo.jpg")


def _fifo_source(case: Path, f: Path) -> None:
    (case / "src").mkdir()
    shutil.copy(f / "one.png", case / "src" / "a.png")
    os.mkfifo(case / "src" / "b.jpg")


def _fifo_labels(case: Path, f: Path) -> None:
    shutil.copy(f / "model.onnx", case / "m.onnx")
    os.mkfifo(case / "m.labels.txt")


def _odd_exts(case: Path, f: Path) -> None:
    _copy_data(case, f)
    up = case / "data" / "up"
    first = sorted(up.iterdir())[0]
    shutil.copy(first, up / "a.jfif")
    shutil.copy(first, up / "b.jpe")
    import cv2

    cv2.imwrite(str(up / "c.png"), cv2.imread(str(first)))
    os.rename(up / "c.png", up / "c.gif")  # not a GIF inside, but named one: what a user sees is the name


def _empty_and_huge(case: Path, f: Path) -> None:
    _copy_data(case, f)
    (case / "data" / "up" / "zero.jpg").write_bytes(b"")
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
    (case / "data" / "up" / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b""))


def _symlinks(case: Path, f: Path) -> None:
    _copy_data(case, f)
    (case / "data" / "up" / "dangling.jpg").symlink_to(case / "nowhere.jpg")
    (case / "data" / "loop").symlink_to(case / "data")


def _readonly_dir(case: Path, f: Path) -> None:
    """A folder no one may write to (root ignores permissions: a read-only mount then)."""
    (case / "ro").mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(case / "ro")], check=True)
    else:
        os.chmod(case / "ro", 0o555)


def _tiny_disk(case: Path, f: Path) -> None:
    (case / "disk").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(case / "disk")], check=True)
    with open(case / "disk" / "fill", "wb", buffering=0) as fh:  # a disk that is full, not merely small
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass


def _cache_truncated(case: Path, f: Path) -> None:
    """Fill a private cache with one short run, then cut every entry to 0 bytes."""
    _copy_data(case, f)
    cache = case / "cache"
    subprocess.run([PY, "-m", "thumbs.cli", "train", "--data", str(case / "data"), "--arch", "squeezenet1_1",
                    "--weights", "none", "--epochs", "1", "--img-size", "32", "--out", str(case / "run0")],
                   env={**os.environ, "THUMBS_CACHE": str(cache)}, capture_output=True, check=True, timeout=300)
    for entry in cache.glob("*/*.npy"):
        entry.write_bytes(b"")


def _cache_wrong_shape(case: Path, f: Path) -> None:
    _cache_truncated(case, f)
    import numpy as np

    for entry in (case / "cache").glob("*/*.npy"):
        with open(entry, "wb") as fh:
            np.save(fh, np.zeros((3, 5), np.uint8))


TRAIN = ["train", "--arch", "squeezenet1_1", "--weights", "none", "--epochs", "1", "--img-size", "32"]
LIVE = ["live", "--model", "{F}/model.onnx", "--headless"]


def cases() -> list[Case]:
    return [
        # part 4: figures that lie
        Case("eval NaN checkpoint", ["eval", "{F}/nan.pt", "--data", "{F}/data"]),
        Case("live header-only video", LIVE + ["--source", "{F}/empty.avi"]),
        Case("collect header-only video", ["collect", "-l", "up", "--source", "{F}/empty.avi", "--headless"]),
        Case("live --record full disk", LIVE + ["--source", "{F}/clip.mp4", "--record", "disk/v.avi"],
             setup=_tiny_disk, needs_root=True),
        Case("live --events full disk", LIVE + ["--source", "{F}/clip.mp4", "--events", "disk/e.jsonl"],
             setup=_tiny_disk, needs_root=True),
        Case("collect full disk", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless", "-d", "disk"],
             setup=_tiny_disk, needs_root=True),
        # part 5: names too long, not UTF-8
        Case("collect --data too long", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                         "--count", "1", "--data", LONG]),
        Case("export --out too long", ["export", "{F}/model.pt", "--out", LONG + ".onnx"]),
        Case("live --events too long", LIVE + ["--source", "{F}/clip.mp4", "--events", LONG]),
        Case("train --out too long", TRAIN + ["--data", "{F}/data", "--out", LONG]),
        Case("data --data too long", ["data", "--data", LONG]),
        Case("live --source too long", LIVE + ["--source", LONG]),
        Case("data latin-1 file names", ["data", "--data", "data"], "ok", _latin1_files),
        Case("data --json latin-1 file names", ["data", "--json", "--data", "data"], "ok", _latin1_files),
        Case("eval latin-1 file names", ["eval", "{F}/model.onnx", "--data", "data"], "ok", _latin1_files),
        Case("eval --json latin-1 names", ["eval", "{F}/model.onnx", "--json", "--data", "data"], "ok",
             _latin1_files),
        Case("train latin-1 file names", TRAIN + ["--data", "data", "--out", "r"], "ok", _latin1_files,
             timeout=150),
        Case("data latin-1 class folder", ["data", "--data", "data"], "error", _latin1_class),
        Case("train latin-1 class folder", TRAIN + ["--data", "data", "--out", "r"], "error", _latin1_class),
        Case("collect into latin-1 folder", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                             "--count", "2", "--data", LATIN1], "ok"),
        Case("live latin-1 source folder", LIVE + ["--source", b"data/up/" + LATIN1], "ok", _latin1_files),
        Case("live latin-1 video name", LIVE + ["--source", b"clip" + LATIN1 + b".mp4"], "error",
             lambda c, f: shutil.copy(f / "clip.mp4", os.path.join(bytes(c), b"clip" + LATIN1 + b".mp4"))),
        Case("live --record latin-1 name", LIVE + ["--source", "{F}/clip.mp4", "--record", LATIN1 + b".avi"]),
        Case("train --out latin-1 folder", TRAIN + ["--data", "{F}/data", "--out", LATIN1], "any"),
        Case("live --events latin-1 name", LIVE + ["--source", "{F}/clip.mp4", "--events", LATIN1 + b".jsonl"],
             "ok"),
        # part 5: full disk / /dev/full on stdout and events
        Case("data > /dev/full", shell="{thumbs} data --data {F}/data > /dev/full"),
        Case("data --json > /dev/full", shell="{thumbs} data --json --data {F}/data > /dev/full"),
        Case("eval --json > /dev/full", shell="{thumbs} eval {F}/model.onnx --json --data {F}/data > /dev/full"),
        Case("doctor > /dev/full", shell="{thumbs} doctor --no-cameras > /dev/full"),
        Case("--help > /dev/full", shell="{thumbs} --help > /dev/full"),
        Case("live --events /dev/full", LIVE + ["--source", "{F}/clip.mp4", "--events", "/dev/full"]),
        Case("live --events - > /dev/full", shell="{thumbs} live --model {F}/model.onnx --headless "
             "--source {F}/clip.mp4 --events - > /dev/full"),
        Case("collect > /dev/full", shell="{thumbs} collect -l up --source {F}/clip.mp4 --headless --count 1 "
             "-d d > /dev/full"),
        # part 5: bad numbers and devices
        Case("live camera 99999999999", LIVE + ["--source", "99999999999"]),
        Case("collect camera 2**64", ["collect", "-l", "up", "--source", str(2**64), "--headless", "--count", "1"]),
        Case("live camera 7 (absent)", LIVE + ["--source", "7"]),
        Case("train --seed -1", TRAIN + ["--data", "{F}/data", "--seed", "-1"]),
        Case("train --seed 2**32", TRAIN + ["--data", "{F}/data", "--seed", str(2**32)]),
        Case("train --seed 10**30", TRAIN + ["--data", "{F}/data", "--seed", str(10**30)]),
        Case("demo-data --seed -5", ["demo-data", "--seed", "-5", "--per-class", "1"]),
        Case("train --device cuda:0", TRAIN + ["--data", "{F}/data", "--device", "cuda:0"]),
        Case("train --device cuda:x", TRAIN + ["--data", "{F}/data", "--device", "cuda:x"]),
        Case("train --device gpu7", TRAIN + ["--data", "{F}/data", "--device", "gpu7"]),
        Case("live --threshold nan", LIVE + ["--source", "{F}/clip.mp4", "--threshold", "nan"]),
        Case("live --fps nan", LIVE + ["--source", "{F}/clip.mp4", "--fps", "nan"]),
        Case("live --fps inf", LIVE + ["--source", "{F}/clip.mp4", "--fps", "inf"]),
        Case("live --smooth 10**12", LIVE + ["--source", "{F}/clip.mp4", "--smooth", str(10**12)]),
        Case("live --max-frames 10**30", LIVE + ["--source", "{F}/clip.mp4", "--max-frames", str(10**30)], "ok"),
        Case("collect --interval nan", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                        "--interval", "nan"]),
        Case("collect --interval inf", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                        "--interval", "inf"], "any"),
        Case("collect --size 0x0", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless", "--size", "0x0"]),
        Case("collect --size 1e9x1", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless", "--size",
                                      "1e9x1"]),
        Case("collect --count 10**30", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                        "--count", str(10**30), "-d", "d"], "ok"),
        Case("live --width 10**12 camera", LIVE + ["--source", "0", "--width", str(10**12)]),
        Case("export --opset 99", ["export", "{F}/model.pt", "--opset", "99", "--out", "o.onnx"]),
        Case("export --opset -1", ["export", "{F}/model.pt", "--opset", "-1", "--out", "o.onnx"]),
        Case("train --batch-size 10**12", TRAIN + ["--data", "{F}/data", "--batch-size", str(10**12)], "any"),
        Case("train --lr inf", TRAIN + ["--data", "{F}/data", "--lr", "inf"]),
        Case("THUMBS_CACHE_MB=lots", TRAIN + ["--data", "{F}/data", "--out", "r"], env={"THUMBS_CACHE_MB": "lots"}),
        Case("THUMBS_CACHE_MB=nan", TRAIN + ["--data", "{F}/data", "--out", "r"], env={"THUMBS_CACHE_MB": "nan"}),
        # part 5: GStreamer, display, fixed-batch ONNX, cache entries
        Case("gstreamer unclosed quote", LIVE + ["--source", 'videotestsrc num-buffers=5 ! "video/x-raw,width=64,'
                                                 'height=48']),
        Case("gstreamer unknown element", LIVE + ["--source", "nosuchsrc ! video/x-raw,width=64,height=48"]),
        Case("gstreamer huge --width", LIVE + ["--source", "videotestsrc num-buffers=3 ! video/x-raw,width=64,"
                                               "height=48", "--width", "100000", "--height", "100000"]),
        Case("live DISPLAY without X server", ["live", "--model", "{F}/model.onnx", "--source", "{F}/clip.mp4"],
             env={"DISPLAY": ":93"}),
        Case("collect DISPLAY without X server", ["collect", "-l", "up", "--source", "{F}/clip.mp4"],
             env={"DISPLAY": ":93"}),
        Case("eval fixed-batch ONNX", ["eval", "{F}/fixed.onnx", "--data", "{F}/data"], "ok"),
        Case("live fixed-batch ONNX", LIVE + ["--model", "{F}/fixed.onnx", "--source", "{F}/clip.mp4"], "ok"),
        Case("train cache entries 0 bytes", TRAIN + ["--data", "data", "--out", "r"], "ok", _cache_truncated,
             env={"THUMBS_CACHE": "cache"}, timeout=300, outputs=("cache",)),
        Case("train cache entries wrong shape", TRAIN + ["--data", "data", "--out", "r"], "ok", _cache_wrong_shape,
             env={"THUMBS_CACHE": "cache"}, timeout=300, outputs=("cache",)),
        # part 6: FIFOs, odd extensions, pipes closed early
        Case("data with a FIFO image", ["data", "--data", "data"], "ok", _fifo_in_data, timeout=30),
        Case("eval with a FIFO image", ["eval", "{F}/model.onnx", "--data", "data"], "ok", _fifo_in_data, timeout=30),
        Case("train with a FIFO image", TRAIN + ["--data", "data", "--out", "r"], "ok", _fifo_in_data, timeout=120),
        Case("collect FIFO in source folder", ["collect", "-l", "up", "--source", "src", "--headless", "-d", "d"],
             "ok", _fifo_source, timeout=30),
        Case("live FIFO in source glob", LIVE + ["--source", "src/*"], "ok", _fifo_source, timeout=30),
        Case("live FIFO labels file", ["live", "--model", "m.onnx", "--headless", "--source", "{F}/clip.mp4"],
             "error", _fifo_labels, timeout=30),
        Case("data .jfif/.jpe/.gif", ["data", "--data", "data"], "ok", _odd_exts),
        Case("data | head -1", shell="{thumbs} data --data {F}/data | head -1 >/dev/null", expect="ok"),
        Case("data --json | true", shell="{thumbs} data --json --data {F}/data | true", expect="ok"),
        Case("doctor | head -1", shell="{thumbs} doctor --no-cameras | head -1 >/dev/null", expect="ok"),
        Case("doctor | true", shell="{thumbs} doctor --no-cameras | true", expect="ok"),
        Case("--help | true", shell="{thumbs} --help | true", expect="ok"),
        Case("train --help | true", shell="{thumbs} train --help | true", expect="ok"),
        Case("eval | true", shell="{thumbs} eval {F}/model.onnx --data {F}/data | true", expect="ok"),
        Case("live --events - | head -1", shell="{thumbs} live --model {F}/model.onnx --headless "
             "--source {F}/clip.mp4 --events - | head -1 >/dev/null", expect="ok"),
        Case("live | true", shell="{thumbs} live --model {F}/model.onnx --headless --source {F}/clip.mp4 | true",
             expect="ok"),
        Case("collect | true", shell="{thumbs} collect -l up --source {F}/clip.mp4 --headless -d d | true",
             expect="ok"),
        # beyond: odd files and folders
        Case("data empty and huge-header images", ["data", "--data", "data"], "ok", _empty_and_huge),
        Case("eval empty and huge-header images", ["eval", "{F}/model.onnx", "--data", "data"], "ok",
             _empty_and_huge),
        Case("data symlink loop, dangling link", ["data", "--data", "data"], "ok", _symlinks),
        Case("eval 0-byte model", ["eval", "{F}/empty.jpg", "--data", "{F}/data"]),
        Case("eval a video as model", ["eval", "{F}/clip.mp4", "--data", "{F}/data"]),
        Case("eval garbage .onnx", ["eval", "bad.onnx", "--data", "{F}/data"],
             setup=lambda c, f: (c / "bad.onnx").write_bytes(b"\x00garbage" * 100)),
        Case("eval garbage .pt", ["eval", "bad.pt", "--data", "{F}/data"],
             setup=lambda c, f: (c / "bad.pt").write_bytes(b"PK\x03\x04garbage")),
        Case("export garbage .pt", ["export", "bad.pt"], setup=lambda c, f: (c / "bad.pt").write_bytes(b"")),
        Case("export into read-only dir", ["export", "{F}/model.pt", "--out", "ro/m.onnx"], setup=_readonly_dir),
        Case("collect into read-only dir", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                            "-d", "ro"], setup=_readonly_dir),
        Case("live --record in read-only dir", LIVE + ["--source", "{F}/clip.mp4", "--record", "ro/v.avi"],
             setup=_readonly_dir),
        Case("live 0-byte source image", LIVE + ["--source", "{F}/empty.jpg"]),
        Case("live 0-byte video", LIVE + ["--source", "v.mp4"], setup=lambda c, f: (c / "v.mp4").write_bytes(b"")),
        Case("live source is /dev/null", LIVE + ["--source", "/dev/null"]),
        Case("live --record .mkv", LIVE + ["--source", "{F}/clip.mp4", "--record", "v.mkv"]),
        Case("live --model missing labels", ["live", "--model", "m.onnx", "--headless", "--source", "{F}/clip.mp4"],
             "ok", lambda c, f: shutil.copy(f / "model.onnx", c / "m.onnx")),
        Case("live --model empty labels", ["live", "--model", "m.onnx", "--headless", "--source", "{F}/clip.mp4"],
             setup=lambda c, f: (shutil.copy(f / "model.onnx", c / "m.onnx"), (c / "m.labels.txt").write_text(""))),
        Case("collect unicode label", ["collect", "-l", "pouce👍", "--source", "{F}/clip.mp4", "--headless"]),
        Case("data unicode class folder", ["data", "--data", "data"], "ok",
             lambda c, f: (_copy_data(c, f), os.rename(c / "data" / "up", c / "data" / "pouce_levé"))),
        Case("data --data is a file", ["data", "--data", "{F}/clip.mp4"]),
        Case("data --data empty string", ["data", "--data", ""], "any"),
        Case("train one class", TRAIN + ["--data", "d"], setup=lambda c, f: shutil.copytree(f / "data/up", c / "d/up")),
        Case("train empty data folder", TRAIN + ["--data", "d"], setup=lambda c, f: (c / "d").mkdir()),
        Case("doctor --model garbage", ["doctor", "--no-cameras", "--model", "{F}/empty.jpg"], "any"),
        Case("doctor --model FIFO", ["doctor", "--no-cameras", "--model", "m.onnx"], "any",
             lambda c, f: os.mkfifo(c / "m.onnx"), timeout=60),
        Case("eval FIFO model", ["eval", "m.onnx", "--data", "{F}/data"], setup=lambda c, f: os.mkfifo(c / "m.onnx"),
             timeout=60),
        Case("export an .onnx as checkpoint", ["export", "{F}/model.onnx", "--out", "o.onnx"]),
        Case("collect --data /dev/null", ["collect", "-l", "up", "--source", "{F}/clip.mp4", "--headless",
                                          "--data", "/dev/null"]),
        Case("live --events is a folder", LIVE + ["--source", "{F}/clip.mp4", "--events", "evdir"],
             setup=lambda c, f: (c / "evdir").mkdir()),
        Case("live folder of GIFs only", LIVE + ["--source", "gifs"],
             setup=lambda c, f: ((c / "gifs").mkdir(), (c / "gifs" / "a.gif").write_bytes(b"GIF89a"))),
        Case("live unknown provider", LIVE + ["--source", "{F}/clip.mp4", "--provider", "tpu"]),
    ]


def _fill(arg, f: Path):
    if isinstance(arg, bytes):
        return arg
    return arg.replace("{F}", str(f))


def _hash_tree(*roots: Path, skip: tuple = ()) -> dict[bytes, str]:
    """Content hash of every regular file (FIFOs and links are left alone: reading a FIFO would block)."""
    hashes = {}
    for root in roots:
        for dirpath, dirs, files in os.walk(bytes(root)):
            dirs[:] = [d for d in dirs if os.fsdecode(d) not in skip]
            for name in files:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    with open(path, "rb") as fh:
                        hashes[path] = hashlib.sha1(fh.read()).hexdigest()
                except OSError:
                    hashes[path] = "unreadable"
    return hashes


def run_case(case: Case, f: Path, base: Path) -> tuple[str, str, float]:
    """(verdict, detail, seconds): verdict is ok, traceback, silent, loss, hang, skipped or broken."""
    if case.needs_root and os.geteuid() != 0:
        return "skipped", "needs root (mounts a tiny disk)", 0.0
    folder = Path(tempfile.mkdtemp(prefix="case-", dir=base))
    try:
        if case.setup:
            case.setup(folder, f)
        before = _hash_tree(f, folder, skip=case.outputs)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", **case.env}
        env.pop("DISPLAY", None) if "DISPLAY" not in case.env else None
        if case.shell:
            cmd = ["bash", "-c", case.shell.format(thumbs=THUMBS, F=shlex.quote(str(f))) + "; exit ${PIPESTATUS[0]}"]
        else:
            cmd = [PY, "-m", "thumbs.cli", *(_fill(a, f) for a in case.argv)]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, timeout=case.timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return "hang", f"no exit in {case.timeout:.0f} s", time.monotonic() - start
        seconds = time.monotonic() - start
        return _verdict(case, proc, before, _hash_tree(f, folder, skip=case.outputs)) + (seconds,)
    except Exception as e:  # a setup that failed is the probe's problem, not the product's
        return "broken", f"setup: {e!r}"[:200], 0.0
    finally:
        for mount in ("disk", "ro"):
            if os.path.ismount(folder / mount):
                subprocess.run(["umount", str(folder / mount)], capture_output=True)
        subprocess.run(["chmod", "-R", "u+rwx", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _verdict(case: Case, proc: subprocess.CompletedProcess, before: dict, after: dict) -> tuple[str, str]:
    stderr = proc.stderr.decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:150] if lines else ""
    lost = [p for p, h in before.items() if after.get(p) != h]
    if "Traceback" in stderr or "Aborted" in stderr or "core dumped" in stderr or proc.returncode < 0 \
            or proc.returncode == 134:
        return "traceback", f"rc {proc.returncode}: {last}"
    if lost:
        return "loss", f"changed or removed: {os.fsdecode(lost[0])}"
    if case.expect == "error":
        if proc.returncode == 2 and "Usage:" in stderr:  # the option parser's refusal, in its own box
            return "ok", f"rc 2: usage error: {next((x for x in lines if 'Invalid' in x), last)[:100]}"
        if proc.returncode == 0:
            return "silent", f"exit 0: {last or proc.stdout.decode(errors='replace').strip()[-150:]}"
        errors = [line for line in lines if line.startswith("error")]
        if len(errors) != 1 or not last.startswith("error"):  # notes may come before it, nothing after
            return "silent", f"{len(errors)} error lines in {len(lines)}: {lines[0][:70]} | {last[:70]}"
        return "ok", f"rc {proc.returncode}: {last}"
    if case.expect == "ok" and proc.returncode != 0:
        return "silent", f"rc {proc.returncode} (expected 0): {last}"
    return "ok", f"rc {proc.returncode}: {last}"
