from __future__ import annotations

import errno
import os
import signal
import stat

import pytest

from thumbs.core import files
from thumbs.core.errors import ThumbsError


def _leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_written_files_get_the_normal_umask_mode(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    for write in (files.write_atomic, files.write_new):
        path = write(tmp_path / f"{write.__name__}.bin", b"x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EACCES, "permission denied"),
                                         (errno.EROFS, "the file system is read-only")])
def test_failed_write_is_one_clear_error_and_leaves_no_temp_file(tmp_path, monkeypatch, code, words):
    (tmp_path / "keep.bin").write_bytes(b"old")

    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    for write in (files.write_atomic, files.write_new):
        target = tmp_path / ("keep.bin" if write is files.write_atomic else "new.bin")
        with pytest.raises(ThumbsError, match=f"cannot write '{target}': {words}"):
            write(target, b"new")
    assert (tmp_path / "keep.bin").read_bytes() == b"old" and not (tmp_path / "new.bin").exists()
    assert _leftovers(tmp_path) == []


def test_a_file_where_a_folder_must_be_is_named(tmp_path):
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(ThumbsError, match="cannot create folder .*blocker'"):
        files.write_atomic(tmp_path / "blocker" / "x.bin", b"x")
    with pytest.raises(ThumbsError, match="a part of that path is a file"):
        files.write_atomic(tmp_path / "blocker" / "deeper" / "x.bin", b"x")
    with pytest.raises(ThumbsError, match="cannot create folder"):
        files.check_writable_dir(tmp_path / "blocker")
    (tmp_path / "folder.bin").mkdir()
    with pytest.raises(ThumbsError, match="it is a folder"):
        files.write_atomic(tmp_path / "folder.bin", b"x")
    assert _leftovers(tmp_path) == []


def test_write_new_still_refuses_an_existing_name(tmp_path):
    files.write_new(tmp_path / "a.jpg", b"1")
    with pytest.raises(FileExistsError):
        files.write_new(tmp_path / "a.jpg", b"2")
    assert (tmp_path / "a.jpg").read_bytes() == b"1" and _leftovers(tmp_path) == []


def test_ctrl_c_during_a_write_finishes_the_write_first(tmp_path, monkeypatch):
    real_fsync = files.os.fsync

    def interrupted_fsync(fd):
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the write
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(tmp_path / "last.pt", b"complete")
    assert (tmp_path / "last.pt").read_bytes() == b"complete" and _leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path):
    """Reading a FIFO named like an image waits for a writer for ever; a regular-file read must not."""
    import time

    from tests.helpers import fifo

    start = time.monotonic()
    with pytest.raises(files.NotRegularFile) as caught:
        files.read_regular(fifo(tmp_path / "frame.jpg"))
    assert caught.value.errno == errno.EINVAL
    assert files.read_image(fifo(tmp_path / "b.jpg")) is None
    assert time.monotonic() - start < 2


def test_an_os_error_is_one_line_naming_the_path_and_the_fix():
    long = OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300)
    assert files.os_error_line(long) == f"'{'x' * 300}': the name is too long: choose a shorter path"
    full = files.os_error_line(OSError(errno.ENOSPC, "No space left on device"))
    assert full.startswith("cannot write the output: no space left on the device")


def test_existing_file_names_what_is_there_instead(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo.onnx")
    assert files.existing_file(tmp_path / "model.onnx", "model") == tmp_path / "model.onnx"
    for name, state in (("missing.onnx", "does not exist"), (".", "is a folder, not a file"),
                        ("fifo.onnx", "is not a regular file (a FIFO, socket or device)")):
        with pytest.raises(ThumbsError) as e:
            files.existing_file(tmp_path / name, "model", ": train one")
        assert str(e.value) == f"model '{tmp_path / name}' {state}: train one"


@pytest.mark.parametrize("refusals", [(), (errno.EPERM,), (errno.EXDEV, errno.EXDEV)],
                         ids=["hard link", "no hard links: rename", "another disk: copy"])
def test_link_new_never_overwrites_whatever_the_file_system_allows(tmp_path, monkeypatch, refusals):
    """One rule for write_new and the review's move: the new name gets the file in one step, or FileExistsError."""
    link, replace = os.link, os.replace
    left = list(refusals)

    def refuse(real):
        def call(src, dst):
            if left and (real is link or len(refusals) == 2):
                raise OSError(left.pop(0), os.strerror(refusals[0]))
            return real(src, dst)
        return call

    monkeypatch.setattr(os, "link", refuse(link))
    monkeypatch.setattr(os, "replace", refuse(replace))
    src, dst = tmp_path / "a.jpg", tmp_path / "sub" / "b.jpg"
    src.write_bytes(b"frame")
    dst.parent.mkdir()
    assert files.link_new(src, dst) == dst and dst.read_bytes() == b"frame" and not left
    assert not [p for p in dst.parent.iterdir() if p.name.endswith(".tmp")]
    src.unlink(missing_ok=True)  # a hard link shares the file: the next one is another
    src.write_bytes(b"other")
    left[:] = list(refusals)
    with pytest.raises(FileExistsError):
        files.link_new(src, dst)
    assert dst.read_bytes() == b"frame"
