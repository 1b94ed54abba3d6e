"""A capture folder (`thumbs live --capture DIR`) and its review: the frames waiting for a label, the
records beside them, and the decisions that move them into the data set.

DIR holds the kept frames (`<session>_<frame seq>.jpg`, the session stamp of the live run that kept
them), `captures.jsonl` (one record per kept frame, appended as it is kept) and `review.json`, the
journal of decisions, rewritten atomically after each one. A decision moves its frame first and is
journalled in the same Ctrl-C-proof step, so a stopped review never leaves a frame half-moved or
decided twice, and the next review continues with what is still waiting.

A labelled frame goes to DATA/<class>/capture-<session>/: a recording session of its own, which the
split (dataset.split) trains on, holding out its later frames as the "captured place" score. A discarded
frame goes to DIR/_discarded/, so `u` can bring it back."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from thumbs.core import signals
from thumbs.core.errors import DataError
from thumbs.core.files import NotRegularFile, ensure_dir, link_new, read_regular, write_atomic
from thumbs.core.metrics import CAPTURE_PREFIX
from thumbs.data.dataset import SESSION_RE, class_names, validate_label

RECORDS = "captures.jsonl"
JOURNAL = "review.json"
DISCARDED = "_discarded"
DISCARD = "-"  # the label that discards a frame (--labels files and the journal)


@dataclass
class Waiting:
    """A kept frame not yet reviewed, with what the model said about it (empty when its record was lost)."""

    path: Path
    record: dict = field(default_factory=dict)

    @property
    def guess(self) -> str | None:
        return self.record.get("label")

    @property
    def probs(self) -> dict[str, float]:
        return dict(self.record.get("probs") or {})


@dataclass
class Decision:
    file: str  # name in DIR
    label: str  # a class, or DISCARD
    dest: str  # where the frame is now, an absolute path: undo finds it whatever --data says then

    def where(self, folder: Path, data: Path) -> Path:
        """Where the frame is now. A journal written before dest was absolute holds it relative to the data
        folder (to DIR for a discard)."""
        dest = Path(self.dest)
        return dest if dest.is_absolute() else (Path(folder) if self.label == DISCARD else Path(data)) / dest


def capture_session(name: str) -> str:
    """The session stamp in a captured frame's name (the live run that kept it)."""
    m = SESSION_RE.fullmatch(Path(name).stem)
    return m.group(1) if m else "unknown"


def append_record(folder: Path, record: dict) -> None:
    """One JSON line, written in one call and flushed: a kill leaves at most a torn last line, skipped on read."""
    line = (json.dumps(record) + "\n").encode()
    with signals.deferred():
        fd = os.open(folder / RECORDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_records(folder: Path) -> dict[str, dict]:
    """Records by file name; a torn or foreign line is skipped."""
    path = Path(folder) / RECORDS
    records: dict[str, dict] = {}
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("file"), str):
            records[record["file"]] = record
    return records


def read_journal(folder: Path) -> list[Decision]:
    path = Path(folder) / JOURNAL
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["decisions"]
        return [Decision(str(r["file"]), str(r["label"]), str(r["dest"])) for r in rows]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"review journal '{path}' is damaged ({e}): move it away to review the folder anew") from None


def _write_journal(folder: Path, decisions: list[Decision]) -> None:
    data = {"decisions": [d.__dict__ for d in decisions]}
    write_atomic(folder / JOURNAL, json.dumps(data, indent=1).encode())


def check_folder(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"capture folder '{folder}' does not exist: keep frames with `thumbs live --capture "
                        f"{folder}` first")
    return folder


def waiting(folder: Path) -> list[Waiting]:
    """Kept frames still in DIR, oldest first (by session stamp and frame number)."""
    folder = check_folder(folder)
    records = read_records(folder)
    frames = sorted(p for p in folder.glob("*.jpg") if not p.name.startswith("."))
    return [Waiting(p, records.get(p.name, {})) for p in frames]


def model_classes(items: list[Waiting]) -> list[str]:
    """The classes of the model that kept the frames, in its order (the keys 1-9 follow it)."""
    for item in items:
        if item.probs:
            return list(item.probs)
    return []


def review_classes(items: list[Waiting], data: Path) -> list[str]:
    """Classes a frame may get: the model's, then any other class folder of DATA."""
    classes = model_classes(items)
    on_disk = class_names(data) if Path(data).is_dir() else []
    return classes + [c for c in on_disk if c not in classes]


def _move(src: Path, dst: Path) -> Path:
    """Move a file into a new name, never overwriting (a taken name gets a suffix); across disks by copy."""
    ensure_dir(dst.parent)
    candidate, n = dst, 1
    while True:
        try:
            link_new(src, candidate)
            break
        except FileExistsError:
            n += 1
            candidate = dst.with_name(f"{dst.stem}-{n}{dst.suffix}")
    src.unlink(missing_ok=True)
    return candidate


def destination(folder: Path, data: Path, item: Path, label: str) -> Path:
    if label == DISCARD:
        return folder / DISCARDED / item.name
    return Path(data) / label / f"{CAPTURE_PREFIX}{capture_session(item.name)}" / item.name


def decide(folder: Path, data: Path, item: Path, label: str) -> Decision:
    """Move one frame where its label says and journal it, as one step Ctrl-C cannot cut in half."""
    if label != DISCARD:
        validate_label(label)
    with signals.deferred():
        decisions = read_journal(folder)
        dest = _move(item, destination(folder, data, item, label))
        decision = Decision(item.name, label, str(dest.resolve()))
        _write_journal(folder, [*decisions, decision])
    return decision


def undo(folder: Path, data: Path) -> Decision | None:
    """Put the last decided frame back into DIR and drop its decision; None when nothing was decided. A frame
    that is no longer where the journal says is one error line, and nothing changes."""
    with signals.deferred():
        decisions = read_journal(folder)
        if not decisions:
            return None
        last = decisions[-1]
        where = last.where(folder, data)
        if not where.is_file():
            raise DataError(f"cannot undo {last.file} ({last.label}): it is no longer at '{where}' (moved or deleted "
                            "since); nothing was undone")
        _move(where, folder / last.file)
        _write_journal(folder, decisions[:-1])
    return last


def read_labels_csv(path: Path) -> list[tuple[str, str]]:
    """Rows of a `file,label` CSV. Read with read_regular, so a FIFO is refused instead of waited on for ever."""
    try:
        text = read_regular(path).decode("utf-8")
    except NotRegularFile:
        raise DataError(f"--labels '{path}' is not a regular file (a FIFO, socket or device): give a CSV file "
                        "with the header `file,label`") from None
    except OSError as e:
        raise DataError(f"--labels '{path}': cannot read it ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"--labels '{path}' is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}):"
                        " save it as a UTF-8 CSV with the header `file,label`") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None or [h.strip() for h in reader.fieldnames[:2]] != ["file", "label"]:
            raise DataError(f"--labels '{path}': the first line must be the header `file,label`")
        return [((row.get("file") or "").strip(), (row.get("label") or "").strip()) for row in reader]
    except (csv.Error, ValueError) as e:
        raise DataError(f"--labels '{path}' is not a readable CSV ({e}): save it as text with the header "
                        "`file,label` and one `name.jpg,class` a line") from None


def check_labels(rows: list[tuple[str, str]], items: list[Waiting], classes: list[str], path: Path) -> None:
    """Every row must name a waiting frame once and a known class (or -): else one error, nothing moves."""
    names = {i.path.name for i in items}
    seen: set[str] = set()
    for n, (file, label) in enumerate(rows, start=2):
        name = Path(file).name
        where = f"--labels '{path}' line {n}"
        if name not in names:
            raise DataError(f"{where}: '{file}' is not a frame waiting in the capture folder (see `thumbs review "
                            "DIR --list`); nothing was moved")
        if name in seen:
            raise DataError(f"{where}: '{file}' is labelled twice; nothing was moved")
        if label != DISCARD and label not in classes:
            raise DataError(f"{where}: class '{label}' is unknown (known: {', '.join(classes)}; '-' discards); "
                            "nothing was moved")
        seen.add(name)


def apply_labels(folder: Path, data: Path, path: Path) -> list[Decision]:
    """The whole CSV checked first, then each row moved and journalled; a stop signal ends it between rows."""
    items = waiting(folder)
    rows = read_labels_csv(path)
    check_labels(rows, items, review_classes(items, data), path)
    decisions = []
    for file, label in rows:
        if signals.requested():
            break
        decisions.append(decide(folder, data, folder / Path(file).name, label))
    return decisions


def waiting_lines(folder: Path) -> list[str]:
    """`thumbs review DIR --list`: one line per waiting frame, then a count."""
    items = waiting(folder)
    lines = []
    for item in items:
        r = item.record
        guess = f"{item.guess} {r.get('score', 0):.0%}" if item.guess else "no record"
        lines.append(f"{item.path.name}  guess {guess}  why {'+'.join(r.get('why') or []) or '-'}"
                     + (f"  from {r['source_path']}" if r.get("source_path") else ""))
    decided = len(read_journal(folder))
    lines.append(f"{len(items)} frame(s) waiting in {folder}" + (f", {decided} already reviewed" if decided else ""))
    return lines


def summary_lines(decisions: list[Decision], folder: Path, data: Path) -> list[str]:
    """What a review did: frames per class, discards, and what is left."""
    per: dict[str, int] = {}
    for d in decisions:
        per[d.label] = per.get(d.label, 0) + 1
    moved = ", ".join(f"{n} {label}" for label, n in sorted(per.items()) if label != DISCARD) or "none"
    left = len(waiting(folder))
    lines = [f"labelled {sum(n for k, n in per.items() if k != DISCARD)} frame(s) into {data} ({moved}), "
             f"discarded {per.get(DISCARD, 0)}; {left} still waiting"]
    if any(label != DISCARD for label in per):
        lines.append(f"retrain with `thumbs train --from RUN/best.pt --data {data}`")
    return lines
