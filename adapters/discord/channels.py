"""How Discord channels are named in editions, subscriptions and ledgers.

A channel is `discord:<channel id>`, e.g. `discord:112233445566778899`: one bot token reaches every server that
invited the bot, and a channel id is unique across Discord, so the id alone says where to post. The server (guild)
may be named too, `discord:<guild id>:<channel id>`, as a reminder in `channels.yaml`; the adapter then checks that
the channel is in that server. Ids are the numbers Discord shows with Developer Mode on ("Copy Channel ID").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORM = "discord"
_ID = re.compile(r"^[0-9]{1,20}$")
_MAX_ID = 2**64 - 1


@dataclass(frozen=True)
class DiscordChannel:
    channel_id: int
    guild_id: int | None = None

    @property
    def name(self) -> str:
        if self.guild_id is not None:
            return f"{PLATFORM}:{self.guild_id}:{self.channel_id}"
        return f"{PLATFORM}:{self.channel_id}"


def _snowflake(text: str) -> int | None:
    if not _ID.match(text):
        return None
    value = int(text)
    return value if 0 < value <= _MAX_ID else None


def parse_channel(name: str) -> DiscordChannel:
    """'discord:<channel id>' or 'discord:<guild id>:<channel id>'; ValueError saying what is expected otherwise."""
    platform, _, rest = name.partition(":")
    ids = [_snowflake(part) for part in rest.split(":")]
    if platform != PLATFORM or not 1 <= len(ids) <= 2 or any(i is None for i in ids):
        raise ValueError(f"{name!r} is not a Discord channel: expected discord:<channel id> (e.g. "
                         "discord:112233445566778899, from Copy Channel ID in Developer Mode) or "
                         "discord:<server id>:<channel id>")
    channel = ids[-1]
    assert channel is not None
    return DiscordChannel(channel, ids[0] if len(ids) == 2 else None)


def channel_name(channel_id: int) -> str:
    """The name `/ai-news` uses for a channel it is typed in."""
    return DiscordChannel(channel_id).name


def user_name(user_id: int) -> str:
    return f"{PLATFORM}:{user_id}"
