"""The Slack adapter: Block Kit rendering, the `/ai-news` command and App Home through slack-bolt, and the
exactly-once delivery of daily briefings as threads. `adapters.slack.role` is the entry for the composition root."""
