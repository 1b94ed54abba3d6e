"""Where an export may be written: an .onnx name or a folder, never over another model or any other file of the
user's. Torch-free (onnx reads the metadata), so `thumbs export` refuses a wrong --out before PyTorch loads."""

from __future__ import annotations

import re
from pathlib import Path

import onnx

from thumbs.core.errors import SHOW_NAMES, ThumbsError
from thumbs.core.files import check_writable_dir
from thumbs.core.model_info import file_sha256, labels_path
from thumbs.runtime.loader import SOURCE_SHA_KEY, exported_path

_SHOWN_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def path_text(path: Path) -> str:
    """A path as valid UTF-8 for ONNX metadata: protobuf refuses the surrogate escapes Python keeps for a name
    that is not UTF-8 (an old camera's Latin-1 folder), so each such byte is written as \\xNN, as error lines
    show it. Any UTF-8 path is stored unchanged; text_paths reads both back."""
    return str(path).encode("utf-8", SHOW_NAMES).decode("utf-8")


def text_paths(text: str) -> set[Path]:
    """The paths a recorded "thumbs.source" may name: as written, and with each \\xNN read back as its byte
    (the two differ only for a name that holds a literal backslash, so both are tried)."""
    return {Path(text), Path(_SHOWN_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text))}


def _source_of(onnx_path: Path) -> tuple[str | None, str | None]:
    """(checkpoint sha, checkpoint path) recorded in a thumbs export; (None, None) for any other file."""
    try:
        props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    except Exception:  # not an ONNX file at all
        return None, None
    return props.get(SOURCE_SHA_KEY), props.get("thumbs.source")


def check_target(out_path: Path, ckpt_path: Path, fix: str | None = None) -> None:
    """An export replaces only an earlier export of the same checkpoint (same file or same content): never
    another model (two exports into one folder), nor any other file of the user's. `fix`: what to do instead,
    where there is no --out to change (default: another --out)."""
    labels = labels_path(out_path)
    if not (out_path.exists() or out_path.is_symlink() or labels.exists() or labels.is_symlink()):
        return
    sha, source = _source_of(out_path) if out_path.is_file() else (None, None)
    ours = sha is not None and (sha == file_sha256(ckpt_path) or (
        source is not None and ckpt_path.resolve() in {p.resolve() for p in text_paths(source)}))
    if not ours:
        taken = out_path if out_path.exists() or out_path.is_symlink() else labels
        what = f"an export of '{source}'" if source else "a file that is not an export of this checkpoint"
        other = out_path.with_name(name_by_source(ckpt_path))
        taken_line = f"'{taken}' is {what}; an export never replaces it"
        raise ThumbsError(f"--out: {taken_line}: give another name, e.g. --out {other}" if fix is None
                          else f"{taken_line}: {fix}")


def name_by_source(ckpt_path: Path) -> str:
    """runs/two/best.pt -> two-best.onnx: a name that two runs' exports in one folder do not share."""
    folder = ckpt_path.resolve().parent.name
    return f"{folder}-{ckpt_path.stem}.onnx" if folder else f"{ckpt_path.stem}.onnx"


def output_path(ckpt_path: Path, out: str | Path | None) -> Path:
    """--out as given: a .onnx file name, or a folder to hold <checkpoint name>.onnx."""
    if out is None:
        return exported_path(ckpt_path)
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        if out.is_file():
            raise ThumbsError(f"--out '{out}' is an existing file, not .onnx: give a name ending in .onnx or a folder")
        out = out / exported_path(ckpt_path).name
    if out.is_dir():
        raise ThumbsError(f"--out '{out}' is a folder: give a file name inside it, e.g. {out / 'model.onnx'}")
    return out


def checked_target(ckpt_path: Path, out: str | Path | None) -> Path:
    """The .onnx file an export of `ckpt_path` writes for --out `out`, once every check of it has passed."""
    out_path = output_path(ckpt_path, out)
    check_target(out_path, ckpt_path)
    check_writable_dir(out_path.parent, "--out", create=False)
    return out_path
