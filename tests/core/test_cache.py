"""One rule for THUMBS_CACHE: a root for every kind of cache (images/, trt/), or `off` for none at all."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.helpers import make_checkpoint
from thumbs.core import cache
from thumbs.core.errors import ThumbsError
from thumbs.runtime import providers
from thumbs.training import image_cache
from thumbs.training.export import export


def test_the_root_is_thumbs_cache_else_xdg_else_home(monkeypatch, tmp_path):
    monkeypatch.setenv("THUMBS_CACHE", str(tmp_path / "c"))
    assert cache.root() == tmp_path / "c" and cache.folder(cache.ENGINES) == tmp_path / "c" / "trt"
    monkeypatch.setenv("THUMBS_CACHE", "~/thumbs-cache")
    assert cache.root() == Path.home() / "thumbs-cache"
    monkeypatch.delenv("THUMBS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.root() == tmp_path / "xdg" / "thumbs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.root() == tmp_path / "home" / ".cache" / "thumbs"


@pytest.mark.parametrize("value", ["off", "OFF", "0", "no"])
def test_off_means_no_cache_of_any_kind(monkeypatch, value):
    monkeypatch.setenv("THUMBS_CACHE", value)
    assert cache.root() is None and cache.folder(cache.IMAGES) is None
    assert image_cache.default_dir() is None
    assert providers.trt_cache_dir(b"model", fp16=True) is None
    assert providers.trt_options(None, fp16=True) == {"trt_fp16_enable": True}  # no engine, no timing cache


def test_images_and_engines_share_the_root(monkeypatch, tmp_path):
    monkeypatch.setenv("THUMBS_CACHE", str(tmp_path))
    assert image_cache.default_dir() == tmp_path / "images"
    engine = providers.trt_cache_dir(b"model", fp16=False)
    assert engine.parent == tmp_path / "trt" and "-fp32-trt" in engine.name


@pytest.mark.parametrize("setting", ["off", "cache"])
def test_a_tensorrt_session_writes_its_engine_where_the_rule_says(monkeypatch, tmp_path, setting):
    model = export(make_checkpoint(tmp_path / "m" / "best.pt", size=32), log=lambda m: None).onnx_path
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("THUMBS_CACHE", setting if setting == "off" else str(tmp_path / setting))
    messages = []
    with contextlib.suppress(ThumbsError):  # a machine without TensorRT: the announcement is what is tested
        providers.make_session(model, [providers.ORDER[0], providers.ORDER[2]], log=messages.append)
    assert list(work.iterdir()) == []  # never ./off/trt/ (or any engine) in the working folder
    if setting == "off":
        assert messages == ["building the TensorRT engine (THUMBS_CACHE=off: again on every run, this takes a while)"]
    else:
        assert messages[0].startswith("building the TensorRT engine (first run of this model")
        assert [p.parent for p in (tmp_path / "cache" / "trt").iterdir()] == [tmp_path / "cache" / "trt"]
