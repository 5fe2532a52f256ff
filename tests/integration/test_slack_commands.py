"""`/ai-news` through the real bolt app over HTTP: signed requests in, answers to the response URL out, state in
the real Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from pydantic import SecretStr

from adapters.slack.role import SlackRole
from bot.commands import Commands
from bot.editions import Edition
from bot.models import Briefing, ClassifiedItem, Item, KeyDevelopment
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.slackapi import (
    SIGNING_SECRET,
    SlackAPI,
    all_text,
    ask,
    post,
    role_settings,
    serving,
    sign,
    signed_command,
)

NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)
HOSTILE = "<!channel> Big news <@U123> & @everyone"


def item(n: int, topics: list[str], hours_ago: float, title: str | None = None, summary: str = "") -> ClassifiedItem:
    base = Item(url=f"https://example.com/{n}", title=title or f"Story {n}", source="lab-blog", source_name="Lab blog",
                published=NOW - timedelta(hours=hours_ago), summary=summary or f"Story {n} happened. More text.")
    return ClassifiedItem.from_item(base, topics=topics)


@pytest_asyncio.fixture
async def role(settings: Settings, store: Store, taxonomy: Taxonomy, api: SlackAPI) -> AsyncIterator[SlackRole]:
    async with serving(role_settings(settings, api, command_rate_limit=50), store, taxonomy,
                       clock=lambda: NOW) as running:
        yield running


async def test_requests_with_a_bad_or_old_signature_are_refused(role: SlackRole, api: SlackAPI) -> None:
    body, headers = signed_command("help", response_url=api.response_url(), secret="not-the-secret")
    assert (await post(role, body, headers))[0] == 401
    body, headers = signed_command("help", response_url=api.response_url(), timestamp=int(time.time()) - 301)
    assert (await post(role, body, headers))[0] == 401
    body, headers = signed_command("help", response_url=api.response_url())
    assert (await post(role, body, {"Content-Type": headers["Content-Type"]}))[0] == 401
    tampered = body.replace("text=help", "text=setup+off")
    assert (await post(role, tampered, headers))[0] == 401
    # a correct signature just inside the five minutes is accepted
    body, headers = signed_command("help", response_url=api.response_url(), timestamp=int(time.time()) - 290)
    assert (await post(role, body, headers))[0] == 200
    await api.wait_for(lambda: len(api.answers()) == 1)


async def test_ack_comes_at_once_even_when_the_answer_is_slow(role: SlackRole, api: SlackAPI,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    original = Commands.answer

    async def slow(self: Commands, *args: Any) -> Any:
        await asyncio.sleep(1.5)
        return await original(self, *args)

    monkeypatch.setattr(Commands, "answer", slow)
    body, headers = signed_command("topics", response_url=api.response_url())
    status, elapsed = await post(role, body, headers)
    assert status == 200 and elapsed < 0.5, elapsed
    assert api.answers() == []
    await api.wait_for(lambda: len(api.answers()) == 1, limit=5)
    assert "Topics" in all_text(api.answers()[0])


async def test_the_ack_touches_no_redis(role: SlackRole, api: SlackAPI, store: Store,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = store.redis.execute_command

    async def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        await asyncio.sleep(1.5)
        return await original(*args, **kwargs)

    monkeypatch.setattr(store.redis, "execute_command", slow)
    body, headers = signed_command("topics", response_url=api.response_url())
    status, elapsed = await post(role, body, headers)
    assert status == 200 and elapsed < 0.5, elapsed  # the repeat check and the rate limit come after the ack
    await api.wait_for(lambda: len(api.answers()) == 1, limit=10)
    assert "SET" in calls and "Topics" in all_text(api.answers()[0])


async def test_acknowledged_commands_are_answered_when_the_role_stops(settings: Settings, store: Store,
                                                                      taxonomy: Taxonomy, api: SlackAPI,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    original = Commands.answer

    async def slow(self: Commands, *args: Any) -> Any:
        await asyncio.sleep(0.3)
        return await original(self, *args)

    monkeypatch.setattr(Commands, "answer", slow)
    async with serving(role_settings(settings, api, command_rate_limit=50), store, taxonomy) as running:
        for n in range(5):
            body, headers = signed_command("topics", response_url=api.response_url(), user=f"U0STOP{n}")
            assert (await post(running, body, headers))[0] == 200
    assert len(api.answers()) == 5  # answered before serving() returned


async def test_topic_answer_latest_stories_linked_and_escaped(role: SlackRole, api: SlackAPI, store: Store) -> None:
    for n, hours in enumerate([1, 5, 30, 50, 70, 100, 24 * 8]):
        await store.archive(item(n, ["regulation"], hours))
    await store.archive(item(90, ["regulation"], 0.5, title=HOSTILE, summary=HOSTILE + ". Second sentence."))
    await store.archive(item(91, ["robotics"], 1))
    answer = await ask(role, api, "regulation")
    text = all_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert answer["unfurl_links"] is False and answer["unfurl_media"] is False
    assert "*Regulation: the latest stories*" in text
    assert "<https://example.com/90|&lt;!channel&gt; Big news &lt;@U123&gt; &amp; @everyone>" in text
    assert "<!channel>" not in json.dumps(answer) and "<@U123>" not in json.dumps(answer)
    assert "*<https://example.com/0|Story 0>* · Lab blog · 1h ago\nStory 0 happened." in text
    assert [n for n in range(10) if f"example.com/{n}|" in text] == [0, 1, 2, 3]  # 5 newest: 90, 0, 1, 2, 3
    assert "example.com/91" not in text and "example.com/6|" not in text  # other topic; older than 7 days
    public = await ask(role, api, "regulation 2 public")
    assert public["response_type"] == "in_channel"
    assert all_text(public).count("<https://example.com/") == 2
    assert "No robotics stories" not in all_text(await ask(role, api, "robotics"))
    assert "No safety stories in the last 7 days." in all_text(await ask(role, api, "safety"))


async def test_unknown_topic_and_malformed_commands_get_help(role: SlackRole, api: SlackAPI) -> None:
    text = all_text(await ask(role, api, "regulaton"))
    assert "Did you mean regulation?" in text and "Topics: models, research" in text
    assert "Traceback" not in text
    text = all_text(await ask(role, api, "subscribe robotics 7"))
    assert "is not an importance between 0 and 1" in text
    assert '`/ai-news subscribe &lt;topic or "name"&gt; [min-importance]`' in text
    text = all_text(await ask(role, api, "setup 08:00 Europe/Berln"))
    assert "Did you mean Europe/Berlin?" in text
    help_text = all_text(await ask(role, api, ""))
    for word in ("search", "briefing", "topics", "sources", "subscribe", "unsubscribe", "subscriptions", "setup"):
        assert f"`/ai-news {word}" in help_text


async def test_search_topics_and_sources(role: SlackRole, api: SlackAPI, store: Store) -> None:
    await store.archive(item(1, ["infrastructure"], 2, title="New quantum chips for data centers"))
    await store.archive(item(2, ["models"], 3, title="A model about chips"))
    await store.archive(item(3, ["models"], 4, title="Unrelated release"))
    text = all_text(await ask(role, api, "search quantum chips"))
    assert "New quantum chips for data centers" in text and "A model about chips" not in text
    assert "Nothing in the archive matches" in all_text(await ask(role, api, "search zeppelin"))
    topics = all_text(await ask(role, api, "topics"))
    assert "`regulation` · Regulation" in topics and "`robotics`" in topics
    await store.update_source("policy-news", {"failures": 4, "last_error": "policy-news: HTTP 503 <b>busy</b>",
                                              "failing_since": NOW - timedelta(hours=3)})
    await store.update_source("lab-blog", {"last_success": NOW - timedelta(minutes=20), "polls": 3})
    sources = all_text(await ask(role, api, "sources"))
    assert "1 failing, 1 ok, 1 off" in sources
    assert sources.index("Policy news") < sources.index("Lab blog") < sources.index("Old blog")
    assert "HTTP 503 &lt;b&gt;busy&lt;/b&gt;" in sources and "last success 20m ago" in sources


async def test_briefing_links_to_its_thread(role: SlackRole, api: SlackAPI, store: Store) -> None:
    assert "No briefing yet" in all_text(await ask(role, api, "briefing"))
    briefing = Briefing(channel="slack:C0456", date=date(2026, 4, 30), title="Chips and Laws",
                        executive_summary="A summary.",
                        key_developments=(KeyDevelopment(title="Lead", text="Happened.", url="https://example.com/k"),))
    await store.record_published(briefing)
    text = all_text(await ask(role, api, "briefing"))
    assert "*Chips and Laws*" in text and "A summary." in text and "<https://example.com/k|Lead>" in text
    assert "Open the briefing's thread" not in text  # not posted yet
    await store.record_delivery("slack", briefing.edition_id, {"ts:0": "1777000001.000001", "channel": "slack:C0456"})
    answer = await ask(role, api, "briefing public")
    assert answer["response_type"] == "in_channel"
    assert ("<https://example.slack.com/archives/C0456/p1777000001000001|Open the briefing's thread>"
            in all_text(answer))
    assert "Daily briefing of 2026-04-30 (UTC)" in all_text(answer)


async def test_subscriptions(role: SlackRole, api: SlackAPI, store: Store) -> None:
    assert "gets no topic alerts" in all_text(await ask(role, api, "subscriptions"))
    assert "Subscribed: robotics" in all_text(await ask(role, api, "subscribe robotics 0.7"))
    assert await store.subscriptions("slack:C0456") == {"robotics": 0.7}
    assert "Updated: robotics" in all_text(await ask(role, api, "subscribe robotics 80%"))
    await ask(role, api, "subscribe safety")
    listed = all_text(await ask(role, api, "subscriptions"))
    assert "`robotics`" in listed and "importance 0.8 or more" in listed and "importance 0.6 or more" in listed
    assert "Unsubscribed: robotics" in all_text(await ask(role, api, "unsubscribe robotics"))
    again = all_text(await ask(role, api, "unsubscribe robotcs"))
    assert "not subscribed" in again and "Subscribed: safety" in again
    assert await store.subscriptions("slack:C0456") == {"safety": 0.6}  # ALERT_MIN_IMPORTANCE
    assert await store.subscribed_channels() == ["slack:C0456"]


async def test_setup_of_the_channel_edition(role: SlackRole, api: SlackAPI, store: Store) -> None:
    assert "gets no daily briefing" in all_text(await ask(role, api, "setup"))
    text = all_text(await ask(role, api, "setup 7:30 europe/berlin regulation,safety"))
    assert "Every day at 07:30 Europe/Berlin, about regulation, safety. Next: Fri 01 May 07:30" in text
    edition = await store.edition("slack:C0456")
    assert edition == Edition(channel="slack:C0456", time="07:30", timezone="Europe/Berlin",
                              topics=("regulation", "safety"), origin="chat")
    assert "(set from chat)" in all_text(await ask(role, api, "setup"))
    assert "stopped" in all_text(await ask(role, api, "setup off"))
    assert await store.edition("slack:C0456") is None
    await store.put_edition(Edition(channel="slack:C0999", time="08:00", origin="config"))
    assert "configuration file" in all_text(await ask(role, api, "setup off", channel="C0999"))
    assert await store.edition("slack:C0999") is not None


async def test_rate_limit_per_user(settings: Settings, store: Store, taxonomy: Taxonomy, api: SlackAPI) -> None:
    async with serving(role_settings(settings, api, command_rate_limit=3), store, taxonomy,
                       clock=lambda: NOW) as role:
        for _ in range(3):
            assert "Topics" in all_text(await ask(role, api, "topics"))
        limited = all_text(await ask(role, api, "topics"))
        assert "You can send 3 commands a minute. Try again in 60 s." in limited
        assert "Topics" in all_text(await ask(role, api, "topics", user="U0OTHER"))


async def test_a_failure_while_answering_is_logged_and_apologised(role: SlackRole, api: SlackAPI, store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("archive exploded")

    monkeypatch.setattr(store, "recent", broken)
    with caplog.at_level(logging.ERROR, logger="adapters.slack.app"):
        answer = await ask(role, api, "regulation")
    assert "Something went wrong" in all_text(answer) and "exploded" not in all_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert any("'regulation' failed in channel C0456" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_app_home_lists_the_workspace_channels(role: SlackRole, api: SlackAPI, store: Store) -> None:
    await store.put_edition(Edition(channel="slack:C0456", time="08:00", timezone="Europe/Berlin", origin="chat"))
    await store.put_edition(Edition(channel="discord:123", time="09:00"))
    await store.subscribe("slack:C0777", "robotics", 0.6)
    event = {"token": "legacy", "team_id": "T0001", "api_app_id": "A0APP", "type": "event_callback",
             "event_id": "Ev1", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": "U0789", "channel": "D0001", "tab": "home",
                       "event_ts": "1.2"}}
    body = json.dumps(event)
    status, _ = await post(role, body, {**sign(body), "Content-Type": "application/json"})
    assert status == 200
    await api.wait_for(lambda: len(api.views) == 1)
    view = api.views[0]
    assert view["user_id"] == "U0789" and view["view"]["type"] == "home"
    text = all_text(view["view"])
    assert "<#C0456>: 08:00 Europe/Berlin, all topics (set from chat)" in text
    assert "<#C0777>: robotics (importance 0.6+)" in text and "123" not in text


async def test_health_endpoint(role: SlackRole) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{role.bound_port}/healthz") as response:
        assert response.status == 200 and await response.text() == "ok"


async def test_signing_secret_is_never_logged(settings: Settings, store: Store, taxonomy: Taxonomy, api: SlackAPI,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        async with serving(role_settings(settings, api), store, taxonomy) as role:
            await ask(role, api, "help")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SIGNING_SECRET not in logged and "xoxb-test-token" not in logged
    assert isinstance(role.settings.slack_signing_secret, SecretStr)
