"""Fixtures of the fault suite: a broker of the test's own (to kill and restart without disturbing the other
tests), a bus on it, and helpers that wait for state while checking that what should stay alive does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient

from bot.bus import Bus, is_transient
from bot.embedded import EmbeddedKafka
from bot.models import Message
from bot.settings import Settings
from bot.taxonomy import Taxonomy
from tests.integration.conftest import eventually


@pytest.fixture
def own_kafka() -> Iterator[EmbeddedKafka]:
    """An embedded broker (in memory) for this test alone."""
    with EmbeddedKafka() as kafka:
        yield kafka


@pytest_asyncio.fixture
async def own_bus(own_kafka: EmbeddedKafka, settings: Settings, taxonomy: Taxonomy) -> AsyncIterator[Bus]:
    bus = Bus.from_settings(settings, own_kafka.bootstrap_servers, taxonomy.slugs)
    await bus.start()
    await bus.ensure_topics()
    yield bus
    await bus.stop()


async def restart(kafka: EmbeddedKafka) -> None:
    """Kill the broker (SIGKILL) and start it again on the same port: in memory, it comes back empty."""
    kafka.kill()
    kafka.respawn(wait=False)  # from the event loop's thread, like the broker of `ai-news run`
    await asyncio.to_thread(kafka.wait_ready)


async def publish_eventually(bus: Bus, messages: Sequence[tuple[str, Message, str | None]],
                             limit: float = 60.0) -> None:
    """Publish each message, retrying what the broker refuses while it is away (as the roles do)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    for topic, message, key in messages:
        while True:
            try:
                await bus.publish(topic, message, key)
                break
            except Exception as exc:
                if not is_transient(exc) or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def alive_until(tasks: Sequence[asyncio.Task[Any]], condition: Callable[[], bool], what: str,
                      limit: float = 60.0) -> None:
    """Wait for `condition` while every task keeps running (one that ends fails at once, with its error)."""
    def check() -> bool:
        for task in tasks:
            if task.done():
                error = task.exception() if not task.cancelled() else "cancelled"
                raise AssertionError(f"{task.get_name()} ended while waiting for {what}: {error!r}")
        return condition()

    await eventually(check, limit=limit, what=what)


async def partition_counts(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics([t for t in topics if t in existing])
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()
