"""`/ai-news` answers as a Discord embed: escaped, within the limits, code kept as code."""

from __future__ import annotations

import re

from adapters.discord.render import DESCRIPTION_LIMIT, escape_text, render_answer
from bot.commands import Answer, Invalid, Line, help_answer, usage_answer

HOSTILE = "@everyone <@123456789012345678> **bold** [click](https://evil.example)"


def test_an_answer_is_one_embed_with_no_mentions() -> None:
    answer = Answer(title=f"Search: {HOSTILE}", text=HOSTILE, note="`/ai-news help` lists every command.",
                    lines=(Line(title=HOSTILE, url="https://example.com/a", details=("Lab", "1h ago"), text=HOSTILE),))
    payload = render_answer(answer, "https://discord.com/channels/1/2").payload()
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    text = embed["title"] + embed["description"]
    assert not re.search(r"@everyone|<@\d", text)
    assert not re.search(r"(?<!\\)\[click\]\(", text) and "\\*\\*bold\\*\\*" in text
    assert "[Open the briefing's thread](https://discord.com/channels/1/2)" in text
    assert embed["description"].endswith("*`/ai-news help` lists every command.*")


def test_code_spans_stay_code_and_spaces_around_them_stay() -> None:
    assert escape_text("Add `public` to *post* it.") == "Add `public` to \\*post\\* it."


def test_usage_and_help_render() -> None:
    usage = render_answer(usage_answer(Invalid("There is no topic “regulaton”.", usage="subscribe",
                                               suggestion="regulation", unknown_topic=True), ["regulation"]))
    description = usage.payload()["embeds"][0]["description"]
    assert "Did you mean regulation?" in description
    assert '`/ai-news subscribe <topic or "name"> [min-importance]`' in description
    assert usage.payload()["embeds"][0]["color"] != render_answer(help_answer()).payload()["embeds"][0]["color"]


def test_a_long_list_is_cut_within_the_limit_with_a_note() -> None:
    lines = tuple(Line(title=f"Story {n} " + "x" * 150, url=f"https://example.com/{n}", text="y" * 400)
                  for n in range(100))
    embed = render_answer(Answer(title="Many", lines=lines, note="A note.")).payload()["embeds"][0]
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert "The list is longer than a message; the rest is left out." in embed["description"]
    assert embed["description"].endswith("*A note.*")
