"""A model served by Triton Inference Server (`thumbs live --model grpc://HOST:PORT/NAME` or http://...).

Many cameras, one GPU server: each client crops and resizes its frames (the same Preprocessor as a local model)
and the server runs the graph, batching the clients' requests. The model's contract (classes, size, crop) is read
from the server: the `parameters` that `thumbs export --format triton` writes into config.pbtxt.

Needs the serve extra (`pip install 'thumbs[serve]'`: tritonclient), imported only when such a URL is given.
A lost server is said once; each frame until it answers again fails at once (BackendUnanswered, its event marked)
rather than waiting, and a request is retried every RETRY_S."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Callable, NamedTuple

import numpy as np

from thumbs.core.backend import Backend, BackendUnanswered
from thumbs.core.errors import ThumbsError
from thumbs.core.model_info import META_KEY, ModelInfo

SCHEMES = ("grpc://", "http://")
REQUEST_S = 2.0  # the longest one request may take before the frame is given up
START_S = 5.0  # how long a server may take to answer at start (it may be starting too)
RETRY_S = 1.0  # after a failed request, frames fail at once (no wait) until this much time has passed
DOCS = "docs/serving.md"


class Endpoint(NamedTuple):
    scheme: str  # "grpc" or "http"
    address: str  # host:port
    name: str  # the model's name in the repository

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}/{self.name}"


def parse_url(url: str) -> Endpoint:
    """grpc://HOST:PORT/NAME or http://HOST:PORT/NAME, or one line saying what is missing."""
    scheme, _, rest = url.partition("://")
    address, _, name = rest.partition("/")
    host, _, port = address.rpartition(":")
    if f"{scheme.lower()}://" not in SCHEMES or not host or not port.isdigit() or not name or "/" in name:
        raise ThumbsError(f"--model '{url}': a served model is grpc://HOST:PORT/NAME or http://HOST:PORT/NAME "
                          "(Triton's gRPC port is 8001, HTTP 8000)")
    return Endpoint(scheme.lower(), address, name)


def _client_module(scheme: str):
    try:
        if scheme == "grpc":
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
    except ImportError:
        raise ThumbsError(f"a {scheme}:// model needs the Triton client: pip install 'thumbs[serve]'") from None
    return module


def _reason(e: BaseException) -> str:
    """The first line of a client error, without gRPC's long debug text."""
    text = str(e.message() if callable(getattr(e, "message", None)) else e).strip()
    return (text.splitlines() or [""])[0][:160] or type(e).__name__


class TritonBackend(Backend):
    """A thumbs model in a Triton server, reached over gRPC or HTTP."""

    def __init__(self, url: str, log: Callable[[str], None] = print) -> None:
        self.endpoint = parse_url(url)
        self.module = _client_module(self.endpoint.scheme)
        self.log = log
        self.timeout = {"client_timeout": REQUEST_S} if self.endpoint.scheme == "grpc" else {}
        self.client = self._connect()
        self._wait_ready()
        config = self._config()
        super().__init__(self._contract(config), url)
        self.input_name, self.output_name = config["input"][0]["name"], config["output"][0]["name"]
        dims = [int(d) for d in config["input"][0]["dims"]]  # without the batch axis, when it batches
        self.max_batch = int(config.get("max_batch_size") or 0)
        self.provider = f"Triton {self.endpoint.scheme} {self.endpoint.address}"
        self.why = f"served by Triton at {self.endpoint.address} ({self.endpoint.name}, batches of up to " \
                   f"{self.max_batch or 'one fixed size'})"
        self.lost_since: float | None = None  # when the server stopped answering (None: it answers)
        self.unanswered = 0
        try:  # it answers a frame, now, rather than at the first camera frame
            self._infer(np.zeros([1, *dims] if self.max_batch else dims, np.float32))
        except Exception as e:
            raise ThumbsError(f"Triton at {self.endpoint.url} did not answer a test frame ({_reason(e)}): see the "
                              "server's log") from None

    def _connect(self):
        if self.endpoint.scheme == "grpc":
            return self.module.InferenceServerClient(self.endpoint.address)
        return self.module.InferenceServerClient(self.endpoint.address, connection_timeout=REQUEST_S,
                                                 network_timeout=REQUEST_S)

    def _close(self) -> None:
        with contextlib.suppress(Exception):  # a connection that is already broken has nothing left to close
            self.client.close()

    def _call(self, method: str, *args, **kwargs):
        return getattr(self.client, method)(*args, **kwargs, **self.timeout)

    def _wait_ready(self) -> None:
        """The server and the model answer within START_S, or one line saying which does not."""
        where, deadline, reason = self.endpoint.url, time.monotonic() + START_S, ""
        while time.monotonic() < deadline:
            try:
                if self._call("is_server_ready"):
                    break
                reason = "the server is not ready yet"
            except Exception as e:  # refused, timed out, not Triton: all one answer
                reason = _reason(e)
            time.sleep(0.2)
        else:
            raise ThumbsError(f"no Triton server answers at {where} within {START_S:.0f} s ({reason}): start it "
                              f"({DOCS}) or check the host and port")
        try:
            ready = self._call("is_model_ready", self.endpoint.name)
        except Exception as e:
            raise ThumbsError(f"Triton at {self.endpoint.address}: model '{self.endpoint.name}' ({_reason(e)})"
                              ) from None
        if not ready:
            raise ThumbsError(f"Triton at {self.endpoint.address} has no ready model '{self.endpoint.name}': check "
                              "the name (the folder in its model repository) and the server's log")

    def _config(self) -> dict:
        as_json = {"as_json": True} if self.endpoint.scheme == "grpc" else {}
        try:
            found = self._call("get_model_config", self.endpoint.name, **as_json)
        except Exception as e:  # the server went away between two questions
            raise ThumbsError(f"Triton at {self.endpoint.address}: the config of model '{self.endpoint.name}' "
                              f"could not be read ({_reason(e)})") from None
        return found.get("config", found)

    def _contract(self, config: dict) -> ModelInfo:
        """The thumbs contract from config.pbtxt's `parameters` (thumbs export --format triton)."""
        value = config.get("parameters", {}).get(META_KEY, {}).get("string_value")
        if not value:
            raise ThumbsError(f"model '{self.endpoint.name}' at {self.endpoint.address} has no thumbs contract in "
                              "its config: export it with `thumbs export CKPT --format triton`")
        try:
            return ModelInfo.from_dict(json.loads(value))
        except ValueError as e:
            raise ThumbsError(f"model '{self.endpoint.name}' at {self.endpoint.address} has a broken thumbs "
                              f"contract ({e}): export it again") from None

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        tensor = self.module.InferInput(self.input_name, list(batch.shape), "FP32")
        tensor.set_data_from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        output = self.module.InferRequestedOutput(self.output_name)
        return self._call("infer", self.endpoint.name, [tensor], outputs=[output]).as_numpy(self.output_name)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Pieces of at most max_batch_size. While the server is lost, frames fail at once (BackendUnanswered)
        and one request in RETRY_S tries again."""
        now = time.monotonic()
        if self.lost_since is not None and now - self.lost_since < RETRY_S:
            self.unanswered += 1
            raise BackendUnanswered(f"Triton at {self.endpoint.address} is lost; retrying")
        if self.lost_since is not None:  # a new connection: gRPC's own would wait out its reconnect backoff
            self._close()
            self.client = self._connect()
        step = self.max_batch or len(batch)
        try:
            probs = np.concatenate([self._infer(batch[i:i + step]) for i in range(0, len(batch), step)])
        except Exception as e:
            self._lost(e)
        if self.lost_since is not None:
            self.log(f"Triton at {self.endpoint.url} answers again ({self.unanswered} frame(s) went unanswered)")
            self.lost_since, self.unanswered = None, 0
        return probs

    def _lost(self, e: Exception) -> None:
        if self.lost_since is None:
            self.log(f"lost Triton at {self.endpoint.url} ({_reason(e)}): live goes on, retrying every "
                     f"{RETRY_S:.0f} s; unanswered frames are marked in the events")
        self.lost_since = time.monotonic()
        self.unanswered += 1
        raise BackendUnanswered(_reason(e)) from None
