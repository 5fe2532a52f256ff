"""The loop of the clock-driven roles (scheduler, composer): one step every few seconds until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.bus import is_transient

log = logging.getLogger(__name__)


async def every(seconds: float, step: Callable[[], Awaitable[object]], stop: asyncio.Event, what: str) -> None:
    """Run `step` now and then every `seconds` until `stop` is set. A Kafka or Redis that is briefly away is
    logged and tried again at the next step; any other error ends the loop (and the role) with it."""
    while not stop.is_set():
        try:
            await step()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s failed, retrying next tick: %s: %s", what, type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
