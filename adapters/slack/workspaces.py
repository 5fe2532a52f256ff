"""How channels are named, and which bot token reaches them.

A channel is `slack:<channel id>` when the app serves one workspace with SLACK_BOT_TOKEN, and
`slack:<team id>:<channel id>` (e.g. `slack:T0123:C0456`) when workspaces install it through OAuth
(SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): a channel id alone does not say which workspace, and so which token,
to use. Editions, subscriptions and the delivery ledger all use these names; `/ai-news` in a channel uses the
name of the current mode. In single-workspace mode a name with a team id is accepted too (the one token is used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.bus import PermanentError

PLATFORM = "slack"
_ID = re.compile(r"^[A-Z0-9]{2,40}$")


class UnknownWorkspace(PermanentError):
    """No installation (so no token) for the workspace of a channel."""


@dataclass(frozen=True)
class SlackChannel:
    channel_id: str
    team_id: str | None = None

    @property
    def name(self) -> str:
        return f"{PLATFORM}:{self.team_id}:{self.channel_id}" if self.team_id else f"{PLATFORM}:{self.channel_id}"


def parse_channel(name: str) -> SlackChannel:
    """'slack:C0456' or 'slack:T0123:C0456'; ValueError saying what is expected for anything else."""
    platform, _, rest = name.partition(":")
    parts = rest.split(":")
    if platform != PLATFORM or not 1 <= len(parts) <= 2 or not all(_ID.match(p) for p in parts):
        raise ValueError(f"{name!r} is not a Slack channel: expected slack:<channel id> (e.g. slack:C0456) or, "
                         "with several workspaces, slack:<team id>:<channel id> (e.g. slack:T0123:C0456)")
    return SlackChannel(parts[-1], parts[0] if len(parts) == 2 else None)


class Workspaces:
    """One workspace through a bot token, or many through the installations of the OAuth flow."""

    def __init__(self, token: str | None = None, installations: AsyncInstallationStore | None = None) -> None:
        if (token is None) == (installations is None):
            raise ValueError("give either a bot token (one workspace) or an installation store (OAuth)")
        self._token = token
        self.installations = installations

    @property
    def multi(self) -> bool:
        return self.installations is not None

    def channel(self, team_id: str | None, channel_id: str) -> SlackChannel:
        """The channel as this mode names it."""
        return SlackChannel(channel_id, team_id if self.multi else None)

    def user(self, team_id: str | None, user_id: str) -> str:
        return f"{PLATFORM}:{team_id}:{user_id}" if self.multi and team_id else f"{PLATFORM}:{user_id}"

    def belongs(self, channel: SlackChannel, team_id: str | None) -> bool:
        """Whether the channel is one of the workspace's (for the Home tab)."""
        if not self.multi:
            return True
        return channel.team_id is not None and channel.team_id == team_id

    async def token(self, channel: SlackChannel) -> str:
        """The bot token that reaches the channel; UnknownWorkspace if none does."""
        if self._token is not None:
            return self._token
        assert self.installations is not None
        if channel.team_id is None:
            raise UnknownWorkspace(
                f"{channel.name} does not name its workspace: with several workspaces (OAuth), channels are "
                f"slack:<team id>:<channel id>, e.g. slack:T0123:{channel.channel_id}")
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=channel.team_id)
        if bot is None or not bot.bot_token:
            raise UnknownWorkspace(f"the app is not installed in workspace {channel.team_id} (for {channel.name}): "
                                   "install it through /slack/install")
        return str(bot.bot_token)
