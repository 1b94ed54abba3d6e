"""Hostile probe of every `thumbs` command's path, number and text options, run as real subprocesses.

Each case is one command line run with `python -m thumbs` against the code on PYTHONPATH (default: this checkout),
DISPLAY unset, in a fresh folder, with a time limit. A case passes when the command ends with exit 0/1/2
(1/2 only for an `error` case), no traceback, a non-empty stderr when it refuses, no input file changed or lost
(sha256 of the fixtures before/after), no leftover file after a refusal, and a refusal within 2 s (slower means
it imported torch, or did work, before checking). One row per case: case, exit code, seconds, first line of
stderr that says the error, verdict.

Usage: python scripts/probe_cli.py [-k SUBSTRING] [--timeout 60] [--code CHECKOUT] [--python PYTHON]"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

Arg = Union[str, bytes]
SLOW_REFUSAL_S = 2.0
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    name: str
    argv: list[Arg]
    expect: str = "error"  # error: must refuse; any: refuse cleanly or succeed
    timeout: float | None = None


def sha_tree(root: Path) -> dict[str, str]:
    """Hash every regular file under root, so a case that changes or loses an input is caught."""
    hashes = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                hashes[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return hashes


def listing(root: Path) -> set:
    """Every path under root (files and folders), to see what a refused command left behind."""
    found = set()
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            found.add(os.path.join(dirpath, n))
    return found


def thumbs(py: str, code: str, argv: Sequence[Arg], cwd: Path, timeout: float) -> tuple:
    """Run one command in its own process group, killed whole at the time limit (a FIFO must not hang us)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = code
    env["THUMBS_CACHE"] = "off"
    cmd = [py, "-m", "thumbs"] + [os.fsencode(a) if isinstance(a, str) else a for a in argv]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    return rc, time.monotonic() - t0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def error_line(err: str) -> str:
    """The line that says what went wrong: an 'error:' line, typer's 'Invalid value', else the first one."""
    lines = [ln.strip(" │╭╰─╮╯\t") for ln in err.splitlines() if ln.strip(" │╭╰─╮╯\t")]
    for ln in lines:
        if "Traceback" in ln:
            return (ln + " ... " + lines[-1])[:160]
    for ln in lines:
        if ln.lower().startswith("error") or "Invalid value" in ln or "No such" in ln or "Missing" in ln:
            return ln[:160]
    return lines[0][:160] if lines else ""


def verdict(case: Case, rc: int | None, secs: float, err: str, lost: list[str], left: list[str]) -> str:
    problems = []
    if rc is None:
        problems.append("HANG")
    elif "Traceback (most recent call last)" in err or "Aborted!" in err:
        problems.append("TRACEBACK")
    elif rc not in (0, 1, 2):
        problems.append(f"EXIT{rc}")
    elif case.expect == "error" and rc == 0:
        problems.append("ACCEPTED")
    elif rc != 0 and not err.strip():
        problems.append("SILENT")
    if lost:
        problems.append("INPUT-CHANGED:" + ",".join(os.path.basename(p) for p in lost[:3]))
    if rc not in (0, None) and left:
        problems.append("LEFTOVER:" + ",".join(p for p in left[:3]))
    if rc not in (0, None) and secs > SLOW_REFUSAL_S:
        problems.append(f"SLOW-REFUSAL({secs:.1f}s)")
    return "ok" if not problems else " ".join(problems)


def make_fixtures(py: str, code: str, root: Path) -> Path:
    """A tiny data set, clip, trained run and export, made once with the product itself."""
    fx = root / "fx"
    steps = [
        ["demo-data", "--out", str(fx), "--per-class", "20"],
        ["train", "--data", str(fx / "dataset"), "--arch", "mobilenet_v2_x0_35", "--weights", "none",
         "--img-size", "32", "--epochs", "1", "--out", str(fx / "run")],
        ["export", str(fx / "run" / "best.pt")],
    ]
    for argv in steps:
        rc, secs, _out, err = thumbs(py, code, argv, root, 600)
        if rc != 0:
            sys.exit(f"fixture step {argv[0]} failed ({rc}): {err[-400:]}")
    return add_extras(fx)


def add_extras(fx: Path) -> Path:
    """The small inputs the cases point at besides the product's own: a capture queue, a labels CSV, text."""
    (fx / "captures").mkdir(exist_ok=True)
    shutil.copy(fx / "dataset" / "up" / sorted(os.listdir(fx / "dataset" / "up"))[0], fx / "captures" / "a.jpg")
    (fx / "labels.csv").write_text("file,label\na.jpg,up\n")
    (fx / "events.jsonl").write_text("")
    (fx / "notes.txt").write_text("just some text, not a model\n")
    return fx


def hostile(fx: Path, hdir: Path, ext: str, kind: str) -> dict[str, Arg]:
    """The hostile stand-ins for one path option: ext is the expected suffix, kind 'in' or 'out'."""
    hdir.mkdir(parents=True, exist_ok=True)
    tag = ext.strip(".") or "dir"
    p: dict[str, Arg] = {}
    p["missing"] = str(hdir / f"missing{ext}")
    d = hdir / f"adir{ext}"
    d.mkdir(exist_ok=True)
    p["dir-for-file"] = str(d)
    f = hdir / f"afile_{tag}.txt"
    f.write_text("a file\n")
    p["file-for-dir"] = str(f)
    p["dot"] = "."
    if kind == "in":
        p["slash"] = "/"
    p["dotdot"] = ".."
    p["empty-str"] = ""
    fifo = hdir / f"fifo{ext}"
    if not fifo.exists():
        os.mkfifo(fifo)
    p["fifo"] = str(fifo)
    e = hdir / f"empty{ext}"
    e.write_bytes(b"")
    p["empty-file"] = str(e)
    if ext in (".pt", ".onnx"):
        src = fx / "run" / ("best.pt" if ext == ".pt" else "best.onnx")
        t = hdir / f"trunc{ext}"
        t.write_bytes(src.read_bytes()[:100])
        p["truncated"] = str(t)
        r = hdir / f"text{ext}"
        r.write_text("hello, I am text\n")
        p["txt-renamed"] = str(r)
    loop = hdir / f"loop{ext}"
    if not os.path.islink(loop):
        os.symlink(loop.name, loop)
    p["symlink-loop"] = str(loop)
    bad = os.fsencode(str(hdir)) + b"/bad\xff" + ext.encode()
    if ext in ("", ".csv") and kind == "in" and not os.path.exists(bad):
        pass
    p["non-utf8"] = bad
    p["proc"] = f"/proc/x/y{ext}"
    p["sys"] = f"/sys/x{ext}"
    if kind == "out":
        p["dev-full"] = "/dev/full"
    return p


def path_cases(fx: Path, hroot: Path, cmd: str, base: list[Arg], opt: str | None, ext: str, kind: str,
               expect_for: dict[str, str] | None = None) -> list[Case]:
    """One case per hostile stand-in for option opt of cmd (opt None: the positional argument first)."""
    cases = []
    for name, value in hostile(fx, hroot / f"{cmd}{opt or '_arg'}", ext, kind).items():
        argv = [cmd] + ([value] if opt is None else []) + base + ([opt, value] if opt else [])
        expect = (expect_for or {}).get(name, "error")
        cases.append(Case(f"{cmd} {opt or 'ARG'}={name}", argv, expect))
    return cases


def numeric_cases(cmd: str, base: list[Arg], opt: str, values: Sequence[str], any_ok: Sequence[str] = ()) -> list[Case]:
    return [Case(f"{cmd} {opt}={v}", [cmd] + base + [opt, v], "any" if v in any_ok else "error") for v in values]


BAD_NUMBERS = ["0", "-1", "nan", "inf", "1e9", "abc", ""]


def build_cases(fx: Path, h: Path) -> list[Case]:
    ds, clip, pt, onnx = str(fx / "dataset"), str(fx / "clips" / "live.mp4"), str(fx / "run" / "best.pt"), \
        str(fx / "run" / "best.onnx")
    cases: list[Case] = []
    # collect
    cb = ["--label", "up", "--source", clip, "--headless", "--count", "2"]
    cases += path_cases(fx, h, "collect", cb, "--data", "", "out",
                        {"missing": "any", "dot": "any", "dotdot": "any", "empty-str": "error"})
    cases += path_cases(fx, h, "collect", ["--label", "up", "--headless", "--count", "2", "--data", "o"],
                        "--source", ".mp4", "in")
    for v in ["0", "-1", "nan", "inf", "1e9", "abc", ""]:
        cases.append(Case(f"collect --count={v}", ["collect", "--label", "up", "--source", clip, "--headless",
                                                    "--count", v, "--data", "o"], "any" if v == "1e9" else "error"))
    for opt in ["--interval", "--fps", "--width"]:
        for v in BAD_NUMBERS:
            anyok = {"--interval": ["0", "1e9", "inf"], "--fps": [], "--width": ["1e9"]}[opt]
            cases.append(Case(f"collect {opt}={v}", ["collect", "--label", "up", "--source", clip, "--headless",
                                                      "--count", "2", "--data", "o", opt, v],
                              "any" if v in anyok else "error", timeout=30))
    for name, lab in [("empty", ""), ("unicode", "pouce_👍"), ("slash", "a/b"), ("dotdot", ".."), ("dot", "."),
                      ("backslash", "a\\b"), ("nul-ish", "a\tb"), ("nonutf8", b"\xff")]:
        cases.append(Case(f"collect --label={name}", ["collect", "--label", lab, "--source", clip, "--headless",
                                                       "--count", "2", "--data", "o"],
                          "any" if name == "unicode" else "error"))
    cases.append(Case("collect --size=0x0", ["collect", "--label", "up", "--source", clip, "--headless", "--count",
                                              "2", "--data", "o", "--size", "0x0"]))
    cases.append(Case("collect --size=abc", ["collect", "--label", "up", "--source", clip, "--headless", "--count",
                                              "2", "--data", "o", "--size", "abc"]))
    cases.append(Case("collect --data=clip-file", ["collect", "--label", "up", "--source", clip, "--headless",
                                                    "--count", "2", "--data", clip]))
    # data
    cases += path_cases(fx, h, "data", [], "--data", "", "in", {"dot": "any", "dotdot": "any", "dir-for-file": "any"})
    # demo-data
    cases += path_cases(fx, h, "demo-data", ["--per-class", "2"], "--out", "", "out",
                        {"missing": "any", "dot": "any", "dotdot": "any"})
    cases.append(Case("demo-data --out=existing-dataset-parent", ["demo-data", "--per-class", "2", "--out", str(fx)]))
    for v in BAD_NUMBERS:
        cases.append(Case(f"demo-data --per-class={v}", ["demo-data", "--out", "o", "--per-class", v]))
    for v in ["-1", "nan", "abc", "99999999999"]:
        cases.append(Case(f"demo-data --seed={v}", ["demo-data", "--out", "o", "--per-class", "2", "--seed", v]))
    # train
    tb = ["--arch", "mobilenet_v2_x0_35", "--weights", "none", "--img-size", "32", "--epochs", "1"]
    cases += path_cases(fx, h, "train", tb + ["--out", "o"], "--data", "", "in")
    cases += path_cases(fx, h, "train", tb + ["--data", ds], "--out", "", "out",
                        {"missing": "any", "dot": "error", "dotdot": "error"})
    cases.append(Case("train --out=existing-run", ["train"] + tb + ["--data", ds, "--out", str(fx / "run")]))
    cases.append(Case("train --out=dataset", ["train"] + tb + ["--data", ds, "--out", ds]))
    cases += path_cases(fx, h, "train", ["--data", ds, "--epochs", "1", "--out", "o"], "--resume", ".pt", "in")
    cases += path_cases(fx, h, "train", ["--data", ds, "--out", "o"], "--from", ".pt", "in")
    cases.append(Case("train --from=onnx", ["train", "--data", ds, "--out", "o", "--from", onnx]))
    cases.append(Case("train --resume+--from", ["train", "--data", ds, "--resume", pt, "--from", pt]))
    cases += path_cases(fx, h, "train", ["--data", ds, "--arch", "mobilenet_v2_x0_35", "--img-size", "32",
                                         "--epochs", "1", "--out", "o"], "--weights", ".pt", "in",
                        {"dot": "error"})
    tbn = ["--data", ds, "--arch", "mobilenet_v2_x0_35", "--weights", "none", "--out", "o"]
    for opt, vals, anyok in [("--epochs", BAD_NUMBERS, ["1e9"]), ("--img-size", BAD_NUMBERS + ["31", "1025"], []),
                             ("--lr", BAD_NUMBERS + ["1e9"], []), ("--batch-size", BAD_NUMBERS, []),
                             ("--freeze-epochs", ["-1", "nan", "abc", "1e9"], []),
                             ("--seed", ["-1", "nan", "4294967296"], [])]:
        extra = [] if opt == "--img-size" else ["--img-size", "32"]
        extra += [] if opt == "--epochs" else ["--epochs", "1"]
        for v in vals:
            cases.append(Case(f"train {opt}={v}", ["train"] + tbn + extra + [opt, v],
                              "any" if v in anyok else "error", timeout=60))
    for opt, v in [("--arch", ""), ("--arch", "resnet9000"), ("--device", "cuda:99"), ("--device", ""),
                   ("--crop", ""), ("--augment", "x"), ("--norm", "")]:
        cases.append(Case(f"train {opt}={v or 'empty'}", ["train"] + tbn + ["--img-size", "32", "--epochs", "1",
                                                                            opt, v]))
    # eval
    cases += path_cases(fx, h, "eval", ["--data", ds], None, ".onnx", "in")
    cases += path_cases(fx, h, "eval", ["--data", ds], None, ".pt", "in")
    cases += path_cases(fx, h, "eval", [onnx], "--data", "", "in")
    cases.append(Case("eval txt-as-model", ["eval", str(fx / "notes.txt"), "--data", ds]))
    cases.append(Case("eval --provider=bogus", ["eval", onnx, "--data", ds, "--provider", "bogus"]))
    cases.append(Case("eval --data=other-classes", ["eval", onnx, "--data", str(fx / "captures")]))
    # export
    cases += path_cases(fx, h, "export", [], None, ".pt", "in")
    cases.append(Case("export onnx-as-checkpoint", ["export", onnx, "--out", "o.onnx"]))
    cases += path_cases(fx, h, "export", [pt], "--out", ".onnx", "out", {"missing": "any", "dot": "any",
                                                                          "dotdot": "any"})
    cases.append(Case("export --out=checkpoint", ["export", pt, "--out", pt]))
    cases.append(Case("export --out=labels", ["export", pt, "--out", str(fx / "run" / "best.labels.txt")]))
    cases.append(Case("export --out=dataset-image", ["export", pt, "--out",
                                                     str(fx / "captures" / "a.jpg")]))
    cases.append(Case("export --out=clip.onnx-renamed", ["export", pt, "--out", str(fx / "notes.txt")]))
    for v in ["0", "-1", "nan", "abc", "6", "99", "1e9", ""]:
        cases.append(Case(f"export --opset={v}", ["export", pt, "--out", "o.onnx", "--opset", v]))
    cases.append(Case("export --batch=bogus", ["export", pt, "--out", "o.onnx", "--batch", "bogus"]))
    # live
    lb = ["--headless", "--max-frames", "3"]
    cases += path_cases(fx, h, "live", lb + ["--source", clip], "--model", ".onnx", "in")
    cases += path_cases(fx, h, "live", lb + ["--source", clip], "--model", ".pt", "in")
    cases.append(Case("live --model=txt", ["live", "--model", str(fx / "notes.txt"), "--source", clip] + lb))
    cases += path_cases(fx, h, "live", lb + ["--model", onnx], "--source", ".mp4", "in",
                        {"dot": "error", "slash": "error", "dotdot": "error"})
    for o in ["--events", "--record"]:
        ext = ".jsonl" if o == "--events" else ".mp4"
        cases += path_cases(fx, h, "live", lb + ["--model", onnx, "--source", clip], o, ext, "out",
                            {"missing": "any"})
        cases.append(Case(f"live {o}=source", ["live", "--model", onnx, "--source", clip] + lb + [o, clip]))
        cases.append(Case(f"live {o}=model", ["live", "--model", onnx, "--source", clip] + lb + [o, onnx]))
        cases.append(Case(f"live {o}=labels", ["live", "--model", onnx, "--source", clip] + lb +
                          [o, str(fx / "run" / "best.labels.txt")]))
    cases.append(Case("live --record=--events", ["live", "--model", onnx, "--source", clip] + lb +
                      ["--record", "same.mp4", "--events", "same.mp4"]))
    cases.append(Case("live --record=.txt", ["live", "--model", onnx, "--source", clip] + lb + ["--record", "v.txt"]))
    cases += path_cases(fx, h, "live", lb + ["--model", onnx, "--source", clip], "--capture", "", "out",
                        {"missing": "any"})
    cases.append(Case("live --capture=dataset", ["live", "--model", onnx, "--source", clip] + lb +
                      ["--capture", ds], "any"))
    lbm = ["--model", onnx, "--source", clip, "--headless"]
    for opt, vals, anyok in [("--threshold", ["-1", "nan", "inf", "2", "abc", ""], []),
                             ("--smooth", BAD_NUMBERS, []), ("--max-frames", BAD_NUMBERS, ["1e9"]),
                             ("--fps", BAD_NUMBERS, []), ("--width", BAD_NUMBERS, ["1e9"]),
                             ("--capture-every", ["-1", "nan", "inf", "abc"], ["inf"]),
                             ("--capture-sample", ["-1", "nan", "abc"], []),
                             ("--capture-max", ["0", "-1", "abc"], [])]:
        extra = [] if opt == "--max-frames" else ["--max-frames", "3"]
        extra += ["--capture", "cap"] if opt.startswith("--capture-") else []
        for v in vals:
            cases.append(Case(f"live {opt}={v}", ["live"] + lbm + extra + [opt, v], "any" if v in anyok else "error"))
    cases.append(Case("live --provider=bogus", ["live"] + lbm + ["--max-frames", "3", "--provider", "bogus"]))
    # review
    cases += path_cases(fx, h, "review", ["--list"], None, "", "in")
    cases += path_cases(fx, h, "review", ["--labels", str(fx / "labels.csv"), "--data", "rd"], None, "", "in")
    cases += path_cases(fx, h, "review", [str(fx / "captures"), "--data", "rd"], "--labels", ".csv", "in")
    cases += path_cases(fx, h, "review", [str(fx / "captures"), "--labels", str(fx / "labels.csv")], "--data", "",
                        "out", {"missing": "any", "dot": "any", "dotdot": "any"})
    cases.append(Case("review no-window", ["review", str(fx / "captures"), "--data", "rd"]))
    for name, body in [("bad-header", "a,b\na.jpg,up\n"), ("slash-label", "file,label\na.jpg,../x\n"),
                       ("empty-label", "file,label\na.jpg,\n"), ("unknown-file", "file,label\nzz.jpg,up\n"),
                       ("path-file", "file,label\n../../etc/passwd,up\n"),
                       ("dup", "file,label\na.jpg,up\na.jpg,down\n"),
                       ("binary", "\x00\xff\xfe")]:
        csvp = h / f"labels_{name}.csv"
        csvp.parent.mkdir(parents=True, exist_ok=True)
        csvp.write_bytes(body.encode("latin-1"))
        cases.append(Case(f"review --labels={name}", ["review", str(fx / "captures"), "--data", "rd", "--labels",
                                                       str(csvp)], "any" if name == "dup" else "error"))
    # doctor
    cases += path_cases(fx, h, "doctor", ["--no-cameras"], "--model", ".onnx", "in")
    cases.append(Case("doctor --model=pt", ["doctor", "--no-cameras", "--model", pt], "any"))
    # demo: refusals only (a full demo is a minute)
    cases += [Case(f"demo --out={n}", ["demo", "--epochs", "1", "--out", v]) for n, v in
              [("file", str(fx / "notes.txt")), ("dev-full", "/dev/full"), ("proc", "/proc/x/y"),
               ("empty", ""), ("existing-fixtures", str(fx))]]
    cases += [Case(f"demo --epochs={v}", ["demo", "--out", "o", "--epochs", v]) for v in ["0", "-1", "abc", ""]]
    cases += [Case(f"demo --img-size={v}", ["demo", "--out", "o", "--img-size", v]) for v in ["0", "nan", "9999"]]
    # real inputs under a name that is not UTF-8 (an old camera's Latin-1 name): must work or refuse cleanly
    nb = os.fsencode(str(h)) + b"/nonutf8_\xff"
    os.makedirs(nb, exist_ok=True)
    for src, name in [(clip, b"clip.mp4"), (onnx, b"model.onnx"), (pt, b"model.pt"),
                      (str(fx / "run" / "best.labels.txt"), b"model.labels.txt")]:
        shutil.copy(os.fsencode(src), nb + b"/" + name)
    shutil.copytree(os.fsencode(ds), nb + b"/dataset", dirs_exist_ok=True)
    shutil.copy(os.path.join(ds, "up", sorted(os.listdir(os.path.join(ds, "up")))[0]),
                nb + b"/dataset/up/\xe9t\xe9.jpg")
    cases += [Case("non-utf8 live --source", ["live", "--model", onnx, "--source", nb + b"/clip.mp4"] + lb, "any"),
              Case("non-utf8 live --model onnx", ["live", "--model", nb + b"/model.onnx", "--source", clip] + lb,
                   "any"),
              Case("non-utf8 live --model pt", ["live", "--model", nb + b"/model.pt", "--source", clip] + lb, "any"),
              Case("non-utf8 collect --source", ["collect", "--label", "up", "--source", nb + b"/clip.mp4",
                                                 "--headless", "--count", "2", "--data", "o"], "any"),
              Case("non-utf8 data --data", ["data", "--data", nb + b"/dataset"], "any"),
              Case("non-utf8 eval onnx", ["eval", nb + b"/model.onnx", "--data", nb + b"/dataset"], "any"),
              Case("non-utf8 export", ["export", nb + b"/model.pt", "--out", "o.onnx"], "any"),
              Case("non-utf8 train --data", ["train"] + tb + ["--data", nb + b"/dataset", "--out", "o"], "any"),
              Case("non-utf8 live --record", ["live", "--model", onnx, "--source", clip] + lb +
                   ["--record", b"v\xff.mp4"], "any"),
              Case("non-utf8 live --capture", ["live", "--model", onnx, "--source", clip] + lb +
                   ["--capture", b"c\xff"], "any"),
              Case("non-utf8 doctor --model", ["doctor", "--no-cameras", "--model", nb + b"/model.onnx"], "any")]
    # studio (no DISPLAY: every run must refuse, and cleanly)
    sb = ["--source", clip]
    for name, cl in [("empty", ""), ("one", "up"), ("dup", "up,up"), ("slash", "a/b,c"),
                     ("ten", ",".join("abcdefghij")),
                     ("unicode", "👍,👎"), ("blank-item", "up,,down"), ("dotdot", "..,up")]:
        cases.append(Case(f"studio --classes={name}", ["studio", "--classes", cl, "--data", "sd"] + sb))
    for opt, ext in [("--data", ""), ("--from", ".pt"), ("--events", ".jsonl"), ("--captures", "")]:
        base = ["--classes", "up,down"] + sb + ([] if opt == "--data" else ["--data", "sd"])
        cases += path_cases(fx, h, "studio", base, opt, ext, "in" if opt == "--from" else "out")
    cases.append(Case("studio --events=source", ["studio", "--classes", "up,down", "--data", "sd", "--events", clip]
                      + sb))
    for opt, v in [("--interval", "0"), ("--interval", "nan"), ("--threshold", "nan"), ("--lr", "nan"),
                   ("--fps", "nan"), ("--epochs", "0")]:
        cases.append(Case(f"studio {opt}={v}", ["studio", "--classes", "up,down", "--data", "sd", opt, v] + sb))
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="Only cases whose name contains this.")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--code", default=os.environ.get("PYTHONPATH") or str(ROOT))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--keep", help="Make the fixtures here once and reuse them (faster reruns).")
    ap.add_argument("--failures-only", action="store_true")
    args = ap.parse_args(argv)
    root = Path(args.keep or tempfile.mkdtemp(prefix="probe_cli_")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    fx = add_extras(root / "fx") if (root / "fx" / "run" / "best.onnx").exists() else \
        make_fixtures(args.python, args.code, root)
    cases = [c for c in build_cases(fx, root / "hostile") if args.k in c.name]
    before = sha_tree(fx)
    failed = 0
    print(f"{'case':44} {'rc':>4} {'secs':>5}  {'stderr':70}  verdict", flush=True)
    for i, case in enumerate(cases):
        work = root / "work" / f"{i:03d}" / "cwd"
        work.mkdir(parents=True, exist_ok=True)
        watched = [work.parent, root / "hostile"]
        pre = set().union(*(listing(w) for w in watched))
        rc, secs, _out, err = thumbs(args.python, args.code, case.argv, work, case.timeout or args.timeout)
        after = sha_tree(fx)
        lost = [p for p, hsh in before.items() if after.get(p) != hsh
                and not (case.argv[0] == "review" and rc == 0 and "/captures/" in p)]  # review moves its queue
        left = sorted(set().union(*(listing(w) for w in watched)) - pre) if rc not in (0, None) else []
        v = verdict(case, rc, secs, err, lost, left)
        if sha_tree(fx) != before:  # put the inputs back so later cases start from the same ones
            add_extras(fx)
            if sha_tree(fx) != before:
                shutil.rmtree(fx)
                fx = make_fixtures(args.python, args.code, root)
            before = sha_tree(fx)
        if v != "ok":
            failed += 1
        if v != "ok" or not args.failures_only:
            print(f"{case.name[:44]:44} {str(rc):>4} {secs:5.1f}  {error_line(err)[:70]:70}  {v}", flush=True)
    print(f"\n{len(cases)} cases, {len(cases) - failed} passed, {failed} failed; fixtures in {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
