"""`/ai-news` through the real discord.py client: interactions sent by the stand-in's gateway, answers through the
interaction callbacks and webhooks, state in the real Redis. Also the command's registration and the gateway
connection itself."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
import yaml
from pydantic import SecretStr

from adapters.discord.client import intents
from adapters.discord.role import DiscordRole
from bot.editions import Edition
from bot.models import Briefing, ClassifiedItem, Item, KeyDevelopment
from bot.settings import ConfigError, Settings
from bot.store import Store
from bot.taxonomy import Taxonomy, load_taxonomy
from tests.conftest import CONFIG
from tests.discordapi import (
    APPLICATION_ID,
    BOT_TOKEN,
    DiscordAPI,
    Interaction,
    embed_text,
    make_role,
    role_settings,
    serving,
)

NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)
HOSTILE = "@everyone Big news <@123456789012345678> [click](https://evil.example)"
MANAGER = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)
MENTION = re.compile(r"@everyone|@here|<@[!&]?\d|<#\d", re.IGNORECASE)
MASKED_LINK = re.compile(r"(?<!\\)\[click\]\(")  # a feed's [label](url) rendered as a link


def item(n: int, topics: list[str], hours_ago: float, title: str | None = None, summary: str = "") -> ClassifiedItem:
    base = Item(url=f"https://example.com/{n}", title=title or f"Story {n}", source="lab-blog", source_name="Lab blog",
                published=NOW - timedelta(hours=hours_ago), summary=summary or f"Story {n} happened. More text.")
    return ClassifiedItem.from_item(base, topics=topics)


def sub(subcommand: str, **values: Any) -> list[dict[str, Any]]:
    """The options of `/ai-news <subcommand> key:value ...` as Discord sends them."""
    kinds = {bool: 5, int: 4, float: 10, str: 3}
    options = [{"type": kinds[type(v)], "name": k.replace("_", "-"), "value": v} for k, v in values.items()]
    return [{"type": 1, "name": subcommand, "options": options}]


@dataclass(frozen=True)
class Where:
    """A server and its channel, on the stand-in."""

    api: DiscordAPI
    guild: str
    channel: str

    async def ask(self, subcommand: str, *, channel: str | None = None,
                  perms: discord.Permissions = MANAGER, **values: Any) -> Interaction:
        """`/ai-news <subcommand> key:value ...` by a member with `perms`; returns it once answered."""
        interaction = await self.api.interact(self.guild, channel or self.channel, sub(subcommand, **values),
                                              member_permissions=perms)
        return await self.api.answered(interaction)

    async def send(self, options: list[dict[str, Any]], **kwargs: Any) -> Interaction:
        return await self.api.answered(await self.api.interact(self.guild, self.channel, options, **kwargs))

    async def typed(self, name: str, option: str, value: str) -> list[str]:
        """The choices offered while typing `value` into an autocompleting option."""
        interaction = await self.send([{"type": 1, "name": name, "options": [
            {"type": 3, "name": option, "value": value, "focused": True}]}], autocomplete=True)
        assert interaction.callbacks[0]["type"] == 8
        return [c["value"] for c in interaction.choices]


@pytest_asyncio.fixture
async def where(discord_api: DiscordAPI) -> Where:
    guild = discord_api.add_guild()
    return Where(discord_api, guild, discord_api.add_channel(guild, "news"))


@pytest_asyncio.fixture
async def role(settings: Settings, store: Store, taxonomy: Taxonomy, discord_api: DiscordAPI,
               where: Where) -> AsyncIterator[Any]:
    async with serving(role_settings(settings, discord_api, command_rate_limit=50), store, taxonomy,
                       clock=lambda: NOW) as running:
        yield running


def text(interaction: Interaction) -> str:
    return embed_text(interaction.shown)


async def test_the_gateway_connection_and_the_registered_command(role: DiscordRole, where: Where,
                                                                  taxonomy: Taxonomy) -> None:
    api = where.api
    connection = api.gateways[-1]
    assert connection.compress == "zlib-stream"  # discord.py asked for it; the stand-in compressed every frame
    assert connection.identified is not None and connection.identified["token"] == BOT_TOKEN
    assert connection.identified["intents"] == intents().value == 1  # guilds only, nothing privileged
    assert connection.heartbeats >= 1
    assert api.called("gateway_bot")  # the sharded client asked where to connect
    (command,) = api.commands
    names = [o["name"] for o in command["options"]]
    assert names == [*taxonomy.slugs, "search", "briefing", "topics", "sources", "subscribe", "unsubscribe",
                     "subscriptions", "quiet", "setup", "help"]
    assert command["contexts"] == [0]
    assert role.client is not None and role.client.get_guild(int(where.guild)) is not None  # GUILD_CREATE cached


async def test_commands_are_registered_only_when_their_definition_changed(
        settings: Settings, store: Store, taxonomy: Taxonomy, discord_api: DiscordAPI, tmp_path: Path) -> None:
    discord_api.add_guild()
    config = role_settings(settings, discord_api)
    async with serving(config, store, taxonomy) as first:
        assert first.registered is True
    async with serving(config, store, taxonomy) as second:
        assert second.registered is False  # a restart: the fingerprint in Redis matches
    assert len(discord_api.called("register")) == 1
    topics = yaml.safe_load((CONFIG / "topics.yaml").read_text())
    topics["topics"].append({**topics["topics"][0], "slug": "quantum", "title": "Quantum"})
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(topics))
    async with serving(config, store, load_taxonomy(tmp_path / "topics.yaml")) as third:
        assert third.registered is True
    assert len(discord_api.called("register")) == 2
    assert "quantum" in [o["name"] for o in discord_api.commands[0]["options"]]


async def test_too_many_topics_share_one_autocompleting_subcommand(
        settings: Settings, store: Store, discord_api: DiscordAPI, where: Where, tmp_path: Path) -> None:
    topics = yaml.safe_load((CONFIG / "topics.yaml").read_text())
    for n in range(10):
        topics["topics"].append({**topics["topics"][0], "slug": f"extra-{n}", "title": f"Extra {n}"})
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(topics))
    await store.archive(item(1, ["extra-3"], 2, title="An extra story"))
    async with serving(role_settings(settings, discord_api), store, load_taxonomy(tmp_path / "topics.yaml"),
                       clock=lambda: NOW):
        options = discord_api.commands[0]["options"]
        assert len(options) == 11 and options[0]["name"] == "topic"  # validated by the stand-in like Discord
        assert (await where.typed("topic", "name", "extra-"))[:3] == ["extra-0", "extra-1", "extra-2"]
        assert "An extra story" in text(await where.ask("topic", name="extra-3"))
        wrong = text(await where.ask("topic", name="extra-33"))
        assert "There is no topic “extra-33”" in wrong and "Did you mean extra-3?" in wrong
        assert "There is no topic “help”" in text(await where.ask("topic", name="help"))


async def test_topic_answers_are_deferred_ephemeral_and_escaped(role: DiscordRole, where: Where,
                                                                store: Store) -> None:
    for n, hours in enumerate([1, 5, 30, 50, 70, 100, 24 * 8]):
        await store.archive(item(n, ["regulation"], hours))
    await store.archive(item(90, ["regulation"], 0.5, title=HOSTILE, summary=HOSTILE + ". Second sentence."))
    answer = await where.ask("regulation")
    assert answer.deferred and answer.callbacks[0]["data"] == {"flags": 64}  # thinking, only for the asker
    assert answer.first_answer_at is not None and answer.first_answer_at - answer.sent_at < 1.0
    assert answer.ephemeral and answer.shown is not None
    shown = text(answer)
    assert "Regulation: the latest stories" in shown
    assert [n for n in range(10) if f"example.com/{n})" in shown] == [0, 1, 2, 3]  # 5 newest: 90, 0, 1, 2, 3
    assert "**[Story 0](https://example.com/0)** · Lab blog · 1h ago\nStory 0 happened." in shown
    assert not MENTION.search(shown) and not MASKED_LINK.search(shown)
    assert answer.shown["allowed_mentions"] == {"parse": []}
    public = await where.ask("regulation", count=2, public=True)
    assert public.callbacks[0] == {"type": 5} and not public.ephemeral  # deferred in the channel
    assert text(public).count("](https://example.com/") == 2
    assert "No safety stories in the last 7 days." in text(await where.ask("safety"))


async def test_help_and_malformed_input_are_answered_at_once(role: DiscordRole, where: Where) -> None:
    help_answer = await where.ask("help")
    assert help_answer.callbacks[0]["type"] == 4 and help_answer.ephemeral  # no defer needed
    for word in ("search", "briefing", "topics", "sources", "subscribe", "unsubscribe", "subscriptions", "setup"):
        assert f"`/ai-news {word}" in text(help_answer)
    bad = await where.ask("setup", time="25:00", zone="Europe/Berlin")
    assert bad.callbacks[0]["type"] == 4 and "not a time of day as HH:MM" in text(bad)
    assert "Did you mean Europe/Berlin?" in text(await where.ask("setup", time="08:00", zone="Europe/Berln"))
    assert "Give the local time and the time zone" in text(await where.ask("setup", time="08:00"))
    unknown = text(await where.ask("subscribe", topic="regulaton"))
    assert "Did you mean regulation?" in unknown and "Topics: models, research" in unknown
    assert "I don't know “retired-topic”" in text(await where.ask("retired-topic"))
    malformed = await where.send([{"type": 3, "name": "words", "value": "x"}])
    assert "/ai-news: AI news by topic" in text(malformed)
    assert "Traceback" not in json.dumps([i.callbacks for i in where.api.interactions.values()])


async def test_search_topics_and_sources(role: DiscordRole, where: Where, store: Store) -> None:
    await store.archive(item(1, ["infrastructure"], 2, title="New quantum chips for data centers"))
    await store.archive(item(2, ["models"], 3, title="A model about chips"))
    shown = text(await where.ask("search", words="quantum chips"))
    assert "New quantum chips for data centers" in shown and "A model about chips" not in shown
    assert "Nothing in the archive matches" in text(await where.ask("search", words="zeppelin"))
    assert "`regulation` · Regulation" in text(await where.ask("topics", public=True))
    await store.update_source("policy-news", {"failures": 4, "last_error": "policy-news: HTTP 503 <b>busy</b>",
                                              "failing_since": NOW - timedelta(hours=3)})
    sources = text(await where.ask("sources"))
    assert "1 failing, 1 new" in sources and sources.index("Policy news") < sources.index("Lab blog")


async def test_briefing_links_to_its_thread(role: DiscordRole, where: Where, store: Store) -> None:
    assert "No briefing yet" in text(await where.ask("briefing"))
    briefing = Briefing(channel=f"discord:{where.channel}", date=date(2026, 4, 30), title="Chips and Laws",
                        executive_summary="A summary.", outlook=("Watch this.",),
                        key_developments=(KeyDevelopment(title="Lead", text="Happened.", url="https://example.com/k"),))
    await store.record_published(briefing)
    assert role.delivery is not None
    await role.delivery.deliver(briefing)
    thread = where.api.threads_of(where.channel)[0]["id"]
    answer = await where.ask("briefing", public=True)
    shown = text(answer)
    assert not answer.ephemeral and "Chips and Laws" in shown and "[Lead](https://example.com/k)" in shown
    assert f"[Open the briefing's thread](https://discord.com/channels/{where.guild}/{thread})" in shown
    assert "Chips and Laws" in text(await where.ask("briefing", channel=thread))  # in the thread: its channel's


async def test_subscriptions_need_manage_channels(role: DiscordRole, where: Where, store: Store) -> None:
    channel = f"discord:{where.channel}"
    member = discord.Permissions(view_channel=True, send_messages=True)
    refused = await where.ask("subscribe", topic="robotics", perms=member)
    assert "Manage Channels" in text(refused) and refused.callbacks[0]["type"] == 4 and refused.ephemeral
    assert await store.subscriptions(channel) == {}
    assert "gets no topic alerts" in text(await where.ask("subscriptions", perms=member))
    assert "Subscribed: robotics" in text(await where.ask("subscribe", topic="robotics", min_importance=0.7))
    assert await store.subscriptions(channel) == {"robotics": 0.7}
    assert "Updated: robotics" in text(await where.ask("subscribe", topic="robotics", min_importance=0.8))
    await where.ask("subscribe", topic="safety")
    listed = text(await where.ask("subscriptions"))
    assert "importance 0.8 or more" in listed and "importance 0.6 or more" in listed  # ALERT_MIN_IMPORTANCE
    assert await where.typed("unsubscribe", "topic", "") == ["robotics", "safety"]  # this channel's
    assert "Unsubscribed: robotics" in text(await where.ask("unsubscribe", topic="robotics"))
    assert "not subscribed" in text(await where.ask("unsubscribe", topic="robotcs"))
    assert await store.subscriptions(channel) == {"safety": 0.6}


async def test_setup_of_the_channel_edition(role: DiscordRole, where: Where, store: Store) -> None:
    channel = f"discord:{where.channel}"
    assert "gets no daily briefing" in text(await where.ask("setup", perms=discord.Permissions.none()))
    shown = text(await where.ask("setup", time="7:30", zone="europe/berlin", topics="regulation, safety"))
    assert "Every day at 07:30 Europe/Berlin, about regulation, safety. Next: Fri 01 May 07:30" in shown
    assert await store.edition(channel) == Edition(channel=channel, time="07:30", timezone="Europe/Berlin",
                                                   topics=("regulation", "safety"), origin="chat")
    refused = await where.ask("setup", time="off", perms=discord.Permissions(view_channel=True))
    assert "Manage Channels" in text(refused) and await store.edition(channel) is not None
    assert "stopped" in text(await where.ask("setup", time="off"))
    assert await store.edition(channel) is None


async def test_a_channel_named_with_its_server_in_channels_yaml(role: DiscordRole, where: Where,
                                                                store: Store) -> None:
    await store.put_edition(Edition(channel=f"discord:{where.guild}:{where.channel}", time="09:00", origin="config"))
    assert "set in the configuration file" in text(await where.ask("setup"))
    assert "configuration file (channels.yaml)" in text(await where.ask("setup", time="off"))


async def test_autocomplete_of_zones_and_topics(role: DiscordRole, where: Where) -> None:
    assert (await where.typed("setup", "zone", "berl"))[0] == "Europe/Berlin"
    assert (await where.typed("setup", "zone", "new york"))[0] == "America/New_York"
    assert "UTC" in await where.typed("setup", "zone", "")
    assert await where.typed("subscribe", "topic", "rob") == ["robotics", "Agility Robotics"]  # topics first
    assert (await where.typed("subscribe", "topic", "anthr"))[0] == "Anthropic"  # and what one can follow
    assert await where.typed("setup", "topics", "regulation, saf") == ["regulation, safety"]
    assert len(await where.typed("subscribe", "topic", "")) == 9


async def test_rate_limit_per_user_is_only_for_the_asker(settings: Settings, store: Store, taxonomy: Taxonomy,
                                                         discord_api: DiscordAPI, where: Where) -> None:
    async with serving(role_settings(settings, discord_api, command_rate_limit=2), store, taxonomy,
                       clock=lambda: NOW):
        for _ in range(2):
            await where.ask("topics")
        limited = await where.ask("topics", public=True)
        assert "You can send 2 commands a minute. Try again in 60 s." in text(limited)
        assert limited.original_deleted and limited.ephemeral  # the public "thinking" message gave way
        other = await where.send(sub("topics"), user_id=77)
        assert "Topics" in text(other)


async def test_a_failing_answer_is_apologised_and_the_bot_goes_on(role: DiscordRole, where: Where, store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("archive exploded")

    monkeypatch.setattr(store, "recent", broken)
    with caplog.at_level(logging.ERROR, logger="adapters.discord.interactions"):
        answer = await where.ask("regulation", public=True)
    assert "Something went wrong" in text(answer) and "exploded" not in text(answer) and answer.ephemeral
    assert any("/ai-news regulation failed in channel" in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    assert "Topics" in text(await where.ask("topics"))


async def test_two_servers_at_once(role: DiscordRole, where: Where, store: Store) -> None:
    other_guild = where.api.add_guild("Second server")
    other = Where(where.api, other_guild, where.api.add_channel(other_guild, "ai"))
    first, second = await asyncio.gather(where.ask("setup", time="08:00", zone="Europe/Berlin"),
                                         other.ask("setup", time="09:30", zone="America/New_York"))
    assert "Europe/Berlin" in text(first) and "America/New\\_York" in text(second)  # shown as New_York
    editions = {e.channel: e.timezone for e in await store.editions()}
    assert editions == {f"discord:{where.channel}": "Europe/Berlin", f"discord:{other.channel}": "America/New_York"}


async def test_settings_and_tokens_are_checked(settings: Settings, store: Store, taxonomy: Taxonomy,
                                               discord_api: DiscordAPI, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"needs DISCORD_BOT_TOKEN .* and DISCORD_APPLICATION_ID"):
        make_role(settings, store, taxonomy)
    with pytest.raises(ConfigError, match="without the 'Bot ' prefix"):
        make_role(role_settings(settings, discord_api, discord_bot_token=SecretStr("Bot " + BOT_TOKEN)), store,
                  taxonomy)
    refused = role_settings(settings, discord_api, discord_bot_token=SecretStr("MTIz.wrong.token"))
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN was refused by Discord \\(401 Unauthorized\\)"):
        async with serving(refused, store, taxonomy):
            pass
    other_app = role_settings(settings, discord_api, discord_application_id="999999999999999999")
    with pytest.raises(ConfigError, match=f"belongs to application {APPLICATION_ID}"):
        async with serving(other_app, store, taxonomy):
            pass
    discord_api.add_guild()
    with caplog.at_level(logging.DEBUG):
        async with serving(role_settings(settings, discord_api), store, taxonomy) as running:
            assert isinstance(running.settings.discord_bot_token, SecretStr)
    assert BOT_TOKEN not in "\n".join(r.getMessage() for r in caplog.records)
