"""The cases of the hostile probe of every `thumbs` command's path, number and text options, run as real
subprocesses (tests/probes/test_probe_cli.py runs each as a test: `pytest -m slow tests/probes -k cli`).

Each case is one command line run with `python -m thumbs` against this checkout, DISPLAY unset, in a fresh folder,
with a time limit. A case passes when the command ends with exit 0/1/2 (1/2 only for an `error` case), no
traceback, a non-empty stderr when it refuses, no input file changed or lost (sha256 of the fixtures before/after),
no leftover file after a refusal, and a refusal within 2 s of CPU time (more means it imported torch, or did work,
before checking; CPU time, not the wall clock, so that a busy machine does not fail it)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

Arg = Union[str, bytes]
SLOW_REFUSAL_S = 2.0  # CPU seconds of the command: on a busy machine the wall clock says nothing of its work
ROOT = Path(__file__).resolve().parents[2]


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
    t0 = _children_cpu()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    return rc, _children_cpu() - t0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's ended children: a command's own work, wherever it waited."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


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
        problems.append(f"SLOW-REFUSAL({secs:.1f}s CPU)")
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
            raise RuntimeError(f"fixture step {argv[0]} failed ({rc}): {err[-400:]}")
    return add_extras(fx)


def add_extras(fx: Path) -> Path:
    """The small inputs the cases point at besides the product's own: a capture queue, a labels CSV, text."""
    (fx / "captures").mkdir(exist_ok=True)
    shutil.copy(fx / "dataset" / "up" / sorted(os.listdir(fx / "dataset" / "up"))[0], fx / "captures" / "a.jpg")
    (fx / "labels.csv").write_text("file,label\na.jpg,up\n")
    (fx / "events.jsonl").write_text("")
    (fx / "notes.txt").write_text("just some text, not a model\n")
    return fx


def hostile(fx: Path, hdir: Path, ext: str, kind: str, create: bool) -> dict[str, Arg]:
    """The hostile stand-ins for one path option: ext is the expected suffix, kind 'in' or 'out'; `create` makes
    them on disk (without it: only their names, to list the cases)."""
    if create:
        hdir.mkdir(parents=True, exist_ok=True)
    tag = ext.strip(".") or "dir"
    p: dict[str, Arg] = {}
    p["missing"] = str(hdir / f"missing{ext}")
    d = hdir / f"adir{ext}"
    if create:
        d.mkdir(exist_ok=True)
    p["dir-for-file"] = str(d)
    f = hdir / f"afile_{tag}.txt"
    if create:
        f.write_text("a file\n")
    p["file-for-dir"] = str(f)
    p["dot"] = "."
    if kind == "in":
        p["slash"] = "/"
    p["dotdot"] = ".."
    p["empty-str"] = ""
    fifo = hdir / f"fifo{ext}"
    if create and not fifo.exists():
        os.mkfifo(fifo)
    p["fifo"] = str(fifo)
    e = hdir / f"empty{ext}"
    if create:
        e.write_bytes(b"")
    p["empty-file"] = str(e)
    if ext in (".pt", ".onnx"):
        src = fx / "run" / ("best.pt" if ext == ".pt" else "best.onnx")
        t = hdir / f"trunc{ext}"
        r = hdir / f"text{ext}"
        if create:
            t.write_bytes(src.read_bytes()[:100])
            r.write_text("hello, I am text\n")
        p["truncated"] = str(t)
        p["txt-renamed"] = str(r)
    loop = hdir / f"loop{ext}"
    if create and not os.path.islink(loop):
        os.symlink(loop.name, loop)
    p["symlink-loop"] = str(loop)
    p["non-utf8"] = os.fsencode(str(hdir)) + b"/bad\xff" + ext.encode()
    p["proc"] = f"/proc/x/y{ext}"
    p["sys"] = f"/sys/x{ext}"
    if kind == "out":
        p["dev-full"] = "/dev/full"
    return p


def _path_cases(fx: Path, hroot: Path, cmd: str, base: list[Arg], opt: str | None, ext: str, kind: str,
               expect_for: dict[str, str] | None = None, create: bool = True) -> list[Case]:
    """One case per hostile stand-in for option opt of cmd (opt None: the positional argument first)."""
    cases = []
    for name, value in hostile(fx, hroot / f"{cmd}{opt or '_arg'}", ext, kind, create).items():
        argv = [cmd] + ([value] if opt is None else []) + base + ([opt, value] if opt else [])
        # a folder option: a folder is an answer; an output may have a name that is not UTF-8 (Linux allows it)
        answer = (ext == "" and name == "dir-for-file") or (name == "non-utf8" and kind == "out")
        expect = (expect_for or {}).get(name, "any" if answer else "error")
        cases.append(Case(f"{cmd} {opt or 'ARG'}={name}", argv, expect))
    return cases


def numeric_cases(cmd: str, base: list[Arg], opt: str, values: Sequence[str], any_ok: Sequence[str] = ()) -> list[Case]:
    return [Case(f"{cmd} {opt}={v}", [cmd] + base + [opt, v], "any" if v in any_ok else "error") for v in values]


BAD_NUMBERS = ["0", "-1", "nan", "inf", "1e9", "abc", ""]


def build_cases(fx: Path, h: Path, create: bool = True) -> list[Case]:
    """Every case; `create` makes the hostile inputs under `h` (without it: the list alone, e.g. to name tests)."""
    def path_cases(*args, **kw) -> list[Case]:
        return _path_cases(*args, **kw, create=create)

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
            anyok = {"--interval": ["0", "1e9", "inf"], "--fps": ["0"], "--width": ["1e9"]}[opt]  # --fps 0: none asked
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
    cases.append(Case("demo-data --out=existing-dataset-parent", ["demo-data", "--per-class", "2", "--out", str(fx)],
                      "any"))  # the fixtures are demo-data's own output, which it may write again
    for v in BAD_NUMBERS:
        cases.append(Case(f"demo-data --per-class={v}", ["demo-data", "--out", "o", "--per-class", v]))
    for v in ["-1", "nan", "abc", "99999999999"]:
        cases.append(Case(f"demo-data --seed={v}", ["demo-data", "--out", "o", "--per-class", "2", "--seed", v]))
    # train
    tb = ["--arch", "mobilenet_v2_x0_35", "--weights", "none", "--img-size", "32", "--epochs", "1"]
    cases += path_cases(fx, h, "train", tb + ["--out", "o"], "--data", "", "in")
    cases += path_cases(fx, h, "train", tb + ["--data", ds], "--out", "", "out",
                        {"missing": "any", "dot": "any", "dotdot": "error"})  # the case's cwd is empty: a run fits
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
                            {"missing": "any", "empty-file": "any"})  # an empty file holds nothing to lose
        cases.append(Case(f"live {o}=source", ["live", "--model", onnx, "--source", clip] + lb + [o, clip]))
        cases.append(Case(f"live {o}=model", ["live", "--model", onnx, "--source", clip] + lb + [o, onnx]))
        cases.append(Case(f"live {o}=labels", ["live", "--model", onnx, "--source", clip] + lb +
                          [o, str(fx / "run" / "best.labels.txt")]))
    cases.append(Case("live --record=--events", ["live", "--model", onnx, "--source", clip] + lb +
                      ["--record", "same.mp4", "--events", "same.mp4"]))
    cases.append(Case("live --record=.txt", ["live", "--model", onnx, "--source", clip] + lb + ["--record", "v.txt"]))
    cases += path_cases(fx, h, "live", lb + ["--model", onnx, "--source", clip], "--capture", "", "out",
                        {"missing": "any", "dot": "any", "dotdot": "any"})  # folders outside the data and source
    cases.append(Case("live --capture=dataset", ["live", "--model", onnx, "--source", clip] + lb +
                      ["--capture", ds], "any"))
    lbm = ["--model", onnx, "--source", clip, "--headless"]
    for opt, vals, anyok in [("--threshold", ["-1", "nan", "inf", "2", "abc", ""], []),
                             ("--smooth", BAD_NUMBERS, []), ("--max-frames", BAD_NUMBERS, ["1e9"]),
                             ("--fps", BAD_NUMBERS, ["0"]), ("--width", BAD_NUMBERS, ["1e9"]),
                             ("--capture-every", ["-1", "nan", "inf", "abc"], ["inf"]),
                             ("--capture-sample", ["-1", "nan", "abc"], []),
                             ("--capture-max", ["0", "-1", "abc"], [])]:
        extra = [] if opt == "--max-frames" else ["--max-frames", "3"]
        extra += ["--capture", "cap"] if opt.startswith("--capture-") else []
        for v in vals:
            cases.append(Case(f"live {opt}={v}", ["live"] + lbm + extra + [opt, v], "any" if v in anyok else "error"))
    cases.append(Case("live --provider=bogus", ["live"] + lbm + ["--max-frames", "3", "--provider", "bogus"]))
    # review
    cases += path_cases(fx, h, "review", ["--list"], None, "", "in",  # folders with no queue: "0 waiting"
                        {"dot": "any", "slash": "any", "dotdot": "any"})
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
        if create:
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
    if create:
        _non_utf8_copies(fx, nb)
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
    return _unique(cases)


def _unique(cases: list[Case]) -> list[Case]:
    """One case per command line; a name given to two different ones gets a number (eval's model as .onnx, .pt)."""
    seen: dict[str, list[Case]] = {}
    for case in cases:
        same = seen.setdefault(case.name, [])
        if all(c.argv != case.argv for c in same):
            same.append(case)
    return [dataclasses.replace(c, name=f"{c.name} #{i + 1}" if i else c.name)
            for same in seen.values() for i, c in enumerate(same)]


def _non_utf8_copies(fx: Path, nb: bytes) -> None:
    """Real inputs under a folder whose name is not UTF-8."""
    ds, clip = str(fx / "dataset"), str(fx / "clips" / "live.mp4")
    os.makedirs(nb, exist_ok=True)
    for src, name in [(clip, b"clip.mp4"), (str(fx / "run" / "best.onnx"), b"model.onnx"),
                      (str(fx / "run" / "best.pt"), b"model.pt"), (str(fx / "run" / "best.labels.txt"),
                                                                    b"model.labels.txt")]:
        shutil.copy(os.fsencode(src), nb + b"/" + name)
    shutil.copytree(os.fsencode(ds), nb + b"/dataset", dirs_exist_ok=True)
    shutil.copy(os.path.join(ds, "up", sorted(os.listdir(os.path.join(ds, "up")))[0]),
                nb + b"/dataset/up/\xe9t\xe9.jpg")


class Probe:
    """The fixtures (made once with the product itself), the hostile inputs, and one case run at a time: the
    inputs are put back after a case that changed them, so the next starts from the same."""

    def __init__(self, root: Path, timeout: float = 60.0) -> None:
        self.root, self.timeout = root, timeout
        self.fx = make_fixtures(sys.executable, str(ROOT), root)
        self.cases = {c.name: c for c in build_cases(self.fx, root / "hostile")}
        self.before = sha_tree(self.fx)
        self.count = 0

    def run(self, case: Case) -> tuple[str, str]:
        """(verdict, the line of stderr that says the error): verdict "ok", or what went wrong."""
        self.count += 1
        work = self.root / "work" / f"{self.count:03d}" / "cwd"
        work.mkdir(parents=True, exist_ok=True)
        watched = [work.parent, self.root / "hostile"]
        pre = set().union(*(listing(w) for w in watched))
        rc, secs, _out, err = thumbs(sys.executable, str(ROOT), case.argv, work, case.timeout or self.timeout)
        after = sha_tree(self.fx)
        lost = [p for p, hsh in self.before.items() if after.get(p) != hsh
                and not (case.argv[0] == "review" and rc == 0 and "/captures/" in p)]  # review moves its queue
        left = sorted(set().union(*(listing(w) for w in watched)) - pre) if rc not in (0, None) else []
        found = verdict(case, rc, secs, err, lost, left)
        if after != self.before:
            add_extras(self.fx)
            if sha_tree(self.fx) != self.before:
                shutil.rmtree(self.fx)
                self.fx = make_fixtures(sys.executable, str(ROOT), self.root)
                self.cases = {c.name: c for c in build_cases(self.fx, self.root / "hostile")}
                self.before = sha_tree(self.fx)
        return found, f"exit {rc} after {secs:.1f} s CPU: {error_line(err)}"
