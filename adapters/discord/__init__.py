"""The Discord adapter: briefings rendered as embeds (`adapters.discord.render`)."""
