"""Stage timing, and an optional progress display for long runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["StageTimer", "StderrProgress"]


class StageTimer:
    """Record wall-clock seconds per named stage; optionally tell a listener when a stage starts.

    >>> timer = StageTimer()
    >>> with timer("compile"):
    ...     pass
    >>> list(timer.seconds)
    ['compile']
    """

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._on_stage = on_stage

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self._on_stage is not None:
            self._on_stage(stage)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - began


class StderrProgress:
    """Print each stage as it starts on stderr, once the run has taken longer than ``delay`` seconds.

    Short runs stay silent; long ones show where the time goes.
    """

    def __init__(self, delay: float = 1.0, stream: TextIO | None = None) -> None:
        self._delay = delay
        self._stream = stream if stream is not None else sys.stderr
        self._began = time.perf_counter()

    def __call__(self, stage: str) -> None:
        elapsed = time.perf_counter() - self._began
        if elapsed >= self._delay:
            print(f"matcher: {stage}… ({elapsed:.1f}s)", file=self._stream, flush=True)

    def finish(self) -> None:
        """Report the total time, if the run was long enough to show progress at all."""
        elapsed = time.perf_counter() - self._began
        if elapsed >= self._delay:
            print(f"matcher: done in {elapsed:.1f}s", file=self._stream, flush=True)
