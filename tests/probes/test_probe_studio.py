"""`thumbs studio` driven as a person and a hostile script would, under Xvfb with xdotool
(tests/probes/studio_cases.py), one test per case: one clear line and no traceback, exit 0 on quit, 1 on an error
and 130/143/129 on a signal, no lost data, no orphan training child, no hang. Slow (many minutes):
`pytest -m slow tests/probes/test_probe_studio.py`. The disk-full and read-only cases mount a tmpfs (root)."""

from __future__ import annotations

import shutil

import pytest

from tests.probes import studio_cases
from tests.studio.driver import virtual_display

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                 reason="needs Xvfb and xdotool (apt install xvfb xdotool); .ci/run installs them")]
NAMES = studio_cases.case_names()


@pytest.fixture(scope="module")
def studio_probe(tmp_path_factory):
    """A display, the clips and data sets made once, and every case by name."""
    base = tmp_path_factory.mktemp("probe_studio").resolve()
    material = studio_cases.Material(base / "material")
    with virtual_display() as display:
        yield display, dict(studio_cases.case_table(base, material))


def test_the_case_names_are_unique():
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_case(studio_probe, name):
    display, cases = studio_probe
    case = cases[name](display)
    assert not case.failures, f"{name}: {'; '.join(case.failures)} (what happened: {'; '.join(case.notes)}; " \
                              f"repro: {case.repro})"
