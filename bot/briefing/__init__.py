"""The daily briefing: stories from the day's items (compose), their facts with evidence (facts), summaries
(summary), why they matter (why), the day's themes (synthesis), and the optional LLM analyst (analyst)."""
