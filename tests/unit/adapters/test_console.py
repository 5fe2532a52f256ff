from __future__ import annotations

from datetime import date

from adapters.console import md_escape, render_markdown
from bot.models import Briefing, KeyDevelopment, Section, SourceLink, Story, Table


def test_markdown_structure_and_escaping() -> None:
    link = SourceLink(title="<b>[Hostile]</b> *title*", url="https://example.com/a(b)", source="Ex|ample")
    briefing = Briefing(
        channel="console:demo", date=date(2026, 4, 30), title="Models # and *Robots*",
        executive_summary="Two stories.",
        key_developments=(KeyDevelopment(title="Lead", text="One sentence.", url="https://example.com/a"),),
        sections=(Section(topic="models", heading="Models",
                          stories=(Story(title="Lead", summary="S.", why_it_matters=("Because.",), sources=(link,)),),
                          table=Table(columns=("Model", "Maker"), rows=(("X|1", "Y"),))),),
        sources=(link,),
    )
    text = render_markdown(briefing)
    assert text.startswith("# Models \\# and \\*Robots\\*\n")
    assert "## Key developments" in text and "- **[Lead](https://example.com/a)**: One sentence." in text
    assert "## Models" in text and "### Lead" in text and "**Why it matters:**\n- Because." in text
    assert "(https://example.com/a%28b%29)" in text
    assert "\\<b\\>\\[Hostile\\]\\</b\\> \\*title\\*" in text
    assert "| X\\|1 | Y |" in text
    assert "## Sources" in text


def test_md_escape() -> None:
    assert md_escape("a_b*c`d") == "a\\_b\\*c\\`d"
