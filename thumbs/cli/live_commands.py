"""`thumbs live` and `thumbs review`: run a model on a camera or video, and label the frames it kept."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import typer

from thumbs.cli.common import (
    MAX_FPS,
    MAX_SMOOTH,
    PATH,
    cpu_first,
    err,
    friendly,
    log_line,
    out,
    parse_path,
    parse_path_or_url,
)
from thumbs.core.errors import Interrupted, ThumbsError


def _exported_once(checkpoint: Path, log: Callable[[str], None]) -> Path:
    """Live runs ONNX: a .pt is exported once to its .onnx beside it (needs the training extra)."""
    try:
        from thumbs.training.export import export_once
    except ImportError:
        raise ThumbsError(f"'{checkpoint}' is a PyTorch checkpoint: export it to .onnx on a machine with "
                          "`pip install 'thumbs[train]'` (thumbs export), then pass the .onnx to --model") from None
    return export_once(checkpoint, log)



@friendly
def live(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="An .onnx model or .pt checkpoint (default: "
                                        "the newest run's), or a model in a Triton server: grpc://HOST:PORT/NAME or "
                                        "http://HOST:PORT/NAME (docs/serving.md).", parser=parse_path_or_url,
                                        metavar="<path|url>"),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file, image folder, URL or "
                               "GStreamer pipeline (the frames; --model names the model)."),
    provider: str = typer.Option("auto", "--provider", "-p", help="auto, tensorrt, cuda or cpu."),
    threshold: float = typer.Option(0.6, "--threshold", "-t", min=0.0, max=1.0,
                                    help="Below this the overlay says 'no confident gesture'."),
    smooth: int = typer.Option(5, "--smooth", min=1, max=MAX_SMOOTH, help="Frames averaged for the stable label."),
    headless: bool = typer.Option(False, "--headless", help="No window."),
    events: Optional[str] = typer.Option(None, "--events", help="Write JSON Lines events to PATH, or - for stdout."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write the annotated video to PATH "
                                          "(.mp4/.avi; small frames are recorded scaled up, as shown).", **PATH),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after N frames."),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Where digit keys save hard examples.", **PATH),
    fp32: bool = typer.Option(False, "--fp32", help="TensorRT in FP32 instead of FP16."),
    width: Optional[int] = typer.Option(None, "--width", min=1),
    height: Optional[int] = typer.Option(None, "--height", min=1),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.0, max=MAX_FPS, help="Camera frame rate to request "
                                        "(0: the camera's own)."),
    capture: Optional[Path] = typer.Option(None, "--capture", help="Keep the frames the model is unsure of "
                                           "(below --threshold, top two close, or a label flicker) and a sample "
                                           "spread over time in DIR, to label with `thumbs review DIR`.", **PATH),
    capture_every: float = typer.Option(1.0, "--capture-every", min=0.0, help="Seconds of video between kept "
                                        "frames; 0 keeps every frame that qualifies."),
    capture_sample: float = typer.Option(1.0, "--capture-sample", min=0.0, help="Also keep a frame of each "
                                         "predicted class per SECONDS of video whatever its confidence (the gap "
                                         "grows to a tenth of the time elapsed), so a model that is sure and "
                                         "wrong is caught too; 0 keeps only unsure frames."),
    capture_max: int = typer.Option(500, "--capture-max", min=1, help="At most N frames waiting in DIR."),
    max_hands: int = typer.Option(1, "--max-hands", min=1, help="Hand models: classify up to N hands a frame "
                                  "(the events list each; the frame's label is the surest hand's)."),
) -> None:
    """Classify a camera or video live with an overlay (keys: q quits, 1-9 save a hard example)."""
    from thumbs.live.loop import LiveOptions, check_outputs
    from thumbs.live.loop import run as run_live
    from thumbs.runtime.classifier import Classifier
    from thumbs.runtime.loader import TORCH_SUFFIXES, existing_model, newest_model, served_scheme
    from thumbs.sources.readers import open_source, parse_source

    log = (lambda m: err.print(m, highlight=False)) if events == "-" else log_line
    served = model is not None and served_scheme(model) is not None  # the server has the file, not us
    path = model if served else (existing_model(model) if model else newest_model())
    opts = LiveOptions(threshold, smooth, headless, events, str(record) if record else None, max_frames, str(data))
    if capture:
        from thumbs.live.capture import CaptureOptions

        opts.capture = CaptureOptions(capture, capture_every, capture_max, capture_sample)
    check_outputs(opts, parse_source(source), None if served else path)  # before the model is loaded or built
    log = cpu_first(log)
    if not served and path.suffix.lower() in TORCH_SUFFIXES:
        from thumbs.core.torch_file import check_torch_file

        path = _exported_once(check_torch_file(path), log)
    clf = Classifier.load(path, provider, fp16=not fp32, log=log, max_hands=max_hands)
    log(f"model {clf.path} ({', '.join(clf.classes)}; {clf.sees}) on {clf.provider}")
    with open_source(source, width, height, fps) as src:
        summary = run_live(src, clf, opts)
        what = src.spec.describe()
    if not summary.frames and not summary.interrupted:
        skipped = f" ({len(summary.skipped)} unreadable image(s) skipped)" if summary.skipped else ""
        raise ThumbsError(f"nothing was classified: {what} gave no frame{skipped}; check that it plays "
                          "(e.g. with ffplay) or give another --source")
    for line in summary.lines():
        log(line)
    if summary.record:
        log(f"annotated video: {summary.record}")
    for p in summary.saved:
        log(f"saved hard example {p}")
    if summary.interrupted:
        raise Interrupted("every output was closed complete")


@friendly
def review(
    folder: Path = typer.Argument(..., help="The folder `thumbs live --capture` kept frames in.", parser=parse_path),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder the labelled frames move into "
                              "(DATA/<class>/capture-<session>/).", **PATH),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Label from a CSV with a `file,label` header "
                                          "(- discards) instead of the window; every row is checked first.", **PATH),
    list_only: bool = typer.Option(False, "--list", help="Print the frames waiting for a label."),
) -> None:
    """Label the frames live --capture kept (1-9 class, Enter/space accept the guess, x discard, u undo, q quit)."""
    from thumbs.data import captures

    if list_only:
        for line in captures.waiting_lines(folder):
            out.print(line, highlight=False)
        return
    if labels:
        decisions = captures.apply_labels(folder, data, labels)
    else:
        from thumbs.live.review import review as run_review

        decisions = run_review(folder, data)
    for line in captures.summary_lines(decisions, folder, data):
        out.print(line, highlight=False)
