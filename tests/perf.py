"""Wall-clock expectations that report instead of flaking.

A test marked ``@pytest.mark.perf`` states its timing goals with ``expect_fast``. Every figure
is listed under "performance figures" at the end of the run. A figure that misses its goal
makes the test xfail with the figure in the reason (shown by ``-ra``), unless
``DRAFTSMITH_PERF_STRICT=1`` is set (then it fails, for a quiet benchmark machine): a loaded
CI runner must not turn a slow minute into a red build, but nobody should lose the number.
Behaviour asserts in the same test still fail as usual; only ``expect_fast`` is softened."""

from __future__ import annotations

import os
from dataclasses import dataclass

STRICT_ENV = "DRAFTSMITH_PERF_STRICT"


class SlowerThanExpected(AssertionError):
    """A measured duration missed its goal."""


@dataclass(frozen=True)
class Figure:
    test: str
    what: str
    measured: float
    limit: float
    unit: str

    @property
    def met(self) -> bool:
        return self.measured < self.limit

    def __str__(self) -> str:
        verdict = "ok" if self.met else "SLOW"
        return (
            f"{verdict:4} {self.what}: {self.measured:.4g} {self.unit} "
            f"(goal < {self.limit:.4g} {self.unit})  [{self.test}]"
        )


FIGURES: list[Figure] = []


def expect_fast(measured: float, limit: float, what: str, unit: str = "s") -> None:
    """Record ``measured`` and raise ``SlowerThanExpected`` unless it is below ``limit``."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    figure = Figure(test, what, measured, limit, unit)
    FIGURES.append(figure)
    if not figure.met:
        raise SlowerThanExpected(str(figure))


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0")
