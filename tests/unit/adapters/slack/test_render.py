from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from adapters.slack.mrkdwn import escape, link, split, truncate
from adapters.slack.render import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_SECTION_TEXT,
    MESSAGE_BUDGET,
    HomeChannel,
    SlackMessage,
    block_chars,
    render_answer,
    render_briefing,
    render_home,
    table_text,
)
from bot.alerts import ChannelRules, QuietHours, Subscription
from bot.commands import Answer, Line
from bot.editions import Edition
from bot.models import Briefing, KeyDevelopment, Section, SourceLink, Story, Table

HOSTILE = "<!channel> ping <@U123> & <!here|here> @everyone <#C999> <https://evil.example|click> > done"


def texts(value: Any) -> list[str]:
    """Every `text` string inside a block structure."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "text" and isinstance(inner, str):
                found.append(inner)
            else:
                found += texts(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            found += texts(inner)
    return found


def mrkdwn_objects(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            found.append(value)
        for inner in value.values():
            found += mrkdwn_objects(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            found += mrkdwn_objects(inner)
    return found


ANGLE = re.compile(r"<([^>]*)>")


def assert_no_markup_but_links(text: str, allowed_urls: set[str]) -> None:
    """The only <...> in the text are links we built to known URLs; no mention can survive."""
    for inner in ANGLE.findall(text):
        url = inner.split("|", 1)[0]
        assert url in allowed_urls, f"unexpected markup <{inner}> in {text!r}"
    for bad in ("<!", "<@", "<#"):
        assert bad not in text


def briefing(**changes: Any) -> Briefing:
    link_ = SourceLink(title="Lab blog", url="https://example.com/a", source="Example")
    base = Briefing(
        channel="slack:C0456", date=date(2026, 4, 30), timezone="Europe/Berlin", title="Efficiency and New AI Laws",
        executive_summary="Two things happened.",
        key_developments=(KeyDevelopment(title="Lead", text="One sentence.", url="https://example.com/a"),),
        sections=(Section(topic="models", heading="Models",
                          stories=(Story(title="A model", summary="It is small.", why_it_matters=("Cheaper.",),
                                         sources=(link_,)),)),
                  Section(topic="regulation", heading="Regulation",
                          stories=(Story(title="A law", summary="It passed.", sources=(link_,)),))),
        outlook=("More to come.",), sources=(link_,))
    return base.model_copy(update=changes)


def test_escape_and_links() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert link("https://example.com/x?a=1&b=2", "T") == "<https://example.com/x?a=1&amp;b=2|T>"
    assert link("https://example.com/a|b>c d", "x|y>z") == "<https://example.com/a%7Cb%3Ec%20d|x¦y&gt;z>"
    assert link("javascript:alert(1)", "<!channel>") == "&lt;!channel&gt;"
    assert link("https://example.com/" + "a" * 2000, "long") == "long"
    assert link("https://example.com/", "") == "<https://example.com/|https://example.com/>"


def test_truncate_never_cuts_an_entity_or_a_link() -> None:
    text = escape("a & " * 100)
    cut = truncate(text, 50)
    assert len(cut) <= 50 and cut.endswith("…") and not re.search(r"&[a-z]*…$", cut)
    linked = "intro " + link("https://example.com/" + "p" * 80, "label words here") + " tail"
    cut = truncate(linked, 40)
    assert "<" not in cut or ">" in cut


@pytest.mark.parametrize("limit", [20, 100, 3000])
def test_split_keeps_every_word_within_the_limit(limit: int) -> None:
    words = [f"w{i}" for i in range(2000)]
    links = [link(f"https://example.com/{i}", f"label {i}") for i in range(50)]
    text = "\n".join([" ".join(words[:700]), *links, escape("x & y " * 300), " ".join(words[700:])])
    pieces = split(text, limit)
    assert all(len(p) <= limit for p in pieces)
    joined = " ".join(pieces)
    for word in words:
        assert re.search(rf"\b{word}\b", joined)
    for piece in pieces:
        assert piece.count("<") == piece.count(">")
        assert not re.search(r"&[a-z]{0,3}$", piece)


def test_briefing_thread_structure() -> None:
    messages = render_briefing(briefing())
    assert len(messages) == 5  # root, Models, Regulation, Outlook, Sources
    root = messages[0]
    assert root.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Efficiency and New AI Laws",
                                                         "emoji": False}}
    assert "Thursday, 30 April 2026 · Europe/Berlin" in texts(root.blocks[1])[0]
    root_texts = texts(root.blocks)
    assert "Two things happened." in root_texts
    assert any("*<https://example.com/a|Lead>*: One sentence." in t for t in root_texts)
    assert root.text.startswith("Efficiency and New AI Laws (2026-04-30)")
    assert [m.blocks[0]["text"]["text"] for m in messages[1:]] == ["Models", "Regulation", "Outlook", "Sources"]
    models = texts(messages[1].blocks)
    assert any("*Why it matters:*\n• Cheaper." in t for t in models)
    assert any(t.startswith("Sources: <https://example.com/a|Example>") for t in models)
    for message in messages:
        for obj in mrkdwn_objects(list(message.blocks)):
            assert obj["verbatim"] is True
        assert message.text.strip()


def test_hostile_feed_text_never_mentions() -> None:
    hostile_link = SourceLink(title=HOSTILE, url="https://example.com/h?x=1&y=<2>", source=HOSTILE)
    story = Story(title=HOSTILE, summary=HOSTILE, why_it_matters=(HOSTILE,), sources=(hostile_link,))
    b = briefing(title=HOSTILE, executive_summary=HOSTILE,
                 key_developments=(KeyDevelopment(title=HOSTILE, text=HOSTILE, url="https://example.com/k"),),
                 sections=(Section(topic="models", heading=HOSTILE, stories=(story,),
                                   table=Table(columns=(HOSTILE, "b"), rows=((HOSTILE, "```"), ("x", "y")))),),
                 outlook=(HOSTILE,), sources=(hostile_link,))
    allowed = {"https://example.com/h?x=1&amp;y=%3C2%3E", "https://example.com/k"}
    messages = render_briefing(b)
    for message in messages:
        for text in [message.text, *texts(list(message.blocks))]:
            assert_no_markup_but_links(text, allowed)
        assert "@everyone" in json.dumps(message.payload())  # stays plain text: no link_names, no <!everyone>
    escaped = "&lt;!channel&gt; ping &lt;@U123&gt; &amp; &lt;!here¦here&gt;"
    assert messages[0].blocks[0]["text"]["text"].startswith("&lt;!channel&gt; ping &lt;@U123&gt; &amp;")
    assert messages[0].text.startswith("&lt;!channel&gt; ping &lt;@U123&gt; &amp;")
    assert any(escaped.replace("¦", "|") in t for t in texts(list(messages[0].blocks)))  # the summary
    assert any(f"|{escaped}" in t for t in texts(list(messages[0].blocks)))  # a link label: | neutralised


def test_huge_briefing_stays_within_block_kit_limits() -> None:
    long = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 120  # ~6,800 characters
    sources = tuple(SourceLink(title=f"Source {n} " * 10, url=f"https://example.com/{n}", source=f"S{n}")
                    for n in range(60))
    stories = tuple(Story(title=f"Story {n} " + "t" * 1200, summary=long, why_it_matters=(long, long, long),
                          sources=sources) for n in range(8))
    table = Table(columns=("Model", "Maker", "What is new"), rows=tuple((f"m{n}", "x" * 80, long[:300])
                                                                         for n in range(200)))
    sections = tuple(Section(topic=f"t{n}", heading=f"Section {n} " + "h" * 400, stories=stories, table=table)
                     for n in range(12))
    b = briefing(title="T" * 500, executive_summary=long * 2,
                 key_developments=tuple(KeyDevelopment(title=f"K{n}", text=long, url=f"https://example.com/k{n}")
                                        for n in range(30)),
                 sections=sections, outlook=tuple(long for _ in range(5)), sources=sources * 5)
    messages = render_briefing(b)
    assert len(messages) > 12 + 3
    for message in messages:
        assert 1 <= len(message.blocks) <= MAX_BLOCKS
        assert sum(block_chars(block) for block in message.blocks) <= MESSAGE_BUDGET
        assert 0 < len(message.text) <= 3000
        for block in message.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= MAX_HEADER
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
            if block["type"] == "context":
                assert all(len(e["text"]) <= 2000 for e in block["elements"])
    everything = "\n".join(t for m in messages for t in texts(list(m.blocks)))
    for n in range(8):
        assert re.search(rf"Story {n}\b", everything)
    for n in range(12):
        assert re.search(rf"Section {n}\b", everything)
    assert "m199" in everything  # the table's last row is not lost
    # every section's continuation starts with a header saying so
    continued = [m for m in messages
                 if m.blocks[0]["type"] == "header" and "(continued)" in m.blocks[0]["text"]["text"]]
    assert continued


def test_table_is_aligned_monospace() -> None:
    text = table_text(Table(columns=("Model", "Maker"), rows=(("GPT-x", "Open & co"), ("Llama", "Meta"))))
    lines = text.split("\n")
    assert lines[0] == "Model | Maker" and set(lines[1]) <= {"-", "+"} and lines[2] == "GPT-x | Open &amp; co"


def test_answer_rendering() -> None:
    answer = Answer(title="Regulation: <latest>", text="Some & more",
                    lines=(Line(title=HOSTILE, url="https://example.com/s", details=("Source", "3h ago"),
                                text="One line."),
                           Line(title="/ai-news help", text="this help", code=True)),
                    note="Use `public`.", public=True)
    message = render_answer(answer, thread_url="https://example.slack.com/archives/C1/p1")
    all_text = texts(list(message.blocks))
    assert all_text[0] == "*Regulation: &lt;latest&gt;*"
    assert "Some &amp; more" in all_text
    assert "<https://example.slack.com/archives/C1/p1|Open the briefing's thread>" in all_text
    lines = next(t for t in all_text if "Source · 3h ago" in t)
    assert "\nOne line." in lines and "`/ai-news help`  this help" in lines
    assert_no_markup_but_links("\n".join(all_text), {"https://example.com/s", "https://example.slack.com/archives/C1/p1"})
    assert message.text.startswith("Regulation: &lt;latest&gt;")


def test_a_long_answer_is_cut_with_a_note() -> None:
    lines = tuple(Line(title=f"Source {n}", url=f"https://example.com/{n}", text="x" * 400) for n in range(200))
    message = render_answer(Answer(title="Sources", lines=lines))
    assert len(message.blocks) <= MAX_BLOCKS
    assert sum(block_chars(b) for b in message.blocks) <= MESSAGE_BUDGET
    assert "the rest is left out" in texts(list(message.blocks))[-1]


def test_home_view() -> None:
    edition = Edition(channel="slack:C0456", time="08:00", timezone="Europe/Berlin", topics=("regulation",),
                      origin="chat")
    rules = ChannelRules("slack:C0456", (Subscription(name="robotics", min_importance=0.5),
                                         Subscription(kind="organization", name="AT&T <x>", min_importance=0.7)),
                         QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin"))
    view = render_home([HomeChannel("C0456", edition, rules), HomeChannel("C0999", None, None)])
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = "\n".join(texts(view["blocks"]))
    assert "<#C0456>: 08:00 Europe/Berlin, regulation (set from chat)" in text
    assert ("<#C0456>: robotics (importance 0.5+), AT&amp;T &lt;x&gt; (organization) (importance 0.7+); "
            "quiet 22:00-07:00 Europe/Berlin") in text
    empty = "\n".join(texts(render_home([])["blocks"]))
    assert "No channel has a daily briefing yet" in empty and "No channel gets topic alerts yet" in empty


def test_message_payload() -> None:
    message = SlackMessage(text="t", blocks=({"type": "divider"},))
    assert message.payload() == {"text": "t", "blocks": [{"type": "divider"}]}
