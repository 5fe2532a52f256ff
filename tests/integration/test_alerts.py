"""Topic alerts end to end through the real roles: items published to Kafka, the alerter role (consumer group
`<prefix>.alerts`), the alerts topic, and the real Slack role (bolt app and slack_sdk) posting to the stand-in Slack
API; subscriptions set with `/ai-news` signed requests; the real broker and Redis. The alerter's clock is injected,
so hours, digests and quiet hours are tested without waiting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bot.bus import Bus
from bot.models import Alert, ClassifiedItem, Entities, HealthEvent, Item
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.conftest import CONFIG
from tests.integration.conftest import eventually
from tests.slackapi import SlackAPI, all_text, ask, make_role, role_settings
from workers.alerter import Alerter

NOW = datetime(2026, 5, 4, 10, 15, tzinfo=UTC)
CHANNEL = "C0456"
HOSTILE = "<!channel> Figure AI & co <@U123>"


def item(n: int, *, topics: tuple[str, ...] = ("robotics",), importance: float = 0.8, story: str | None = None,
         title: str | None = None, published: datetime | None = None, source: str = "lab-blog",
         entities: Entities | None = None, about_ai: bool | None = True, backfill: bool = False) -> ClassifiedItem:
    base = Item(url=f"https://news.example.com/{n}", title=title or f"Robot story {n}", source=source,
                source_name=source.replace("-", " ").title(), published=published or NOW - timedelta(minutes=5),
                summary=f"Story {n} happened today. A second sentence.", backfill=backfill)
    return ClassifiedItem.from_item(base, topics=topics, importance=importance, story_id=story or f"story-{n}",
                                    entities=entities or Entities(), about_ai=about_ai)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def alerts_of(api: SlackAPI, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in api.thread(channel) if (m.get("metadata") or {}).get("event_type") == "ainews_alert"]


@dataclass
class Running:
    alerter: Alerter
    role: Any
    bus: Bus
    clock: Clock

    async def publish(self, *items: ClassifiedItem) -> None:
        target = self.alerter.stats.items + len(items)
        for one in items:
            await self.bus.publish(self.bus.topics.items(one.primary_topic), one, key=one.story_id)
        await eventually(lambda: self.alerter.stats.items >= target, what="the alerter to handle the items")
        await self.settled()

    async def settled(self, topic: str | None = None, group: str = "slack") -> None:
        """Until the Slack role (or `group`) has handled and committed everything on the alerts topic (or `topic`)."""
        await caught_up(self.bus, self.bus.topics.group(group), topic or self.bus.topics.alerts)


async def caught_up(bus: Bus, group: str, topic: str, limit: float = 20.0) -> None:
    """Until `group` has committed every record of `topic` there was when it was asked (read with the admin client:
    no consumer joins the group)."""
    deadline = asyncio.get_running_loop().time() + limit
    ends = await bus.end_offsets(topic)
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bus.bootstrap_servers)
        await admin.start()
        try:
            found = await admin.list_consumer_group_offsets(group, partitions=[TopicPartition(topic, p) for p in ends])
        finally:
            await admin.close()
        committed = {tp.partition: max(0, meta.offset) for tp, meta in found.items()}
        if all(committed.get(p, 0) >= end for p, end in ends.items()):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{group} did not catch up with {topic}: {committed} of {ends}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(settings: Settings, api: SlackAPI, store: Store, taxonomy: Taxonomy, bus: Bus, *,
                  clock: Clock | None = None, alerter: Alerter | None = None, **changes: Any) -> AsyncIterator[Running]:
    clock = clock or Clock(NOW)
    alerter = alerter or Alerter(bus, store, _follows(), clock=clock, tick_seconds=3600)
    role = make_role(role_settings(settings, api, **changes), store, taxonomy, bus=bus, clock=clock)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(alerter.run(stop)), asyncio.create_task(role.run(stop))]
    try:
        await asyncio.wait_for(role.ready.wait(), 10)
        yield Running(alerter, role, bus, clock)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


def _follows() -> Any:
    from bot.alerts import load_follows

    return load_follows(CONFIG / "entities.yaml")


async def test_alerts_follows_updates_and_source_health(settings: Settings, api: SlackAPI, store: Store,
                                                         taxonomy: Taxonomy, bus: Bus) -> None:
    async with running(settings, api, store, taxonomy, bus, ops_channel="slack:C0OPS") as run:
        # An important item alerts the subscribed channel, and only it.
        assert "Subscribed: robotics" in all_text(await ask(run.role, api, "subscribe robotics"))
        await ask(run.role, api, "subscribe regulation", channel="C0777")
        await ask(run.role, api, "subscribe robotics 0.9", channel="C0888")
        lead = item(1, title=HOSTILE, importance=0.82, story="figure", entities=Entities(amounts=("$1 billion",)))
        await run.publish(
            lead,
            item(2, importance=0.3),  # below the threshold
            item(3, about_ai=False, importance=0.9),  # not about AI
            item(4, about_ai=None, importance=0.9),  # classified before the about-AI check
            item(5, backfill=True, importance=0.9),  # a source's first poll
            item(6, published=NOW - timedelta(hours=13), importance=0.9),  # older than ALERT_MAX_AGE_HOURS
        )
        (alert,) = alerts_of(api)
        assert alerts_of(api, "C0777") == [] and alerts_of(api, "C0888") == []
        wire = json.dumps(alert["blocks"])
        text = all_text(alert)
        assert "Robotics alert · robotics alerts from importance 0.6" in text
        assert "*<https://news.example.com/1|&lt;!channel&gt; Figure AI &amp; co &lt;@U123&gt;>*" in text
        assert "Story 1 happened today." in text and "Lab Blog · Importance 0.82: $1 billion" in text
        assert "<!channel>" not in wire and "<@U123>" not in wire and "sources:" not in text
        params = alert["params"]
        assert params["unfurl_links"] is False and "link_names" not in params and "parse" not in params
        alert_id = Alert(channel=f"slack:{CHANNEL}", topic="robotics", item=lead).alert_id
        assert alert["metadata"]["event_payload"]["alert_id"] == alert_id

        # Later sources update it in place: one weaker on its own (below the threshold, another topic), then one
        # stronger; the same item again (a redelivery) changes nothing.
        await run.publish(item(7, story="figure", topics=("business",), importance=0.4, source="the-verge"))
        await run.publish(item(8, story="figure", source="techcrunch", importance=0.9), lead)
        assert len(alerts_of(api)) == 1
        updates = api.called("chat.update")
        assert len(updates) == 2 and {u.params["ts"] for u in updates} == {alert["ts"]}
        text = all_text(alerts_of(api)[0])
        assert "3 sources: " in text and "Importance 0.90" in text and "The Verge" in text and "Techcrunch" in text
        assert (await store.delivery("slack", alert_id))["revision"] == "3"
        # The story now reaches the 0.9 of the third channel: it alerts there, once, with its sources so far.
        (late,) = alerts_of(api, "C0888")
        assert "3 sources: " in all_text(late) and len(api.called("chat.postMessage")) == 2

        # A followed organization catches its models; a followed bill its other spelling; a mistyped name gets
        # the closest entity; unsubscribing takes effect on the next item, without a restart.
        answer = all_text(await ask(run.role, api, "subscribe “anthropic” 0.5", channel="C0999"))
        assert "Following: Anthropic (organization)" in answer and "(Claude, Mythos, Fable)" in answer
        assert "Did you mean Anthropic?" in all_text(await ask(run.role, api, "subscribe Antropic", channel="C0999"))
        await ask(run.role, api, "subscribe SB 53 0.5", channel="C0999")
        for one in (item(11, topics=("models",), importance=0.7, title="Claude Opus 4.1 is out",
                         entities=Entities(models=("Claude Opus 4.1",))),
                    item(12, topics=("models",), importance=0.9, title="GPT-5 is out",
                         entities=Entities(models=("GPT-5",), organizations=("OpenAI",))),
                    item(13, topics=("regulation",), importance=0.55, title="California signs SB 53",
                         entities=Entities(laws=("SB53",)))):
            await run.publish(one)
        texts = [all_text(m) for m in alerts_of(api, "C0999")]
        assert len(texts) == 2
        assert "Models alert · this channel follows Anthropic" in texts[0] and "Claude Opus 4.1 is out" in texts[0]
        assert "Regulation alert · this channel follows SB 53" in texts[1]
        assert alerts_of(api, "C0777") == []  # regulation, but importance 0.55 is under its 0.6
        listed = all_text(await ask(run.role, api, "subscriptions", channel="C0999"))
        assert "`Anthropic` · organization  importance 0.5 or more" in listed and "`SB 53` · law" in listed
        assert "Unsubscribed: Anthropic" in all_text(await ask(run.role, api, 'unsubscribe "ANTHROPIC"',
                                                               channel="C0999"))
        await run.publish(item(14, topics=("models",), importance=0.9, title="Claude 5",
                               entities=Entities(models=("Claude 5",))))
        assert len(alerts_of(api, "C0999")) == 2

        # Sources' changes of health reach OPS_CHANNEL once per change.
        now = run.clock()
        spell = now - timedelta(hours=2)
        events = [
            HealthEvent(source_id="lab-blog", source_name="Lab <b>blog</b>", status="failing",
                        error="HTTP 503 <!here>", failing_since=spell, at=now - timedelta(minutes=30)),
            # ingest repeats an event when it dies between publishing it and saving the source's state
            HealthEvent(source_id="lab-blog", source_name="Lab <b>blog</b>", status="failing", error="HTTP 503",
                        failing_since=spell, at=now - timedelta(minutes=29)),
            HealthEvent(source_id="lab-blog", status="disabled", error="HTTP 503", failing_since=spell,
                        at=now - timedelta(minutes=20)),
            HealthEvent(source_id="lab-blog", status="recovered", failing_since=spell, at=now - timedelta(minutes=10)),
            HealthEvent(source_id="lab-blog", status="failing", error="timeout",
                        failing_since=now - timedelta(minutes=5), at=now),
            HealthEvent(source_id="old-blog", status="failing", failing_since=now - timedelta(days=3),
                        at=now - timedelta(days=2)),  # from before the role first started: not posted
        ]
        for event in events:
            await bus.publish(bus.topics.health, event, key=event.source_id)
        await run.settled(bus.topics.health)
        texts = [m["text"] for m in api.thread("C0OPS")]
        assert [t.split(":")[0] for t in texts] == ["Source failing", "Source disabled", "Source recovered",
                                                    "Source failing"]
        assert "Lab &lt;b&gt;blog&lt;/b&gt; (lab-blog)" in texts[0] and "HTTP 503 &lt;!here&gt;" in texts[0]
        assert "`ai-news sources --enable lab-blog` puts it back" in texts[1] and "timeout" in texts[3]


async def test_hourly_cap_digest_and_quiet_hours_in_the_channels_zone(settings: Settings, api: SlackAPI,
                                                                      store: Store, taxonomy: Taxonomy,
                                                                      bus: Bus) -> None:
    night = datetime(2026, 5, 4, 6, 15, tzinfo=UTC)  # 23:15 in Los Angeles (PDT)
    clock = Clock(night)
    alerter = Alerter(bus, store, _follows(), clock=clock, max_per_hour=2, tick_seconds=3600)
    await store.subscribe(f"slack:{CHANNEL}", "robotics", 0.6)
    async with running(settings, api, store, taxonomy, bus, clock=clock, alerter=alerter) as run:
        await ask(run.role, api, "subscribe robotics", channel="C0LA")
        answer = all_text(await ask(run.role, api, "quiet 22:00-07:00 america/los_angeles", channel="C0LA"))
        assert "No alerts in this channel from 22:00 to 07:00 (America/Los_Angeles)" in answer
        assert "Quiet hours 22:00-07:00 (America/Los_Angeles)" in all_text(
            await ask(run.role, api, "subscriptions", channel="C0LA"))
        for n in range(1, 6):  # one by one: the first two of the hour alert, the other three wait
            await run.publish(item(n, importance=0.6 + n / 100, published=night - timedelta(minutes=1)))
        assert len(alerts_of(api)) == 2 and alerts_of(api, "C0LA") == []  # it is night in Los Angeles

        clock.now = night.replace(minute=59)
        assert await alerter.tick() == 0
        clock.now = night.replace(hour=7, minute=0)
        assert await alerter.tick() == 1
        await run.settled()
        assert await alerter.tick() == 0  # sent once
        digest = all_text(alerts_of(api)[-1])
        assert len(alerts_of(api)) == 3 and "3 more robotics stories this hour" in digest
        assert "Over this channel's 2 alerts an hour: held until the end of the hour (07:00 UTC)." in digest
        assert digest.index("Robot story 5") < digest.index("Robot story 4") < digest.index("Robot story 3")
        # The new hour has room again; a new source of a story in the digest updates the digest in place.
        await run.publish(item(9, importance=0.7, published=clock.now),
                          item(10, story="story-4", source="wired", published=clock.now))
        assert len(alerts_of(api)) == 4 and len(api.called("chat.update")) == 1
        assert "2 sources" in all_text(alerts_of(api)[2]) and "Wired" not in all_text(alerts_of(api)[2])

        clock.now = datetime(2026, 5, 4, 13, 59, tzinfo=UTC)  # 06:59 in Los Angeles
        assert await alerter.tick() == 0 and alerts_of(api, "C0LA") == []
        clock.now = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)  # 07:00 there: the quiet hours' digest
        assert await alerter.tick() == 1
        await run.settled()
        (quiet,) = alerts_of(api, "C0LA")
        assert "6 robotics stories during quiet hours" in all_text(quiet)  # 1-5 and 9; 10 is a source of 4
        assert "Held during this channel's quiet hours (22:00-07:00 America/Los_Angeles)" in all_text(quiet)
        # After quiet hours, alerts come at once; `quiet off` ends them.
        await run.publish(item(20, published=clock.now))
        assert len(alerts_of(api, "C0LA")) == 2
        assert "Quiet hours off" in all_text(await ask(run.role, api, "quiet off", channel="C0LA"))


@pytest.mark.parametrize("stage", ["alerter", "adapter"])
async def test_a_kill_between_producing_and_committing_loses_and_repeats_nothing(
        settings: Settings, api: SlackAPI, store: Store, taxonomy: Taxonomy, bus: Bus, stage: str) -> None:
    await store.subscribe(f"slack:{CHANNEL}", "robotics", 0.6)
    # A killed member holds its partitions until its session times out: keep that short.
    bus.session_timeout_ms = 1500
    first = Alerter(bus, store, _follows(), clock=Clock(NOW), tick_seconds=3600)
    hung = asyncio.Event()
    if stage == "alerter":  # the alert is on Kafka, the alerter dies before recording it and committing the item
        original: Callable[..., Any] = first._published

        async def hang(*args: Any, **kwargs: Any) -> Any:
            hung.set()
            await asyncio.Event().wait()
            return await original(*args, **kwargs)

        first._published = hang  # type: ignore[method-assign]
    else:  # Slack stores the post, the adapter dies before recording it and committing the alert
        api.fault("chat.postMessage", hang=True, store_first=True)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(first.run(stop))]
    if stage == "adapter":
        role = make_role(role_settings(settings, api), store, taxonomy, bus=bus)
        tasks.append(asyncio.create_task(role.run(stop)))
    await bus.publish(bus.topics.items("robotics"), item(1))
    await asyncio.wait_for(hung.wait() if stage == "alerter" else api.hung.wait(), 30)
    for task in tasks:  # killed: nothing gets to finish
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert len(alerts_of(api)) == (1 if stage == "adapter" else 0)
    async with running(settings, api, store, taxonomy, bus) as run:
        await eventually(lambda: len(alerts_of(api)) == 1, what="the alert")
        if stage == "alerter":
            await eventually(lambda: run.alerter.stats.items >= 1, what="the item redelivered")
        await run.settled()
        await run.settled(bus.topics.items("robotics"), group="alerts")
    assert len(alerts_of(api)) == 1 and len(api.called("chat.postMessage")) == 1
    end = await bus.end_offsets(bus.topics.alerts)
    copies = sum(end.values())
    assert copies == (2 if stage == "alerter" else 1), end  # produced again after the kill; posted once
