"""Briefings to Discord through the real discord.py client against the stand-in Discord, with the ledger in the real
Redis: thread and forum shapes, limits, hostile text, crashes between messages, redelivery, rate limits, server
errors, permissions and dead-lettering, and (through Kafka) the role itself with two servers at once."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import discord
import pytest
import pytest_asyncio

from adapters.discord.delivery import BriefingDelivery, nonce
from adapters.discord.render import render_briefing
from bot.bus import Bus, PermanentError, TransientError
from bot.delivery import Pacer
from bot.models import Briefing, DeadLetter, KeyDevelopment, Section, SourceLink, Story, Table
from bot.settings import ConfigError, Settings
from bot.store import TTL, Store
from bot.taxonomy import Taxonomy
from tests.discordapi import BOT_ID, DiscordAPI, embed_problems, embed_text, make_role, role_settings, serving
from tests.integration.conftest import eventually, group_lag

HOSTILE = "@everyone @here <@123456789012345678> <@&223456789012345678> <#323456789012345678>"
# What a Discord client would show as a mention (or, in content, notify): none may reach a message.
MENTION = re.compile(r"@everyone|@here|<@[!&]?\d|<#\d|</", re.IGNORECASE)
MASKED_LINK = re.compile(r"(?<!\\)\[click\]\(")


def briefing(channel: str, sections: int = 3, title: str = "Chips, Robots and Laws") -> Briefing:
    link = SourceLink(title=f"{HOSTILE} Lab & co [click](https://evil.example/x)", url="https://example.com/a",
                      source="Lab")
    return Briefing(
        channel=channel, date=date(2026, 4, 30), timezone="Europe/Berlin", title=f"{title} @everyone",
        executive_summary=f"{HOSTILE} A busy day. Two labs shipped models.",
        key_developments=(KeyDevelopment(title=f"<@123456789012345678> Lead {HOSTILE}", text="It happened.",
                                         url="https://example.com/k"),),
        sections=tuple(Section(topic=f"t{n}", heading=f"Section {n}",
                               stories=(Story(title=f"Story {n} {HOSTILE}", summary=f"Summary {n}. {HOSTILE}",
                                              why_it_matters=(f"It matters {HOSTILE}.",), sources=(link,)),))
                       for n in range(sections)),
        outlook=(f"Watch this {HOSTILE}.",), sources=(link,))


def huge_briefing(channel: str) -> Briefing:
    long_sentence = " ".join(f"word{n}" for n in range(60)) + "."
    stories = tuple(Story(title=f"Story {n} " + "t" * 300, summary=" ".join([long_sentence] * 40),
                          why_it_matters=tuple(long_sentence * 3 for _ in range(3)),
                          sources=tuple(SourceLink(title=f"Source {k}", url=f"https://example.com/{n}/{k}",
                                                   source=f"Outlet {k}") for k in range(12)))
                    for n in range(12))
    table = Table(columns=("Model", "Maker", "What is new"),
                  rows=tuple((f"Model {n}", "Lab", long_sentence * 2) for n in range(40)))
    return Briefing(channel=channel, date=date(2026, 4, 30), title="Everything at once " + "x" * 400,
                    executive_summary=" ".join([long_sentence] * 80),
                    key_developments=tuple(KeyDevelopment(title=f"Lead {n} " + "y" * 300, text=long_sentence * 5,
                                                          url=f"https://example.com/k{n}") for n in range(10)),
                    sections=(Section(topic="models", heading="Models", stories=stories, table=table),),
                    outlook=tuple(long_sentence * 4 for _ in range(5)),
                    sources=tuple(s for story in stories for s in story.sources))


@pytest_asyncio.fixture
async def role(settings: Settings, store: Store, taxonomy: Taxonomy, discord_api: DiscordAPI) -> AsyncIterator[Any]:
    async with serving(role_settings(settings, discord_api), store, taxonomy) as running:
        yield running


def server(api: DiscordAPI, kind: discord.ChannelType = discord.ChannelType.text, name: str = "news",
           guild_name: str = "AI team") -> tuple[str, str]:
    guild_id = api.add_guild(guild_name)
    return guild_id, api.add_channel(guild_id, name, kind)


def delivery(role: Any, store: Store, owner: str) -> BriefingDelivery:
    """Another process's delivery (same Redis, same Discord)."""
    return BriefingDelivery(role.client, store, Pacer(0), owner=owner)


def assert_thread(api: DiscordAPI, channel: str, b: Briefing) -> list[dict[str, Any]]:
    """The channel has the root message once, the thread started from it has every other part once, in order."""
    rendered = render_briefing(b)
    roots = [m for m in api.posts(channel) if m["embeds"] == list(rendered.root.payload()["embeds"])
             or embed_text(m) == embed_text(rendered.root.payload())]
    assert len(roots) == 1, [embed_text(m)[:60] for m in api.posts(channel)]
    threads = api.threads_of(channel)
    assert [t["id"] for t in threads] == [roots[0]["id"]]  # one thread, started from the root
    assert threads[0]["name"] == rendered.thread_name
    replies = api.posts(threads[0]["id"])
    assert [embed_text(m) for m in replies] == [embed_text(m.payload()) for m in rendered.thread]
    return [roots[0], *replies]


def assert_harmless(messages: list[dict[str, Any]], api: DiscordAPI) -> None:
    for message in messages:
        assert message["allowed_mentions"] == {"parse": []}
        assert message["pings"] == []
        assert not MENTION.search(json.dumps(message["embeds"])), embed_text(message)
        assert not MASKED_LINK.search(embed_text(message))  # a feed's [label](url) never becomes a link
    assert not any(MENTION.search(t["name"]) for t in api.channels.values() if t["type"] in (10, 11, 12))


async def test_text_channel_gets_the_root_then_a_thread(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    guild, channel = server(discord_api)
    b = briefing(f"discord:{channel}")
    result = await role.delivery.deliver(b)
    parts = len(render_briefing(b).messages)
    assert (result.parts, result.posted, result.recovered, result.already_done) == (parts, parts, 0, False)
    messages = assert_thread(discord_api, channel, b)
    assert_harmless(messages, discord_api)
    root = messages[0]
    assert root["embeds"][0]["title"].startswith("Chips, Robots and Laws")
    assert "Key developments" in root["embeds"][0]["description"]
    sends = discord_api.called("send")
    assert [c.body["nonce"] for c in sends] == [nonce(b.edition_id, n) for n in range(parts)]
    assert all(c.body["enforce_nonce"] is True for c in sends)
    ledger = await store.delivery("discord", b.edition_id)
    assert ledger["done"] and ledger["id:0"] == root["id"] and ledger["thread"] == root["id"]
    assert ledger["guild"] == guild and ledger["channel"] == f"discord:{channel}"
    assert not [k for k in ledger if k.startswith("pending:")]
    ttl = await store.redis.ttl(store.keys.delivery("discord", b.edition_id))
    assert TTL.DELIVERY - 10 < ttl <= TTL.DELIVERY
    assert await role.delivery.thread_url(b.edition_id) == f"https://discord.com/channels/{guild}/{root['id']}"


async def test_announcement_channel_gets_an_announcement_thread(role: Any, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api, discord.ChannelType.news, "announcements")
    b = briefing(f"discord:{channel}", sections=1)
    await role.delivery.deliver(b)
    assert_thread(discord_api, channel, b)
    assert discord_api.threads_of(channel)[0]["type"] == discord.ChannelType.news_thread.value


async def test_forum_channel_gets_one_post_per_edition(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    guild, forum = server(discord_api, discord.ChannelType.forum, "ai-briefings")
    b = briefing(f"discord:{guild}:{forum}")  # the server may be named too
    await role.delivery.deliver(b)
    rendered = render_briefing(b)
    posts = discord_api.threads_of(forum)
    assert len(posts) == 1 and posts[0]["name"] == rendered.thread_name
    messages = discord_api.posts(posts[0]["id"])
    assert messages[0]["id"] == posts[0]["id"]  # the starter message is the root
    assert [embed_text(m) for m in messages] == [embed_text(m.payload()) for m in rendered.messages]
    assert_harmless(messages, discord_api)
    assert discord_api.posts(forum) == []
    ledger = await store.delivery("discord", b.edition_id)
    assert ledger["thread"] == ledger["id:0"] == posts[0]["id"]
    assert await role.delivery.thread_url(b.edition_id) == f"https://discord.com/channels/{guild}/{posts[0]['id']}"
    tomorrow = b.model_copy(update={"date": date(2026, 5, 1)})
    await role.delivery.deliver(tomorrow)
    assert len(discord_api.threads_of(forum)) == 2


async def test_a_huge_briefing_stays_within_every_limit(role: Any, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = huge_briefing(f"discord:{channel}")
    await role.delivery.deliver(b)  # the stand-in refuses any message over Discord's limits (50035)
    messages = assert_thread(discord_api, channel, b)
    assert len(messages) > 10
    assert all(embed_problems(m) == [] for m in messages)
    assert len(discord_api.threads_of(channel)[0]["name"]) <= 100


async def test_redelivery_posts_nothing(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}")
    await role.delivery.deliver(b)
    calls = len(discord_api.calls)
    again = await delivery(role, store, "another-process").deliver(b)
    assert again.already_done and len(discord_api.calls) == calls  # not even a lookup


@pytest.mark.parametrize("stored", [True, False], ids=["posted-then-killed", "killed-before-discord-stored"])
async def test_kill_between_two_messages_no_duplicate_no_gap(role: Any, store: Store, discord_api: DiscordAPI,
                                                             stored: bool) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}", sections=4)
    third = nonce(b.edition_id, 3)
    discord_api.fault("send", hang=True, store_first=stored, when=lambda body: body["nonce"] == third)
    first = asyncio.create_task(delivery(role, store, "process-1").deliver(b))
    await asyncio.wait_for(discord_api.hung.wait(), 10)
    first.cancel()  # the process dies while Discord holds the call
    with pytest.raises(asyncio.CancelledError):
        await first
    ledger = await store.delivery("discord", b.edition_id)
    assert {"id:0", "id:1", "id:2", "pending:3", "thread"} <= set(ledger) and "done" not in ledger
    resumed = await delivery(role, store, "process-2").deliver(b)
    assert resumed.recovered == (1 if stored else 0)
    assert resumed.posted == len(render_briefing(b).messages) - 3 - resumed.recovered
    assert_thread(discord_api, channel, b)  # completed in the same thread, nothing twice, nothing missing


async def test_kill_after_the_thread_was_started_reuses_it(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}", sections=1)
    discord_api.fault("thread", hang=True, store_first=True)
    first = asyncio.create_task(delivery(role, store, "process-1").deliver(b))
    await asyncio.wait_for(discord_api.hung.wait(), 10)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert "thread" not in await store.delivery("discord", b.edition_id)
    await delivery(role, store, "process-2").deliver(b)
    assert_thread(discord_api, channel, b)  # Discord said the thread exists (160004): its id is the root's


async def test_a_root_sent_twice_within_the_nonce_window_is_one_message(role: Any, store: Store,
                                                                         discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}", sections=0)
    discord_api.fault("send", status=500, store_first=True)  # stored, but the answer is a server error
    await role.delivery.deliver(b)  # discord.py repeats the call; the nonce makes Discord return the same message
    assert len(discord_api.called("send")) == len(render_briefing(b).messages) + 1
    assert_thread(discord_api, channel, b)


async def test_a_forum_post_is_never_repeated_blindly(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    _, forum = server(discord_api, discord.ChannelType.forum, "ai-briefings")
    b = briefing(f"discord:{forum}", sections=1)
    discord_api.fault("forum_post", status=502, store_first=True)  # Discord made the post, then failed
    with pytest.raises(TransientError, match="Discord answered 502"):
        await role.delivery.deliver(b)
    assert len(discord_api.called("forum_post")) == 1  # discord.py did not repeat it
    result = await delivery(role, store, "process-2").deliver(b)
    assert result.recovered == 1  # found among the forum's posts, by name, author and starter message
    assert len(discord_api.called("forum_post")) == 1
    posts = discord_api.threads_of(forum)
    assert len(posts) == 1
    assert len(discord_api.posts(posts[0]["id"])) == len(render_briefing(b).messages)


async def test_rate_limits_wait_retry_after(role: Any, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}", sections=1)
    discord_api.fault("send", status=429, retry_after=0.4)
    discord_api.fault("thread", status=429, retry_after=0.3, global_limit=True)
    await role.delivery.deliver(b)
    sends, starts = discord_api.called("send"), discord_api.called("thread")
    assert sends[1].at - sends[0].at >= 0.4 and starts[1].at - starts[0].at >= 0.3
    assert_thread(discord_api, channel, b)


async def test_missing_permissions_in_the_cache_stop_before_posting(settings: Settings, store: Store,
                                                                    taxonomy: Taxonomy,
                                                                    discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    discord_api.deny(channel, "create_public_threads", "embed_links")
    async with serving(role_settings(settings, discord_api), store, taxonomy) as running:
        with pytest.raises(PermanentError, match="give the bot Embed Links and Create Public Threads in #news"):
            await running.delivery.deliver(briefing(f"discord:{channel}"))
    assert discord_api.called("send") == []


@pytest.mark.parametrize(("denied", "fix"), [
    (("create_public_threads",), "Missing Permissions \\(50013\\); give the bot Create Public Threads in #news"),
    (("view_channel",), "Missing Access \\(50001\\); the bot cannot see discord:\\d+: give it View Channel"),
], ids=["50013", "50001"])
async def test_permission_errors_are_permanent_with_the_fix(role: Any, store: Store, discord_api: DiscordAPI,
                                                            denied: tuple[str, ...], fix: str) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}")
    if denied == ("view_channel",):
        discord_api.deny(channel, *denied)  # taken away after the bot saw the channel: Discord refuses the post
    else:
        discord_api.fault("thread", status=403, code=50013, message="Missing Permissions")
    with pytest.raises(PermanentError, match=fix):
        await role.delivery.deliver(b)


async def test_channels_ai_news_cannot_post_to(role: Any, discord_api: DiscordAPI) -> None:
    guild, voice = server(discord_api, discord.ChannelType.voice, "lounge")
    with pytest.raises(PermanentError,
                       match="ai-news posts briefings and alerts to text, announcement and forum channels"):
        await role.delivery.deliver(briefing(f"discord:{voice}"))
    with pytest.raises(PermanentError, match="Unknown Channel \\(10003\\); check the channel id"):
        await role.delivery.deliver(briefing("discord:123456789012345678"))
    _, other = server(discord_api)
    with pytest.raises(PermanentError, match=f"is in server .*, not {guild}"):
        await role.delivery.deliver(briefing(f"discord:{guild}:{other}"))
    with pytest.raises(PermanentError, match="not a Discord channel"):
        await role.delivery.deliver(briefing("discord:general"))
    assert discord_api.called("send") == []


async def test_unreachable_discord_is_transient(role: Any, store: Store, discord_api: DiscordAPI) -> None:
    _, channel = server(discord_api)
    b = briefing(f"discord:{channel}", sections=0)
    discord_api.fault("send", status=503)  # discord.py does not repeat a 503: it raises
    with pytest.raises(TransientError, match="Discord answered 503"):
        await role.delivery.deliver(b)
    assert "pending:0" in await store.delivery("discord", b.edition_id)
    result = await role.delivery.deliver(b)
    assert result.recovered == 0 and result.posted == len(render_briefing(b).messages)
    assert_thread(discord_api, channel, b)


async def test_the_role_delivers_from_kafka_to_two_servers_and_dead_letters_with_the_fix(
        settings: Settings, store: Store, taxonomy: Taxonomy, bus: Bus, discord_api: DiscordAPI) -> None:
    _, text = server(discord_api, name="news")
    _, forum = server(discord_api, discord.ChannelType.forum, "briefings", guild_name="Second server")
    _, refusing = server(discord_api, name="locked", guild_name="Third server")
    discord_api.deny(refusing, "create_public_threads")
    to_text, to_forum = briefing(f"discord:{text}"), briefing(f"discord:{forum}", sections=2)
    to_refusing = briefing(f"discord:{refusing}", sections=1)
    for message in (briefing("slack:C0456"), to_refusing, to_text, to_forum, to_text):  # the last: a redelivery
        await bus.publish(bus.topics.briefings, message)
    stop = asyncio.Event()
    running = make_role(role_settings(settings, discord_api), store, taxonomy, bus=bus)
    task = asyncio.create_task(running.run(stop))
    try:
        await asyncio.wait_for(running.ready.wait(), 10)
        await eventually(lambda: len(discord_api.threads_of(forum)) == 1 and len(discord_api.threads_of(text)) == 1
                         and len(discord_api.posts(discord_api.threads_of(text)[0]["id"]))
                         == len(render_briefing(to_text).thread), what="both deliveries")
        group = bus.topics.group("discord")
        deadline = time.monotonic() + 20
        while await group_lag(bus.bootstrap_servers, group, (bus.topics.briefings,)):
            assert time.monotonic() < deadline, "offsets not committed"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert not running.ready.is_set()
    assert_thread(discord_api, text, to_text)
    assert len(discord_api.posts(discord_api.threads_of(forum)[0]["id"])) == len(render_briefing(to_forum).messages)
    raw = await bus.find(bus.topics.dlq, {}, lambda value: to_refusing.edition_id in value.decode())
    assert raw is not None
    letter = DeadLetter.model_validate_json(raw)
    assert letter.group == group and letter.error_type == "PermanentError"
    assert "give the bot Create Public Threads in #locked" in letter.error
    assert not any(c.body and "C0456" in json.dumps(c.body) for c in discord_api.calls)
    assert all(m["author"]["id"] == BOT_ID for ch in discord_api.messages.values() for m in ch)


async def test_a_revoked_token_stops_the_role_saying_so(settings: Settings, store: Store, taxonomy: Taxonomy,
                                                         bus: Bus, discord_api: DiscordAPI) -> None:
    server(discord_api)
    stop = asyncio.Event()
    running = make_role(role_settings(settings, discord_api), store, taxonomy, bus=bus)
    task = asyncio.create_task(running.run(stop))
    await asyncio.wait_for(running.ready.wait(), 10)
    await discord_api.revoke()
    with pytest.raises(ConfigError, match="gateway refused DISCORD_BOT_TOKEN \\(4004 Authentication failed\\)"):
        await asyncio.wait_for(task, 20)
    assert not stop.is_set()  # the role stopped by itself; the other roles of the process are stopped by run_roles


async def test_a_discord_out_of_reach_at_start_is_tried_again_and_a_stop_is_not_held_up(
        settings: Settings, store: Store, taxonomy: Taxonomy, bus: Bus, discord_api: DiscordAPI,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import adapters.discord.role as role_module

    monkeypatch.setattr(role_module, "RETRY_FIRST", 0.05)
    server(discord_api)
    discord_api.fault("me", status=503, times=2)
    stop = asyncio.Event()
    running = make_role(role_settings(settings, discord_api), store, taxonomy, bus=bus)
    task = asyncio.create_task(running.run(stop))
    await asyncio.wait_for(running.ready.wait(), 10)  # the third login succeeds: the role serves
    tries = [r.getMessage() for r in caplog.records if "trying again in" in r.getMessage()]
    assert len(tries) == 2 and all("Discord is not answering" in t and "(503)" in t for t in tries), tries
    assert len(discord_api.called("me")) == 3
    stop.set()
    await asyncio.wait_for(task, 10)

    # Nothing listens: the role waits 30 s before trying again, and a stop ends it at once without an error.
    monkeypatch.setattr(role_module, "RETRY_FIRST", 30.0)
    unreachable = role_settings(settings, discord_api, discord_api_base_url="http://127.0.0.1:9/api/v10")
    stop = asyncio.Event()
    task = asyncio.create_task(make_role(unreachable, store, taxonomy, bus=bus).run(stop))
    await eventually(lambda: any("cannot reach Discord" in r.getMessage() for r in caplog.records))
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 2  # stopping does not wait for the next attempt
