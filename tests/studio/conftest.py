"""Every studio test ends with no studio of its own still running, passed or failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.studio.driver import StudioRun


@pytest.fixture(autouse=True)
def _no_studio_left() -> Iterator[None]:
    yield
    StudioRun.end_all()
