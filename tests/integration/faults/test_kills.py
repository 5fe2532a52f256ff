"""kill -9 of `ai-news run` roles at random points, and of the embedded broker under them: each time the role (or
broker) is started again, it goes on where it stopped: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.bus import Bus, TopicTable
from bot.delivery import Deliveries, Pacer
from bot.embedded import free_port
from bot.models import Briefing, ClassifiedItem, Item, KeyDevelopment, Section, SourceLink, Story
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.discordapi import APPLICATION_ID as DISCORD_APPLICATION_ID
from tests.discordapi import BOT_TOKEN as DISCORD_TOKEN
from tests.discordapi import DiscordAPI
from tests.integration.faults.conftest import AiNews, publish_eventually
from tests.integration.test_cli import _env, services_env
from tests.slackapi import BOT_TOKEN, SIGNING_SECRET, SlackAPI

pytestmark = pytest.mark.faults

NOW = datetime(2026, 4, 30, tzinfo=UTC)
CHANNEL = "C0FAULT"


def _items(first: int, count: int) -> list[ClassifiedItem]:
    topics = ["models", "regulation", "robotics"]
    return [ClassifiedItem.from_item(Item(url=f"https://example.com/k/{n}", title=f"Killed {n}", source="ex",
                                          published=NOW - timedelta(minutes=n)), topics=[topics[n % 3]])
            for n in range(first, first + count)]


def _briefing(sections: int = 6) -> Briefing:
    link = SourceLink(title="Lab", url="https://example.com/a", source="Lab")
    return Briefing(
        channel=f"slack:{CHANNEL}", date=date(2026, 4, 30), timezone="UTC", title="Chips, Robots and Laws",
        executive_summary="A busy day.",
        key_developments=(KeyDevelopment(title="Lead", text="It happened.", url="https://example.com/k"),),
        sections=tuple(Section(topic=f"t{n}", heading=f"Section {n}",
                               stories=(Story(title=f"Story {n}", summary="Summary.", sources=(link,)),))
                       for n in range(sections)),
        outlook=("Watch this.",), sources=(link,))


async def test_a_killed_slack_role_finishes_the_thread_soon_after_it_restarts(
        tmp_path: Path, settings: Settings, bus: Bus, api: SlackAPI) -> None:
    briefing = _briefing()
    api.fault("chat.postMessage", hang=True, store_first=True,
              when=lambda p: p["metadata"]["event_payload"]["part"] == 3)
    env = services_env(tmp_path, settings, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                       SLACK_API_BASE_URL=api.api_url, SLACK_HTTP_PORT=str(free_port()), SLACK_POST_INTERVAL="0")
    role = AiNews(["run", "--role", "slack"], env, tmp_path / "slack.log")
    try:
        role.start()
        await role.said("running roles:")
        await bus.publish(bus.topics.briefings, briefing, key=briefing.channel)
        await asyncio.wait_for(api.hung.wait(), 60)  # part 3 is posted; Slack holds the call
        role.kill()  # kill -9 mid-thread: its delivery lock stays in Redis
        env["SLACK_HTTP_PORT"] = str(free_port())
        role.start()
        loop = asyncio.get_running_loop()
        restarted = loop.time()
        parts = 0
        while parts < 8:  # root, six sections, outlook and sources
            parts = len(api.thread(CHANNEL))
            assert role.alive, role.text()[-2000:]
            # The lock of the killed role lapses within 15 s; 120 s before.
            assert loop.time() - restarted < 60, f"thread not finished 60 s after the restart: {parts} parts"
            await asyncio.sleep(0.2)
        took = loop.time() - restarted
        assert role.stop() == 0
    finally:
        role.kill()
    logging.getLogger(__name__).info("slack role killed mid-thread: finished %.1f s after the restart", took)
    posted = [m["metadata"]["event_payload"]["part"] for m in api.thread(CHANNEL)]
    assert posted == list(range(len(posted))), posted  # every part once, in order: none twice, no gap
    root = api.thread(CHANNEL)[0]
    assert all(m["thread_ts"] == root["ts"] for m in api.thread(CHANNEL)[1:])


async def test_a_killed_discord_role_finishes_the_thread_soon_after_it_restarts(
        tmp_path: Path, settings: Settings, bus: Bus, discord_api: DiscordAPI) -> None:
    from adapters.discord.delivery import nonce
    from adapters.discord.render import render_briefing
    from tests.integration.test_discord_delivery import assert_thread, briefing, server

    _, channel = server(discord_api)
    sent = briefing(f"discord:{channel}", sections=4)
    discord_api.fault("send", hang=True, store_first=True, when=lambda body: body["nonce"] == nonce(sent.edition_id, 3))
    env = services_env(tmp_path, settings, DISCORD_BOT_TOKEN=DISCORD_TOKEN,
                       DISCORD_APPLICATION_ID=DISCORD_APPLICATION_ID, DISCORD_API_BASE_URL=discord_api.api_url,
                       DISCORD_GATEWAY_URL=discord_api.gateway_url, DISCORD_POST_INTERVAL="0")
    role = AiNews(["run", "--role", "discord"], env, tmp_path / "discord.log")
    expected = len(render_briefing(sent).messages)
    try:
        role.start()
        await role.said("running roles:")
        await bus.publish(bus.topics.briefings, sent, key=sent.channel)
        await asyncio.wait_for(discord_api.hung.wait(), 60)  # part 3 is stored; Discord holds the call
        role.kill()  # kill -9 mid-thread: its delivery lock stays in Redis
        role.start()
        loop = asyncio.get_running_loop()
        restarted = loop.time()
        while True:
            threads = discord_api.threads_of(channel)
            posted = 1 + (len(discord_api.posts(threads[0]["id"])) if threads else 0)
            if posted >= expected:
                break
            assert role.alive, role.text()[-2000:]
            assert loop.time() - restarted < 60, f"thread not finished 60 s after the restart: {posted} parts"
            await asyncio.sleep(0.2)
        took = loop.time() - restarted
        assert role.stop() == 0
    finally:
        role.kill()
    logging.getLogger(__name__).info("discord role killed mid-thread: finished %.1f s after the restart", took)
    assert_thread(discord_api, channel, sent)  # the root once, every part once in its thread, in order


async def test_a_delivery_lock_is_short_and_renewed_while_the_delivery_lives(store: Store) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    class Hanging:
        async def find(self, ledger: object, part: int, message: object, claimed_at: float) -> str | None:
            return None

        async def post(self, ledger: object, part: int, message: object) -> str:
            started.set()
            await release.wait()
            return f"ref-{part}"

    alive = Deliveries(store, "test", Pacer(0), owner="alive", lock_ttl_ms=1000)
    task = asyncio.create_task(alive.deliver("edition-1", "test:C1", ["part"], Hanging()))
    await asyncio.wait_for(started.wait(), 10)
    other = Deliveries(store, "test", Pacer(0), owner="other", lock_ttl_ms=1000)
    for _ in range(3):  # three TTLs pass: the living delivery keeps its lock
        await asyncio.sleep(1.0)
        assert not await store.hold_lock(other.lock_name("edition-1"), "other", 1000)
    ttl = await store.redis.pttl(store.keys.lock(alive.lock_name("edition-1")))
    assert 0 < ttl <= 1000
    release.set()
    result = await asyncio.wait_for(task, 10)
    assert result.posted == 1
    assert await store.hold_lock(other.lock_name("edition-1"), "other", 1000)  # released at the end


async def test_the_indexer_killed_at_random_points_archives_everything_once(
        tmp_path: Path, settings: Settings, bus: Bus, store: Store) -> None:
    rng = random.Random(13)
    env = services_env(tmp_path, settings)
    role = AiNews(["run", "--role", "indexer"], env, tmp_path / "indexer.log")
    items = _items(0, 600)
    await bus.publish_many([(bus.topics.items(i.primary_topic), i, i.story_id) for i in items])
    at_kill = []
    try:
        for _ in range(3):
            role.start()
            await role.said("running roles:")
            target = await store.count() + rng.randint(20, 150)
            while await store.count() < min(target, len(items) - 1):
                assert role.alive, role.text()[-2000:]
                await asyncio.sleep(0.005)
            role.kill()
            at_kill.append(await store.count())
        role.start()
        await role.said("running roles:")  # it archives a fetched batch at once: all may be in before it is up
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while await store.count() < len(items):
            assert role.alive and loop.time() < deadline, f"{await store.count()} archived: {role.text()[-2000:]}"
            await asyncio.sleep(0.1)
        assert role.stop() == 0
    finally:
        role.kill()
    logging.getLogger(__name__).info("indexer killed at %s of %d archived", at_kill, len(items))
    assert await store.count() == len(items) and all(await store.has_items([i.id for i in items]))
    for topic in ("models", "regulation", "robotics"):
        assert await store.count(topic) == len([i for i in items if i.primary_topic == topic])


async def test_the_embedded_broker_killed_under_ai_news_is_started_again_and_the_pipeline_goes_on(
        tmp_path: Path, settings: Settings, store: Store, taxonomy: Taxonomy) -> None:
    env = _env(tmp_path, REDIS_URL=settings.redis_url, REDIS_KEY_PREFIX=settings.redis_key_prefix,
               KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix, KAFKA_PARTITIONS="2", KAFKA_SESSION_TIMEOUT_MS="2000",
               LOG_LEVEL="INFO")
    role = AiNews(["run", "--role", "indexer"], env, tmp_path / "run.log")
    try:
        role.start()
        text = await role.said("running roles:")
        bootstrap = await role.embedded_kafka()
        broker_pid = int(text.split("embedded kafka answering on ", 1)[1].split("(pid ", 1)[1].split(")", 1)[0])
        bus = Bus(bootstrap, TopicTable(settings.kafka_topic_prefix, taxonomy.slugs), partitions=2)
        await bus.start()
        try:
            first = _items(1000, 20)
            await bus.publish_many([(bus.topics.items(i.primary_topic), i, i.story_id) for i in first])
            while await store.count() < 20:
                assert role.alive, role.text()[-2000:]
                await asyncio.sleep(0.1)
            os.kill(broker_pid, signal.SIGKILL)  # the broker dies under the running roles; its data was in memory
            await role.said("exited with status", limit=30)
            await role.said("came back without", limit=60)
            second = _items(2000, 20)
            await publish_eventually(bus, [(bus.topics.items(i.primary_topic), i, i.story_id) for i in second])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while await store.count() < 40:
                assert role.alive and loop.time() < deadline, f"{await store.count()}: {role.text()[-2000:]}"
                await asyncio.sleep(0.1)
        finally:
            await bus.stop()
        assert role.stop() == 0
    finally:
        role.kill()
    text = role.text()
    assert text.count("came back without") == 1 and "Traceback" not in text
    assert await store.count() == 40


def _feed(source: int, count: int) -> bytes:
    entries = "".join(
        f"<item><title>Lab {source} releases model {n} with a new reasoning benchmark</title>"
        f"<link>https://example.com/lab{source}/model-{n}</link>"
        f"<description>The model {n} of lab {source} scores higher on reasoning.</description>"
        f"<pubDate>{(datetime.now(UTC) - timedelta(minutes=n + 1)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        f"</pubDate></item>" for n in range(count))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab {source}</title>{entries}'
            f"</channel></rss>").encode()


async def test_scheduler_ingest_and_indexer_killed_at_random_points_lose_nothing(
        tmp_path: Path, settings: Settings, store: Store) -> None:
    from tests.conftest import CONFIG
    from tests.feedserver import feed_server

    rng = random.Random(7)
    sources, per_feed = 8, 25
    config = tmp_path / "config"
    config.mkdir()
    for name in ("topics.yaml", "entities.yaml"):
        (config / name).write_text((CONFIG / name).read_text())
    async with feed_server() as server:
        lines = ["sources:"]
        for n in range(sources):
            server.documents[f"/lab{n}.xml"] = _feed(n, per_feed)
            lines += [f"  - id: lab-{n}", f"    name: Lab {n}", f"    url: {server.url(f'/lab{n}.xml')}",
                      "    interval_minutes: 60"]
        (config / "sources.yaml").write_text("\n".join(lines) + "\n")
        env = services_env(tmp_path, settings, AINEWS_CONFIG_DIR=str(config), SCHEDULER_TICK_SECONDS="0.5")
        role = AiNews(["run", "--role", "scheduler", "--role", "ingest", "--role", "indexer"], env,
                      tmp_path / "pipeline.log")
        total = sources * per_feed
        at_kill = []
        try:
            for _ in range(3):
                role.start()
                await role.said("running roles:")
                target = await store.count() + rng.randint(10, 60)
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 60
                while await store.count() < min(target, total - 1):
                    assert role.alive and loop.time() < deadline, role.text()[-2000:]
                    await asyncio.sleep(0.005)
                role.kill()
                at_kill.append(await store.count())
            role.start()
            await role.said("running roles:")  # all may be archived before it is up: a SIGTERM then comes too soon
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while await store.count() < total:
                assert role.alive and loop.time() < deadline, f"{await store.count()} of {total}: {role.text()[-3000:]}"
                await asyncio.sleep(0.1)
            assert role.stop() == 0
        finally:
            role.kill()
    logging.getLogger(__name__).info("scheduler+ingest+indexer killed at %s of %d archived", at_kill, total)
    assert await store.count() == total
    assert "Traceback" not in role.text(this_start_only=False)
