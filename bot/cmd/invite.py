"""`ai-news discord invite`: the URL that adds the bot to a server."""

from __future__ import annotations

from bot.settings import ConfigError, Settings


def discord_invite(settings: Settings) -> str:
    """The URL that adds the bot to a server, with its slash commands and exactly the permissions it uses."""
    from adapters.discord.client import invite_url

    if settings.discord_application_id is None:
        raise ConfigError("set DISCORD_APPLICATION_ID (the developer portal: your application -> General "
                          "Information -> Application ID)")
    return invite_url(settings.discord_application_id)
