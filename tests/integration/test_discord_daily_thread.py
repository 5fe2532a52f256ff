"""The README's Discord walk-through end to end: a channel set up from Discord gets its daily thread from the
composer through Kafka, a forum gets its post, and the channel answers `/ai-news regulation` and `/ai-news briefing`
(the real discord.py client against the local stand-in Discord; the real broker and Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import discord
from redis.asyncio import Redis

from bot.bus import Bus
from bot.editions import latest_due, parse_hhmm, zone
from bot.models import ClassifiedItem, Entities, Item
from bot.runtime import Services, make_composer
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.discordapi import DiscordAPI, embed_text, make_role, role_settings

MANAGER = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)


def _item(n: int, published: datetime, topic: str, title: str, summary: str, **entities: tuple[str, ...]
          ) -> ClassifiedItem:
    base = Item(url=f"https://news.example.com/e2e/{n}", title=title, summary=summary, source=f"outlet-{n}",
                source_name=f"Outlet {n}", published=published)
    return ClassifiedItem.from_item(base, topics=[topic], importance=0.4 + n / 20, entities=Entities(**entities))


def _setup(name: str, **values: str) -> list[dict[str, object]]:
    return [{"type": 1, "name": name, "options": [{"type": 3, "name": k, "value": v} for k, v in values.items()]}]


async def test_setup_daily_thread_forum_post_and_questions(settings: Settings, bus: Bus, redis: Redis, store: Store,
                                                           taxonomy: Taxonomy, discord_api: DiscordAPI) -> None:
    now = datetime.now(UTC)
    _, due = latest_due(now, parse_hhmm("08:00"), zone("Europe/Berlin"))
    stories = [
        (0, "regulation", "@everyone EU fines an AI lab under the AI Act <@123456789012345678>",
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
    guild = discord_api.add_guild("AI team")
    news = discord_api.add_channel(guild, "ai-news")
    forum = discord_api.add_channel(guild, "briefings", discord.ChannelType.forum)

    discord_settings = role_settings(settings, discord_api)
    role = make_role(discord_settings, store, taxonomy, bus=bus)
    stop = asyncio.Event()
    running = asyncio.create_task(role.run(stop))
    try:
        await asyncio.wait_for(role.ready.wait(), 10)
        for channel in (news, forum):
            setup = await discord_api.answered(await discord_api.interact(
                guild, channel, _setup("setup", time="08:00", zone="Europe/Berlin"), member_permissions=MANAGER))
            assert "Every day at 08:00 Europe/Berlin" in embed_text(setup.shown)
        composer = make_composer(Services(discord_settings, taxonomy, bus, redis, store, "", ""),
                                 now=lambda: due + timedelta(minutes=1), owner="e2e")
        published = {b.channel: b for b in await composer.tick()}
        assert set(published) == {f"discord:{news}", f"discord:{forum}"}
        for briefing in published.values():
            for _ in range(600):
                if (await store.delivery("discord", briefing.edition_id)).get("done"):
                    break
                await asyncio.sleep(0.05)
        briefing = published[f"discord:{news}"]
        (thread,) = discord_api.threads_of(news)
        root = discord_api.posts(news)[0]
        assert thread["id"] == root["id"] and briefing.title.split(" @")[0] in embed_text(root)
        replies = discord_api.posts(thread["id"])
        # One or more per section, the outlook (when there is one), the sources.
        assert len(replies) >= len(briefing.sections) + bool(briefing.outlook) + 1
        posted = "\n".join(embed_text(m) for m in [root, *replies])
        assert "Why it matters" in posted and "@everyone" not in posted and "<@123" not in posted
        assert all(m["pings"] == [] and m["allowed_mentions"] == {"parse": []} for m in [root, *replies])
        (post,) = discord_api.threads_of(forum)
        assert discord_api.posts(post["id"])[0]["id"] == post["id"] and discord_api.posts(forum) == []

        regulation = await discord_api.answered(await discord_api.interact(guild, news, _setup("regulation")))
        assert "California signs SB 53 into law" in embed_text(regulation.shown)
        assert "EU fines an AI lab" in embed_text(regulation.shown)
        latest = await discord_api.answered(await discord_api.interact(guild, news, _setup("briefing")))
        assert f"https://discord.com/channels/{guild}/{thread['id']}" in embed_text(latest.shown)
        # The same editions again (a redelivery, a second composer tick) post nothing more.
        assert await composer.tick() == []
        await asyncio.sleep(0.3)
        assert len(discord_api.posts(thread["id"])) == len(replies) and len(discord_api.threads_of(forum)) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
