"""One log line per answer the gateway makes itself (403, 413, 429, 5xx), a summary under a flood.

A client refused by the gateway never reaches the function, so nothing else would say why. Under a
flood (a load test at 5x the throttle rate answers thousands of 429s a second) one line per answer
would bury the rest of the log: the first ``per_second`` answers of each second get their own line,
the others are counted and summed up in one line when that second is over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

DEFAULT_LINES_PER_SECOND = 10


class AnswerLog:
    def __init__(
        self,
        logger: logging.Logger,
        per_second: int = DEFAULT_LINES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second < 0:
            raise ValueError(f"per_second must be >= 0, got {per_second}")
        self._log = logger
        self._per_second = per_second
        self._clock = clock
        self._window_end = float("-inf")
        self._lines = 0
        self._unlogged: Counter[tuple[int, str]] = Counter()
        self._timer: asyncio.TimerHandle | None = None

    def record(self, status: int, message: str, line: str, *args: object) -> None:
        """Log ``line % args`` for an answer of ``status`` (``message``: its kind, for the summary),
        or count it when this second already had its share of lines (then nothing is formatted)."""
        now = self._clock()
        if now >= self._window_end:
            self.flush()
            self._window_end = now + 1.0
            self._lines = 0
        if self._lines < self._per_second:
            self._lines += 1
            self._log.log(logging.WARNING if status >= 500 else logging.INFO, line, *args)
            return
        self._unlogged[(status, message)] += 1
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (unit tests): the next record() or flush() sums up
                return
            self._timer = loop.call_later(max(0.0, self._window_end - now), self.flush)

    def flush(self) -> None:
        """Log the summary of the answers counted but not logged one by one, if any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._unlogged:
            return
        total = sum(self._unlogged.values())
        parts = ", ".join(f"{status} {message} x {n}" for (status, message), n in sorted(self._unlogged.items()))
        worst = max(status for status, _ in self._unlogged)
        self._unlogged.clear()
        self._log.log(
            logging.WARNING if worst >= 500 else logging.INFO,
            "gateway answers: %d more in the last second, not logged one by one: %s",
            total,
            parts,
        )
