"""Socket Mode: the real bolt handler and slack_sdk Socket Mode client against a local WebSocket stand-in."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from bot.settings import ConfigError, Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.slackapi import APP_TOKEN, SlackAPI, all_text, command_form, role_settings, serving


async def test_slash_command_over_socket_mode_is_acked_and_answered(settings: Settings, store: Store,
                                                                    taxonomy: Taxonomy, api: SlackAPI) -> None:
    socket_settings = role_settings(settings, api, slack_app_token=SecretStr(APP_TOKEN), slack_signing_secret=None)
    async with serving(socket_settings, store, taxonomy) as role:
        assert role.bound_port is None  # Socket Mode needs no HTTP endpoint
        await api.wait_for(lambda: api.socket_connected)
        opened = api.called("apps.connections.open")
        assert len(opened) == 1 and opened[0].token == APP_TOKEN
        envelope = {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                    "payload": command_form("regulaton", response_url=api.response_url())}
        started = time.perf_counter()
        await api.send_envelope(envelope)
        await api.wait_for(lambda: "env-1" in api.socket_acks)
        assert time.perf_counter() - started < 1.0
        assert api.socket_acks["env-1"] == {"envelope_id": "env-1"}
        await api.wait_for(lambda: len(api.answers()) == 1)
        text = all_text(api.answers()[0])
        assert "Did you mean regulation?" in text
        await api.send_envelope({"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": True,
                                 "payload": command_form("subscribe safety 0.9", response_url=api.response_url())})
        await api.wait_for(lambda: len(api.answers()) == 2)
    assert await store.subscriptions("slack:C0456") == {"safety": 0.9}
    assert not api.socket_connected  # closed cleanly on the way out


async def test_a_refused_app_token_stops_the_role_with_a_clear_message(settings: Settings, store: Store,
                                                                      taxonomy: Taxonomy, api: SlackAPI) -> None:
    wrong = role_settings(settings, api, slack_app_token=SecretStr("xapp-not-this-one"), slack_signing_secret=None)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN was refused by Slack \\(invalid_auth\\)"):
        async with serving(wrong, store, taxonomy):
            pass
