"""Hostile and malformed requests to the Slack app over HTTP: each gets a 4xx and one log line, never a 500 or a
traceback; a replayed signed request is answered once."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
import pytest_asyncio

from adapters.slack.role import SlackRole
from bot.settings import Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.slackapi import SlackAPI, command_form, post, role_settings, serving, sign

pytestmark = pytest.mark.faults


@pytest_asyncio.fixture
async def role(settings: Settings, store: Store, taxonomy: Taxonomy, api: SlackAPI) -> AsyncIterator[SlackRole]:
    async with serving(role_settings(settings, api, command_rate_limit=50), store, taxonomy) as running:
        yield running


def _form(body: str) -> dict[str, str]:
    return {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}


def _cases(api: SlackAPI) -> dict[str, tuple[str, dict[str, str]]]:
    command = urlencode(command_form("help", response_url=api.response_url()))
    not_json = "payload=" + "{not json"
    no_actions = "payload=" + json.dumps({"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U1"},
                                           "api_app_id": "A0APP", "token": "legacy", "trigger_id": "9.9.9"})
    return {
        "a timestamp that is not a number": (command, {"X-Slack-Request-Timestamp": "abc",
                                                       "X-Slack-Signature": "v0=" + "0" * 64,
                                                       "Content-Type": "application/x-www-form-urlencoded"}),
        "a payload that is not JSON (signed)": (not_json, _form(not_json)),
        "a payload that is not JSON (unsigned)": (not_json, {"Content-Type": "application/x-www-form-urlencoded"}),
        "block_actions without actions (signed)": (no_actions, _form(no_actions)),
        "form data sent as JSON (signed)": (command, {**sign(command), "Content-Type": "application/json"}),
        "JSON that is not an object (signed)": ("[1, 2]", {**sign("[1, 2]"), "Content-Type": "application/json"}),
        "a body that is not UTF-8 (signed)": ("text=\udcff", {"X-Slack-Request-Timestamp": "1",
                                                             "Content-Type": "application/x-www-form-urlencoded"}),
    }


async def test_malformed_requests_get_a_4xx_and_one_log_line(role: SlackRole, api: SlackAPI,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    seen = {}
    for what, (body, headers) in _cases(api).items():
        caplog.clear()
        status, _ = await post(role, body.encode("utf-8", "surrogateescape"), headers)
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        seen[what] = (status, [(r.getMessage()[:150], r.exc_info is not None) for r in problems])
    assert all(400 <= status < 500 and len(problems) == 1 and not problems[0][1]
               for status, problems in seen.values()), seen
    assert api.answers() == []


async def test_a_replayed_signed_command_is_answered_once(role: SlackRole, api: SlackAPI) -> None:
    body = urlencode({**command_form("help", response_url=api.response_url()), "trigger_id": "12345.67890.abc"})
    headers = _form(body)
    assert (await post(role, body, headers))[0] == 200
    await api.wait_for(lambda: len(api.answers()) == 1)
    for _ in range(3):  # the same signed request again, within Slack's five minutes
        status, _ = await post(role, body, headers)
        assert status == 200
    other = urlencode({**command_form("topics", response_url=api.response_url()), "trigger_id": "12345.67890.xyz"})
    other_headers = _form(other)
    assert (await post(role, other, other_headers))[0] == 200
    await api.wait_for(lambda: len(api.answers()) == 2)
    assert len(api.answers()) == 2
