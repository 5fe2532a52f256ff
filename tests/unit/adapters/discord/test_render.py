"""Discord embeds for a Briefing: structure, every Discord limit under huge inputs, mentions and escaping."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import discord
import pytest

from adapters.discord.render import (
    DiscordBriefing,
    DiscordMessage,
    escape,
    link,
    neutralise_mentions,
    render_briefing,
    safe_url,
)
from bot.models import Briefing, KeyDevelopment, Section, SourceLink, Story, Table

DAY = date(2026, 4, 30)
HOSTILE = "@everyone @here @Everyone <@123> <@!456> <@&789> <#1011> </ban:1213> @123456789012345678"
# Anything Discord would turn into a mention (with allowed mentions it would even notify).
MENTION = re.compile(r"@everyone|@here|<@|<#|</|@\d{17,20}", re.IGNORECASE)


def _words(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{n}" for n in range(count))


def _sentences(marker: str, count: int, words: int = 12) -> str:
    return " ".join(f"{marker} sentence {n} {_words('w', words)}." for n in range(count))


def _story(marker: str, *, sources: int = 2, summary: str | None = None, bullets: tuple[str, ...] | None = None,
           title: str | None = None) -> Story:
    links = tuple(SourceLink(title=f"{marker} report {n}", url=f"https://news{n}.example.com/{marker}",
                             source=f"Outlet {n}") for n in range(sources))
    return Story(story_id=marker, title=title or f"{marker} headline", summary=summary or f"{marker} happened.",
                 why_it_matters=bullets if bullets is not None else (f"{marker} matters to builders.",
                                                                     f"{marker} changes prices."),
                 sources=links, importance=0.5)


def _briefing(sections: tuple[Section, ...] = (), **changes: Any) -> Briefing:
    stories = [s for sec in sections for s in sec.stories]
    data: dict[str, Any] = {
        "channel": "discord:42", "date": DAY, "timezone": "Europe/Berlin", "title": "Models, Robotics and Laws",
        "executive_summary": "A busy day. Two labs shipped models.",
        "key_developments": tuple(KeyDevelopment(title=s.title, text=s.summary, url=s.sources[0].url)
                                  for s in stories[:3] if s.sources),
        "sections": sections, "outlook": ("Expect more open models.",),
        "sources": tuple(link for s in stories for link in s.sources),
    }
    data.update(changes)
    return Briefing(**data)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def text_of(rendered: DiscordBriefing) -> str:
    return "\n".join(s for m in rendered.messages for s in strings(m.payload()["embeds"]))


def assert_within_limits(message: DiscordMessage) -> None:
    payload = message.payload()
    assert payload["allowed_mentions"] == {"parse": []}
    embeds = payload["embeds"]
    assert 1 <= len(embeds) <= 10
    total = 0
    for embed in embeds:
        title, description = embed.get("title", ""), embed.get("description", "")
        fields = embed.get("fields", [])
        assert len(title) <= 256 and len(description) <= 4096 and len(fields) <= 25
        assert description or fields, "no empty embeds"
        assert "description" not in embed or description.strip()
        for entry in fields:
            assert 1 <= len(entry["name"]) <= 256 and 1 <= len(entry["value"]) <= 1024
        footer = embed.get("footer", {"text": ""})["text"]
        author = embed.get("author", {"name": ""})["name"]
        assert len(footer) <= 2048 and len(author) <= 256
        total += len(title) + len(description) + len(footer) + len(author)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= 6000
    # discord.py counts the same characters
    assert sum(len(e) for e in message.send_kwargs()["embeds"]) == total


def test_structure_root_then_one_message_per_section() -> None:
    models = Section(topic="models", heading="Models", stories=(_story("Pixtral"), _story("Gemma")),
                     table=Table(columns=("Model", "Maker", "Source"),
                                 rows=(("Pixtral 12B", "Mistral", "https://mistral.ai/news/pixtral"),
                                       ("Gemma 3", "Google", "Google blog"))))
    robotics = Section(topic="robotics", heading="Robotics", stories=(_story("Figure"),))
    briefing = _briefing((models, robotics), outlook=("Expect more open models.", "Watch the EU AI Act."))
    rendered = render_briefing(briefing)

    assert rendered.thread_name == "Models, Robotics and Laws · 2026-04-30"
    (root,) = rendered.root.payload()["embeds"]
    assert root["title"] == "Models, Robotics and Laws"
    assert root["author"]["name"] == "AI briefing · Thursday, 30 April 2026"
    assert root["description"] == (
        "A busy day. Two labs shipped models.\n\n**Key developments**\n"
        "• **[Pixtral headline](https://news0.example.com/Pixtral)**: Pixtral happened.\n"
        "• **[Gemma headline](https://news0.example.com/Gemma)**: Gemma happened.\n"
        "• **[Figure headline](https://news0.example.com/Figure)**: Figure happened.")
    assert root["footer"]["text"] == "3 stories in 2 sections; one reply per section in the thread · Europe/Berlin"

    titles = [[e.get("title") for e in m.payload()["embeds"]] for m in rendered.thread]
    assert titles == [["Models", "Models at a glance"], ["Robotics"], ["Outlook"], ["Sources"]]
    models_embed, table_embed = rendered.thread[0].payload()["embeds"]
    assert models_embed["description"] == (
        "**[Pixtral headline](https://news0.example.com/Pixtral)**\n"
        "Pixtral happened.\n"
        "**Why it matters:**\n"
        "• Pixtral matters to builders.\n"
        "• Pixtral changes prices.\n"
        "Sources: [Outlet 0](https://news0.example.com/Pixtral) · [Outlet 1](https://news1.example.com/Pixtral)\n"
        "\n"
        "**[Gemma headline](https://news0.example.com/Gemma)**\n"
        "Gemma happened.\n"
        "**Why it matters:**\n"
        "• Gemma matters to builders.\n"
        "• Gemma changes prices.\n"
        "Sources: [Outlet 0](https://news0.example.com/Gemma) · [Outlet 1](https://news1.example.com/Gemma)")
    assert models_embed["color"] == table_embed["color"] != rendered.thread[1].payload()["embeds"][0]["color"]
    assert table_embed["fields"] == [
        {"name": "Pixtral 12B", "value": "**Maker:** Mistral\n**Source:** [mistral.ai](https://mistral.ai/news/pixtral)",
         "inline": False},
        {"name": "Gemma 3", "value": "**Maker:** Google\n**Source:** Google blog", "inline": False},
    ]
    assert rendered.thread[2].payload()["embeds"][0]["description"] == (
        "• Expect more open models.\n\n• Watch the EU AI Act.")
    sources = rendered.thread[3].payload()["embeds"][0]["description"]
    assert sources.splitlines()[0] == "• [Pixtral report 0](https://news0.example.com/Pixtral) (Outlet 0)"
    assert len(sources.split("\n\n")) == 6
    for message in rendered.messages:
        assert_within_limits(message)


def test_messages_post_through_discord_py_with_no_mentions() -> None:
    rendered = render_briefing(_briefing((Section(topic="models", heading="Models", stories=(_story("A"),)),)))
    kwargs = rendered.thread[0].send_kwargs()
    assert all(isinstance(e, discord.Embed) for e in kwargs["embeds"])
    assert kwargs["embeds"][0].title == "Models" and "A headline" in (kwargs["embeds"][0].description or "")
    mentions = kwargs["allowed_mentions"]
    assert (mentions.everyone, mentions.users, mentions.roles, mentions.replied_user) == (False, False, False, False)
    assert mentions.to_dict()["parse"] == []
    # the payloads are copies: changing one does not change the rendered message
    rendered.root.payload()["embeds"][0]["title"] = "changed"
    kwargs["embeds"][0].title = "changed"
    assert rendered.root.payload()["embeds"][0]["title"] == "Models, Robotics and Laws"
    assert rendered.thread[0].payload()["embeds"][0]["title"] == "Models"


def test_every_limit_holds_for_a_huge_briefing() -> None:
    sections = []
    for s in range(30):
        stories = []
        for n in range(40):
            marker = f"S{s:02d}N{n:02d}"
            stories.append(_story(marker, sources=4, summary=_sentences(marker, 8),
                                  bullets=(_words(f"{marker}b", 40), _words(f"{marker}c", 40))))
        if s == 0:  # one story with everything far over every limit
            stories[0] = _story("S00N00", sources=300, title=_words("T", 400), summary=_sentences("S00N00", 60),
                                bullets=(_words("x", 900), _words("y", 900), _words("z", 900)))
        table = Table(columns=("Model " * 40, "Maker", "What is new", "Figure", "Source"),
                      rows=tuple((_words(f"m{r}-", 100), _words("maker", 200), _words("new", 300), "10x",
                                  f"https://example.com/{r}/" + "p" * 200) for r in range(60)))
        sections.append(Section(topic=f"topic-{s}", heading=_words(f"Heading{s}-", 80) if s == 1 else f"Topic {s}",
                                stories=tuple(stories), table=table if s % 10 == 0 else None))
    briefing = _briefing(tuple(sections), title=_words("Title", 300), executive_summary=_sentences("Exec", 200),
                         key_developments=tuple(KeyDevelopment(title=_words("Lead", 100), text=_sentences("K", 5),
                                                               url=f"https://example.com/k{n}") for n in range(50)),
                         outlook=tuple(_sentences(f"O{n}", 40) for n in range(20)))
    started = time.monotonic()
    rendered = render_briefing(briefing)
    elapsed = time.monotonic() - started

    for message in rendered.messages:
        assert_within_limits(message)
    assert len(rendered.thread_name) <= 100 and rendered.thread_name.endswith(" · 2026-04-30")
    (root,) = rendered.root.payload()["embeds"]
    assert root["description"].count("\n• **[") >= 3 and "more in the thread" in root["description"]
    assert root["title"].endswith("…") and root["footer"]["text"].startswith("1200 stories in 30 sections")

    text = text_of(rendered)
    # nothing is lost: every story, in order; every sentence of ordinary summaries, whole
    positions = [text.index(f"S{s:02d}N{n:02d} headline") for s in range(30) for n in range(1, 40)]
    assert positions == sorted(positions)
    for marker in ("S05N07", "S29N39"):
        for n in range(8):
            assert f"{marker} sentence {n} {_words('w', 12)}." in text
        assert _words(f"{marker}b", 40) in text
    for n in range(60):  # the over-long summary is split across embeds, not truncated
        assert f"S00N00 sentence {n} {_words('w', 12)}." in text
    assert "[Outlet 299](https://news299.example.com/S00N00)" in text
    # each section starts a new message titled with its heading; tables come as fields, 60 rows each
    first_titles = [m.payload()["embeds"][0].get("title", "") for m in rendered.thread]
    assert [t for t in first_titles if t.startswith("Topic ") and "continued" not in t and "glance" not in t] == [
        f"Topic {s}" for s in range(30) if s != 1]
    fields = [f for m in rendered.thread for e in m.payload()["embeds"] for f in e.get("fields", [])]
    assert len(fields) == 3 * 60
    assert elapsed < 10


def test_a_long_section_continues_in_further_embeds_and_messages() -> None:
    stories = tuple(_story(f"N{n:02d}", summary=_sentences(f"N{n:02d}", 6)) for n in range(40))
    rendered = render_briefing(_briefing((Section(topic="models", heading="Models", stories=stories),)))
    section = [m for m in rendered.thread if any("Models" in e.get("title", "") for e in m.payload()["embeds"])]
    assert len(section) > 1
    assert section[0].payload()["embeds"][0]["title"] == "Models"
    assert all(m.payload()["embeds"][0]["title"] == "Models (continued)" for m in section[1:])
    # stories are not split when they fit in an embed of their own
    for message in section:
        for embed in message.payload()["embeds"]:
            for block in embed["description"].split("\n\n"):
                assert block.startswith("**[N") and block.splitlines()[-1].startswith("Sources: ")
        assert_within_limits(message)
    # embeds after the first in one message carry no title
    assert any(len(m.payload()["embeds"]) > 1 and "title" not in m.payload()["embeds"][1] for m in section)


def test_hostile_feed_text_never_mentions() -> None:
    story = Story(story_id="h", title=f"Title {HOSTILE}", summary=f"Summary {HOSTILE}.",
                  why_it_matters=(f"Bullet {HOSTILE}", "Fine."),
                  sources=(SourceLink(title=f"Src {HOSTILE}", url="https://example.com/@everyone",
                                      source=f"Outlet {HOSTILE}"),))
    section = Section(topic="safety", heading=f"Safety {HOSTILE}", stories=(story,),
                      table=Table(columns=(f"Col {HOSTILE}", f"Other {HOSTILE}"), rows=((HOSTILE, HOSTILE),)))
    briefing = _briefing((section,), title=f"Day {HOSTILE}", executive_summary=f"Summary {HOSTILE}.",
                         key_developments=(KeyDevelopment(title=f"Lead {HOSTILE}", text=HOSTILE,
                                                          url="https://example.com/k"),),
                         outlook=(f"Outlook {HOSTILE}",))
    rendered = render_briefing(briefing)
    for message in rendered.messages:
        for value in strings(message.payload()["embeds"]):
            found = MENTION.search(value.replace("https://example.com/@everyone", ""))
            assert found is None, f"{found.group()!r} in {value!r}"
    assert MENTION.search(rendered.thread_name) is None
    text = text_of(rendered)
    assert "@\u200beveryone" in text and "<\u200b@&789>" in text and "<\u200b#1011>" in text  # shown, not dropped


def test_neutralise_mentions() -> None:
    assert neutralise_mentions("@everyone and @here") == "@\u200beveryone and @\u200bhere"
    assert neutralise_mentions("<@123> <@!1> <@&2> <#3> </x:4>") == (
        "<\u200b@123> <\u200b@!1> <\u200b@&2> <\u200b#3> <\u200b/x:4>")
    assert neutralise_mentions("@123456789012345678") == "@\u200b123456789012345678"
    assert neutralise_mentions("mail me at a@b.com, 2 < 3") == "mail me at a@b.com, 2 < 3"


def test_markdown_in_feed_text_is_escaped() -> None:
    hostile = "**bold** __under__ ~~strike~~ ||spoiler|| `code` [click](https://evil.example.com) \\ end"
    story = _story("M", title=hostile, summary=f"> quote {hostile}.", bullets=(f"# {hostile}", "- list item"))
    section = Section(topic="models", heading="# Models *now*", stories=(story,),
                      table=Table(columns=("A", "B"), rows=(("**x**", "`y`"),)))
    rendered = render_briefing(_briefing((section,), title=hostile))
    escaped = ("\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\~\\~strike\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` "
               "\\[click](https://evil.example.com) \\\\ end")
    assert rendered.root.payload()["embeds"][0]["title"] == escaped
    embeds = rendered.thread[0].payload()["embeds"]
    assert embeds[0]["title"] == "\\# Models \\*now\\*"
    lines = embeds[0]["description"].splitlines()
    # in a link label the brackets are escaped too, so the feed text cannot close the link
    assert lines[0] == ("**[\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\~\\~strike\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` "
                        "\\[click\\](https://evil.example.com) \\\\ end](https://news0.example.com/M)**")
    assert lines[1] == "\\> quote " + escaped + "."
    assert lines[3] == "• \\# " + escaped and lines[4] == "• \\- list item"
    assert embeds[1]["fields"] == [{"name": "\\*\\*x\\*\\*", "value": "**B:** \\`y\\`", "inline": False}]


def test_links() -> None:
    assert link("A [b] c", "https://example.com/x (1)") == "[A \\[b\\] c](https://example.com/x%20%281%29)"
    assert link("Click", "javascript:alert(1)") == "Click"
    assert link("Click", "https://example.com/" + "a" * 600) == "Click"
    assert link("", "https://www.example.com/a_b") == "[example.com](https://www.example.com/a_b)"
    assert safe_url("ftp://example.com/x") is None and safe_url("https://") is None
    assert safe_url("https://example.com/<b>") == "https://example.com/%3Cb%3E"
    story = _story("L")
    bad = story.model_copy(update={"sources": (SourceLink(title="Bad", url="javascript:alert(1)", source="Evil"),)})
    rendered = render_briefing(_briefing((Section(topic="models", heading="Models", stories=(bad,)),)))
    description = rendered.thread[0].payload()["embeds"][0]["description"]
    assert description.startswith("**L headline**\n") and "javascript" not in description
    assert "Sources: Evil" in description


def test_truncation_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    long_title = _words("word", 200)
    rendered = render_briefing(_briefing(title=long_title))
    title = rendered.root.payload()["embeds"][0]["title"]
    assert len(title) <= 256 and title.endswith("…")
    kept = title[:-1]
    assert long_title.startswith(kept) and long_title[len(kept)] == " "
    assert escape(long_title[:10]) == long_title[:10]
    name = rendered.thread_name
    assert len(name) <= 100 and name.endswith("… · 2026-04-30")
    assert long_title[len(name.removesuffix("… · 2026-04-30"))] == " "


def test_a_long_executive_summary_is_cut_between_sentences() -> None:
    summary = _sentences("Exec", 100)
    rendered = render_briefing(_briefing(executive_summary=summary))
    description = rendered.root.payload()["embeds"][0]["description"]
    head = description.split("\n\n**Key developments**")[0]
    assert head.endswith(". …") and summary.startswith(head.removesuffix(" …"))
    assert len(description) <= 4096 and len(head) <= 2500


def test_an_empty_briefing() -> None:
    rendered = render_briefing(_briefing(executive_summary="", outlook=(), title="A quiet day in AI"))
    assert rendered.thread == ()
    (root,) = rendered.root.payload()["embeds"]
    assert root["description"] == "No new stories in this window."
    assert root["footer"]["text"] == "No stories in this window · Europe/Berlin"
    assert_within_limits(rendered.root)


def test_a_table_only_section_and_a_wide_table() -> None:
    columns = tuple(f"Column {n} " + "x" * 50 for n in range(24))
    table = Table(columns=columns, rows=tuple(tuple(_words(f"r{r}c{c}-", 60) for c in range(24)) for r in range(30)))
    rendered = render_briefing(_briefing((Section(topic="research", heading="Research", table=table),)))
    embeds = [e for m in rendered.thread for e in m.payload()["embeds"]]
    assert embeds[0]["title"] == "Research at a glance"
    assert sum(len(e.get("fields", [])) for e in embeds) == 30
    for message in rendered.thread:
        assert_within_limits(message)


def test_rendering_is_deterministic() -> None:
    briefing = _briefing((Section(topic="models", heading="Models", stories=(_story("A"), _story("B"))),))
    assert render_briefing(briefing) == render_briefing(briefing)


@pytest.mark.parametrize("sources", [0, 1, 150])
def test_story_sources_wrap_within_lines(sources: int) -> None:
    story = _story("W", sources=sources)
    rendered = render_briefing(_briefing((Section(topic="models", heading="Models", stories=(story,)),),
                                         key_developments=()))
    text = text_of(rendered)
    for n in range(sources):
        assert f"[Outlet {n}](https://news{n}.example.com/W)" in text
    for message in rendered.messages:
        assert_within_limits(message)
    if not sources:
        assert "**W headline**" in text and "Sources:" not in text


def test_a_long_table_of_short_rows_packs_25_fields_per_embed_and_10_embeds_per_message() -> None:
    table = Table(columns=("Paper", "Area"), rows=tuple((f"P{n}", "cs.AI") for n in range(300)))
    rendered = render_briefing(_briefing((Section(topic="research", heading="Research", table=table),)))
    table_messages = [m for m in rendered.thread if "glance" in m.payload()["embeds"][0].get("title", "")]
    assert [len(m.embeds) for m in table_messages] == [10, 2]
    embeds = [e for m in table_messages for e in m.payload()["embeds"]]
    assert [len(e["fields"]) for e in embeds] == [25] * 12
    assert [e.get("title") for e in embeds] == ["Research at a glance", *[None] * 9,
                                                "Research at a glance (continued)", None]
    assert [f["name"] for e in embeds for f in e["fields"]] == [f"P{n}" for n in range(300)]
    for message in rendered.messages:
        assert_within_limits(message)
