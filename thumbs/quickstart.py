"""The embedded default: the whole product run end to end on synthetic data, no camera needed."""

from __future__ import annotations

from pathlib import Path

from thumbs import demo


def make_demo_data(out_dir: str | Path, per_class: int = 150, seed: int = 0) -> dict[str, Path]:
    """A training set, a clip to `collect` from, and a held-out live clip with ground truth."""
    out_dir = Path(out_dir)
    data = out_dir / "dataset"
    demo.make_dataset(data, per_class=per_class, seed=seed)
    clip = demo.make_video(out_dir / "clips" / "up.mp4", segments=[("up", 60)], seed=seed + 100)
    live = demo.make_video(out_dir / "clips" / "live.mp4", seed=seed + 200)
    return {"dataset": data, "collect clip": clip, "live clip": live, "ground truth": demo.truth_path(live)}
