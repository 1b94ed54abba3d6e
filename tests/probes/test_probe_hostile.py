"""`thumbs` run as careless, unlucky or hostile users would (tests/probes/hostile_cases.py), one test per case: no
traceback, an error said as one last "error:" line (or success where the case expects it), no file lost, no hang.
Slow (minutes): `pytest -m slow tests/probes/test_probe_hostile.py`."""

from __future__ import annotations

import pytest

from tests.probes import hostile_cases

pytestmark = pytest.mark.slow
CASES = {case.name: case for case in hostile_cases.cases()}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The fixtures (a small data set, models, clips) and a folder for the cases' own folders."""
    base = tmp_path_factory.mktemp("probe_hostile")
    return hostile_cases.fixtures(base / "fixtures"), base


def test_the_case_names_are_unique():
    assert len(CASES) == len(hostile_cases.cases())


@pytest.mark.parametrize("name", list(CASES))
def test_case(made, name):
    fixtures, base = made
    found, detail, seconds = hostile_cases.run_case(CASES[name], fixtures, base)
    if found == "skipped":
        pytest.skip(detail)
    assert found == "ok", f"{name}: {found}: {detail} ({seconds:.1f} s)"
