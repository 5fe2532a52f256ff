"""Fixtures of the fault suite: a broker of the test's own (to kill and restart without disturbing the other
tests), a bus on it, and helpers that wait for state while checking that what should stay alive does."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient

from bot.bus import Bus, is_transient
from bot.embedded import EmbeddedKafka, free_port
from bot.models import Message
from bot.settings import Settings
from bot.taxonomy import Taxonomy
from tests.integration.conftest import eventually
from tests.integration.test_cli import AI_NEWS


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


async def uncommitted(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Partitions of the topics whose group offset is behind their end. (Not the lag: a broker with object storage
    may report an end offset behind records it already serves, so a committed offset can be past it.)"""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                                              enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (reader.partitions_for_topic(t) or set())]
        ends = await reader.end_offsets(partitions)
        return sum([(await reader.committed(tp) or 0) < end for tp, end in ends.items()])
    finally:
        await reader.stop()


async def partition_counts(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics([t for t in topics if t in existing])
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


# --- `ai-news run` as a process, to kill -------------------------------------------------------------------------

class AiNews:
    """`ai-news ARGS` as a child process with its log in a file: started, read, killed (SIGKILL) or stopped."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.args = list(args)
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"--- start {self.starts}\n")
            out.flush()
            self.proc = subprocess.Popen([AI_NEWS, *self.args], env=self.env, cwd=self.log.parent,
                                         stdout=subprocess.DEVNULL, stderr=out)

    def text(self, this_start_only: bool = True) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.rsplit(f"--- start {self.starts}\n", 1)[-1] if this_start_only else text

    async def said(self, phrase: str, limit: float = 60.0) -> str:
        """Wait until this start's log has `phrase` (the process must keep running); returns the log."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while phrase not in (text := self.text()):
            assert self.proc is not None and self.proc.poll() is None, \
                f"ai-news exited ({self.proc and self.proc.returncode}) before saying {phrase!r}: {text[-3000:]}"
            assert loop.time() < deadline, f"{phrase!r} not said within {limit}s: {text[-3000:]}"
            await asyncio.sleep(0.1)
        return text

    async def embedded_kafka(self) -> str:
        """The bootstrap address of the embedded broker of this start."""
        text = await self.said("embedded kafka answering on ")
        return text.split("embedded kafka answering on ", 1)[1].split(" ", 1)[0]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


# --- an S3-compatible server on 127.0.0.1 (moto), for the durable embedded broker ---------------------------------

@dataclass
class S3:
    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """What the embedded broker reads to reach it."""
        return {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true"}

    @property
    def storage(self) -> str:
        return f"s3://{self.bucket}/"


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3]:
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.skip("moto_server is not installed (pip install -e '.[dev]')")
    port = free_port()
    with (tmp_path / "moto.log").open("w") as out:
        proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}/ainews", method="PUT"), timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "moto.log").read_text()
                time.sleep(0.1)
        yield S3(endpoint, "ainews")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
