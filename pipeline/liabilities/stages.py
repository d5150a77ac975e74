"""What every build shares, whatever its protocol: the result, the stage watch and clock, bad input
found on workers."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import BadInputData, Problem


@dataclass(frozen=True)
class BuildResult:
    manifest: dict[str, Any]
    users: int
    out: str
    stages: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall seconds per stage (read, shuffle, count, buckets, merge; por-v3: read, users, padding,
    buckets, merge), for benchmarks."""
    buckets: int = 0
    reused: int = 0
    """Non-empty buckets (por-v3: of every tree), and how many of them a ``resume`` build took from an
    earlier run."""


Watch = Callable[[str, list[Any]], None]
"""``watch(stage, futures)``: called before waiting on a stage's futures (progress display)."""


def first_problem(problems: list[Problem | None]) -> None:
    """Raise the first bad-input finding (in task order, so the same snapshot names the same row)."""
    for problem in problems:
        if problem is not None:
            raise BadInputData(problem)


class Clock:
    """Wall seconds per stage."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = now - self.last
        self.last = now
