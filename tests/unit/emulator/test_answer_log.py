"""The gateway's own answers are logged one line each, and summed up per second under a flood."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway_emulator.answer_log import AnswerLog

LOGGER = "test.answer_log"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_each_answer_gets_a_line_at_the_default_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    answers = AnswerLog(logging.getLogger(LOGGER), per_second=10, clock=_Clock())
    answers.record(403, "ForbiddenException", "%d %s", 403, "one")
    answers.record(502, "InternalServerErrorException", "502 two")
    assert _messages(caplog) == [(logging.INFO, "403 one"), (logging.WARNING, "502 two")]


def test_a_flood_is_summed_up_once_per_second(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    clock = _Clock()
    answers = AnswerLog(logging.getLogger(LOGGER), per_second=3, clock=clock)
    for i in range(1000):
        answers.record(429, "TooManyRequestsException", f"429 #{i}")
        clock.now += 0.0005  # 1,000 answers in 0.5 s
    answers.record(403, "ForbiddenException", "403 in the flood")
    assert [m for _, m in _messages(caplog)] == ["429 #0", "429 #1", "429 #2"]
    clock.now += 0.6  # the next second: its first answer is logged after the summary of the last
    answers.record(413, "RequestTooLongException", "413 next second")
    lines = _messages(caplog)
    assert lines[3] == (
        logging.INFO,
        "gateway answers: 998 more in the last second, not logged one by one: "
        "403 ForbiddenException x 1, 429 TooManyRequestsException x 997",
    )
    assert lines[4] == (logging.INFO, "413 next second")
    answers.flush()  # nothing counted since: no empty summary
    assert len(_messages(caplog)) == 5


def test_the_summary_comes_when_the_second_ends_even_if_the_flood_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)

    async def flood() -> None:
        answers = AnswerLog(logging.getLogger(LOGGER), per_second=1)
        for _ in range(5):
            answers.record(500, "InternalServerErrorException", "500")
        await asyncio.sleep(1.2)  # no further answer: the timer of the window writes the summary

    asyncio.run(flood())
    lines = _messages(caplog)
    assert lines[0] == (logging.WARNING, "500")
    assert lines[1] == (
        logging.WARNING,
        "gateway answers: 4 more in the last second, not logged one by one: 500 InternalServerErrorException x 4",
    )


def test_a_negative_share_is_refused() -> None:
    with pytest.raises(ValueError, match="per_second must be >= 0"):
        AnswerLog(logging.getLogger(LOGGER), per_second=-1)
