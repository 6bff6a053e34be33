"""The perf marker: a missed wall-clock goal is reported with its figure, never a red build."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.perf import FIGURES, STRICT_ENV

pytest_plugins = ["pytester"]

SAMPLE = """
import pytest
from tests.perf import expect_fast

@pytest.mark.perf
def test_slow():
    expect_fast(3.0, 1.0, "nap")

@pytest.mark.perf
def test_fast_but_wrong():
    expect_fast(0.1, 1.0, "blink")
    assert 1 == 2

def test_slow_without_the_marker():
    expect_fast(3.0, 1.0, "unmarked nap")
"""


@pytest.fixture
def sample(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    pytester.makeconftest(
        "from tests.conftest import pytest_runtest_makereport, pytest_terminal_summary\n"
    )
    pytester.makeini("[pytest]\nmarkers =\n    perf: timing goals\n")
    pytester.makepyfile(SAMPLE)
    before = len(FIGURES)
    yield pytester
    del FIGURES[before:]  # the sample's figures are not this run's


def test_a_missed_goal_is_an_xfail_with_its_figure(
    sample: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    result = sample.runpytest_inprocess("-ra")
    # Behaviour asserts still fail, and so does an unmarked test that misses a goal.
    result.assert_outcomes(xfailed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*performance figures*",
            "ok   blink: 0.1 s (goal < 1 s)*",
            "*XFAIL*test_slow*perf: SLOW nap: 3 s (goal < 1 s)*",
        ]
    )


def test_strict_mode_fails_a_missed_goal(
    sample: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    sample.runpytest_inprocess("-ra").assert_outcomes(failed=3)
