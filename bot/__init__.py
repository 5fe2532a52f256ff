"""ai-news core: settings, messages, taxonomy, bus, store, composition. Nothing here connects on import."""

__version__ = "0.1.0"
