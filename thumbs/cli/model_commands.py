"""`thumbs eval`, `thumbs export` and `thumbs doctor`: score a model, write it for ONNX Runtime (or Triton,
DeepStream), and say what this machine can run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from thumbs import export_config
from thumbs.cli.common import PATH, cpu_first, err, friendly, log_line, out, parse_path, say_cpu
from thumbs.core.errors import ThumbsError
from thumbs.export_config import BATCHES, DEFAULT_OPSET, FORMATS, MAX_OPSET, MIN_OPSET, SERVED


@friendly
def eval_(
    model: Path = typer.Argument(..., help="A .pt checkpoint or an .onnx model.", parser=parse_path),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Class-folder data set to score on.", **PATH),
    provider: str = typer.Option("auto", "--provider", "-p", help="auto, tensorrt, cuda or cpu (a .pt runs in "
                                 "PyTorch: auto, cuda or cpu)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix of a model on a data set."""
    from thumbs.core import metrics
    from thumbs.evaluate import evaluate

    log = cpu_first((lambda m: err.print(m, highlight=False, markup=False)) if as_json else log_line)  # --json: JSON
    result = evaluate(model, data, provider, log=log)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    out.print(f"accuracy [bold]{result.scores.accuracy:.1%}[/] on {result.scores.count} images of {data}")
    out.print(metrics.markdown(result.scores), highlight=False)
    for name, n in result.unknown_classes.items():
        err.print(f"[yellow]warning:[/] class '{name}' ({n} images) is unknown to the model: not scored")
    for p in result.skipped:
        err.print(f"[yellow]skipped unreadable image[/] {p}")


@friendly
def export(
    checkpoint: Path = typer.Argument(..., parser=parse_path,
                                      help="A .pt checkpoint from `thumbs train` (e.g. runs/X/best.pt)."),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="Output .onnx or a folder (default: "
                                            "best.onnx beside best.pt); NAME.labels.txt is written beside it.", **PATH),
    opset: int = typer.Option(DEFAULT_OPSET, "--opset", help=f"ONNX opset, {MIN_OPSET}-{MAX_OPSET}. Default "
                              f"{DEFAULT_OPSET}: the newest that JetPack 4.6's TensorRT 8.2 parses (its ONNX Runtime "
                              "1.11 takes 16); every architecture exports at it."),
    fp16: bool = typer.Option(False, "--fp16", help="Half-precision weights (smaller; float32 input/output)."),
    batch: str = typer.Option(BATCHES[0], "--batch", help=f"{' or '.join(BATCHES)}."),
    fmt: str = typer.Option("onnx", "--format", help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()) + "."),
    name: Optional[str] = typer.Option(None, "--name", help="triton/deepstream: the model's name (default: the "
                                       "run's)."),
    instance: str = typer.Option("gpu", "--instance", help="triton: where the server runs it, gpu or cpu."),
) -> None:
    """Write NAME.onnx + NAME.labels.txt (or a Triton/DeepStream layout) and check ONNX Runtime agrees with PyTorch."""
    from thumbs.core.torch_file import check_torch_file

    export_config.check(opset, batch, fmt, instance)  # these before PyTorch loads: a mistake is refused at once
    check_torch_file(checkpoint)
    if fmt not in SERVED:
        from thumbs.training.export_target import checked_target

        checked_target(checkpoint, out_path)
    say_cpu()
    if fmt in SERVED:
        return _export_served(checkpoint, out_path, fmt, name, instance, opset, fp16)
    from thumbs.training.export import export as run_export

    result = run_export(checkpoint, out_path, opset=opset, fp16=fp16, dynamic_batch=batch == "dynamic")
    out.print(f"wrote {result.onnx_path} and {result.labels_path} (opset {result.opset}); "
              f"max difference to PyTorch {result.max_diff:.1e}: [green]ok[/]")


def _export_served(checkpoint: Path, out_path: Optional[Path], fmt: str, name: Optional[str], instance: str,
                   opset: int, fp16: bool) -> None:
    if out_path is None:
        raise ThumbsError(f"--format {fmt} writes a folder: give it with --out, e.g. --out models")
    from thumbs.training import serve_export

    if fmt == "triton":
        result = serve_export.export_triton(checkpoint, out_path, name, instance, opset, fp16, log=log_line)
    else:
        result = serve_export.export_deepstream(checkpoint, out_path, name, opset, fp16, log=log_line)
    for path in result.written:
        out.print(f"wrote {escape(str(path))}", highlight=False)
    out.print(f"{fmt}: {escape(str(result.model_dir))} (opset {result.opset}); max difference to PyTorch "
              f"{result.max_diff:.1e}: [green]ok[/]")



@friendly
def doctor(
    cameras: bool = typer.Option(True, "--cameras/--no-cameras", help="Try to open cameras 0-3."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx model: does its opset suit this "
                                         "ONNX Runtime/TensorRT, and which provider would live use?", **PATH),
) -> None:
    """Show what this machine can do: OpenCV build, display, ONNX Runtime providers, GPU, Jetson, cameras."""
    from thumbs.doctor import check_model_file, report, unusable_model
    from thumbs.runtime.loader import existing_model

    if model is not None:  # a model that is not there or no model is a mistake to say, not a row to report
        check_model_file(existing_model(model))
    rows = report(cameras, model)
    table = Table(show_header=False, box=None)
    for key, value in rows:
        table.add_row(f"[bold]{key}", escape(value))  # values hold [brackets], e.g. pip install 'thumbs[train]'
    out.print(table)
    problem = unusable_model(rows)
    if problem:
        raise ThumbsError(f"--model: {problem.splitlines()[0]}; live cannot run it")
