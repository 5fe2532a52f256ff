from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from tests.discordapi import DiscordAPI
from tests.discordapi import discord_api as discord_stand_in
from tests.slackapi import SlackAPI, slack_api

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def api() -> AsyncIterator[SlackAPI]:
    """The local stand-in Slack Web API (and response URLs and Socket Mode WebSocket), for one test."""
    async with slack_api() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def discord_api() -> AsyncIterator[DiscordAPI]:
    """The local stand-in Discord (REST, interaction callbacks, gateway WebSocket), for one test."""
    async with discord_stand_in() as stand_in:
        yield stand_in


async def eventually(condition: Callable[[], bool], limit: float = 30.0, what: str = "condition") -> None:
    """Wait for a condition that another task brings about (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {limit}s waiting for {what}")
        await asyncio.sleep(0.02)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


async def group_lag(bootstrap: str, group: str, topics: tuple[str, ...]) -> int:
    """Records on the topics that the group has not committed yet."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    # A group member that never subscribes does not join: it only reads the group's committed offsets.
    reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (reader.partitions_for_topic(t) or set())]
        ends = await reader.end_offsets(partitions)
        lag = 0
        for tp, end in ends.items():
            committed = await reader.committed(tp)
            lag += end - (committed or 0)
        return lag
    finally:
        await reader.stop()


async def run_until_sigterm(
    args: list[str], env: dict[str, str], cwd: object, done: Callable[[], Awaitable[bool]], limit: float = 60.0,
    start: Callable[[], Awaitable[None]] | None = None,
) -> tuple[int, str]:
    """Start `ai-news ARGS`, run `start`, wait until `done()` is true while it keeps running, then send
    SIGTERM and return its exit status and stderr (the process is killed if anything goes wrong)."""
    import signal
    import sys
    from pathlib import Path

    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ai-news"), *args, env=env, cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        if start is not None:
            await start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while not await done():
            assert proc.returncode is None, "ai-news exited early"
            assert loop.time() < deadline, f"condition not reached within {limit}s"
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, stderr.decode()
