from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.http_retry.request import HttpRequest

from adapters.slack.client import api_base_url, api_method, make_web_client, repeatable
from adapters.slack.role import check_settings
from adapters.slack.workspaces import SlackChannel, UnknownWorkspace, Workspaces, parse_channel
from bot.bus import PermanentError
from bot.settings import ConfigError, Settings


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(("name", "expected"), [
    ("slack:C0456", SlackChannel("C0456")),
    ("slack:T0123:C0456", SlackChannel("C0456", "T0123")),
])
def test_channel_names(name: str, expected: SlackChannel) -> None:
    assert parse_channel(name) == expected
    assert expected.name == name


@pytest.mark.parametrize("name", ["discord:123", "slack:", "slack:c0456", "slack:T1:C2:X3", "slack:C0456 ", "C0456"])
def test_bad_channel_names_say_what_is_expected(name: str) -> None:
    with pytest.raises(ValueError, match=r"slack:<team id>:<channel id>"):
        parse_channel(name)


async def test_single_workspace_names_and_token() -> None:
    one = Workspaces(token="xoxb-1")
    assert not one.multi
    assert one.channel("T1", "C2").name == "slack:C2"
    assert one.user("T1", "U3") == "slack:U3"
    assert await one.token(SlackChannel("C2", "T9")) == "xoxb-1"
    assert one.belongs(SlackChannel("C2"), "T1")


async def test_multi_workspace_names_and_unknown_workspace() -> None:
    class NoInstallations:
        async def async_find_bot(self, **kwargs: Any) -> None:
            return None

    many = Workspaces(installations=NoInstallations())  # type: ignore[arg-type]
    assert many.channel("T1", "C2").name == "slack:T1:C2"
    assert many.user("T1", "U3") == "slack:T1:U3"
    assert many.belongs(SlackChannel("C2", "T1"), "T1") and not many.belongs(SlackChannel("C2", "T2"), "T1")
    assert not many.belongs(SlackChannel("C2"), "T1")
    with pytest.raises(UnknownWorkspace, match="slack:T0123:C2") as raised:
        await many.token(SlackChannel("C2"))
    assert isinstance(raised.value, PermanentError)
    with pytest.raises(UnknownWorkspace, match="not installed in workspace T1"):
        await many.token(SlackChannel("C2", "T1"))
    with pytest.raises(ValueError):
        Workspaces()


@pytest.mark.parametrize(("url", "method", "safe"), [
    ("https://slack.com/api/chat.postMessage", "chat.postMessage", False),
    ("https://slack.com/api/conversations.history?channel=C1", "conversations.history", True),
    ("http://127.0.0.1:9/api/views.publish", "views.publish", True),
    ("http://127.0.0.1:9/api/oauth.v2.access", "oauth.v2.access", False),
    ("https://hooks.slack.com/commands/T1/2/abc", "", False),
])
def test_which_calls_are_safe_to_repeat(url: str, method: str, safe: bool) -> None:
    request = HttpRequest(method="POST", url=url, headers={})
    assert api_method(request) == method
    assert repeatable(request) is safe


def test_web_client_from_settings() -> None:
    single = make_web_client(settings(slack_bot_token="xoxb-1", slack_api_base_url="http://127.0.0.1:9/api"))
    assert single.token == "xoxb-1" and single.base_url == "http://127.0.0.1:9/api/"
    assert [type(h).__name__ for h in single.retry_handlers] == ["RateLimitRetry", "ServerErrorRetry",
                                                                 "ConnectionRetry"]
    oauth = make_web_client(settings(slack_bot_token="xoxb-1", slack_client_id="1.2", slack_client_secret="s"))
    assert oauth.token is None
    assert api_base_url(settings()) == "https://slack.com/api/"


@pytest.mark.parametrize(("values", "message"), [
    ({}, "needs SLACK_BOT_TOKEN"),
    ({"slack_client_id": "1.2"}, "both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
    ({"slack_bot_token": "xoxb-1"}, "needs SLACK_SIGNING_SECRET"),
    ({"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"}, "app-level token"),
    ({"slack_bot_token": "xapp-1", "slack_signing_secret": "s"}, "must be a bot token"),
])
def test_settings_are_checked_with_a_clear_message(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_settings(settings(**values))


def test_valid_settings_pass() -> None:
    check_settings(settings(slack_bot_token="xoxb-1", slack_signing_secret="s"))
    check_settings(settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1"))
    check_settings(settings(slack_client_id="1.2", slack_client_secret="s", slack_signing_secret="s"))
    assert isinstance(settings(slack_bot_token="xoxb-1").slack_bot_token, SecretStr)


def test_the_manifest_matches_what_the_app_serves_and_asks_for() -> None:
    from pathlib import Path

    import yaml

    from adapters.slack.app import BOT_SCOPES, EVENTS_PATH, REDIRECT_PATH

    manifest = yaml.safe_load((Path(__file__).parents[4] / "config" / "slack-manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/ai-news" and command["url"].endswith(EVENTS_PATH)
    assert manifest["oauth_config"]["redirect_urls"][0].endswith(REDIRECT_PATH)
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
