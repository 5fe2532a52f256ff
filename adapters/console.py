"""Markdown rendering of a Briefing, for the terminal and for files."""

from __future__ import annotations

import re

from bot.models import Briefing, Table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Escape feed text so it cannot inject Markdown structure or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(md_escape(c) for c in table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in table.rows]
    return lines


def render_markdown(briefing: Briefing) -> str:
    out = [f"# {md_escape(briefing.title)}", "", f"*{briefing.date.isoformat()} ({briefing.timezone})*", ""]
    if briefing.executive_summary:
        out += [md_escape(briefing.executive_summary), ""]
    if briefing.key_developments:
        out += ["## Key developments", ""]
        out += [f"- **[{md_escape(k.title)}]({_url(k.url)})**" + (f": {md_escape(k.text)}" if k.text else "")
                for k in briefing.key_developments]
        out.append("")
    for section in briefing.sections:
        out += [f"## {md_escape(section.heading)}", ""]
        for story in section.stories:
            out.append(f"### {md_escape(story.title)}")
            out.append("")
            if story.summary:
                out += [md_escape(story.summary), ""]
            if story.why_it_matters:
                out.append("**Why it matters:**")
                out += [f"- {md_escape(point)}" for point in story.why_it_matters]
                out.append("")
            links = ", ".join(f"[{md_escape(s.source or s.title)}]({_url(s.url)})"
                              + (f" via {md_escape(s.via)}" if s.via else "") for s in story.sources)
            out += [f"Sources: {links}", ""]
        if section.table is not None:
            out += [*_table(section.table), ""]
    if briefing.outlook:
        out += ["## Outlook", ""] + [f"- {md_escape(point)}" for point in briefing.outlook] + [""]
    if briefing.sources:
        out += ["## Sources", ""]
        out += [f"- [{md_escape(s.title)}]({_url(s.url)}) ({md_escape(s.source)})" for s in briefing.sources]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
