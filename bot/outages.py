"""Outages of the services ai-news depends on (Kafka, Redis): one clear line when one goes away, one when it is
back (with how long it was away), and the client libraries' own repeats kept to a line a minute.

While a dependency is away the roles wait and retry (see `bot.bus`): nothing is dead-lettered for it. What the
operator needs is to know that it is away and since when, not a traceback per retry: `Availability` says it once,
`RepeatLimit` keeps aiokafka's per-retry ERROR lines (about 150 a second while a broker is down) to one line per
kind a minute, with the number left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# Loggers of aiokafka that repeat a line at every retry while a broker is away.
LIBRARY_LOGGERS = (
    "aiokafka", "aiokafka.admin.client", "aiokafka.cluster", "aiokafka.conn", "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher", "aiokafka.consumer.group_coordinator", "aiokafka.consumer.subscription_state",
    "aiokafka.helpers", "aiokafka.producer.producer", "aiokafka.producer.sender",
)
REPEAT_WINDOW = 60.0
PROBE_TIMEOUT = 10.0


class RepeatLimit(logging.Filter):
    """Lets the first warning or error of each kind (logger, level and message template) through, then at most one
    a `window`; the one let through after a pause says how many were left out. Lower levels pass."""

    def __init__(self, window: float = REPEAT_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        shown = self._seen.get(key)
        if shown is not None and now - shown[0] < self.window:
            self._seen[key] = (shown[0], shown[1] + 1)
            return False
        left_out = shown[1] if shown is not None else 0
        if len(self._seen) > 1000:  # kinds are few; this only bounds memory against unusual messages
            self._seen.clear()
        self._seen[key] = (now, 0)
        if left_out:
            record.msg = f"{record.msg} ({left_out} more like this in the last {now - shown[0]:.0f}s not shown)"  # type: ignore[index]
        return True


_LIMIT = RepeatLimit()


def limit_library_repeats() -> None:
    """Keep aiokafka's repeated lines to one of a kind a minute (idempotent; the loggers keep their levels)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _LIMIT not in logger.filters:
            logger.addFilter(_LIMIT)


class Availability:
    """Whether one dependency answers, said once when it goes away and once when it is back."""

    def __init__(self, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what  # e.g. "Kafka at 127.0.0.1:9092"
        self.clock = clock
        self.down_since: float | None = None

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = self.clock()
            log.warning("%s is unreachable (%s): the roles wait for it and retry; nothing is dead-lettered "
                        "meanwhile", self.what, _described(exc))

    def answered(self) -> float | None:
        """Mark it up; returns for how long it was away (None if it was not)."""
        if self.down_since is None:
            return None
        away = self.clock() - self.down_since
        self.down_since = None
        log.warning("%s is back after %s", self.what, _duration(away))
        return away


async def watch(availability: Availability, probe: Callable[[], Awaitable[object]], stop: asyncio.Event,
                interval: float = 2.0, on_answer: Callable[[object], Awaitable[None]] | None = None) -> None:
    """Probe the dependency every `interval` seconds until `stop` is set; `on_answer` gets each answer."""
    while not stop.is_set():
        try:
            answer = await asyncio.wait_for(probe(), PROBE_TIMEOUT)
        except Exception as exc:
            availability.failed(exc)
        else:
            availability.answered()
            if on_answer is not None:
                try:
                    await on_answer(answer)
                except Exception as exc:
                    log.warning("%s: %s: %s", availability.what, type(exc).__name__, _one_line(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _described(exc: BaseException) -> str:
    text = _one_line(exc)
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no detail"
    return text[:300]
