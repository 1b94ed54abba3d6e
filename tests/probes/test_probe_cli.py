"""Every `thumbs` command with hostile paths, numbers and text (tests/probes/cli_cases.py), one test per case: it
refuses with one line and exit 1 or 2 (or succeeds where either is fine), no traceback, no input changed, no
leftover, no hang, and a refusal within 2 s. Slow (minutes): `pytest -m slow tests/probes/test_probe_cli.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.probes import cli_cases

pytestmark = pytest.mark.slow
NAMES = [c.name for c in cli_cases.build_cases(Path("/nonexistent/fx"), Path("/nonexistent/hostile"), create=False)]


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> cli_cases.Probe:
    return cli_cases.Probe(tmp_path_factory.mktemp("probe_cli"))


def test_the_case_names_are_unique():
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_case(probe, name):
    found, what = probe.run(probe.cases[name])
    assert found == "ok", f"{name}: {found}; {what}"
