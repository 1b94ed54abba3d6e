"""Training and export in the background (studio/jobs.py's child process), as the studio shows them: t and e start
a job, its events are drained once per frame into the panel and the event log, and its result decides what goes
live: a new model at once, unless the trainer says it has not learned; then it is held back until g."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.runtime.loader import exported_from
from thumbs.studio import panel
from thumbs.studio.events import StudioEvents
from thumbs.studio.jobs import Job
from thumbs.studio.models import LiveModel, LiveModels
from thumbs.studio.recording import Recording
from thumbs.train_config import FROM_RUN_OPTIONS

HELD_KEY = panel.HELD_KEY


class Background:
    """At most one job at a time; a new one only once the last one's result was read (Job.running)."""

    def __init__(self, train: dict, state: panel.PanelState, events: StudioEvents, models: LiveModels,
                 go_live: Callable[[LiveModel], None], log: Callable[[str], None], problems: list[str]) -> None:
        self.train_settings, self.state, self.events, self.models = train, state, events, models
        self.go_live, self.log, self.problems = go_live, log, problems
        self.job: Job | None = None

    def _say(self, message: str) -> None:
        self.state.message = message

    @property
    def training(self) -> bool:
        """A training runs (the preview's rate meanwhile is counted apart)."""
        return self.job is not None and self.job.running and self.job.kind == "train"

    def busy(self) -> bool:
        if self.job is not None and self.job.running:
            self._say(f"busy: the {self.job.kind} is still running (q quits and keeps its last finished epoch)")
            return True
        return False

    def train(self, recording: Recording) -> None:
        """t: a new model from the data folder, or a short retrain of the live one (the warm start)."""
        if self.busy():
            return
        empty = recording.empty()
        if empty:
            i, name = empty
            self.failed(f"class '{name}' has no frames: select it ({i + 1}) and press SPACE or a to record it, "
                        "then t", started=False)
            return
        live = self.models.live
        warm = live is not None and live.checkpoint is not None
        config = {**self.train_settings, "data": str(recording.data)}
        spec = {"kind": "train", "config": config}
        if warm:
            spec["from"] = str(live.checkpoint)
            spec["config"] = {k: v for k, v in config.items() if k in FROM_RUN_OPTIONS}  # the short schedule
        if not self._start(spec):
            return
        self.state.training = [f"starting: {'retraining ' + str(live.checkpoint) if warm else 'a new model'}"]
        self.state.failed, self.state.progress = False, 0.0
        self.events.emit("train_started", warm_start=warm, **({"from": spec["from"]} if warm else {}))
        self._say("training in the background; the live model stays until the new one is ready")

    def export_for_live(self, checkpoint: Path) -> None:
        """--from a checkpoint with no export beside it: live once the background export is done."""
        if self._start({"kind": "export", "checkpoint": str(checkpoint)}):
            self.state.training = [f"exporting {checkpoint} to ONNX for live"]

    def export(self) -> None:
        """e: the live model's .onnx and labels, exported first when only its checkpoint is new."""
        live = self.models.live
        if live is None:
            self._say("no model yet: record each class, then press t")
        elif live.checkpoint is None or exported_from(live.onnx, live.checkpoint):
            labels = live.onnx.with_suffix(".labels.txt")
            self._say(f"exported: {live.onnx} and {labels.name}; run it anywhere with "
                      f"`thumbs live --model {live.onnx}`")
            self.events.emit("exported", onnx=str(live.onnx), labels=str(labels))
        elif not self.busy() and self._start({"kind": "export", "checkpoint": str(live.checkpoint)}):
            self._say(f"exporting {live.checkpoint}")

    def _start(self, spec: dict) -> bool:
        """A new job, once the last one's result was read (busy): that one is closed first."""
        if self.job is not None:
            self.job.close()
            self.job = None
        try:
            self.job = Job(spec, load=self.models.load)
        except ThumbsError as e:
            self.failed(str(e), started=False)
            return False
        return True

    def drain(self) -> None:
        """The job's events since the last frame, into the panel and the event log."""
        if self.job is None:
            return
        for event in self.job.events():
            kind = event.get("event")
            if kind == "batch":
                done = (event["epoch"] - 1 + event["batch"] / max(1, event["batches"])) / max(1, event["epochs"])
                self.state.progress = done
                self.state.training = [f"epoch {event['epoch']} of {event['epochs']}: batch {event['batch']} of "
                                       f"{event['batches']}"]
            elif kind == "epoch":
                self.events.emit("epoch", **{k: v for k, v in event.items() if k != "event"})
            elif kind == "model_ready":
                self._model_ready(event)
            elif kind == "failed":
                self.failed(event["why"], started=True, what=self.job.kind)
            elif kind == "interrupted":
                resume = f"; continue it with `{event['resume']}`" if event.get("resume") else ""
                self.failed(f"stopped: {event.get('kept')}{resume}", started=True, what=self.job.kind)

    def _model_ready(self, event: dict) -> None:
        """A new model: live at once, unless the trainer says it has not learned; then the live one stays, the
        panel says why, and g puts the new one live anyway. The trainer's notes go to the panel and the events."""
        model: LiveModel = event["model"]
        notes, learned = list(event.get("notes") or []), event.get("learned") is not False
        for note in notes:
            self.log(f"note: {note}")
        self.state.progress, self.state.failed = None, not learned
        if self.job is not None and self.job.kind == "train":
            done = f"{model.headline} {model.accuracy:.0%}" if model.accuracy is not None else "trained"
            self.state.training = [f"done: {done}" if learned else f"not live: {done}, but it has not learned",
                                   *notes, *([] if learned else [f"{HELD_KEY} puts it live anyway"])]
        else:
            self.state.training = ["idle"]
        self.events.emit("model_ready", run=event.get("run"), accuracy=model.accuracy, headline=model.headline,
                         onnx=str(model.onnx), checkpoint=str(model.checkpoint) if model.checkpoint else None,
                         notes=notes, learned=learned, live=learned)
        if learned:
            self.models.held = None
            self.go_live(model)
        else:
            self.models.held = model
            live = self.models.live
            kept = f"{live.onnx} stays live" if live else "no model goes live"
            self._say(f"the new model has not learned: {kept}; {HELD_KEY} uses it anyway")
            self.log(f"not live: {model.describe()} has not learned ({kept}; {HELD_KEY} in the window uses it anyway)")

    def use_held(self) -> None:
        """g: put live the model the trainer said has not learned."""
        model = self.models.take_held()
        if model is None:
            self._say(f"{HELD_KEY} puts live a new model that has not learned; there is none")
            return
        self.state.failed = False
        self.state.training = [f"live anyway ({HELD_KEY}): it has not learned"]
        self.go_live(model)
        self.events.emit("model_live", onnx=str(model.onnx), learned=False)

    def failed(self, why: str, started: bool, what: str = "train") -> None:
        """A training (or export) that failed, was stopped or could not start: said in the panel, the terminal
        and the events; the live model stays."""
        self.state.training, self.state.failed, self.state.progress = [why], True, None
        name = "training" if what == "train" else what
        self.problems.append(f"{name}: {why}")
        self.log(f"{name} {'failed' if started else 'not started'}: {why}")
        self.events.emit(f"{what}_failed", why=why, started=started)

    def finish(self) -> None:
        """The studio ends: a running job is stopped as Ctrl-C stops `thumbs train` (its last finished epoch is
        kept) and its last events are read; a finished one is closed."""
        if self.job is not None and self.job.running:
            self.log(f"stopping the {self.job.kind}" + (": its last finished epoch is kept" if self.job.kind == "train"
                                                         else ""))
            self.job.stop()
            self.drain()
        elif self.job is not None:
            self.job.close()
