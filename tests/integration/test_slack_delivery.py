"""Briefing threads through the real slack_sdk client against the stand-in Slack API, with the ledger in the real
Redis: structure, pacing, rate limits, server errors, crashes mid-thread, and (through Kafka) the role itself."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

import pytest

from adapters.slack.client import make_web_client
from adapters.slack.delivery import EVENT_TYPE, BriefingDelivery, Pacer
from adapters.slack.render import render_briefing
from adapters.slack.workspaces import Workspaces
from bot.bus import Bus, PermanentError, TransientError
from bot.models import Briefing, KeyDevelopment, Section, SourceLink, Story
from bot.settings import Settings
from bot.store import TTL, Store
from bot.taxonomy import Taxonomy
from tests.integration.conftest import eventually, group_lag
from tests.slackapi import BOT_TOKEN, SlackAPI, make_role, role_settings

CHANNEL = "C0456"


def briefing(sections: int = 4, channel: str = f"slack:{CHANNEL}", title: str = "Chips, Robots and Laws") -> Briefing:
    link = SourceLink(title="<!channel> Lab & co", url="https://example.com/a", source="Lab")
    return Briefing(
        channel=channel, date=date(2026, 4, 30), timezone="Europe/Berlin", title=title,
        executive_summary="<!channel> A busy day & more <@U123>.",
        key_developments=(KeyDevelopment(title="<!here> Lead", text="It happened.", url="https://example.com/k"),),
        sections=tuple(Section(topic=f"t{n}", heading=f"Section {n}",
                               stories=(Story(title=f"Story {n} @everyone", summary="Summary.", sources=(link,)),))
                       for n in range(sections)),
        outlook=("Watch this.",), sources=(link,))


class Sleeps:
    """An injected sleep: records each wait and advances a fake clock instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def delivery(settings: Settings, api: SlackAPI, store: Store, *, sleep: Any = None, pacer: Pacer | None = None,
             owner: str | None = None) -> BriefingDelivery:
    client = make_web_client(role_settings(settings, api), sleep=sleep or Sleeps())
    return BriefingDelivery(client, store, Workspaces(token=BOT_TOKEN), pacer or Pacer(0), owner=owner)


def parts(api: SlackAPI, channel: str = CHANNEL) -> list[int]:
    return [m["metadata"]["event_payload"]["part"] for m in api.thread(channel)]


def assert_complete_thread(api: SlackAPI, b: Briefing) -> None:
    """Every part exactly once, in order: the root, then replies in its thread."""
    expected = len(render_briefing(b))
    messages = api.thread(CHANNEL)
    assert parts(api) == list(range(expected))
    root = messages[0]
    assert "thread_ts" not in root
    assert all(m["thread_ts"] == root["ts"] for m in messages[1:])


async def test_thread_structure_metadata_and_no_mentions(settings: Settings, api: SlackAPI, store: Store) -> None:
    b = briefing()
    result = await delivery(settings, api, store).deliver(b)
    assert (result.parts, result.posted, result.recovered, result.already_done) == (7, 7, 0, False)
    assert_complete_thread(api, b)
    messages = api.thread(CHANNEL)
    assert [m["blocks"][0]["text"]["text"] for m in messages] == [
        "Chips, Robots and Laws", "Section 0", "Section 1", "Section 2", "Section 3", "Outlook", "Sources"]
    for message in messages:
        params = message["params"]
        assert params["unfurl_links"] is False and params["unfurl_media"] is False
        assert "link_names" not in params and "parse" not in params
        assert message["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {
            "edition_id": b.edition_id, "part": message["metadata"]["event_payload"]["part"], "parts": 7}}
        assert message["token"] == BOT_TOKEN
        wire = json.dumps({"text": message["text"], "blocks": message["blocks"]})
        assert "<!channel>" not in wire and "<!here>" not in wire and "<@U123>" not in wire
        assert message["text"]
    assert "&lt;!channel&gt; A busy day &amp; more &lt;@U123&gt;." in json.dumps(messages[0]["blocks"])
    assert "@everyone" in json.dumps(messages[1]["blocks"])
    ledger = await store.delivery("slack", b.edition_id)
    assert ledger["done"] and ledger["ts:0"] == messages[0]["ts"] and ledger["channel"] == "slack:C0456"
    assert not [k for k in ledger if k.startswith("pending:")]
    ttl = await store.redis.ttl(store.keys.delivery("slack", b.edition_id))
    assert TTL.DELIVERY - 10 < ttl <= TTL.DELIVERY


async def test_redelivery_posts_nothing(settings: Settings, api: SlackAPI, store: Store) -> None:
    b = briefing()
    await delivery(settings, api, store).deliver(b)
    again = await delivery(settings, api, store, owner="another-process").deliver(b)
    assert again.already_done and len(api.called("chat.postMessage")) == 7


async def test_posts_are_paced_per_channel(settings: Settings, api: SlackAPI, store: Store) -> None:
    sleeps = Sleeps()
    pacer = Pacer(1.0, clock=sleeps.clock, sleep=sleeps)
    await delivery(settings, api, store, pacer=pacer).deliver(briefing(sections=2))
    assert sleeps.waits == [1.0] * 4  # five posts, each one second after the previous
    other = briefing(sections=0, channel="slack:C0999")
    await delivery(settings, api, store, pacer=pacer).deliver(other)
    assert sleeps.waits == [1.0] * 6  # three posts, two waits: the first does not wait for the other channel


async def test_rate_limit_retry_after_is_honoured(settings: Settings, api: SlackAPI, store: Store) -> None:
    b = briefing(sections=1)
    api.fault("chat.postMessage", status=429, retry_after=1)
    await delivery(settings, api, store, sleep=asyncio.sleep).deliver(b)
    calls = api.called("chat.postMessage")
    assert len(calls) == len(render_briefing(b)) + 1
    assert calls[1].at - calls[0].at >= 1.0
    assert_complete_thread(api, b)


async def test_rate_limit_wait_comes_from_retry_after(settings: Settings, api: SlackAPI, store: Store) -> None:
    sleeps = Sleeps()
    api.fault("chat.postMessage", status=429, retry_after=7, times=2)
    await delivery(settings, api, store, sleep=sleeps).deliver(briefing(sections=0))
    assert len(sleeps.waits) == 2 and all(7.0 <= w <= 7.25 for w in sleeps.waits)


async def test_server_errors_on_reads_are_retried_by_the_client(settings: Settings, api: SlackAPI,
                                                                store: Store) -> None:
    b = briefing(sections=1)
    d = delivery(settings, api, store)
    api.fault("chat.postMessage", status=500, store_first=True)  # posted, but the answer is an error
    with pytest.raises(TransientError, match="Slack answered 500"):
        await d.deliver(b)
    api.fault("conversations.history", status=503, times=2)
    await d.deliver(b)
    assert len(api.called("conversations.history")) == 3  # two 503s retried, then the answer
    assert_complete_thread(api, b)


async def test_a_post_that_failed_with_5xx_is_never_blindly_reposted(settings: Settings, api: SlackAPI,
                                                                      store: Store) -> None:
    b = briefing(sections=2)
    d = delivery(settings, api, store)
    part2 = {"when": lambda p: p["metadata"]["event_payload"]["part"] == 2}
    api.fault("chat.postMessage", status=502, store_first=True, **part2)
    with pytest.raises(TransientError):
        await d.deliver(b)
    assert parts(api) == [0, 1, 2]  # Slack has part 2 although the call failed
    api.fault("chat.postMessage", status=503, **part2)  # this time Slack fails before storing part 3
    api.faults[-1].when = lambda p: p["metadata"]["event_payload"]["part"] == 3
    with pytest.raises(TransientError):
        await d.deliver(b)
    result = await d.deliver(b)
    assert result.recovered == 0 and result.posted == 2  # part 3 (not stored before) and part 4
    assert_complete_thread(api, b)
    assert len(api.called("conversations.replies")) >= 2  # each pending part was looked up first


@pytest.mark.parametrize("stored", [True, False], ids=["posted-then-crash", "crash-before-slack-stored"])
async def test_crash_mid_thread_no_duplicate_no_gap(settings: Settings, api: SlackAPI, store: Store,
                                                    stored: bool) -> None:
    b = briefing(sections=4)
    api.fault("chat.postMessage", hang=True, store_first=stored,
              when=lambda p: p["metadata"]["event_payload"]["part"] == 3)
    first = asyncio.create_task(delivery(settings, api, store, owner="process-1").deliver(b))
    await asyncio.wait_for(api.hung.wait(), 10)
    first.cancel()  # the process dies while Slack holds the call
    with pytest.raises(asyncio.CancelledError):
        await first
    ledger = await store.delivery("slack", b.edition_id)
    assert {"ts:0", "ts:1", "ts:2", "pending:3"} <= set(ledger) and "ts:3" not in ledger and "done" not in ledger
    assert parts(api) == ([0, 1, 2, 3] if stored else [0, 1, 2])
    resumed = await delivery(settings, api, store, owner="process-2").deliver(b)
    assert resumed.recovered == (1 if stored else 0)
    assert resumed.posted == len(render_briefing(b)) - 3 - resumed.recovered
    assert_complete_thread(api, b)  # completed in the same thread, not restarted


async def test_the_root_is_found_in_the_channel_history(settings: Settings, api: SlackAPI, store: Store) -> None:
    b = briefing(sections=1)
    api.history_needs_membership = True  # posted with chat:write.public, not a member yet
    api.fault("chat.postMessage", status=500, store_first=True)
    with pytest.raises(TransientError):
        await delivery(settings, api, store).deliver(b)
    result = await delivery(settings, api, store).deliver(b)
    assert result.recovered == 1 and CHANNEL in api.joined
    assert_complete_thread(api, b)


async def test_without_visible_metadata_a_part_is_found_by_its_text(settings: Settings, api: SlackAPI,
                                                                      store: Store) -> None:
    b = briefing(sections=2)
    api.metadata_hidden = True
    api.fault("chat.postMessage", status=500, store_first=True, times=2,
              when=lambda p: p["metadata"]["event_payload"]["part"] in (0, 2))
    for _ in range(2):
        with pytest.raises(TransientError):
            await delivery(settings, api, store).deliver(b)
    result = await delivery(settings, api, store).deliver(b)
    assert result.recovered == 1 and result.posted == len(render_briefing(b)) - 3  # part 0 found in the run before
    assert_complete_thread(api, b)


async def test_another_process_holding_the_edition_waits(settings: Settings, api: SlackAPI, store: Store) -> None:
    b = briefing(sections=0)
    assert await store.hold_lock(f"delivery:slack:{b.edition_id}", "someone-else", 60_000)
    with pytest.raises(TransientError, match="being delivered by another process"):
        await delivery(settings, api, store).deliver(b)
    assert api.thread(CHANNEL) == []
    await store.release_lock(f"delivery:slack:{b.edition_id}", "someone-else")
    await delivery(settings, api, store).deliver(b)
    assert_complete_thread(api, b)


async def test_permanent_errors_name_the_fix(settings: Settings, api: SlackAPI, store: Store) -> None:
    api.fault("chat.postMessage", error="channel_not_found")
    with pytest.raises(PermanentError, match="channel_not_found; check the channel id; invite the bot"):
        await delivery(settings, api, store).deliver(briefing(sections=0))
    with pytest.raises(PermanentError, match="not a Slack channel"):
        await delivery(settings, api, store).deliver(briefing(channel="slack:lower-case"))


async def test_refused_blocks_fall_back_to_plain_text(settings: Settings, api: SlackAPI, store: Store) -> None:
    api.fault("chat.postMessage", error="invalid_blocks", when=lambda p: p["metadata"]["event_payload"]["part"] == 1)
    b = briefing(sections=1)
    await delivery(settings, api, store).deliver(b)
    assert_complete_thread(api, b)
    reply = api.thread(CHANNEL)[1]
    assert reply["blocks"] is None and reply["text"].startswith("Section 0: Story 0 @everyone")


async def test_the_role_delivers_from_kafka_exactly_once(settings: Settings, api: SlackAPI, store: Store,
                                                         taxonomy: Taxonomy, bus: Bus) -> None:
    b = briefing(sections=2)
    other = b.model_copy(update={"channel": "discord:123"})
    await bus.publish(bus.topics.briefings, other)
    await bus.publish(bus.topics.briefings, b)
    await bus.publish(bus.topics.briefings, b)  # a redelivery
    stop = asyncio.Event()
    role = make_role(role_settings(settings, api), store, taxonomy, bus=bus)
    task = asyncio.create_task(role.run(stop))
    try:
        await asyncio.wait_for(role.ready.wait(), 10)
        await eventually(lambda: len(api.thread(CHANNEL)) == 5, what="the thread")
        group = bus.topics.group("slack")
        deadline = time.monotonic() + 20
        while await group_lag(bus.bootstrap_servers, group, (bus.topics.briefings,)):
            assert time.monotonic() < deadline, "offsets not committed"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert not role.ready.is_set()  # the HTTP server was closed on the way out
    assert_complete_thread(api, b)
    assert api.thread("123") == []


async def test_unreachable_slack_is_retried_then_transient(settings: Settings, api: SlackAPI, store: Store) -> None:
    sleeps = Sleeps()
    unreachable = role_settings(settings, api, slack_api_base_url="http://127.0.0.1:9/api/")
    client = make_web_client(unreachable, sleep=sleeps)
    d = BriefingDelivery(client, store, Workspaces(token=BOT_TOKEN), Pacer(0))
    with pytest.raises(TransientError, match="ClientConnectorError"):
        await d.deliver(briefing(sections=0))
    assert len(sleeps.waits) == 3  # the connection was tried four times
    assert "pending:0" in await store.delivery("slack", briefing(sections=0).edition_id)
