"""The `trained` fixture's model: a ResNet-18 trained from scratch on generated thumbs, in a process of its own.

It is the suite's costliest item (about 85 s of one core), and most tests leave a core idle at times (a window
waiting for its clip, a child process starting): so conftest starts this process as soon as the tests are
collected, the tests that need the model run last, and the fixture reads the result from the run's folder.
`python -m tests.trained_model FOLDER` trains into FOLDER; it stops when the test run is over (-x, Ctrl-C)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from thumbs.training import synthetic

ROOT = Path(__file__).resolve().parents[1]
RESULT, FAILED, LOG, PID = "result.pickle", "failed", "train.log", "pid"
WAIT_S = 1200  # the longest a test waits for the model: several times its training on a slow machine


def train_resnet18(root: Path, stop_when: Callable[[], bool] = lambda: False):
    """Measured (seed 11 here, 5 beside it): validation 0.71 (0.70), held-out 0.71 (0.69), direction 0.92 (0.94),
    live clip 0.99 (1.00) per frame, stable 0.81 (0.92); at 48 px 0.74, 0.73, 0.94, 0.90 in 1.3 times as long.
    6 or 7 epochs, batch 16 at 5 or 6 epochs, 240 images a class, 32 px, lr 3e-4, 5e-4 or 2e-3, or a MobileNet or
    SqueezeNet from scratch fell below the tests' bars. Returns the TrainResult and a held-out data set."""
    from thumbs.training import train

    def check(*_) -> None:
        if stop_when():
            raise KeyboardInterrupt

    data, held_out = root / "train", root / "held_out"
    synthetic.make_dataset(data, per_class=300, seed=11, width=80, height=60)
    synthetic.make_dataset(held_out, per_class=60, seed=12, width=80, height=60)
    cfg = train.TrainConfig(data=str(data), arch="resnet18", weights="none", epochs=8, img_size=40,
                            batch_size=32, out=str(root / "run"))
    return train.train(cfg, log=lambda m: None, callbacks={"on_batch_end": [check]}), held_out


def start_once(folder: Path) -> None:
    """Start the process unless one was: pytest-xdist's workers all ask, the first one starts it."""
    with FileLock(f"{folder}.lock"):
        if not folder.exists():
            start(folder)


def start(folder: Path) -> None:
    """The training process, one thread (conftest's OMP_NUM_THREADS), writing into `folder`. It follows the test
    run, not the process that starts it: that pytest-xdist worker may run out of tests while another one still
    waits for the model. So it has a session of its own (the terminal's Ctrl-C ends the run, which ends it)."""
    folder.mkdir(parents=True, exist_ok=True)
    run = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()  # the controller, or pytest
    with open(folder / LOG, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.trained_model", str(folder), str(run)], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    (folder / PID).write_text(str(proc.pid))


def wait(folder: Path, timeout: float = WAIT_S):
    """The result once the process has written it; a failure says what the process printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (folder / RESULT).exists():
            return pickle.loads((folder / RESULT).read_bytes())
        if (folder / FAILED).exists() or not running(int((folder / PID).read_text())):
            time.sleep(0.5)  # a result written just before the process ended
            if not (folder / RESULT).exists():
                raise AssertionError(f"training the test model failed:\n{(folder / LOG).read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"the test model was not trained within {timeout:.0f} s; its log: {folder / LOG}")


def running(pid: int) -> bool:
    """Whether `pid` is a live process: ended ones, unreaped (zombies) included, are not (Linux's /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def main(folder: Path, run: int) -> int:
    try:
        result, held_out = train_resnet18(folder, lambda: not running(run))
        if result.interrupted:
            raise RuntimeError("the training was stopped before its last epoch")
    except BaseException:  # Ctrl-C included: the waiting tests fail with this log instead of timing out
        traceback.print_exc()
        (folder / FAILED).touch()
        return 1
    partial = folder / f"{RESULT}.partial"
    partial.write_bytes(pickle.dumps((result, held_out)))
    os.replace(partial, folder / RESULT)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
