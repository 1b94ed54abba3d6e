"""The review queue's one check, shared by `live --capture`, the capture sink and the studio's `--captures`:
a folder of unlabelled frames must be a folder that can be written, and never a place where its frames would
mix with others (the data set they would train in as a class before anyone labels them, or the images the
source is reading)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir


def check_queue(folder: Path, option: str, data: Path | None = None, reads: Iterable[Path] = (),
                create: bool = False) -> Path:
    """`folder`, or one line saying why unlabelled frames may not go there: a file (or FIFO, or device) in its
    place, the data folder or a folder inside it, the folder of an image being read, or a place nothing can be
    written. `create`: make it now (the sink, when it starts keeping frames); else only checked (before a run)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ThumbsError(f"{option} '{folder}' is a file, not a folder: give a folder for the unsure frames "
                          "(it is made if missing)")
    where = folder.resolve()
    if data is not None:
        root = Path(data).resolve()
        if where == root or root in where.parents:
            raise ThumbsError(f"{option} '{folder}' is inside the data folder '{data}': its frames would train as a "
                              "class before anyone labels them; choose a folder beside it")
    for path in reads:
        if Path(path).resolve().parent == where:
            raise ThumbsError(f"{option} '{folder}' holds the images being read (e.g. '{path}'): the frames kept "
                              "would mix with them; choose another folder")
    return check_writable_dir(folder, option, create=create)
