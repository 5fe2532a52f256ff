"""What an editor would strike from a briefing: filler bullets and boilerplate summaries.

Used to measure briefings (`ai-news eval --briefing`) and to refuse an LLM analyst's answer that reads like
filler. The patterns are the generic phrasings that say nothing about the story itself: the templates an
earlier version of the briefing wrote ("Most relevant to ...", "... is the only source on it so far",
"... is in another story today", "It follows earlier ... news") and the stock phrases of generated prose
("highlights the importance of", "could have significant implications").
"""

from __future__ import annotations

import re

from bot.briefing.summary import boilerplate
from bot.text import sentences

FILLER = re.compile(
    r"^most relevant to\b|\bis the only source on it\b|\bexpect more detail\b|\bis in another story today\b|"
    r"\bit follows earlier\b|^covered by \d+ sources?\b|\bdrew \d+ points on hacker news\b|"
    r"\bfrom [\w\s.'’-]+ own announcement\b|\bnot from a report about it\b|"
    r"\bthose are the models to compare it with\b|\bset precedent for the whole industry\b|"
    r"\bshould check whether they are exposed\b|\bgrows by acquisition\b|\bhas not been turned into a product yet\b|"
    r"\bhas obligations to meet\b|\bhave obligations to meet\b|"
    r"\bhighlights? the (?:growing )?importance\b|\bunderscores?\b|\bsignificant implications\b|"
    r"\bmarks? a (?:significant|major|notable) (?:step|milestone|development|shift)\b|\bremains to be seen\b|"
    r"\bgame[- ]changer\b|\bpaves? the way\b|\bcould (?:reshape|transform|revolutioni[sz]e)\b|"
    r"\bis (?:a|an) (?:important|significant|notable) (?:development|step|move)\b|\bstay tuned\b|"
    r"\bworth (?:watching|keeping an eye on)\b|\bin the (?:ever-)?evolving (?:landscape|world)\b",
    re.IGNORECASE)
_FALLBACK = re.compile(r"^(?:reported by|shared on)\b", re.IGNORECASE)


def filler(bullet: str) -> bool:
    """A "why it matters" bullet that states nothing specific to its story."""
    return bool(FILLER.search(bullet))


def boilerplate_summary(summary: str, title: str = "") -> bool:
    """A summary that is site boilerplate, a "Reported by ..." stand-in, or only the headline again."""
    if not summary:
        return False
    if _FALLBACK.search(summary):
        return True
    if title and " ".join(summary.lower().split()).rstrip(".") == " ".join(title.lower().split()).rstrip("."):
        return True
    return any(boilerplate(sentence) for sentence in sentences(summary))
