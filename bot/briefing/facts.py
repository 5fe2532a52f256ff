"""Facts of a story with their roles, and only where the text gives evidence for them. Pure and deterministic.

- **Events** (release, funding, acquisition, law in force, court, security incident, outage, partnership, hire,
  ...) count only when a sentence reports them as done: a verb of that event in the headline or the opening
  sentences, with no sign of a proposal, a rumour, a question or a plan in the same sentence ("Why Apple should
  buy Mistral", "in talks to raise", "the bill would ban").
- **Amounts** carry what they are: raised, valuation, revenue, price, investment, deal, fine, spending; an
  amount whose role the text does not make clear keeps no role and is never stated as one.
- **Who acts**: an organization of the gazetteer, or a recognised proper name (a multi-word name, a name with
  a company word such as "AI" or "Robotics", a name the site's own domain carries, or one the text also writes
  capitalised inside a sentence); never a sentence's first word on its own ("Building", "Now", "German").

When a fact is uncertain, it is left out: a briefing says less rather than something wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from bot.briefing.headlines import HN_PREFIX
from bot.patterns import Prefilter
from bot.text import BENCHMARK_IDIOMS, TEXT_CACHE, announces_model, model_headline, name_and_tagline, sentences

# --- events ---------------------------------------------------------------------------------------------------

_AMOUNT_CUE = r"(?:[$€£¥]\s?\d|\d+(?:\.\d+)?\s?(?:[mb]n?|million|billion|trillion)\b)"
EVENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("law", r"\bsigned into law\b|\bsigns?\b.{0,60}\binto law\b|\b(?:takes?|took|go|goes|went|comes?|came|"
                r"enters?|entered) (?:into )?(?:effect|force)\b|\b(?:is|becomes|became) (?:now )?law\b|"
                r"\benact(?:s|ed)\b|\bnow in (?:force|effect)\b|\b(?:now|officially) (?:illegal|unlawful)\b|"
                r"\b(?:pass(?:es|ed)?|approv(?:es|ed)|adopt(?:s|ed))\b[^.;]{0,40}\b(?:law|bill|act|regulation)\b"),
        ("acquisition", r"\b(?:acquir(?:es|ed)|has agreed to acquire|agreed to acquire|agrees to acquire|to acquire|"
                        r"buys|bought|snaps up|completes? (?:its |the )?acquisition of|takes over|"
                        r"merg(?:es|ed) with)\b"),
        ("funding", rf"\b(?:rais(?:es|ed)|secur(?:es|ed)|clos(?:es|ed)|lands?|landed)\b[^.;]{{0,40}}{_AMOUNT_CUE}|"
                    rf"\bseries [a-f]\b|\b(?:seed|funding) round\b|{_AMOUNT_CUE}[^.;]{{0,20}}\b(?:round|funding)\b"),
        ("court", r"\b(?:sues?|sued|suing|lawsuit|files? (?:a )?suit|class[- ]action|"
                  r"(?:court|judge) (?:rules|ruled|orders|ordered|blocks|blocked|dismiss(?:es|ed))|ruling|verdict|"
                  r"indicted|arbitration|"
                  # a legal settlement, not a settled question ("the science is far from settled", "Proof Settles Bet")
                  r"settle[sd] (?:with|for|out of court|(?:the |a |its |their |all )?(?:lawsuits?|suits?|cases?|"
                  r"claims?|charges|dispute|allegations)))\b"),
        ("restriction", r"\b(?:bans|banned|export controls?|sanctions|fined|fines|blocks|blocked)\b"),
        ("security", r"\b(?:data breach|breach(?:ed)?|hacked|compromised|intrusion|ransomware|malware|exploited|"
                     r"zero-day|CVE-\d{4}-\d+|vulnerabilit(?:y|ies)|botnets?|stolen (?:data|credentials|keys)|"
                     r"exposed (?:data|records|keys|credentials|secrets)|jailbreak(?:s|ing)?|prompt injection|"
                     r"(?:tricked|fooled|manipulated|duped) into|scams?|fraud|impersonat\w+)\b"),
        ("outage", r"\b(?:outage|elevated errors?|degraded performance|service disruption|"
                   r"(?:is|are|seems?|appears? to be|went|goes) down)\b(?!\s*(?:\d|by\b|to\b|from\b|\w+ percent))"),
        ("hire", r"\b(?:hires|hired|(?:joins|to join|appoints|appointed|names|named)\b.{0,60}\b(?:as )?"
                 r"(?:its |the |our |a )?(?:first |new )?(?:chief|CEO|CTO|CFO|COO|head|president|vice president|VP|"
                 r"director|general manager|chair\w*)|steps down|stepped down|"
                 r"resign(?:s|ed)(?! (?:myself|himself|herself|themselves|ourselves|yourself|itself|to)\b)|"
                 # someone of a company leaving it ("AI Researcher Who Helped Write Landmark Paper Is Leaving Google")
                 r"(?:researcher|scientist|engineer|executive|chief|CEO|CTO|CFO|COO|co-?founder|founder|head|president)s?"
                 r"\b.{0,60}\b(?:is leaving|are leaving|leaves|to leave|quits|departs|exits)\b"
                 r"(?! (?:a|an|it|them|you|us)\b))\b"),
        ("partnership", r"\b(?:partners? with|partnership|teams? up with|collaborat(?:es|ion) with|alliance with)\b"),
        ("release", r"^(?:introducing|announcing|meet)\b|\b(?:releas(?:es|ed)|launch(?:es|ed)|introduc(?:es|ed)|"
                    r"unveil(?:s|ed)|debut(?:s|ed)|open[- ]sourc(?:es|ed)|ships|shipped)\b|"
                    r"\b(?:is|are) (?:here|out)[.!]?$"),
        # Something that exists reaching more people: a plan, a platform, a region, general availability.
        ("availability", r"\b(?:(?:is|are) (?:now )?(?:generally )?available|now available|now in (?:public )?beta|"
                         r"general availability|rolls? out|rolled out|(?:is|are) now included|now includes?|"
                         r"expands? to|(?:option|setting|toggle|controls?) to (?:disable|turn off|enable|opt out)|"
                         r"turn off\b.{0,30}\bfeatures?)\b"),
        ("benchmark", r"\b(?:benchmarks?|outperforms?|beats|tops|leaderboard|state[- ]of[- ]the[- ]art)\b"),
    )
)
# A sentence that proposes, asks, plans, reports a rumour or a possibility reports no event.
_UNSURE = re.compile(
    r"\b(?:would|could|should|might|(?-i:may)|if|whether|"
    # "May" of a headline in title case ("Chrome May Soon Use AI ..."), not the month ("in May", "May 2026")
    r"(?<!in )(?<!of )(?<!since )(?<!this )(?<!last )(?<!next )(?<!early )(?<!late )(?<!mid-)(?<!by )(?<!until )"
    r"(?<!from )(?-i:May)(?=\s+[A-Za-z])|rumou?r(?:s|ed)?|reportedly|report(?:s|ed)? that|"
    r"in talks|considering|consider|plans? to|planning|proposal|propos(?:es|ed|ing)|calls? for|urges?|wants? to|"
    r"expected to|set to|poised to|why|what if|hopes? to|aims? to|seeks? to|pushes? for|seeking|fake|false|hoax|"
    r"denie[sd]|deny|debunk\w*)\b|\?",
    re.IGNORECASE)
# A leak of words (a transcript, a memo, an email) is news, not a security incident.
_WORD_LEAK = re.compile(r"\bleak(?:s|ed)?\b[^.]{0,30}\b(?:transcript|memo|email|recording|document|audio|"
                        r"messages?|chat|slides?|plans?|roadmap)\b|\b(?:transcript|memo|email|recording|"
                        r"document|audio|messages?|slides?)\b[^.]{0,20}\bleak", re.IGNORECASE)
EVENT_SENTENCES = 3  # the headline and the opening sentences of each item carry the event


@dataclass(frozen=True)
class Event:
    kind: str
    sentence: str  # the evidence


_ORDER = {kind: n for n, (kind, _) in enumerate(EVENT_PATTERNS)}
# Most sentences are ruled out for most patterns without running them ("" stands for _UNSURE).
_MAY_MATCH = Prefilter({"": _UNSURE, **dict(EVENT_PATTERNS)})


# The events that launch a model: a release, its availability somewhere, its benchmark results.
LAUNCH_KINDS = frozenset({"release", "availability", "benchmark"})
_A_MODEL = re.compile(r"\b(?:models?|llms?|open[- ]weights?)\b", re.IGNORECASE)


# A model measured against people, not models: a study's finding about a model out already ("GPT-4 Outperforms Elite
# Crowdworkers, Saving Researchers $500k"), no benchmark result that launches it.
_AGAINST_PEOPLE = re.compile(
    r"\b(?:outperforms?|beats|tops)\s+(?:\w+\s+){0,3}?(?:humans?|people|(?:crowd[- ]?)?workers|crowdworkers|doctors|"
    r"physicians|lawyers|students|experts|radiologists|professionals|programmers|developers|annotators|"
    r"researchers|clinicians|nurses|teachers|analysts)\b", re.IGNORECASE)


def launches_model(title: str, models: Sequence[str], kinds: Iterable[str]) -> bool:
    """Whether a headline launches one of the models it names: a release, availability or benchmark event, a headline
    that is mostly the model's name, or the name before a tagline that says what model it is ("Kimi K2.6: The new
    leading open weights model"; not a verdict on it, "GPT-5: Overdue, overhyped and underwhelming"). A model that
    outperforms people is a finding about it, not its benchmark result."""
    found = LAUNCH_KINDS.intersection(kinds)
    if found == {"benchmark"} and _AGAINST_PEOPLE.search(title):
        found = frozenset()
    if found or model_headline(title, models) or announces_model(title, models):
        return True
    name, tagline = name_and_tagline(title)
    return bool(tagline) and model_headline(name, models) and _A_MODEL.search(tagline) is not None


def events_in(title: str, summary: str) -> list[Event]:
    """The events an item reports as done, strongest first (law, acquisition, funding, ... release, benchmark)."""
    return list(_events_in(title, summary))


@lru_cache(maxsize=TEXT_CACHE)
def _events_in(title: str, summary: str) -> tuple[Event, ...]:
    found: dict[str, Event] = {}
    candidates = [title]
    if summary:
        candidates += sentences(summary)[:EVENT_SENTENCES]
    for sentence in candidates:
        may = _MAY_MATCH.candidates(sentence)
        if (may is None or "" in may) and _UNSURE.search(sentence):
            continue
        for kind, pattern in EVENT_PATTERNS:
            if kind not in found and (may is None or kind in may) and pattern.search(sentence):
                if kind == "security" and _WORD_LEAK.search(sentence):
                    continue
                # "sets a benchmark for" others, or a program's micro-benchmarks, is no benchmark result, unless the
                # sentence holds one besides
                if kind == "benchmark" and not pattern.search(BENCHMARK_IDIOMS.sub(" ", sentence)):
                    continue
                found[kind] = Event(kind, sentence)
    return tuple(sorted(found.values(), key=lambda e: _ORDER[e.kind]))


# --- amounts with their roles -----------------------------------------------------------------------------------

_MONEY = (r"(?:(?:US)?\$|€|£|¥|(?:USD|EUR|GBP|RMB|CNY)\s?)\d+(?:[.,]\d+)*(?:\s?(?:trillion|billion|million|"
          r"thousand|tn|bn|mn|[kmbt]))?\b|\d+(?:[.,]\d+)*\s?(?:trillion|billion|million|bn|mn)?\s?"
          r"(?:dollars|euros|pounds|yuan|USD|EUR)\b")
MONEY = re.compile(_MONEY, re.IGNORECASE)
_ROLE_BEFORE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern + r"\s*$", re.IGNORECASE)) for role, pattern in (
        ("valuation", r"(?:\b(?:valu(?:ation|ed) (?:of|at)|valued at|worth)|\bvalu(?:es|ing)\b[^.$€£]{0,40}\bat)"
                      r"(?: about| around| roughly| nearly| over| more than| some)?"),
        ("revenue", r"\b(?:revenue|sales|ARR|run[- ]rate|annuali[sz]ed revenue)(?: of| to| at| hit| hits| reached| "
                    r"reaches| tops?| topped| surpassed| passed)(?: about| around| roughly| nearly| over| more than)?"),
        ("raised", r"\b(?:rais(?:es|ed|ing)|secur(?:es|ed|ing)|clos(?:es|ed|ing)|lands?|landed|gets?|got|pulls? in)"
                   r"(?: a| an)?(?: new| fresh| additional| further)?"
                   r"(?: about| around| roughly| nearly| over| more than)?"),
        ("deal", r"\b(?:acquir\w*|buy\w*|bought|acquisition|deal|takeover)\b[^.;$€£]{0,40}\bfor(?: about| around| "
                 r"roughly| nearly| over| more than)?"),
        ("investment", r"\b(?:invest(?:s|ed|ing)?|commit(?:s|ted|ting)?|pledg(?:es|ed)|put(?:s|ting)?)(?: up to| about"
                       r"| around| nearly| over| more than| another)?"),
        ("fine", r"\b(?:fined?(?: \w+)?|penalty of)(?: about| around| nearly| over| more than)?"),
        ("price", r"\b(?:costs?|priced at|price of|pricing of|charges?|for just|for only)(?: about| around| just)?"),
        ("spending", r"\b(?:spend(?:s|ing)?|capex of|capital expenditure of)"
                     r"(?: about| around| nearly| over| more than)?"),
    )
)
_ROLE_AFTER: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(r"^\s*" + pattern, re.IGNORECASE)) for role, pattern in (
        ("valuation", r"(?:post-money |pre-money )?valuation\b"),
        ("revenue", r"(?:in |of )?(?:annual(?:i[sz]ed)? |yearly |recurring )?(?:revenue|sales|ARR|run[- ]rate)\b"),
        ("raised", r"(?:in )?(?:new |fresh )?(?:funding|seed|series [a-f]|round|investment round|venture)\b"),
        ("price", r"(?:/|per |a |an )\s?(?:month|year|user|seat|million|1M|M tokens|token|hour|mo\b|yr\b)"),
        ("deal", r"(?:in (?:the|a|an|its) (?:\w+ )?)?(?:deal|acquisition|takeover|purchase)\b"),
        ("investment", r"(?:investment|commitment|infrastructure (?:plan|investment)|plan to invest)\b"),
        ("fine", r"(?:fine|penalty|settlement)\b"),
        ("spending", r"(?:in |of )?(?:capex|capital expenditure|spending)\b"),
        ("market value", r"(?:in |of )?(?:market (?:value|cap(?:italization)?)|stock|shares|stake)\b"),
    )
)
ROLE_WORDS = {"raised": "raised", "valuation": "valuation", "revenue": "revenue", "price": "price",
              "investment": "investment", "deal": "deal value", "fine": "fine", "spending": "spending",
              "market value": "market value"}


@dataclass(frozen=True)
class Amount:
    value: str
    role: str | None  # None: the text does not make clear what the amount is
    sentence: str


def amounts_in(text: str) -> list[Amount]:
    """Every money amount of the text with its role, in order of appearance (each value once, first role wins)."""
    return list(_amounts_in(text))


@lru_cache(maxsize=TEXT_CACHE)
def _amounts_in(text: str) -> tuple[Amount, ...]:
    found: dict[str, Amount] = {}
    for sentence in sentences(text):
        for match in MONEY.finditer(sentence):
            value = re.sub(r"\s+", " ", match.group(0)).strip()
            if not re.search(r"\d", value) or value in found:
                continue
            before, after = sentence[max(0, match.start() - 80):match.start()], sentence[match.end():match.end() + 60]
            role = next((r for r, p in _ROLE_AFTER if p.search(after)), None)
            role = role or next((r for r, p in _ROLE_BEFORE if p.search(before)), None)
            found[value] = Amount(value, role, sentence)
    return tuple(found.values())


def amount_with_role(amounts: list[Amount], role: str) -> Amount | None:
    return next((a for a in amounts if a.role == role), None)


# --- who acts: organizations and recognised proper names ----------------------------------------------------------

def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that start sentences and headlines but name nobody.
_COMMON = _word_set("""
a about after again against all almost also although always an and another any anyone anything are around as at
back be because become been before being best better between beyond big both brief build building builds but by
can case changes choosing could day days did do does doing don't down during each early even ever every everyone
everything explore exploring few find finding first five for four free from get getting give go going good great
had has have having he her here how however i if in inside instead into introducing is it its just keep last
late learn learning less let life like little look looking lost make making many may maybe me meet more most
much must my new next no not notes now of off on once one only open or other our out over part people please
plus powering rethinking run running same see seven she should show simple since six small so some still stop
such take taking ten than that the their them then there these they things think this those three through to
today together too top toward towards try two under understanding unlocking until up us use using very vs want
was way we welcome were what when where which while who why will with without world would year years yes yet you
your announcing breaking exclusive inside opinion analysis report review update updates live watch introducing
meet
ai llm llms api apis gpu gpus ml agi ceo cto
""")
_DEMONYMS = _word_set("""
american british chinese german french japanese korean indian russian european italian spanish canadian
australian israeli brazilian mexican dutch swiss swedish irish polish ukrainian taiwanese saudi emirati african
asian western eastern global national federal
""")
_COMPANY_WORDS = _word_set("""
ai labs lab robotics technologies technology systems inc corp corporation ltd gmbh health bio therapeutics
capital ventures networks cloud computing dynamics intelligence research foundation institute group holdings
software semiconductor motors industries
""")
_NAME_TOKEN = r"(?<![\w.$€£-])(?:[A-Z][\w'’&.-]*[\w]|[A-Z]|[a-z]+[A-Z][\w-]*|\d+[A-Z][\w-]*)"
_NAME = re.compile(rf"{_NAME_TOKEN}(?:\s+(?:{_NAME_TOKEN}|&|of|for|de)(?=\s|$|[,:;.'’]))*(?:\s+{_NAME_TOKEN})?")


# Verbs that a headline in Title Case capitalises after a name; no name holds one.
_NAME_BREAKS = frozenset({"is", "are", "was", "were", "be", "been", "has", "have", "had", "will", "would", "can",
                          "could", "should", "may", "might", "must", "does", "did", "gets", "got", "seems", "says",
                          "said", "goes", "went"})


def _tokens(name: str) -> list[str]:
    return name.replace("’", "'").split()


def _strip_possessive(name: str) -> str:
    return re.sub(r"['’]s$", "", name)


def _site_named(squashed: str, url: str) -> bool:
    """Whether the link's site is named so: its first label or its domain ("status.claude.com" for Claude)."""
    labels = (urlsplit(url).hostname or "").lower().removeprefix("www.").split(".")
    return bool(squashed) and (labels[0] == squashed or (len(labels) >= 2 and labels[-2] == squashed))


def recognised_name(candidate: str, *, at_start: bool, text: str, url: str) -> bool:
    """Whether a capitalised word group is a real proper name (see the module's docstring)."""
    words = _tokens(candidate)
    if not words:
        return False
    lowered = [w.lower().strip(".,:;") for w in words]
    if all(w in _COMMON or w in _DEMONYMS for w in lowered):
        return False
    if _plain_word(words[0]) and (len(words) == 1 or lowered[0] not in _COMMON):
        return False
    if lowered[-1] in _COMPANY_WORDS and len(words) >= 2:
        return True
    squashed = re.sub(r"[^a-z0-9]", "", "".join(lowered))
    if _site_named(squashed, url):
        return True
    if any(ch.isupper() for ch in words[0][1:]) or any(ch.isdigit() for ch in words[0]):
        return True  # xAI, OpenAI-style casing or a name with digits is no ordinary word
    if not at_start:
        return lowered[0] not in _COMMON
    if len(words) >= 2 and lowered[0] not in _COMMON:
        return True
    # A lone first word counts only when the text also writes it capitalised inside a sentence.
    inside = re.compile(rf"(?<=[a-z,;:]\s){re.escape(words[0])}\b")
    return bool(inside.search(text))




_SHORT_WORDS = frozenset({"with", "from", "into", "over", "than", "that", "this", "onto", "upon", "about", "your"})


def title_case(title: str) -> bool:
    """A headline in Title Case, where capitals say nothing about names."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", title) if len(w) >= 4 and w.lower() not in _SHORT_WORDS]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.9


def _plain_word(word: str) -> bool:
    """A word that opens a sentence without naming anyone: a common word or a demonym ("German-based")."""
    lowered = word.lower().strip(".,:;")
    return lowered in _COMMON or lowered.split("-")[0] in _DEMONYMS or lowered.endswith("-based")


def _names(sentence: str) -> list[tuple[str, bool]]:
    """Capitalised word groups of a sentence without their leading common words, each with whether it opens the
    sentence."""
    out = []
    for match in _NAME.finditer(sentence):
        words = _tokens(match.group(0).strip(" .,:;"))
        start = match.start()
        while words and _plain_word(words[0]):
            start = sentence.find(words[1], start) if len(words) > 1 else start
            words = words[1:]
        # A Title Case verb ends the name: "Claude Is Down" names Claude.
        cut = next((i for i, w in enumerate(words) if i and w.lower() in _NAME_BREAKS), len(words))
        words = words[:cut]
        if words:
            opening = start == 0 or sentence[:start].rstrip().endswith((":", "–", "-", "—"))
            out.append((_strip_possessive(" ".join(words)), opening))
    return out


def _distinctive(name: str, text: str, url: str) -> bool:
    """A name that stands out even in a Title Case headline: odd casing or digits, its site's domain, or written
    capitalised inside a sentence of the text."""
    first = _tokens(name)[0]
    if any(ch.isupper() for ch in first[1:]) or any(ch.isdigit() for ch in first):
        return True
    if recognised_name(name, at_start=True, text="", url=url) and name.lower().split()[-1] in _COMPANY_WORDS:
        return True
    if _site_named(re.sub(r"[^a-z0-9]", "", name.lower()), url):
        return True
    return bool(re.search(rf"(?<=[a-z,;:]\s){re.escape(name)}\b", text))


def part_of_longer_name(name: str, text: str) -> bool:
    """Whether `name` is written in `text` only as the end of a longer capitalised name ("AI Act" in "Transparency in
    Frontier AI Act"; not in "the AI Act")."""
    found = [m.start() for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    before = [re.search(r"([A-Z][\w'’.-]*)\s+$", text[:at]) for at in found]
    return bool(found) and all(m is not None and m.group(1).lower() not in _COMMON for m in before)


def actor_of(title: str, text: str, url: str, organizations: tuple[str, ...], evidence: str = "") -> str | None:
    """Who the headline is about: the first gazetteer organization it names, else its first recognised proper
    name, else one of the event's evidence sentence; None when there is none (a headline such as "Building an
    agent factory" names nobody)."""
    best: tuple[int, str] | None = None
    for org in organizations:
        at = title.find(org)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, org)
    if best is not None:
        return best[1]
    headline = HN_PREFIX.sub("", title)
    strict = title_case(headline)
    text = text.replace(title, " ")  # "inside a sentence" means the text's own sentences, not the headline
    for name, opening in _names(headline):
        if strict and not _distinctive(name, text, url):
            continue
        if recognised_name(name, at_start=opening, text=text, url=url):
            return name
    if evidence and evidence != title:
        for name, opening in _names(evidence):
            if recognised_name(name, at_start=opening, text=text, url=url):
                return name
    return None
