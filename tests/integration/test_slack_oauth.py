"""Several workspaces: the OAuth install flow through the real bolt app, installations and states in Redis, and
commands and deliveries that use each workspace's own token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from pydantic import SecretStr
from redis.asyncio import Redis

from adapters.slack.oauth import RedisInstallationStore, RedisOAuthStateStore
from adapters.slack.role import SlackRole
from adapters.slack.workspaces import UnknownWorkspace
from bot.models import Briefing
from bot.settings import Settings
from bot.store import TTL, Store
from bot.taxonomy import Taxonomy
from tests.slackapi import SlackAPI, all_text, ask, post, role_settings, serving, signed_command

INSTALLED_TOKEN = "xoxb-T0002-installed"


@pytest_asyncio.fixture
async def role(settings: Settings, store: Store, taxonomy: Taxonomy, api: SlackAPI) -> AsyncIterator[SlackRole]:
    oauth = role_settings(settings, api, slack_bot_token=None, slack_client_id="111.222",
                          slack_client_secret=SecretStr("client-secret"))
    async with serving(oauth, store, taxonomy) as running:
        yield running


async def install(role: SlackRole, api: SlackAPI) -> aiohttp.ClientResponse:
    base = f"http://127.0.0.1:{role.bound_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/slack/install", allow_redirects=False) as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"]
        authorize = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', html)
        assert authorize is not None
        query = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == ["111.222"]
        assert "chat:write" in query["scope"][0].split(",") and "channels:history" in query["scope"][0].split(",")
        state = query["state"][0]
        assert cookie.startswith(f"slack-app-oauth-state={state};")
        browser = {"Cookie": f"slack-app-oauth-state={state}"}
        async with http.get(f"{base}/slack/oauth_redirect", params={"code": "good-code", "state": "forged"},
                            headers={"Cookie": "slack-app-oauth-state=forged"}) as forged:
            assert forged.status == 401
        async with http.get(f"{base}/slack/oauth_redirect", params={"code": "good-code", "state": state}) as cookieless:
            assert cookieless.status == 400
        async with http.get(f"{base}/slack/oauth_redirect", params={"code": "good-code", "state": state},
                            headers=browser) as done:
            assert done.status == 200, await done.text()
        async with http.get(f"{base}/slack/oauth_redirect", params={"code": "good-code", "state": state},
                            headers=browser) as replayed:
            assert replayed.status == 401  # a state is good once
        return done


async def test_install_then_commands_and_delivery_use_the_workspace_token(role: SlackRole, api: SlackAPI,
                                                                          store: Store, redis: Redis) -> None:
    await install(role, api)
    installations = RedisInstallationStore(store.redis, store.keys)
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T0002")
    assert bot is not None and bot.bot_token == INSTALLED_TOKEN and bot.bot_user_id == "U0BOT2"
    found = await installations.async_find_installation(enterprise_id=None, team_id="T0002")
    assert found is not None and found.user_id == "U0ADMIN" and found.team_name == "Second Team"
    assert [c.token for c in api.called("auth.test")] == [INSTALLED_TOKEN]

    # the installed workspace's commands are authorized and named with its team
    answer = await ask(role, api, "subscribe robotics", team="T0002")
    assert "Subscribed: robotics" in all_text(answer)
    assert await store.subscriptions("slack:T0002:C0456") == {"robotics": 0.6}
    assert await store.subscriptions("slack:C0456") == {}

    # a workspace that never installed the app is not served: bolt tells the user to (re)install
    body, headers = signed_command("subscribe safety", response_url=api.response_url(), team="T0404")
    before = len(api.answers())
    assert (await post(role, body, headers))[0] == 200
    await api.wait_for(lambda: len(api.answers()) > before)
    assert "reinstall this app" in api.answers()[-1]["text"]
    assert await store.subscriptions("slack:T0404:C0456") == {}

    # a briefing for a channel of the installed workspace goes out with that workspace's token
    assert role.delivery is not None
    briefing = Briefing(channel="slack:T0002:C0999", date=date(2026, 4, 30), title="Today")
    await role.delivery.deliver(briefing)
    posted = api.thread("C0999")
    assert posted and all(m["token"] == INSTALLED_TOKEN for m in posted)
    with pytest.raises(UnknownWorkspace, match="not installed in workspace T0404"):
        await role.delivery.deliver(briefing.model_copy(update={"channel": "slack:T0404:C0999"}))
    with pytest.raises(UnknownWorkspace, match="does not name its workspace"):
        await role.delivery.deliver(briefing.model_copy(update={"channel": "slack:C0999"}))


async def test_installation_store_keys_and_deletion(store: Store, redis: Redis) -> None:
    from slack_sdk.oauth.installation_store.models.installation import Installation

    installations = RedisInstallationStore(store.redis, store.keys)
    first = Installation(team_id="T1", enterprise_id="E1", user_id="U1", bot_token="xoxb-old", bot_id="B1",
                         bot_user_id="UB1", bot_scopes="chat:write")
    await installations.async_save(first)
    await installations.async_save(Installation(team_id="T1", enterprise_id="E1", user_id="U2", bot_token="xoxb-new",
                                                bot_id="B1", bot_user_id="UB1"))
    assert (await installations.async_find_bot(enterprise_id="E1", team_id="T1")).bot_token == "xoxb-new"  # type: ignore[union-attr]
    by_first_user = await installations.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U1")
    assert by_first_user is not None and by_first_user.bot_token == "xoxb-new"  # the latest bot token wins
    await installations.async_delete_all(enterprise_id="E1", team_id="T1")
    assert await installations.async_find_bot(enterprise_id="E1", team_id="T1") is None
    assert await installations.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U2") is None
    assert [k async for k in redis.scan_iter(match=f"{store.keys.prefix}install:*")] == []

    states = RedisOAuthStateStore(store.redis, store.keys)
    state = await states.async_issue()
    ttl = await redis.ttl(store.keys.oauth_state("slack", state))
    assert 0 < ttl <= TTL.OAUTH_STATE
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("") is False
