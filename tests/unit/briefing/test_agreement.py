"""A second editor's sections against the labels: the ceiling a reader of the same guide reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.briefing.evaluate import agreement, read_second_editor
from bot.settings import ConfigError


def _row(url: str, topic: str | None, also: list[str], event: str, ai: bool = True) -> dict[str, object]:
    return {"day": "2024-05-22", "title": url, "url": url, "ai": ai, "topic": topic, "also": also, "event": event}


def test_agreement_counts_entries_events_and_both_directions(tmp_path: Path) -> None:
    days = {"2024-05-22": [
        _row("https://a.example/1", "safety", ["products"], "voice"),
        _row("https://b.example/2", "safety", [], "voice"),  # the same event: counted once among events
        _row("https://c.example/3", "tools", [], "iterm"),
        _row("https://d.example/4", "models", [], "llama"),
        _row("https://e.example/5", None, [], "golf", ai=False),  # not about AI: not compared
    ]}
    second = tmp_path / "second.jsonl"
    second.write_text("\n".join(json.dumps(line) for line in [
        {"day": "2024-05-22", "url": "https://a.example/1?utm_source=x", "topic": "products", "also": []},
        {"day": "2024-05-22", "url": "https://b.example/2", "topic": "business", "also": ["safety"]},
        {"day": "2024-05-22", "url": "https://c.example/3", "topic": "tools", "also": []},
        {"day": "2024-05-22", "url": "https://d.example/4", "topic": "research", "also": []},
        {"day": "2024-05-22", "url": "https://e.example/5", "topic": "tools", "also": []},
    ]) + "\n", encoding="utf-8")
    report = agreement(days, read_second_editor(second)).splitlines()
    assert report[0] == "4 AI entries (3 events) sectioned by a second editor"
    # accepted: products (also of the first), tools; not business, not research. Events: voice (its first entry,
    # accepted), iterm (accepted), llama (not).
    assert report[1] == "second editor's section accepted by the labels: 50% of entries, 67% of events"
    # the labels' safety is the second's also on entry 2; tools on 3: 2 of 4. Exact: tools only.
    assert report[2] == "the labels' section accepted by the second editor: 50%; the same section: 25%"


def test_second_editor_labels_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the second editor's labels"):
        read_second_editor(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"day": "2024-05-22", "url": "https://a.example/1"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:1: not a second editor's label: 'topic' is missing"):
        read_second_editor(bad)
    other = tmp_path / "other.jsonl"
    other.write_text('{"day": "2020-01-01", "url": "https://z.example/", "topic": "tools"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="match none of the labeled AI entries"):
        agreement({"2024-05-22": [_row("https://a.example/1", "tools", [], "x")]}, read_second_editor(other))
