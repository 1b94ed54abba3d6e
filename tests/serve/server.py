"""A real Triton server for the tests and scripts/bench_serve.py: the tritonserver binary and core that
nvidia-pytriton ships, its python backend, and the stand-in onnxruntime backend beside this file.

`missing()` says why it cannot run here (package absent, glibc older than 2.35, no stub for this Python);
`TritonServer(repo, folder)` starts it on free loopback ports and waits, bounded, until it is ready."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

STAND_IN = Path(__file__).resolve().parent / "backend" / "onnxruntime" / "model.py"
GLIBC = (2, 35)  # what pytriton's tritonserver binary is built against
START_S = 60.0  # the longest a start may take (1.6-3 s measured on 2 quiet cores)
STOP_S = 15.0


def pytriton_dir() -> Path | None:
    spec = importlib.util.find_spec("pytriton")
    return Path(spec.origin).parent / "tritonserver" if spec and spec.origin else None


def _glibc() -> tuple[int, ...]:
    found = (os.confstr("CS_GNU_LIBC_VERSION") or "glibc 0.0").split()[-1]
    return tuple(int(p) for p in found.split(".")[:2])


def stub(root: Path) -> Path:
    return root / "python_backend_stubs" / f"{sys.version_info[0]}.{sys.version_info[1]}" / \
        "triton_python_backend_stub"


def missing() -> str | None:
    """Why no Triton server can start here, or None."""
    root = pytriton_dir()
    if root is None or not (root / "bin" / "tritonserver").is_file():
        return "nvidia-pytriton (the tritonserver binary) is not installed: pip install nvidia-pytriton==0.7.0"
    if _glibc() < GLIBC:
        return f"pytriton's tritonserver needs glibc >= {GLIBC[0]}.{GLIBC[1]}; this machine has {_glibc()}"
    if not stub(root).is_file():
        return f"pytriton has no python backend stub for Python {sys.version_info[0]}.{sys.version_info[1]}"
    return None


def backend_dir(folder: Path) -> Path:
    """Triton's --backend-directory: pytriton's python backend with this Python's stub, and the stand-in. Copies,
    not links: Triton refuses a backend library whose real path leaves the backend directory."""
    root = pytriton_dir()
    python = folder / "python"
    python.mkdir(parents=True, exist_ok=True)
    for item in (root / "backends" / "python").iterdir():
        if item.is_file():
            shutil.copy2(item, python / item.name)
    shutil.copy2(stub(root), python / "triton_python_backend_stub")
    (folder / "onnxruntime").mkdir()
    shutil.copy2(STAND_IN, folder / "onnxruntime" / "model.py")
    (folder / "onnxruntime" / "sys_path.txt").write_text("\n".join(p for p in sys.path if p), encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TritonServer:
    """tritonserver on loopback ports with the repository `repo` loaded; a context manager that stops it."""

    def __init__(self, repo: Path, folder: Path, ports: tuple[int, int] | None = None) -> None:
        """`ports` (http, grpc): a server started again where a lost one was; else free ones."""
        self.repo, self.folder = repo, folder
        self.http_port, self.grpc_port = ports or (free_port(), free_port())
        self.log = folder / "tritonserver.log"
        self.process: subprocess.Popen | None = None

    def url(self, scheme: str, name: str) -> str:
        return f"{scheme}://127.0.0.1:{self.http_port if scheme == 'http' else self.grpc_port}/{name}"

    def start(self) -> TritonServer:
        root = pytriton_dir()
        backends = self.folder / "backends"
        if not backends.exists():
            backend_dir(backends)
        libraries = [sysconfig.get_config_var("LIBDIR"), str(root.parent.parent / "nvidia_pytriton.libs"),
                     os.environ.get("LD_LIBRARY_PATH")]  # libpython, and what the copied stub links by $ORIGIN
        env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(filter(None, libraries))}
        command = [str(root / "bin" / "tritonserver"), "--model-repository", str(self.repo),
                   "--backend-directory", str(backends), "--cache-directory", str(root / "caches"),
                   "--http-address", "127.0.0.1", "--http-port", str(self.http_port),
                   "--grpc-address", "127.0.0.1", "--grpc-port", str(self.grpc_port),
                   "--allow-metrics", "false", "--exit-timeout-secs", "2"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        self.wait_ready()
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/v2/health/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tritonserver exited ({self.process.returncode}): {self.tail()}")
            if self.ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"tritonserver was not ready in {START_S:.0f} s: {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def kill(self) -> None:
        """Gone at once, as a crashed or unplugged server is (its backend stubs too)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_S)

    def stop(self) -> None:
        """SIGTERM and a bounded wait, then SIGKILL (of its process group: the backend stubs too)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_S)

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
