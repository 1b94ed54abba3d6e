"""Convert MediaPipe's hand models (TFLite, inside the PyPI wheel) to the ONNX files thumbs ships.

Run it in a throwaway venv, never the project's (TensorFlow is large and pins its own numpy):

    python3.11 -m venv /tmp/handconv
    /tmp/handconv/bin/pip install mediapipe==0.10.21 tensorflow-cpu==2.18.1 tf2onnx==1.17.0 onnxruntime
    /tmp/handconv/bin/python scripts/convert_hand_models.py [--photos ../shared/real-thumbs/up]

It writes thumbs/hands/models/: the lite .onnx files (opset 13, NCHW input; --full: the full ones too),
MediaPipe's LICENSE, SOURCE.md (wheel, versions, sha256 of every file) and references.npz (fixed synthetic
inputs and the ONNX outputs, which tests/test_hands.py compares the shipped files against). Each converted
model must agree with TFLite within TOLERANCE on those inputs (and on --photos when given), or nothing is
written."""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as metadata
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "thumbs" / "hands" / "models"
WHEEL = ("mediapipe", "0.10.21")
# ONNX name -> (folder in the wheel's mediapipe/modules, input side). The lite models ship; the full ones (twice
# as slow, 15 MB as float32 ONNX) only with --full.
LITE = {"palm_detection_lite": ("palm_detection", 192), "hand_landmark_lite": ("hand_landmark", 224)}
FULL = {"palm_detection_full": ("palm_detection", 192), "hand_landmark_full": ("hand_landmark", 224)}
OPSET = 13
TOLERANCE = 1e-3
INPUT = "input_1"  # the TFLite models' input tensor


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def synthetic_inputs(size: int) -> np.ndarray:
    """Two fixed uint8 RGB pictures (N, size, size, 3): a skin-coloured hand shape on a gradient, and coarse
    noise (8-pixel blocks: it compresses); stored with the outputs, so every machine feeds the same bytes."""
    rng = np.random.default_rng(29)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    scene = np.stack([90 + 80 * x, 70 + 60 * y, 60 + 40 * x * y], axis=-1).astype(np.uint8)
    c = size // 2
    cv2.ellipse(scene, (c, int(size * 0.62)), (size // 6, size // 5), 0, 0, 360, (224, 172, 140), -1)
    for i, dx in enumerate((-0.12, -0.04, 0.04, 0.12)):
        top = int(size * (0.22 + 0.04 * abs(i - 1.5)))
        cv2.line(scene, (c + int(dx * size), int(size * 0.5)), (c + int(dx * size), top), (220, 168, 136),
                 max(3, size // 20))
    cv2.line(scene, (c - size // 6, int(size * 0.62)), (c - size // 3, int(size * 0.45)), (220, 168, 136),
             max(3, size // 18))
    noise = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8).repeat(8, axis=0).repeat(8, axis=1)
    return np.stack([scene, noise])


def photo_inputs(folder: Path, size: int, limit: int = 20) -> np.ndarray:
    """Up to `limit` photos squeezed to size x size RGB (a check at conversion time only; never stored)."""
    images = []
    for path in sorted(folder.glob("*.jpg"))[:limit]:
        bgr = cv2.imread(str(path))
        if bgr is not None:
            images.append(cv2.cvtColor(cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA),
                                       cv2.COLOR_BGR2RGB))
    return np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)


def run_tflite(path: Path, images: np.ndarray) -> list[np.ndarray]:
    """TFLite outputs for uint8 NHWC images (fed as float32 in [0, 1]), each output stacked over images."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    feed = interpreter.get_input_details()[0]["index"]
    outputs = interpreter.get_output_details()
    results: list[list[np.ndarray]] = [[] for _ in outputs]
    for image in images:
        interpreter.set_tensor(feed, (image[None].astype(np.float32) / 255))
        interpreter.invoke()
        for i, out in enumerate(outputs):
            results[i].append(interpreter.get_tensor(out["index"])[0].copy())
    return [np.stack(r) for r in results]


def run_onnx(path: Path, images: np.ndarray) -> list[np.ndarray]:
    """ONNX outputs for the same images, fed NCHW one at a time."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    results: list[list[np.ndarray]] = [[] for _ in session.get_outputs()]
    for image in images:
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32) / 255)
        for i, out in enumerate(session.run(None, {name: tensor})):
            results[i].append(out[0])
    return [np.stack(r) for r in results]


def convert(tflite: Path, onnx_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--output", str(onnx_path),
                    "--opset", str(OPSET), "--inputs-as-nchw", INPUT], check=True, capture_output=True)


def compare(name: str, tflite: list[np.ndarray], onnx: list[np.ndarray], what: str) -> float:
    worst = max(float(np.abs(a - b).max()) for a, b in zip(tflite, onnx)) if len(tflite[0]) else 0.0
    print(f"{name}: TFLite vs ONNX on {what}: max |diff| {worst:.2e}")
    if worst > TOLERANCE:
        sys.exit(f"{name}: the ONNX conversion differs from TFLite by {worst:.2e} > {TOLERANCE} on {what}")
    return worst


def source_text(rows: list[tuple[str, str, str, float]]) -> str:
    versions = {p: metadata.version(p) for p in ("mediapipe", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime")}
    lines = ["# Where these files come from", "",
             f"MediaPipe's hand models from the PyPI wheel `mediapipe=={versions['mediapipe']}` "
             f"(`mediapipe/modules/`), Apache-2.0 (LICENSE here is the wheel's own), converted to ONNX by "
             "`scripts/convert_hand_models.py`:", "",
             f"- converters: tf2onnx {versions['tf2onnx']}, tensorflow-cpu {versions['tensorflow-cpu']}, "
             f"onnx {versions['onnx']}; opset {OPSET}, `--inputs-as-nchw {INPUT}` (input float32 NCHW RGB in [0, 1])",
             f"- checked against TFLite: max |diff| <= {TOLERANCE} on the reference inputs (and photos when given)",
             "- references.npz: the ONNX outputs on fixed synthetic inputs (checked by tests/test_hands.py)", "",
             "| file | sha256 | from (sha256 of the .tflite) | max diff |", "|---|---|---|---|"]
    lines += [f"| {name}.onnx | {onnx_sha} | {tfl} | {diff:.1e} |" for name, onnx_sha, tfl, diff in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also convert and write the full models")
    parser.add_argument("--photos", type=Path, help="a folder of .jpg photos to compare TFLite and ONNX on too")
    args = parser.parse_args()
    import mediapipe

    if mediapipe.__version__ != WHEEL[1]:
        sys.exit(f"mediapipe {mediapipe.__version__} is installed: pip install mediapipe=={WHEEL[1]}")
    modules = Path(mediapipe.__file__).parent / "modules"
    models = {**LITE, **(FULL if args.full else {})}
    references: dict[str, np.ndarray] = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, size) in models.items():
            tflite = modules / folder / f"{name}.tflite"
            converted = Path(tmp) / f"{name}.onnx"
            convert(tflite, converted)
            images = synthetic_inputs(size)
            onnx_out = run_onnx(converted, images)
            worst = compare(name, run_tflite(tflite, images), onnx_out, "the reference inputs")
            if args.photos:
                photos = photo_inputs(args.photos, size)
                worst = max(worst, compare(name, run_tflite(tflite, photos), run_onnx(converted, photos),
                                           f"{len(photos)} photos"))
            references[f"{name}/input"] = images
            for i, out in enumerate(onnx_out):
                references[f"{name}/output{i}"] = out
            rows.append((name, sha256(converted), sha256(tflite), worst))
        OUT.mkdir(parents=True, exist_ok=True)
        for name in models:
            (OUT / f"{name}.onnx").write_bytes((Path(tmp) / f"{name}.onnx").read_bytes())
    np.savez_compressed(OUT / "references.npz", **references)
    licence = Path(metadata.distribution("mediapipe").locate_file("mediapipe-0.10.21.dist-info/LICENSE"))
    (OUT / "LICENSE").write_text(licence.read_text())
    (OUT / "SOURCE.md").write_text(source_text(rows))
    print(f"wrote {len(models)} models, references and SOURCE.md to {OUT}")


if __name__ == "__main__":
    main()
