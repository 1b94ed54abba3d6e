"""What a studio run did, as the terminal says it at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from thumbs.studio.models import LiveModel


@dataclass
class StudioSummary:
    session: str
    saved: dict[str, int] = field(default_factory=dict)
    live: LiveModel | None = None
    frames: int = 0
    seconds: float = 0.0
    training_frames: int = 0  # frames shown while a training ran, and in what time: the preview's rate then
    training_seconds: float = 0.0
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)  # trainings that failed or were stopped, and why

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def training_fps(self) -> float | None:
        return self.training_frames / self.training_seconds if self.training_seconds else None

    def lines(self, data: Path) -> list[str]:
        saved = sum(self.saved.values())
        per = ", ".join(f"{k} {v}" for k, v in self.saved.items())
        lines = [f"saved {saved} frame(s) to {data} as session {self.session}" + (f" ({per})" if per else "")]
        lines.append(f"live model: {self.live.describe()}" if self.live else "no model went live")
        while_training = f"; {self.training_fps:.1f} fps while training" if self.training_fps else ""
        lines.append(f"preview: {self.frames} frames at {self.fps:.1f} fps{while_training}")
        lines += self.problems
        if self.live:
            lines.append(f"next: `thumbs live --model {self.live.onnx}` runs it anywhere (a Jetson too)")
        return lines
