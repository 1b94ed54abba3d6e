"""The virtual display the window tests share: it must take every connection, also while others come and go."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.studio.driver import virtual_display

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (apt install xvfb xdotool); .ci/run installs them")


def test_clients_that_come_and_go_never_find_the_display_resetting():
    """By default Xvfb resets when its last client leaves, and a client connecting then is refused: a window
    test failed about once in 30 with Qt's "could not connect to display". Measured with 4 clients x 300
    connections: 28 refused without -noreset, 0 with it."""
    with virtual_display("320x240x24") as display:
        env = {**os.environ, "DISPLAY": display}

        def refused(_: int) -> int:
            return sum(subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True).returncode != 0
                       for _ in range(120))

        with ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(refused, range(4))) == 0
