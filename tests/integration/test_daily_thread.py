"""The README's walk-through end to end: a channel set up from Slack gets its daily thread from the composer
through Kafka, and answers `/ai-news regulation` and `/ai-news briefing` (the real bolt app and slack_sdk
against the local stand-in Slack API; the real broker and Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.bus import Bus
from bot.editions import latest_due, parse_hhmm, zone
from bot.models import ClassifiedItem, Entities, Item
from bot.runtime import Services, make_composer
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.slackapi import SlackAPI, all_text, ask, make_role, role_settings


def _item(n: int, published: datetime, topic: str, title: str, summary: str, **entities: tuple[str, ...]
          ) -> ClassifiedItem:
    base = Item(url=f"https://news.example.com/e2e/{n}", title=title, summary=summary, source=f"outlet-{n}",
                source_name=f"Outlet {n}", published=published)
    return ClassifiedItem.from_item(base, topics=[topic], importance=0.4 + n / 20, entities=Entities(**entities))


async def test_setup_daily_thread_and_questions(settings: Settings, bus: Bus, redis: Redis, store: Store,
                                                taxonomy: Taxonomy, api: SlackAPI) -> None:
    now = datetime.now(UTC)
    _, due = latest_due(now, parse_hhmm("08:00"), zone("Europe/Berlin"))
    stories = [
        (0, "regulation", "<!channel> EU fines an AI lab under the AI Act",
         "The European Commission fined the lab 20 million euros. It is the first fine under the AI Act.",
         {"laws": ("AI Act",), "amounts": ("20 million euros",)}),
        (1, "models", "Mistral releases Pixtral 12B, its first multimodal model",
         "The 12-billion-parameter model is released under the Apache 2.0 license.",
         {"models": ("Pixtral 12B",), "organizations": ("Mistral AI",)}),
        (2, "robotics", "Figure AI raises $1 billion for humanoid robots",
         "The round values the company at $39 billion.", {"organizations": ("Figure AI",),
                                                          "amounts": ("$1 billion", "$39 billion")}),
        (3, "regulation", "California signs SB 53 into law",
         "Large AI developers must publish safety frameworks.", {"laws": ("SB 53",)}),
    ]
    for n, topic, title, summary, entities in stories:
        await store.archive(_item(n, due - timedelta(hours=n + 1), topic, title, summary, **entities))

    slack_settings = role_settings(settings, api)
    role = make_role(slack_settings, store, taxonomy, bus=bus)
    stop = asyncio.Event()
    running = asyncio.create_task(role.run(stop))
    try:
        for _ in range(200):
            if role.bound_port:
                break
            await asyncio.sleep(0.05)
        setup = await ask(role, api, "setup 08:00 Europe/Berlin")
        assert "08:00" in all_text(setup) and "Europe/Berlin" in all_text(setup)
        edition = await store.edition("slack:C0456")
        assert edition is not None and edition.origin == "chat" and edition.timezone == "Europe/Berlin"

        composer = make_composer(Services(slack_settings, taxonomy, bus, redis, store, "", ""),
                                 now=lambda: due + timedelta(minutes=1), owner="e2e")
        published = await composer.tick()
        assert [b.channel for b in published] == ["slack:C0456"]
        briefing = published[0]
        for _ in range(600):
            if (await store.delivery("slack", briefing.edition_id)).get("done"):
                break
            await asyncio.sleep(0.05)
        thread = api.thread("C0456")
        # The root, one reply per section, the outlook (when there is one) and the sources.
        assert len(thread) == 1 + len(briefing.sections) + bool(briefing.outlook) + 1
        root = thread[0]
        assert root.get("thread_ts") is None and briefing.title in root["text"]
        assert all(reply["thread_ts"] == root["ts"] for reply in thread[1:])
        posted = "\n".join(str(m.get("blocks")) + m["text"] for m in thread)
        assert "<!channel>" not in posted and "&lt;!channel&gt;" in posted  # the hostile title pings nobody
        assert "Why it matters" in posted

        regulation = all_text(await ask(role, api, "regulation"))
        assert "California signs SB 53 into law" in regulation and "EU fines an AI lab" in regulation
        latest = all_text(await ask(role, api, "briefing"))
        assert briefing.title in latest
        assert "/archives/C0456/p" in latest  # the link to the thread
        # The same edition again (a redelivery, a second composer tick) posts nothing more.
        assert await composer.tick() == []
        await asyncio.sleep(0.3)
        assert len(api.thread("C0456")) == len(thread)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
