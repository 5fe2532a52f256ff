"""The bodies of the one-shot `ai-news` commands, one module each (bench: one module per benchmark). Like
`bot/cli.py` and `bot/runtime.py`, part of the composition root: they wire workers and adapters to the core."""
