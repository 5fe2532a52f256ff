"""The Discord adapter: embeds (`render`), the discord.py client and REST calls (`client`), briefings as threads or
forum posts exactly once (`delivery`), `/ai-news` (`interactions`), the `discord` role (`role`) and its bench."""
