"""Topic alerts on Discord through the real roles: the alerter role and the real Discord role (discord.py against the
stand-in Discord) on the real broker and Redis; subscriptions and quiet hours set with `/ai-news` interactions."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import discord

from adapters.discord.delivery import nonce
from bot.bus import Bus
from bot.models import Alert, Entities, HealthEvent
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.conftest import CONFIG
from tests.discordapi import DiscordAPI, embed_text, make_role, role_settings
from tests.integration.test_alerts import NOW, Clock, caught_up, item
from workers.alerter import Alerter

MANAGER = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)
MEMBER = discord.Permissions(view_channel=True, send_messages=True)
MENTION = re.compile(r"@everyone|@here|<@[!&]?\d|<#\d", re.IGNORECASE)
MASKED_LINK = re.compile(r"(?<!\\)\[click\]\(")  # a feed's [label](url) rendered as a link
HOSTILE = "@everyone Claude Opus 4.1 <@123456789012345678> [click](https://evil.example)"


def sub(subcommand: str, **values: Any) -> list[dict[str, Any]]:
    kinds = {bool: 5, int: 4, float: 10, str: 3}
    return [{"type": 1, "name": subcommand, "options": [
        {"type": kinds[type(v)], "name": k.replace("_", "-"), "value": v} for k, v in values.items()]}]


async def test_alerts_in_a_text_channel_and_a_forum_edited_in_place_and_source_health(
        settings: Settings, store: Store, taxonomy: Taxonomy, bus: Bus, discord_api: DiscordAPI) -> None:
    from bot.alerts import load_follows

    guild = discord_api.add_guild()
    news = discord_api.add_channel(guild, "news")
    forum = discord_api.add_channel(guild, "alerts", discord.ChannelType.forum)
    ops = discord_api.add_channel(guild, "ops")
    clock = Clock(NOW)
    alerter = Alerter(bus, store, load_follows(CONFIG / "entities.yaml"), clock=clock, tick_seconds=3600)
    role = make_role(role_settings(settings, discord_api, ops_channel=f"discord:{ops}"), store, taxonomy, bus=bus,
                     clock=clock)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(alerter.run(stop)), asyncio.create_task(role.run(stop))]

    async def ask(channel: str, subcommand: str, perms: discord.Permissions = MANAGER, **values: Any) -> str:
        interaction = await discord_api.interact(guild, channel, sub(subcommand, **values), member_permissions=perms)
        return embed_text((await discord_api.answered(interaction)).shown)

    async def publish(*items: Any) -> None:
        target = alerter.stats.items + len(items)
        for one in items:
            await bus.publish(bus.topics.items(one.primary_topic), one, key=one.story_id)
        for _ in range(600):
            if alerter.stats.items >= target:
                break
            await asyncio.sleep(0.02)
        await caught_up(bus, bus.topics.group("discord"), bus.topics.alerts)

    try:
        await asyncio.wait_for(role.ready.wait(), 10)
        assert "Manage Channels" in await ask(news, "subscribe", perms=MEMBER, topic="Anthropic")
        answer = await ask(news, "subscribe", topic="anthropic", min_importance=0.5)
        assert "Following: Anthropic (organization)" in answer
        assert "Following: SB 53 (law)" in await ask(news, "subscribe", topic="SB 53")
        assert "Subscribed: robotics" in await ask(forum, "subscribe", topic="robotics")
        assert "No alerts in this channel from 22:00 to 07:00 (Europe/Berlin)" in await ask(
            news, "quiet", hours="22:00-07:00", zone="Europe/Berlin")
        assert "No quiet hours" in await ask(forum, "quiet")
        listed = await ask(news, "subscriptions")
        assert "Anthropic" in listed and "SB 53" in listed and "22:00-07:00 (Europe/Berlin)" in listed
        assert "Alerts come in this channel at any time of day again" in await ask(news, "quiet", hours="off")

        claude = item(1, topics=("models",), title=HOSTILE, importance=0.7, story="claude",
                      entities=Entities(models=("Claude Opus 4.1",)))
        await publish(claude, item(2, importance=0.9, title="Humanoid robots ship", story="robots"))
        (posted,) = discord_api.posts(news)
        embed = posted["embeds"][0]
        assert posted["allowed_mentions"] == {"parse": []} and posted["pings"] == []
        assert not MENTION.search(json.dumps(posted["embeds"])) and not MASKED_LINK.search(embed_text(posted))
        assert embed["url"] == "https://news.example.com/1"
        assert embed["author"]["name"] == "Models alert · this channel follows Anthropic"
        assert "Lab Blog · Importance 0.70" in embed["description"]
        alert_id = Alert(channel=f"discord:{news}", topic="models", item=claude).alert_id
        assert discord_api.called("send")[0].body["nonce"] == nonce(alert_id, 0)
        (post,) = discord_api.threads_of(forum)
        assert post["name"] == "Humanoid robots ship" and discord_api.posts(forum) == []
        assert "Robotics alert" in embed_text(discord_api.posts(post["id"])[0])

        # A second source edits both messages in place; nothing is posted again.
        await publish(item(3, topics=("models",), story="claude", source="the-verge", importance=0.75),
                      item(4, story="robots", source="wired"))
        assert len(discord_api.posts(news)) == 1 and len(discord_api.threads_of(forum)) == 1
        assert discord_api.posts(news)[0]["edits"] == 1 and discord_api.posts(post["id"])[0]["edits"] == 1
        assert "2 sources: " in embed_text(discord_api.posts(news)[0])
        assert "2 sources: " in embed_text(discord_api.posts(post["id"])[0])
        assert (await store.delivery("discord", alert_id))["revision"] == "2"

        # Source health reaches the Discord OPS_CHANNEL, once per change.
        spell = NOW - timedelta(hours=1)
        failing = HealthEvent(source_id="lab-blog", status="failing", error="HTTP 503 @everyone",
                              failing_since=spell, at=NOW - timedelta(minutes=2))
        for event in (failing, failing.model_copy(update={"at": NOW - timedelta(minutes=1)})):
            await bus.publish(bus.topics.health, event, key=event.source_id)
        await caught_up(bus, bus.topics.group("discord"), bus.topics.health)
        (health,) = discord_api.posts(ops)
        assert "Source failing: lab-blog" in embed_text(health) and health["pings"] == []
        assert not MENTION.search(json.dumps(health["embeds"]))
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
