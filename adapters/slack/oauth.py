"""Multi-workspace installs: slack_sdk's async installation store and OAuth state store, kept in Redis.

Installations are keyed by workspace (team id), or by organization for org-wide installs, so a channel's team
id alone finds its bot token. They hold tokens: the Redis of a deployment must be protected like any secret
store. Nothing here logs a token.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.store import TTL, Keys

log = logging.getLogger(__name__)

PLATFORM = "slack"


def _owner(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> tuple[str | None,
                                                                                                         str | None]:
    """(enterprise, team) as stored: a workspace by its team id alone, an org-wide install by its enterprise id."""
    if is_enterprise_install or not team_id:
        return enterprise_id, None
    return None, team_id


def _load(value: bytes | str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        log.warning("a stored Slack installation is not valid JSON; ignored")
        return None
    return data if isinstance(data, dict) else None


class RedisInstallationStore(AsyncInstallationStore):
    """Bots and installations of the OAuth flow, one Redis key each, no expiry."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        enterprise, team = _owner(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        entity = json.dumps(installation.__dict__)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.chat_installation(PLATFORM, enterprise, team), entity)
            if installation.user_id:
                pipe.set(self.keys.chat_installation(PLATFORM, enterprise, team, installation.user_id), entity)
            await pipe.execute()
        await self.async_save_bot(installation.to_bot())
        log.info("Slack app installed in %s (team %s, enterprise %s)", installation.team_name or "a workspace",
                 installation.team_id, installation.enterprise_id)

    async def async_save_bot(self, bot: Bot) -> None:
        if not bot.bot_token:
            return
        enterprise, team = _owner(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        await self.redis.set(self.keys.chat_bot(PLATFORM, enterprise, team), json.dumps(bot.__dict__))

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        enterprise, team = _owner(enterprise_id, team_id, is_enterprise_install)
        data = _load(await self.redis.get(self.keys.chat_bot(PLATFORM, enterprise, team)))
        return Bot(**data) if data is not None else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        enterprise, team = _owner(enterprise_id, team_id, is_enterprise_install)
        data = _load(await self.redis.get(self.keys.chat_installation(PLATFORM, enterprise, team, user_id)))
        if data is None:
            return None
        installation = Installation(**data)
        # The workspace's latest bot token wins over the one saved with an older (or a user's) installation.
        bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                        is_enterprise_install=is_enterprise_install)
        if bot is not None and bot.bot_token != installation.bot_token:
            installation.bot_id = bot.bot_id
            installation.bot_user_id = bot.bot_user_id
            installation.bot_token = bot.bot_token
            installation.bot_scopes = bot.bot_scopes
            installation.bot_refresh_token = bot.bot_refresh_token
            installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        enterprise, team = _owner(enterprise_id, team_id, team_id is None)
        await self.redis.delete(self.keys.chat_bot(PLATFORM, enterprise, team))

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        enterprise, team = _owner(enterprise_id, team_id, team_id is None)
        if user_id is not None:
            await self.redis.delete(self.keys.chat_installation(PLATFORM, enterprise, team, user_id))
            return
        pattern = self.keys.chat_installation(PLATFORM, enterprise, team, "*")
        found = [key async for key in self.redis.scan_iter(match=pattern, count=200)]
        await self.redis.delete(self.keys.chat_installation(PLATFORM, enterprise, team), *found)
        log.info("Slack installation of team %s (enterprise %s) deleted", team_id, enterprise_id)


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """One-time `state` values of the install flow, valid for TTL.OAUTH_STATE seconds."""

    def __init__(self, redis: Redis, keys: Keys, expiration_seconds: int = TTL.OAUTH_STATE) -> None:
        self.redis = redis
        self.keys = keys
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        await self.redis.set(self.keys.oauth_state(PLATFORM, state), "1", ex=self.expiration_seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        found = await self.redis.getdel(self.keys.oauth_state(PLATFORM, state))
        if found is None:
            log.info("OAuth state unknown or expired: the install link was old or used before")
        return found is not None
