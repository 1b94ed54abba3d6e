"""`python -m thumbs.training.job '<spec json>'`: one training or export for `thumbs studio`, in a child process,
so the window's thread never waits on torch; it speaks JSON Lines on stdout that the window reads.

The spec, one JSON object:
- {"kind": "train", "config": {TrainConfig fields}}: a new run, as `thumbs train` builds it;
- {"kind": "train", "from": "RUN/best.pt", "config": {...}}: a warm start, as `thumbs train --from` builds it
  (warm_start.config: one rule for both);
- {"kind": "export", "checkpoint": "RUN/best.pt"}: its .onnx and labels beside it, parity-checked;
- and for any kind "threads" (torch's thread count) and "nice" (a lower priority), so the preview keeps the CPU.

Events, one object a line, flushed at once: "log" (every trainer line), "batch" (at most BATCH_EVENTS_PER_S a
second), "epoch" (the history row), then one of "model_ready" (exit 0), "failed" (the one line `thumbs train`
prints; exit 1) or "interrupted" (exit 128 + the signal). Nothing else reaches stdout: file descriptor 1 is
stderr for everyone but the events (print, rich, native libraries), so no stray line breaks the reader.

Stopping: SIGINT, SIGTERM and SIGHUP stop it as they stop `thumbs train` (the last finished epoch is kept and
marked partial; `thumbs train --resume` continues it). The parent holds our stdin open as a pipe and never
writes: end-of-file there means it died or let go, and the job stops as SIGTERM stops it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import sys
import threading
import time
import traceback
import warnings
from dataclasses import fields
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from thumbs.core import metrics, signals
from thumbs.core.errors import ThumbsError
from thumbs.core.files import existing_file, os_error_line
from thumbs.core.model_info import labels_path
from thumbs.train_config import TrainConfig
from thumbs.train_config import check as train_config_check

BATCH_EVENTS_PER_S = 5  # the panel shows the epoch's progress; more lines would only cost the reader
KINDS = ("train", "export")
JOB_ONLY = ("start_from", "first_lr")  # TrainConfig fields a spec does not set: "from" says it, the warm start derives


class _Spec(BaseModel):
    """What every kind of spec may hold. Strict: `true` is not a whole number, "3" not a number."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
    threads: int | None = Field(None, ge=1)  # torch's thread count
    nice: int | None = Field(None, ge=0)  # added to the child's niceness


class TrainSpec(_Spec):
    kind: Literal["train"]
    config: dict[str, Any] = Field(default_factory=dict)  # TrainConfig fields, checked by train_config()
    start_from: str | None = Field(None, alias="from", min_length=1)


class ExportSpec(_Spec):
    kind: Literal["export"]
    checkpoint: str = Field(min_length=1)


SPECS: dict[str, type[_Spec]] = {"train": TrainSpec, "export": ExportSpec}
SPEC_KEYS = {kind: tuple(f.alias or name for name, f in model.model_fields.items()) for kind, model in SPECS.items()}
# TrainConfig's fields as a strict pydantic model: what a spec's "config" may hold, each of its field's type
# (the annotations as written, resolved by pydantic in train_config's namespace: on Python 3.9 `X | None` needs
# eval-type-backport, which the train extra brings there; typing.get_type_hints cannot read it)
TRAIN_SETTINGS = create_model("TrainSettings", __config__=ConfigDict(strict=True, extra="forbid"),
                              __module__=TrainConfig.__module__,
                              **{f.name: (f.type, f.default) for f in fields(TrainConfig) if f.name not in JOB_ONLY})


class Events:
    """The job's stdout, JSON Lines only. Takes file descriptor 1 for itself and points 1 at stderr."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out: IO[str] | None = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)

    def emit(self, event: str, **fields: Any) -> None:
        """One line, flushed; once the reader is gone, nothing (its stdin end-of-file stops the job)."""
        if self._out is None:
            return
        line = json.dumps({"event": event, **fields}) + "\n"
        try:
            with signals.deferred(second_stops=True):  # a stop never cuts a line in half
                self._out.write(line)
                self._out.flush()
        except OSError:  # BrokenPipeError: the parent closed its end
            self._out = None


def parse_spec(argv: list[str]) -> dict:
    """The spec from argv[1], refused in one line when it is not one the job can run (a key or a type pydantic
    refuses in strict mode, a training setting TrainConfig does not have or of another type)."""
    if len(argv) != 1:
        raise ThumbsError("usage: python -m thumbs.training.job '<spec json>' (one JSON object, e.g. "
                          '\'{"kind": "export", "checkpoint": "runs/x/best.pt"}\')')
    try:
        spec = json.loads(argv[0])
    except ValueError as e:
        raise ThumbsError(f"job spec is not JSON ({e}): give one object, e.g. {{\"kind\": \"train\", ...}}") from None
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        raise ThumbsError(f"job spec: \"kind\" must be one of {', '.join(KINDS)}")
    unknown = [k for k in spec if k not in SPEC_KEYS[spec["kind"]]]
    if unknown:
        raise ThumbsError(f"job spec: unknown key(s) {', '.join(unknown)} for kind {spec['kind']}; use "
                          f"{', '.join(SPEC_KEYS[spec['kind']])}")
    try:
        SPECS[spec["kind"]].model_validate(spec)
    except ValidationError as e:
        raise ThumbsError(_first_error(e)) from None
    if spec["kind"] == "train":
        train_config(spec.get("config", {}))  # before torch is loaded: a bad spec fails at once
    return spec


def train_config(config: dict) -> TrainConfig:
    """The spec's training settings as a TrainConfig: a misspelt or mistyped setting is one clear line, never a
    TypeError deep in training (pydantic, strict: `true` for --epochs is refused, 3 for --lr is 3.0)."""
    settings = list(TRAIN_SETTINGS.model_fields)
    for name in config:
        if name not in settings:
            raise ThumbsError(f"job spec: config '{name}' is not a training setting; use {', '.join(settings)}")
    try:
        checked = TRAIN_SETTINGS.model_validate(config)
    except ValidationError as e:
        raise ThumbsError(_first_error(e, "config ")) from None
    return TrainConfig(**checked.model_dump(exclude_unset=True))


def _first_error(e: ValidationError, prefix: str = "") -> str:
    """pydantic's first complaint as one line: which key, the value given, and what it must be."""
    error = e.errors(include_url=False)[0]
    where = "'" + ".".join(str(part) for part in error["loc"]) + "'"
    given = f" is {error['input']!r}" if error["type"] != "missing" else ""
    return f"job spec: {prefix}{where}{given}: {error['msg']}"


def limit_resources(threads: int | None, nice: int | None) -> None:
    """Fewer torch threads and a lower priority, so the studio's preview keeps its share of the CPU."""
    import torch

    if threads:
        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):  # refused once parallel work has started
            torch.set_num_interop_threads(threads)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)


def watch_stdin(finished: threading.Event) -> None:
    """The parent holds our stdin open and never writes; at end-of-file (it died or let go) stop as SIGTERM
    would. Only a pipe or socket is watched: a terminal or /dev/null is not a parent's hand."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def wait() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="thumbs-job-stdin", daemon=True).start()


class Job:
    """One spec run to its last event; `out` and `finished_run` say what a stop would leave."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.out: Path | None = None  # the run folder asked for, before training says where it wrote
        self.finished_run: Path | None = None  # a run that trained to its end (a stop then cuts its export)
        self._last_batch = float("-inf")

    def log(self, message: str) -> None:
        self.events.emit("log", message=message)

    def on_batch_end(self, trainer, epoch: int, done: int, total: int) -> None:
        signals.check()  # a stop that came while an event was written ends the epoch here, between batches
        now = time.monotonic()
        if now - self._last_batch >= 1.0 / BATCH_EVENTS_PER_S:
            self._last_batch = now
            self.events.emit("batch", epoch=epoch + 1, epochs=trainer.cfg.epochs, batch=done, batches=total)

    def on_epoch_end(self, trainer, row: dict) -> None:
        self.events.emit("epoch", epochs=trainer.cfg.epochs, **row)

    def run(self, spec: dict) -> int:
        # refused settings and a missing checkpoint cost no torch import
        if spec["kind"] == "export":
            ckpt_path = existing_file(_path(spec.get("checkpoint"), "checkpoint"), "checkpoint")
            limit_resources(spec.get("threads"), spec.get("nice"))
            return self.export(ckpt_path)
        if spec.get("from") is None:
            train_config_check(train_config(spec.get("config", {})))
        limit_resources(spec.get("threads"), spec.get("nice"))
        return self.train(spec)

    def train(self, spec: dict) -> int:
        from thumbs.training import train as training
        from thumbs.training import warm_start

        config = spec.get("config", {})
        if spec.get("from") is not None:
            cfg = warm_start.config(_path(spec["from"], "from"), config, log=self.log)
        else:
            cfg = train_config(config)
        self.out = Path(cfg.out) if cfg.out else None
        result = training.train(cfg, log=self.log, callbacks={"on_batch_end": [self.on_batch_end],
                                                             "on_epoch_end": [self.on_epoch_end]})
        if result.interrupted:
            k = len(result.history)
            self.events.emit("interrupted", run=str(result.run_dir),
                             kept=f"kept {result.last} after epoch {k} of {cfg.epochs}",
                             resume=f"thumbs train --resume {result.last}")
            return signals.exit_code(signals.requested())
        self.finished_run = result.run_dir
        headline = result.validation.headline_name if result.validation else "validation accuracy"
        learned = metrics.only_prediction(result.scores) is None  # the rule of the trainer's note
        self.ready(result.best, result.run_dir, result.scores.accuracy, headline, result.notes, learned)
        return 0

    def export(self, ckpt_path: Path) -> int:
        from thumbs.training import checkpoint

        ckpt = checkpoint.load(ckpt_path)
        self.finished_run = ckpt_path.parent
        accuracy = ckpt.metrics.get("accuracy")
        self.ready(ckpt_path, ckpt_path.parent, accuracy, _headline(ckpt_path), [])
        return 0

    def ready(self, best: Path, run: Path, accuracy: float | None, headline: str, notes: list[str],
              learned: bool | None = None) -> None:
        """Export (parity-checked against PyTorch, or the matching export already there) and say so, with the
        trainer's notes and whether it learned (None: not trained here)."""
        from thumbs.training import checkpoint
        from thumbs.training.export import export_once

        onnx = export_once(best, log=self.log)
        self.events.emit("model_ready", run=str(run), checkpoint=str(best), onnx=str(onnx),
                         labels=str(labels_path(onnx)), accuracy=accuracy, headline=headline,
                         classes=checkpoint.load(best).info.classes, notes=notes, learned=learned)

    def stopped(self, e: KeyboardInterrupt) -> int:
        """A stop the trainer did not turn into a result: before the first epoch, or while exporting."""
        signum = signals.requested() or getattr(e, "signum", None) or signal.SIGINT
        last = self.out / "last.pt" if self.out else None
        if self.finished_run is not None:
            self.events.emit("interrupted", run=str(self.finished_run), resume=None,
                             kept=f"{self.finished_run} as it is; stopped while exporting (nothing half written)")
        elif last is not None and last.is_file():
            self.events.emit("interrupted", run=str(self.out), kept=f"kept {last}",
                             resume=f"thumbs train --resume {last}")
        else:
            self.events.emit("interrupted", run=None, kept=str(e) or "nothing was saved", resume=None)
        return signals.exit_code(signum)


def _path(value: object, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ThumbsError(f"job spec: \"{key}\" must be a path, e.g. \"runs/x/best.pt\"")
    return Path(value)


def _headline(ckpt_path: Path) -> str:
    """What the checkpoint's accuracy measures, from its run's metrics.json when it has one."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        saved = json.loads((ckpt_path.parent / "metrics.json").read_text(encoding="utf-8"))
        return str(saved["validation"]["headline"])
    return "validation accuracy"


def main(argv: list[str]) -> int:
    events = Events()
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")  # the event says what matters
    job, finished = Job(events), threading.Event()
    with signals.stop_signals(hand_on=False):
        watch_stdin(finished)
        try:
            return job.run(parse_spec(argv))
        except ThumbsError as e:
            events.emit("failed", why=str(e))
        except KeyboardInterrupt as e:
            return job.stopped(e)
        except OSError as e:
            events.emit("failed", why=os_error_line(e))
        except Exception as e:
            traceback.print_exc()  # stderr: for whoever debugs it; the event has the one line
            events.emit("failed", why=f"{type(e).__name__}: {e}")
        finally:
            finished.set()
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
