"""The Discord adapter's pure rules: channel names, nonces, matching a message, the invite, what errors mean."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import discord
import pytest

from adapters.discord.channels import DiscordChannel, parse_channel
from adapters.discord.client import PERMISSIONS, NotRepeated, invite_url
from adapters.discord.delivery import discord_failure, fingerprint, nonce
from bot.bus import PermanentError, TransientError


def test_channel_names() -> None:
    assert parse_channel("discord:112233445566778899") == DiscordChannel(112233445566778899)
    assert parse_channel("discord:1:112233445566778899") == DiscordChannel(112233445566778899, 1)
    assert DiscordChannel(5, 7).name == "discord:7:5" and DiscordChannel(5).name == "discord:5"


@pytest.mark.parametrize("name", ["slack:C0456", "discord:", "discord:general", "discord:1:2:3", "discord:-5",
                                  "discord:0", f"discord:{2**64}", "112233445566778899"])
def test_bad_channel_names_say_what_is_expected(name: str) -> None:
    with pytest.raises(ValueError, match="expected discord:<channel id>"):
        parse_channel(name)


def test_nonces_are_stable_distinct_and_within_discords_limit() -> None:
    assert nonce("e1", 0) == nonce("e1", 0)
    assert len({nonce("e1", 0), nonce("e1", 1), nonce("e2", 0)}) == 3
    assert len(nonce("e1", 0)) == 25


def test_fingerprint_matches_what_discord_gives_back() -> None:
    sent = [{"title": "T", "description": "D", "color": 1, "fields": [{"name": "n", "value": "v", "inline": False}]}]
    back = [{"type": "rich", "title": "T", "description": "D", "fields": [{"name": "n", "value": "v"}]}]
    assert fingerprint(sent) == fingerprint(back)
    assert fingerprint(sent) != fingerprint([{**back[0], "description": "other"}])


def test_the_invite_asks_for_exactly_what_the_bot_uses() -> None:
    url = urlsplit(invite_url("223456789012345678"))
    query = parse_qs(url.query)
    assert url.netloc == "discord.com" and query["client_id"] == ["223456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == PERMISSIONS
    wanted = ("view_channel", "send_messages", "send_messages_in_threads", "create_public_threads", "embed_links",
              "read_message_history")
    assert all(getattr(granted, name) for name in wanted) and bin(granted.value).count("1") == len(wanted)


def _http_error(status: int, code: int, message: str) -> discord.HTTPException:
    response: Any = SimpleNamespace(status=status, reason="Reason")
    kind = discord.Forbidden if status == 403 else discord.NotFound if status == 404 else discord.HTTPException
    return kind(response, {"code": code, "message": message})


@pytest.mark.parametrize(("status", "code", "message", "step", "expected"), [
    (403, 50013, "Missing Permissions", "thread", "Missing Permissions (50013); give the bot Create Public Threads "
                                                  "in #news"),
    (403, 50013, "Missing Permissions", "reply", "give the bot Send Messages In Threads and Embed Links in #news"),
    (403, 50001, "Missing Access", "post", "Missing Access (50001); the bot cannot see #news: give it View Channel"),
    (404, 10003, "Unknown Channel", "look", "Unknown Channel (10003); check the channel id"),
    (401, 0, "401: Unauthorized", "post", "DISCORD_BOT_TOKEN was refused"),
    (400, 50035, "Invalid Form Body", "post", "Invalid Form Body (50035)"),
])
def test_refusals_are_permanent_with_the_fix(status: int, code: int, message: str, step: Any, expected: str) -> None:
    failure = discord_failure(_http_error(status, code, message), "posting", where="#news", step=step)
    assert isinstance(failure, PermanentError) and expected in str(failure)


def test_the_missing_permission_is_named_when_known() -> None:
    known = discord.Permissions(send_messages_in_threads=True, embed_links=False)
    failure = discord_failure(_http_error(403, 50013, "Missing Permissions"), "posting", where="#news", step="reply",
                              permissions=known)
    assert "give the bot Embed Links in #news" in str(failure)


@pytest.mark.parametrize("error", [
    _http_error(500, 0, "Internal"), _http_error(429, 0, "Too many"), discord.RateLimited(120.0), NotRepeated(502),
    aiohttp.ServerDisconnectedError(), TimeoutError()], ids=["500", "429", "rate-limited", "not-repeated",
                                                             "disconnected", "timeout"])
def test_what_retrying_can_fix_is_transient(error: Exception) -> None:
    assert isinstance(discord_failure(error, "posting", where="#news", step="post"), TransientError)
