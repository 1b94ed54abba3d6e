"""Hostile probe of `thumbs studio` (issue 19): the real command driven as a person (and a hostile script) would,
under Xvfb with xdotool, with other clips than the tests use. tests/probes/test_probe_studio.py runs each case as a
test: `pytest -m slow tests/probes -k studio`.

Each case checks: one clear line (no traceback), a sensible exit code (0 quit, 1 error, 130/143/129 signals),
no lost data, no orphan training child, no hang (every wait has a timeout). Mounting a tiny or read-only
tmpfs (disk-full and read-only cases) needs root; those cases say so where it is refused."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2

from tests.studio.driver import ROOT, StudioRun
from thumbs.training import synthetic

PY = sys.executable
SHARED = ROOT.parent / "shared"
QUICK = ["--arch", "mobilenet_v2_x0_35", "--weights", "none", "--img-size", "32", "--epochs", "2",
         "--batch-size", "8"]
SIGNAL_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


# --- what a case records ------------------------------------------------------------------------------------
class Case:
    def __init__(self, name: str, repro: str) -> None:
        self.name, self.repro, self.notes, self.failures = name, repro, [], []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok

    def row(self) -> dict:
        verdict = "FAIL" if self.failures else "ok"
        return {"case": self.name, "happened": "; ".join(self.notes), "verdict": verdict,
                "failures": self.failures, "repro": self.repro}


def err_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("QStandardPaths")]
    return " | ".join(lines)[:400]


def clear(case: Case, err: str) -> None:
    case.check("Traceback" not in err, f"traceback on stderr: {err[-600:]}")


# --- processes ----------------------------------------------------------------------------------------------
def job_children(cwd: Path) -> list[int]:
    """Training children (python -m thumbs.training.job) started in this case's folder, wherever they hang."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes()
            if b"thumbs.training.job" in cmd and Path(os.readlink(entry / "cwd")) == cwd:
                state = (entry / "stat").read_text().split()[2]
                if state != "Z":
                    found.append(int(entry.name))
    return found


def wait_children_gone(cwd: Path, seconds: float) -> float | None:
    """Seconds until no child is left, or None when some are still there after `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not job_children(cwd):
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def kill_children(cwd: Path) -> None:
    for pid in job_children(cwd):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class _ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("l", ctypes.c_long * 5)]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


def wm_close(display: str, window: str) -> bool:
    """What a window manager's close button sends: a WM_DELETE_WINDOW client message (xdotool 3.2016 has no
    windowquit; its windowclose destroys the X window under the program instead)."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return False
    event = _XEvent()
    msg = event.xclient
    msg.type, msg.send_event, msg.display, msg.window, msg.format = 33, 1, dpy, int(window), 32  # 33: ClientMessage
    msg.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    msg.l[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    ok = x11.XSendEvent(dpy, int(window), 0, 0, ctypes.byref(event)) != 0
    x11.XFlush(dpy)
    x11.XCloseDisplay(dpy)
    return ok


def window_visible(display: str) -> bool:
    env = {**os.environ, "DISPLAY": display}
    return bool(subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "thumbs studio"], capture_output=True,
                               text=True, env=env).stdout.split())


def finish(case: Case, run: StudioRun, timeout: float = 90) -> tuple[int | None, str, str]:
    """The studio's exit, a hang when it does not end within `timeout`."""
    try:
        out, err = run.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        case.check(False, f"hang: still running {timeout:.0f} s after the stop; killed")
        run.proc.kill()
        out, err = run.proc.communicate()
        return None, out, err
    return run.proc.returncode, out, err


def cli(display: str, cwd: Path, args: list[str], timeout: float = 60, window_wait: float = 25, hold: float = 1.0
        ) -> tuple[int | None, str, str, bool]:
    """The command with `args`; when its window opens it is quit with q. Returns (code, out, err, window seen)."""
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([PY, "-m", "thumbs", "studio", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen, deadline = False, time.monotonic() + window_wait
    while time.monotonic() < deadline and proc.poll() is None:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "thumbs studio"], capture_output=True,
                               text=True, env=env).stdout.split()
        if found:
            seen = True
            time.sleep(hold)
            subprocess.run(["xdotool", "windowfocus", found[0]], env=env, capture_output=True)
            subprocess.run(["xdotool", "key", "q"], env=env, capture_output=True)
            break
        time.sleep(0.3)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err, seen
    return proc.returncode, out, err, seen


def events_of(run: StudioRun) -> list[dict]:
    try:
        return run.read()
    except ValueError as e:  # a half line would be a bug of its own
        return [{"event": "unparseable", "why": str(e)}]


def kinds(events: list[dict]) -> list[str]:
    return [e.get("event") for e in events if e.get("event") != "frame"]


# --- material -----------------------------------------------------------------------------------------------
class Material:
    """Clips and folders made once for all cases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        segs = [("up", 15), ("none", 15), ("down", 15)]
        self.clip30 = synthetic.make_video(root / "c30.mp4", segments=segs, seed=11, width=160, height=120, fps=30.0)
        self.clip7 = synthetic.make_video(root / "c7.mp4", segments=[("down", 9), ("up", 4)], seed=12, width=200,
                                          height=150, fps=7.0)
        self.one = synthetic.make_video(root / "one.mp4", segments=[("up", 1)], seed=13, width=160, height=120)
        self.portrait = synthetic.make_video(root / "portrait.mp4", segments=[("up", 10), ("down", 10)], seed=14,
                                             width=120, height=320, fps=25.0)
        self.huge = synthetic.make_video(root / "huge.mp4", segments=[("up", 8), ("down", 8)], seed=15, width=1920,
                                         height=1080, fps=30.0)
        self.folder = root / "imgs"
        self.folder.mkdir()
        real = sorted((SHARED / "real-thumbs").rglob("*.jpg"))[:6]
        for i, p in enumerate(real):
            shutil.copy(p, self.folder / f"r{i}.jpg")
        if not real:
            for i in range(6):
                cv2.imwrite(str(self.folder / f"r{i}.jpg"), synthetic.render(__import__("numpy").random.default_rng(i),
                                                                               "up", 160, 120))
        (self.folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
        (self.folder / "empty.png").write_bytes(b"")
        (self.folder / "notes.txt").write_text("not an image")
        locked = self.folder / "locked.jpg"
        shutil.copy(self.folder / "r0.jpg", locked)
        locked.chmod(0)
        self.garbage = root / "garbage.mp4"
        self.garbage.write_bytes(os.urandom(4096))
        self.data = root / "data150"  # big enough that a training lasts through a key or a signal
        synthetic.make_dataset(self.data, per_class=150, seed=2, width=64, height=48, classes=("up", "down"))
        self.small = root / "data30"
        synthetic.make_dataset(self.small, per_class=30, seed=3, width=64, height=48, classes=("up", "down"))


def fresh(base: Path, name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    return path.resolve()


def sha_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def jpegs_ok(paths: list[Path]) -> tuple[int, int]:
    """(files that decode, files that do not)."""
    good = sum(cv2.imread(str(p)) is not None for p in paths)
    return good, len(paths) - good


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[bool]:
    path.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                        capture_output=True).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --- the cases ----------------------------------------------------------------------------------------------
def option_cases(m: Material) -> list[tuple[str, list[str], str, Callable[[Path], None] | None]]:
    """(name, args, expectation: 'error' | 'usage' | 'opens', setup in the case folder)."""
    clip = str(m.clip30)
    base = ["--source", clip]

    def text_file(d: Path) -> None:
        (d / "notes.txt").write_text("hello\n")

    def data_file(d: Path) -> None:
        (d / "dataset").write_text("x")

    def corrupt_pt(d: Path) -> None:
        (d / "best.pt").write_bytes(b"not a checkpoint" * 10)

    def corrupt_onnx(d: Path) -> None:
        (d / "m.onnx").write_bytes(b"not onnx" * 10)

    def unreadable_source(d: Path) -> None:
        shutil.copy(m.clip30, d / "locked.mp4")
        (d / "locked.mp4").chmod(0)

    return [
        ("classes empty", ["--classes", "", *base], "error", None),
        ("classes one", ["--classes", "up", *base], "error", None),
        ("classes ten", ["--classes", "a,b,c,d,e,f,g,h,i,j", *base], "error", None),
        ("classes dupes", ["--classes", "up,up", *base], "error", None),
        ("classes dupes case", ["--classes", "up,UP", *base], "error", None),
        ("classes slash", ["--classes", "up/x,down", *base], "error", None),
        ("classes dotdot", ["--classes", "..,down", *base], "error", None),
        ("classes backslash", ["--classes", "up\\x,down", *base], "error", None),
        ("classes unicode", ["--classes", "daumen_hoch,ünten", *base], "error", None),
        ("classes emoji", ["--classes", "👍,👎", *base], "error", None),
        ("classes CON", ["--classes", "con,down", *base], "error", None),
        ("classes spaces/commas", ["--classes", " up , ,down ", *base], "opens", None),
        ("interval 0", ["--classes", "up,down", "--interval", "0", *base], "usage", None),
        ("interval -1", ["--classes", "up,down", "--interval", "-1", *base], "usage", None),
        ("interval nan", ["--classes", "up,down", "--interval", "nan", *base], "usage", None),
        ("lr nan", ["--classes", "up,down", "--lr", "nan", *base], "usage", None),
        ("img-size 31", ["--classes", "up,down", "--img-size", "31", *base], "usage", None),
        ("events folder", ["--classes", "up,down", "--events", ".", *base], "error", None),
        ("events text file", ["--classes", "up,down", "--events", "notes.txt", *base], "error", text_file),
        ("events = source", ["--classes", "up,down", "--events", clip, *base], "error", None),
        ("events /dev/full", ["--classes", "up,down", "--events", "/dev/full", *base], "error", None),
        ("events missing dir", ["--classes", "up,down", "--events", "no/such/e.jsonl", *base], "opens", None),
        ("from missing", ["--classes", "up,down", "--from", "nope/best.pt", *base], "error", None),
        ("from corrupt .pt", ["--classes", "up,down", "--from", "best.pt", *base], "opens", corrupt_pt),
        ("from corrupt .onnx", ["--classes", "up,down", "--from", "m.onnx", *base], "error", corrupt_onnx),
        ("from .txt", ["--classes", "up,down", "--from", "notes.txt", *base], "opens", text_file),
        ("captures inside data", ["--classes", "up,down", "--captures", "dataset/q", *base], "error", None),
        ("captures = data", ["--classes", "up,down", "--captures", "dataset", *base], "error", None),
        ("data is a file", ["--classes", "up,down", "--data", "dataset", *base], "error", data_file),
        ("source missing", ["--classes", "up,down", "--source", "nope.mp4"], "error", None),
        ("source garbage", ["--classes", "up,down", "--source", str(m.garbage)], "error", None),
        ("source unreadable (root reads 0600)", ["--classes", "up,down", "--source", "locked.mp4"], "opens",
         unreadable_source),
        ("source camera 7 absent", ["--classes", "up,down", "--source", "7"], "error", None),
    ]


def run_option_case(display: str, base: Path, m: Material, name: str, args: list[str], expect: str,
                    setup: Callable[[Path], None] | None) -> Case:
    cwd = fresh(base, "opt")
    if setup:
        setup(cwd)
    case = Case(f"option: {name}", "thumbs studio " + " ".join(repr(a) if " " in a or not a else a for a in args))
    code, out, err, seen = cli(display, cwd, args, hold=20.0 if "--from" in args else 1.0)
    case.note(f"exit {code}, window {'opened' if seen else 'not opened'}: {err_line(err)[:220]}")
    clear(case, err)
    if expect == "error":
        case.check(code == 1 and not seen, f"expected one error line and exit 1 before any window, got exit {code}")
        case.check(len([x for x in err.splitlines() if x.strip()]) <= 2, "more than one line on stderr")
    elif expect == "usage":
        case.check(code == 2 and not seen, f"expected a usage error (exit 2), got {code}")
    else:
        case.check(code in (0, 1), f"exit {code}")
    case.check(not job_children(cwd), "orphan training child")
    kill_children(cwd)
    return case


def wait_saved(run: StudioRun, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = len([e for e in events_of(run) if e.get("event") == "saved"])
        if got >= n:
            return got
        time.sleep(0.2)
    return len([e for e in events_of(run) if e.get("event") == "saved"])


def source_case(display: str, base: Path, name: str, source: Path) -> Case:
    """Record a few frames by SPACE and a burst from an unusual source, then quit."""
    cwd = fresh(base, "src")
    case = Case(f"source: {name}", f"thumbs studio --classes up,down --source {source} ; keys 1 space space 2 a "
                f"(2 s) a q")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(source), "--interval", "0.1")
    run.key("1", "space", "space", "2", "a")
    time.sleep(2.0)
    run.key("a", "q")
    code, out, err = finish(case, run, 60)
    ev = events_of(run)
    saved = [Path(cwd, e["path"]) for e in ev if e.get("event") == "saved"]
    good, bad = jpegs_ok(saved)
    quit_ev = next((e for e in ev if e.get("event") == "quit"), {})
    case.note(f"exit {code}; {len(saved)} saved ({bad} unreadable); fps {quit_ev.get('fps')}; "
              f"frames {quit_ev.get('frames')}; {err_line(err)[:160]}")
    clear(case, err)
    case.check(code == 0, f"exit {code}")
    case.check(len(saved) >= 3 and bad == 0, "frames not saved or not readable")
    with contextlib.suppress(Exception):
        h, w = cv2.imread(str(saved[0])).shape[:2]
        case.note(f"saved at {w}x{h}")
    return case


def key_storm(display: str, base: Path, m: Material) -> Case:
    cwd = fresh(base, "storm")
    keys = ["t", "c", "r", "e", "0", "9", "5", "3", "Escape"]
    case = Case("keys: storm with no model", "thumbs studio --classes up,down --source c30.mp4; keys t c r e 0 9 5 3 "
                "then every letter a-z but q, digits, space, Return, BackSpace, Tab, F1, Left, fast (gap 0.02 s)")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30), *QUICK)
    run.key(*keys[:-1], gap=0.1)
    storm = [c for c in "abcdefghijklmnoprstuvwxyz"] + [str(d) for d in range(10)] + [
        "space", "Return", "BackSpace", "Tab", "F1", "Left", "shift+a", "ctrl+c", "alt+F4"]
    run.key(*storm, gap=0.02)
    alive = run.proc.poll() is None
    time.sleep(1.0)
    run.key("a")  # the storm toggled a burst on; stop it if it is on (a second a is harmless to check)
    run.key("q")
    code, out, err = finish(case, run, 60)
    ev = events_of(run)
    case.note(f"alive after storm: {alive}; exit {code}; events {sorted(set(kinds(ev)))}; "
              f"train_failed: {[e.get('why')[:70] for e in ev if e.get('event') == 'train_failed'][:2]}; "
              f"{err_line(err)[:200]}")
    clear(case, err)
    case.check(code in (0, 130), f"exit {code}")
    case.check("train_started" not in kinds(ev) or any(e.get("event") == "saved" for e in ev),
               "a training started with no frames")
    time.sleep(1)
    case.check(not job_children(cwd), "orphan training child")
    kill_children(cwd)
    return case


def digits_beyond(display: str, base: Path, m: Material) -> Case:
    cwd = fresh(base, "digits")
    case = Case("keys: digits beyond the class count", "thumbs studio --classes up,down; keys 2 3 9 0 space q")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30))
    run.key("2", "3", "9", "0", "space")
    wait_saved(run, 1, 10)
    run.key("q")
    code, out, err = finish(case, run, 60)
    saved = [e for e in events_of(run) if e.get("event") == "saved"]
    case.note(f"exit {code}; saved into {[e['class'] for e in saved]}")
    clear(case, err)
    case.check(code == 0 and [e["class"] for e in saved] == ["down"], "3/9/0 changed the class or exit not 0")
    return case


def special_key(display: str, base: Path, m: Material, key: str) -> Case:
    """One key a person presses by habit (an arrow, Insert, Print): it should do nothing."""
    cwd = fresh(base, "special")
    case = Case(f"keys: {key} alone", f"thumbs studio --classes up,down --source c30.mp4; key {key}, wait 2 s")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30))
    run.key(key)
    time.sleep(2.0)
    alive = run.proc.poll() is None
    if alive:
        run.key("q")
    code, out, err = finish(case, run, 30)
    ev = events_of(run)
    quit_ev = next((e for e in ev if e.get("event") == "quit"), {})
    others = sorted(set(kinds(ev)) - {"quit"})
    case.note(f"still running after {key}: {alive}; exit {code}; quit why: {quit_ev.get('why')}; events {others}")
    clear(case, err)
    case.check(alive, f"{key} quit the studio ({quit_ev.get('why')})")
    case.check(not others, f"{key} acted as a letter key: {others}")
    return case


def with_data(cwd: Path, src: Path) -> None:
    shutil.copytree(src, cwd / "dataset")


def ttt_and_fps(display: str, base: Path, m: Material) -> Case:
    cwd = fresh(base, "ttt")
    with_data(cwd, m.data)
    case = Case("t t t, then preview fps while training (30 fps clip)",
                "thumbs studio --classes up,down --source c30.mp4 (160x120 30 fps) " + " ".join(QUICK) +
                " with 150 frames per class; keys t t t, wait model_ready, q")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30), *QUICK)
    load0 = os.getloadavg()[0]
    run.key("t", "t", "t", gap=0.05)
    try:
        ready = run.wait_for("model_ready", timeout=400, fail_on="train_failed")
        case.note(f"model_ready: {ready.get('accuracy')}")
    except AssertionError as e:
        case.check(False, f"no model: {e}"[:300])
    time.sleep(1.0)
    run.key("q")
    code, out, err = finish(case, run, 60)
    ev = events_of(run)
    quit_ev = next((e for e in ev if e.get("event") == "quit"), {})
    starts = kinds(ev).count("train_started")
    case.note(f"exit {code}; train_started x{starts}; fps {quit_ev.get('fps')}, training_fps "
              f"{quit_ev.get('training_fps')}; load avg {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    clear(case, err)
    case.check(code == 0, f"exit {code}")
    case.check(starts == 1, f"{starts} trainings started by t t t")
    tf = quit_ev.get("training_fps")
    case.check(tf is not None and tf >= 15, f"preview {tf} fps while training (< 15)")
    return case


def stop_during_training(display: str, base: Path, m: Material, how: str) -> Case:
    """Start a training (new model, 6 epochs), wait for its first epoch, then stop the studio `how`."""
    cwd = fresh(base, "stop")
    with_data(cwd, m.data)
    before = sha_tree(cwd / "dataset")
    args = ["--classes", "up,down", "--source", str(m.clip30), *QUICK[:-4], "--epochs", "6", "--batch-size", "8"]
    case = Case(f"stop during training: {how}", "thumbs studio " + " ".join(args) + f" (150/class); key t, after the "
                f"first epoch event: {how}")
    run = StudioRun(display, cwd, *args)
    run.key("1", "space")
    run.key("t")
    try:
        run.wait_for("epoch", timeout=300, fail_on="train_failed")
    except AssertionError as e:
        case.check(False, f"no epoch: {e}"[:300])
    kids = job_children(cwd)
    case.note(f"child pids {kids}")
    env = {**os.environ, "DISPLAY": run.display}
    expected: tuple[int, ...] = (0,)
    if how == "SIGTERM x2":  # an impatient `kill` twice, or systemd's stop then its kill timer, compressed
        run.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        run.proc.send_signal(signal.SIGTERM)
        expected = (143,)
    elif how.startswith("SIG"):
        sig = getattr(signal, how)
        run.proc.send_signal(sig)
        expected = (SIGNAL_CODES.get(sig, -sig),) if sig != signal.SIGKILL else (-9,)
    elif how == "windowclose":
        subprocess.run(["xdotool", "windowclose", run.window], env=env, capture_output=True)
        time.sleep(2)
        case.note(f"window visible 2 s after windowclose: {window_visible(run.display)}")
    elif how == "wm close":
        case.note(f"WM_DELETE_WINDOW sent: {wm_close(run.display, run.window)}")
    elif how == "windowkill":
        subprocess.run(["xdotool", "windowkill", run.window], env=env, capture_output=True)
        expected = (0, 1)
    elif how == "q":
        run.key("q")
    t0 = time.monotonic()
    code, out, err = finish(case, run, 90)
    took = time.monotonic() - t0
    gone = wait_children_gone(cwd, 30)
    ev = events_of(run)
    stopped = [e for e in ev if e.get("event") == "train_failed"]
    gone_text = f"after {gone:.1f} s" if gone is not None else "NOT within 30 s"
    why = stopped[-1]["why"][:110] if stopped else "-"
    case.note(f"exit {code} after {took:.1f} s; child gone {gone_text}; last event "
              f"{ev[-1].get('event') if ev else None}; why: {why}; stderr: {err_line(err)[:200]}")
    clear(case, err)
    case.check(code in expected, f"exit {code}, expected {expected}")
    case.check(gone is not None, "orphan training child still running 30 s after the studio ended")
    after = sha_tree(cwd / "dataset")
    case.check(all(after.get(k) == v for k, v in before.items()), "data lost or changed")
    saved = [Path(cwd, e["path"]) for e in ev if e.get("event") == "saved"]
    case.check(all(p.is_file() for p in saved), "a saved frame is gone")
    runs = sorted((cwd / "runs").glob("*/metrics.json")) if (cwd / "runs").exists() else []
    if runs:
        with contextlib.suppress(ValueError, OSError):
            metrics = json.loads(runs[-1].read_text())
            case.note(f"metrics.json interrupted={metrics.get('interrupted')} epochs_done={metrics.get('epochs_done')}")
            if how != "SIGKILL":
                case.check(metrics.get("interrupted") is True, "partial run not marked interrupted")
    elif how != "SIGKILL":
        case.note("no run folder with metrics.json")
    lasts = sorted((cwd / "runs").glob("*/last.pt")) if (cwd / "runs").exists() else []
    case.note(f"last.pt: {[str(p.relative_to(cwd)) for p in lasts]}")
    if how == "SIGTERM" and lasts:
        resume = subprocess.run([PY, "-m", "thumbs", "train", "--resume", str(lasts[-1]), "--epochs", "2"], cwd=cwd,
                                capture_output=True, text=True, timeout=400,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        case.note(f"`thumbs train --resume {lasts[-1].relative_to(cwd)} --epochs 2`: exit {resume.returncode} "
                  f"{err_line(resume.stderr)[:150]}")
        case.check(resume.returncode == 0, "resume of the partial run failed")
    kill_children(cwd)
    return case


def heavy_fps(display: str, base: Path, m: Material) -> Case:
    """The loop the issue is for, at a camera's size: a ResNet-18 live (224 px) classifying a 640x480 30 fps
    clip while t retrains it; the preview's rate then (quit's training_fps)."""
    from tests.helpers import make_checkpoint
    from thumbs.training.export import export

    cwd = fresh(base, "heavy")
    with_data(cwd, m.small)
    clip = synthetic.make_video(cwd / "vga.mp4", segments=[("up", 30), ("down", 30)], seed=21, width=640,
                                height=480, fps=30.0)
    best = make_checkpoint(cwd / "run" / "best.pt", arch="resnet18", size=224, classes=["down", "up"])
    export(best)
    case = Case("fps: ResNet-18 live on a 640x480 30 fps clip while t retrains it",
                "thumbs studio --classes up,down --source vga.mp4 --from run/best.pt (resnet18 224, exported), "
                "dataset 30/class; t, wait model_ready, q")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(clip), "--from", str(best))
    time.sleep(3.0)
    load0 = os.getloadavg()[0]
    run.key("t")
    try:
        ready = run.wait_for("model_ready", timeout=500, fail_on="train_failed")
        case.note(f"model_ready accuracy {ready.get('accuracy')}")
    except AssertionError as e:
        case.check(False, f"no model: {e}"[:300])
    run.key("q")
    code, out, err = finish(case, run, 60)
    ev = events_of(run)
    quit_ev = next((e for e in ev if e.get("event") == "quit"), {})
    case.note(f"exit {code}; fps {quit_ev.get('fps')} overall, {quit_ev.get('training_fps')} while training; "
              f"load avg {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    clear(case, err)
    tf = quit_ev.get("training_fps")
    case.check(tf is not None and tf >= 15, f"preview {tf} fps while training (< 15)")
    return case


def stdout_reader_gone(display: str, base: Path, m: Material) -> Case:
    """--events - into `head -3`: the reader goes away after three lines while frames flow."""
    from tests.helpers import make_checkpoint
    from thumbs.training.export import export

    cwd = fresh(base, "pipe")
    best = make_checkpoint(cwd / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["down", "up"])
    export(best)
    case = Case("--events - piped into head -3", "thumbs studio --classes up,down --from run/best.pt --events - | "
                "head -3")
    cmd = (f"{PY} -m thumbs studio --classes up,down --source {m.clip30} --from {best} --events - | head -3 "
           "> head.txt; echo ${PIPESTATUS[0]} > code.txt")
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    alive = proc.poll() is None
    if alive and window_visible(display):
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "thumbs studio"], capture_output=True,
                               text=True, env=env).stdout.split()
        if found:
            subprocess.run(["xdotool", "windowfocus", found[0]], env=env, capture_output=True)
            subprocess.run(["xdotool", "key", "q"], env=env, capture_output=True)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        case.check(False, "hang")
    code = (cwd / "code.txt").read_text().strip() if (cwd / "code.txt").exists() else None
    case.note(f"studio still running 12 s later: {alive}; exit {code}; stderr: {err_line(err)[:220]}")
    clear(case, err)
    case.check(code in ("0", "1"), f"exit {code}")
    return case


def fail_then_succeed(display: str, base: Path, m: Material) -> Case:
    cwd = fresh(base, "failok")
    with_data(cwd, m.small)
    weights = cwd / "w" / "backbone.pth"
    args = ["--classes", "up,down", "--source", str(m.clip7), "--arch", "mobilenet_v2_x0_35", "--weights",
            str(weights), "--img-size", "32", "--epochs", "1", "--batch-size", "8"]
    case = Case("training fails (--weights file moved away after the start), file put back, second t",
                "thumbs studio " + " ".join(args) + "; rm the weights; t; put them back; t")
    src = next(iter((SHARED / "weights").glob("mobilenet_v2_x0.35*.pth")), None)
    if src is None:  # the studio refuses a --weights file that is not there at its start: the probe needs one
        case.check(False, "no shared weights (../shared/weights): this case cannot run")
        return case
    weights.parent.mkdir()
    shutil.copy(src, weights)
    run = StudioRun(display, cwd, *args)
    weights.rename(weights.with_suffix(".away"))
    run.key("t")
    try:
        failed = run.wait_for("train_failed", timeout=200, fail_on="model_ready")
        case.note(f"first t: train_failed started={failed.get('started')}: {failed.get('why', '')[:120]}")
    except AssertionError as e:
        case.check(False, f"first t: {e}"[:300])
    weights.with_suffix(".away").rename(weights)
    n = len(events_of(run))
    run.key("t")
    try:
        ready = run.wait_for("model_ready", timeout=300, after=n, fail_on="train_failed")
        case.note(f"second t: model_ready accuracy {ready.get('accuracy')}")
    except AssertionError as e:
        case.check(False, f"second t: {e}"[:300])
    run.key("q")
    code, out, err = finish(case, run, 60)
    case.note(f"exit {code}")
    clear(case, err)
    case.check(code == 0, f"exit {code}")
    return case


def empty_class_files(display: str, base: Path, m: Material) -> Case:
    """A class whose folder holds only files that are not images (or broken ones): does t start?"""
    cwd = fresh(base, "emptyish")
    with_data(cwd, m.small)
    down = cwd / "dataset" / "down"
    shutil.rmtree(down)
    down.mkdir()
    (down / "a.jpg").write_bytes(b"broken")
    (down / "b.jpg").write_bytes(b"")
    (down / "readme.txt").write_text("x")
    case = Case("t with a class of only broken/non-image files", "dataset/down holds a.jpg (garbage), b.jpg (empty), "
                "readme.txt; thumbs studio --classes up,down " + " ".join(QUICK) + "; t")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30), *QUICK)
    run.key("t")
    try:
        failed = run.wait_for("train_failed", timeout=200, fail_on="model_ready")
        case.note(f"train_failed started={failed.get('started')}: {failed.get('why', '')[:160]}")
        case.check("Traceback" not in failed.get("why", ""), "traceback in the reason")
    except AssertionError as e:
        case.check(False, f"no train_failed: {e}"[:300])
    run.key("q")
    code, out, err = finish(case, run, 60)
    clear(case, err)
    case.check(code == 0, f"exit {code}")
    case.note(f"exit {code}; panel counts 'down' as {sum(1 for _ in down.iterdir())} file(s)")
    case.check((down / "a.jpg").exists() and (down / "readme.txt").exists(), "files removed")
    kill_children(cwd)
    return case


def disk_case(display: str, base: Path, m: Material, mode: str) -> Case:
    """A burst into a data folder that fills up (tmpfs of 150k) or turns read-only mid-burst."""
    cwd = fresh(base, "disk")
    data = cwd / "dataset"
    case = Case(f"burst into a {mode} data folder", f"mount -t tmpfs -o size={'1m' if mode == 'full' else '20m'} "
                f"tmpfs dataset; thumbs studio --classes up,down --source huge.mp4 --interval 0.05; keys 1 a; "
                + ("(fills up)" if mode == "full" else "after 1.5 s: mount -o remount,ro dataset"))
    with tmpfs(data, "1m" if mode == "full" else "20m") as mounted:
        if not mounted:
            case.note("could not mount a tmpfs (needs root): not run")
            return case
        if mode == "readonly-at-start":
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.huge), "--interval", "0.05")
        run.key("1", "a")
        if mode == "readonly":
            time.sleep(1.5)
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        time.sleep(4.0)
        alive = run.proc.poll() is None
        if alive:
            run.key("space", "a", "q")
        code, out, err = finish(case, run, 60)
        ev = events_of(run)
        saved = [Path(cwd, e["path"]) for e in ev if e.get("event") == "saved"]
        on_disk = sorted(data.rglob("*.jpg"))
        tmp = [p for p in data.rglob("*") if p.name.endswith(".tmp")]
        good, bad = jpegs_ok(on_disk)
        case.note(f"studio {'still running' if alive else 'ended by itself'}; exit {code}; {len(saved)} saved events, "
                  f"{len(on_disk)} on disk ({bad} unreadable), {len(tmp)} temp left; last event "
                  f"{ev[-1].get('event') if ev else None}; stderr: {err_line(err)[:220]}")
        clear(case, err)
        case.check(code in (0, 1), f"exit {code}")
        case.check(all(p.is_file() for p in saved), "a frame reported saved is missing")
        case.check(bad == 0 and not tmp, "unreadable frame or temp file left")
        case.check(bool(ev) and ev[-1].get("event") == "quit", "no quit event at the end")
        subprocess.run(["mount", "-o", "remount,rw", str(data)], capture_output=True)
    return case


def review_signal(display: str, base: Path, m: Material, how: str) -> Case:
    """A live model (random weights, unsure of everything), c fills the queue, r opens review, then `how`."""
    from tests.helpers import make_checkpoint
    from thumbs.training.export import export

    cwd = fresh(base, "review")
    best = make_checkpoint(cwd / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["down", "up"])
    export(best)
    before = sha_tree(cwd / "run")
    case = Case(f"during a review: {how}", "thumbs studio --classes up,down --source c30.mp4 --from run/best.pt "
                f"(exported); c (3 s) c r 1 then {how}")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30), "--from", str(best))
    time.sleep(1.0)
    run.key("c")
    time.sleep(3.0)
    run.key("c")
    queued = sorted((cwd / "captures").glob("*.jpg"))
    run.key("r")
    time.sleep(1.0)
    run.key("1")
    time.sleep(0.5)
    env = {**os.environ, "DISPLAY": display}
    expected: tuple[int, ...] = (0,)
    if how.startswith("SIG"):
        sig = getattr(signal, how)
        run.proc.send_signal(sig)
        expected = (SIGNAL_CODES[sig],)
    elif how == "windowclose":
        subprocess.run(["xdotool", "windowclose", run.window], env=env, capture_output=True)
        time.sleep(2)
        case.note(f"window visible 2 s after windowclose: {window_visible(display)}")
    elif how == "wm close":
        case.note(f"WM_DELETE_WINDOW sent: {wm_close(display, run.window)}")
        time.sleep(2)
        case.note(f"window visible 2 s after: {window_visible(display)}")
    code, out, err = finish(case, run, 60)
    ev = events_of(run)
    labelled = sorted((cwd / "dataset").rglob("*.jpg")) if (cwd / "dataset").exists() else []
    left = sorted((cwd / "captures").glob("*.jpg"))
    case.note(f"{len(queued)} queued; exit {code}; {len(labelled)} labelled + {len(left)} left in the queue; last "
              f"event {ev[-1].get('event') if ev else None}; stderr: {err_line(err)[:200]}")
    clear(case, err)
    case.check(code in expected, f"exit {code}, expected {expected}")
    case.check(len(labelled) + len(left) >= len(queued), "captured frames lost")
    case.check(sha_tree(cwd / "run") == before, "the live model's files changed")
    case.check(bool(ev) and ev[-1].get("event") == "quit", "no quit event at the end")
    return case


def quit_during_export(display: str, base: Path, m: Material) -> Case:
    from tests.helpers import make_checkpoint

    cwd = fresh(base, "export")
    best = make_checkpoint(cwd / "run" / "best.pt", arch="resnet18", size=224, classes=["down", "up"])
    case = Case("q during the background export of --from .pt", "thumbs studio --classes up,down --from run/best.pt "
                "(resnet18, not exported); q at once")
    run = StudioRun(display, cwd, "--classes", "up,down", "--source", str(m.clip30), "--from", str(best))
    run.key("e", "c", "t")
    run.key("q")
    code, out, err = finish(case, run, 90)
    gone = wait_children_gone(cwd, 20)
    ev = events_of(run)
    files = sorted(p.name for p in (cwd / "run").iterdir())
    case.note(f"exit {code}; child gone: {gone}; run folder {files}; events {kinds(ev)}; stderr {err_line(err)[:160]}")
    clear(case, err)
    case.check(code == 0, f"exit {code}")
    case.check(gone is not None, "orphan export child")
    case.check(not [f for f in files if f.endswith(".tmp") or f.startswith(".")], "temp file left in the run")
    kill_children(cwd)
    return case


def events_dev_full(display: str, base: Path, m: Material) -> Case:
    """--events to a path on a full file system once the window is open (the check passes, writes fail)."""
    cwd = fresh(base, "evfull")
    mnt = cwd / "small"
    case = Case("--events on a file system that fills up", "mount -t tmpfs -o size=8k tmpfs small; thumbs studio "
                "--classes up,down --events small/e.jsonl --from run/best.pt (exported: one frame event per frame)")
    from tests.helpers import make_checkpoint
    from thumbs.training.export import export

    best = make_checkpoint(cwd / "run" / "best.pt", arch="mobilenet_v2_x0_35", size=32, classes=["down", "up"])
    export(best)
    with tmpfs(mnt, "8k") as mounted:
        if not mounted:
            case.note("no tmpfs (needs root): not run")
            return case
        args = ["--classes", "up,down", "--source", str(m.clip30), "--from", str(best), "--events",
                str(mnt / "e.jsonl")]
        code, out, err, seen = cli(display, cwd, args, window_wait=8, hold=8.0)
        case.note(f"window {'opened' if seen else 'not seen'}; exit {code}; stderr {err_line(err)[:220]}")
        clear(case, err)
        case.check(code in (0, 1), f"exit {code}")
    return case


# --- main ---------------------------------------------------------------------------------------------------
def case_table(base: Path, m: Material) -> list[tuple[str, Callable[[str], Case]]]:
    """Every case by name: each runs on the display it is given, in its own folder under `base`."""
    cases: list[tuple[str, Callable[[str], Case]]] = []
    for name, a, expect, setup in option_cases(m):
        cases.append((f"option: {name}", lambda d, n=name, a=a, e=expect, s=setup:
                      run_option_case(d, base, m, n, a, e, s)))
    for name, src in (("7 fps 200x150", m.clip7), ("1-frame clip", m.one), ("image folder with broken files",
                      m.folder), ("portrait 120x320", m.portrait), ("1920x1080", m.huge)):
        cases.append((f"source: {name}", lambda d, n=name, s=src: source_case(d, base, n, s)))
    cases += [
        ("keys: storm", lambda d: key_storm(d, base, m)),
        ("keys: digits", lambda d: digits_beyond(d, base, m)),
        *[(f"keys: special {k}", lambda d, k=k: special_key(d, base, m, k))
          for k in ("Left", "Right", "Up", "Down", "Home", "Insert", "Print", "KP_1", "Delete")],
        ("t with broken class", lambda d: empty_class_files(d, base, m)),
        ("q during export", lambda d: quit_during_export(d, base, m)),
        ("events full fs", lambda d: events_dev_full(d, base, m)),
    ]
    cases += [(f"disk {mode}", lambda d, mo=mode: disk_case(d, base, m, mo))
              for mode in ("full", "readonly", "readonly-at-start")]
    cases += [(f"review {how}", lambda d, h=how: review_signal(d, base, m, h))
              for how in ("SIGTERM", "SIGINT", "SIGHUP", "windowclose", "wm close")]
    cases += [("t t t fps", lambda d: ttt_and_fps(d, base, m)),
              ("fps heavy", lambda d: heavy_fps(d, base, m)),
              ("events pipe", lambda d: stdout_reader_gone(d, base, m)),
              ("fail then succeed", lambda d: fail_then_succeed(d, base, m))]
    cases += [(f"stop {how}", lambda d, h=how: stop_during_training(d, base, m, h))
              for how in ("SIGTERM", "SIGTERM x2", "SIGINT", "SIGHUP", "SIGKILL", "windowclose", "wm close",
                          "windowkill", "q")]
    return cases


def case_names() -> list[str]:
    """The names alone, without making the material (the option cases only read two of its paths)."""
    stub = Material.__new__(Material)
    stub.root = stub.clip30 = stub.clip7 = stub.one = stub.portrait = stub.huge = stub.folder = stub.garbage = \
        Path("/nonexistent")
    return [name for name, _ in case_table(Path("/nonexistent"), stub)]
