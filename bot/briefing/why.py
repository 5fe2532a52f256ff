"""Why a story matters: up to three bullets, each a specific consequence drawn from the story's own facts (what
changes, for whom, compared with what). Pure and deterministic: no I/O, no model.

Every bullet needs facts of its own story: an event with evidence in the text (a release, a raise, a law now in
force ...), amounts with their roles, model sizes, a comparison the text makes, a clause the text states. A story
with nothing grounded to say gets no bullet at all; nothing generic is ever added ("most relevant to ...",
"the only source so far", "covered by N sources").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.briefing.facts import Amount, Event, amount_with_role, part_of_longer_name
from bot.briefing.summary import similarity
from bot.text import fold_space, sentences

JURISDICTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("Italy", r"\bItal(?:y|ian)\b"),
        ("France", r"\bFrance\b|\bFrench\b"),
        ("Germany", r"\bGermany\b"),
        ("Spain", r"\bSpain\b"),
        ("the EU", r"\bEU\b|\bEuropean (?:Union|Commission|Parliament)\b|\bBrussels\b|\bEU AI Act\b"),
        ("California", r"\bCalifornia\b|\bSacramento\b|\bNewsom\b"),
        ("New York", r"\bNew York(?: State)?\b|\bRAISE Act\b"),
        ("Colorado", r"\bColorado\b"),
        ("Texas", r"\bTexas\b"),
        ("the UK", r"\bUK\b|\bU\.K\.|\bBritain\b|\bOfcom\b|\bOnline Safety Act\b"),
        ("China", r"\bChina\b|\bBeijing\b"),
        ("the US", r"\bU\.S\.|\bUnited States\b|\bCongress\b|\bWhite House\b|\bSenate\b|\bFTC\b"),
        ("Japan", r"\bJapan\b"),
        ("India", r"\bIndia\b"),
        ("South Korea", r"\bSouth Korea\b"),
        ("Canada", r"\bCanada\b"),
        ("Brazil", r"\bBrazil\b"),
        ("Australia", r"\bAustralia\b"),
    )
)
ARXIV_AREAS = {
    "cs.AI": "AI", "cs.CL": "language", "cs.LG": "machine learning", "cs.CV": "computer vision",
    "cs.RO": "robotics", "cs.CR": "security", "cs.SE": "software engineering", "cs.IR": "information retrieval",
    "cs.HC": "human-computer interaction", "cs.MA": "multi-agent systems", "cs.NE": "neural computing",
    "cs.SD": "audio", "eess.AS": "audio", "eess.IV": "imaging", "stat.ML": "machine learning",
    "q-bio.BM": "biology", "physics.ao-ph": "weather and climate",
}

_OPEN_WEIGHTS = re.compile(r"\bopen[- ]weights?\b|\bweights are (?:open|available)\b|\bapache[- ]2\.0\b|"
                           r"\bMIT licen[cs]e\b", re.IGNORECASE)
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?B\b(?!\s?(?:USD|EUR|dollars?|euros?))")
_ACTIVE = re.compile(r"\bA(\d+(?:\.\d+)?)B\b")
_CONTEXT = re.compile(r"(\d+(?:\.\d+)?\s?[KM])[- ]?(?:tokens?)?[- ]?(?:token\s)?context", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(outperform(?:s|ed|ing)?|beat(?:s|ing)?|surpass(?:es|ed|ing)?|compared (?:with|to)|ahead of|on par with|"
    r"(?:better|faster|cheaper|smaller|larger|more accurate) than|\d+(?:\.\d+)?x (?:faster|smaller|cheaper|less|"
    r"more|fewer)|times (?:faster|smaller|cheaper|its size))\b", re.IGNORECASE)
_MAGNITUDE = re.compile(r"\b(?:faster|slower|less|fewer|more|cheaper|smaller|larger|lower|higher|up to|from "
                        r"[\w$.,%]+ to|cut(?:s|ting)?|reduc(?:es|ed|ing)|improv(?:es|ed|ing)|saves?|boosts?)\b|"
                        r"\d\s?[x×](?!\w)", re.IGNORECASE)
_PURPOSE = re.compile(r"\b(?:to|will use (?:the|its|this) (?:money|funds|funding|capital|round) to|plans to use "
                      r"(?:the|its) (?:money|funds|funding) to)\s+((?:build|expand|hire|scale|develop|grow|fund|"
                      r"accelerate|bring|train|open|launch|invest in|speed up)\b[^.;]{5,90})", re.IGNORECASE)
_TARGET = re.compile(r"\b(?:acquires|acquired|buys|bought|to acquire|takes over|merges with|acquisition of)\s+"
                     r"((?:[A-Z0-9][\w.&'’-]*)(?: [A-Z0-9][\w.&'’-]*){0,3})")
_OBLIGATION = re.compile(r"\b(requires?|obliges?|forces?|bans?|prohibits?|mandates?)\b\s+([^.;]{8,140})",
                         re.IGNORECASE)
_COURT_CLAUSE = re.compile(r"\b((?:alleg(?:es|ing)|claim(?:s|ing) that|ruled that|ordered|accus(?:es|ing))\b"
                           r"[^.;]{8,140})", re.IGNORECASE)
_ADVICE = re.compile(r"\b((?:users|customers|developers|admins|teams) (?:should|must|are (?:advised|urged) to)"
                     r"[^.;]{5,120}|(?:update|upgrade) to (?:version )?[\w.]+[^.;]{0,80}|(?:fixed|patched) in "
                     r"(?:version )?[\w.]+[^.;]{0,60}|rotate[^.;]{5,80})", re.IGNORECASE)
_EXPOSED = re.compile(r"\b((?:exposed|accessed|stole|stolen|leaked|compromised)\b[^.;]{8,120})", re.IGNORECASE)
_BRING = re.compile(r"\b((?:to bring|to offer|to deploy|to embed|embeds|will (?:use|offer|bring|embed|deploy|"
                    r"roll out))\b[^.;]{8,120})", re.IGNORECASE)
_LEAD = re.compile(r"\b(lead(?:ing)?\b[^.;]{8,110})", re.IGNORECASE)
_BEFORE = re.compile(r"\b((?:previously|formerly|former|who (?:led|was|served as|ran))\b[^.;]{8,110})",
                     re.IGNORECASE)
# "... is now available through X": X up to the sentence's end (a dot inside a version, "Gemini 2.5 Pro", does not
# end it).
_AVAILABLE = re.compile(r"\b(?:now )?available (via|through|in|on|for|to)\s+((?:[^.;]|\.(?=\w)){3,90})",
                        re.IGNORECASE)
# A release stage, not a place to use it from ("available in beta"): nothing to say about where it can be used.
_STAGE = re.compile(r"^(?:an? |the )?(?:(?:public|private|open|limited|closed|early|research) )?(?:beta|alpha|"
                    r"preview|early access|testing|general availability)\b", re.IGNORECASE)
_PRICE_MOVE = re.compile(r"\bfrom ((?:US)?\$\d[\d.,]*\s?\w*) to ((?:US)?\$\d[\d.,]*\s?\w*)", re.IGNORECASE)
_RETIRE = re.compile(r"\b(?:deprecat\w+|retir\w+|shut(?:s|ting)? down|sunset\w*|end of life)\b[^.;]{0,40}?\b"
                     r"((?:on|by|after) (?:[A-Z][a-z]+ \d{1,2}(?:, \d{4})?|\d{4}-\d{2}-\d{2}))")
_CONTRIBUTION = re.compile(r"\b((?:we|this paper|this work|the authors|it) (?:propose|introduce|present|show|"
                           r"find|demonstrate)s?\b[^.;]{10,160})", re.IGNORECASE)


def join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def the(name: str) -> str:
    """'EU AI Act' -> 'the EU AI Act'; 'SB 53' and 'GDPR' stay as they are."""
    return f"the {name}" if re.search(r"\b(?:Act|Rule|Order|Directive|Regulation)$", name) else name


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def maker_of(model: str, makers: Mapping[str, str]) -> str | None:
    """Who makes a model, by its family ("Claude Sonnet 4.5" -> Anthropic); the longest family name wins."""
    for family in sorted(makers, key=len, reverse=True):
        if model.lower().startswith(family.lower()):
            return makers[family]
    return None


def model_key(name: str) -> str:
    """One spelling of a model name: "Qwen3-Next-80B-A3B" and "Qwen3-Next 80B-A3B" are the same model."""
    return re.sub(r"[\s_.-]+", "", name.lower())


def named_in(model: str, title: str, makers: Mapping[str, str]) -> bool:
    """Whether a headline names the model, in full or as its family's maker and its version ("DeepSeek halves
    prices with its V3.2-Exp model" names DeepSeek-V3.2-Exp)."""
    key, headline = model_key(model), model_key(title)
    if key in headline:
        return True
    family = next((f for f in sorted(makers, key=len, reverse=True) if key.startswith(model_key(f))), None)
    if family is None:
        return False
    version = key[len(model_key(family)):]
    return len(version) >= 2 and version in headline and (model_key(family) in headline
                                                            or model_key(makers[family]) in headline)


def distinct_models(names: Iterable[str]) -> tuple[str, ...]:
    """Model names without repeats under other spellings, and without a bare prefix of a fuller name."""
    kept: dict[str, str] = {}
    for name in names:
        key = model_key(name)
        if key in kept or any(other.startswith(key) for other in kept):
            continue
        for other in [k for k in kept if key.startswith(k)]:
            del kept[other]
        kept[key] = name
    return tuple(kept.values())


def money_value(amount: str) -> float | None:
    """A dollar amount's value in dollars ("$4 billion" -> 4e9); None for other currencies or no number."""
    match = re.search(r"(?:US\$|\$|USD\s?)(\d+(?:[.,]\d+)?)\s?(trillion|billion|million|thousand|tn|bn|mn|[KMBT])?\b",
                      amount, re.IGNORECASE)
    if not match:
        return None
    scale = {"trillion": 1e12, "tn": 1e12, "t": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6,
             "mn": 1e6, "m": 1e6, "thousand": 1e3, "k": 1e3}.get((match.group(2) or "").lower(), 1.0)
    return float(match.group(1).replace(",", "")) * scale


@dataclass(frozen=True)
class StoryFacts:
    """Everything a story's bullets may state, gathered from its items (the most important ones)."""

    story_id: str
    title: str
    text: str  # titles and summaries of the story's items
    topic: str
    heading: str
    events: tuple[Event, ...] = ()
    actor: str | None = None
    organizations: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # distinct, the headline's first
    amounts: tuple[Amount, ...] = ()
    metrics: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    arxiv_areas: tuple[str, ...] = ()
    makers: Mapping[str, str] = field(default_factory=dict)
    points: int | None = None

    @property
    def kind(self) -> str | None:
        return self.events[0].kind if self.events else None

    @property
    def model(self) -> str | None:
        return self.models[0] if self.models else None

    @property
    def maker(self) -> str | None:
        maker = maker_of(self.model, self.makers) if self.model else None
        return maker or self.actor

    @property
    def subject(self) -> str | None:
        """What the story is about: the model its headline names, else who acts."""
        if self.model and named_in(self.model, self.title, self.makers):
            return self.model
        return self.actor

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(name for name, pattern in JURISDICTIONS if pattern.search(self.text))

    def sizes(self) -> tuple[float | None, float | None]:
        """Parameters in billions (total, active) of the main model, from its name or the text."""
        if not self.model:
            return None, None
        total = _SIZE.findall(self.model)
        active = _ACTIVE.findall(self.model)
        if not total:
            near = re.search(rf"{re.escape(self.model)}[^.]{{0,60}}?\b(\d+(?:\.\d+)?)\s?(?:B|billion)[- ]param",
                             self.text)
            total = [near.group(1)] if near else []
        sizes = [float(t) for t in total if not active or t not in active]
        return (max(sizes) if sizes else None), (float(active[0]) if active else None)


@dataclass
class DayContext:
    """What a bullet may compare a story with: the other stories shown in the same briefing."""

    raised: dict[str, float] = field(default_factory=dict)  # story_id -> dollars raised

    @classmethod
    def of(cls, stories: Iterable[StoryFacts]) -> DayContext:
        context = cls()
        for facts in stories:
            raised = amount_with_role(list(facts.amounts), "raised") if facts.kind == "funding" else None
            value = money_value(raised.value) if raised else None
            if value:
                context.raised[facts.story_id] = value
        return context


def _clause(match: re.Match[str], group: int = 1, max_words: int = 22) -> str:
    words = match.group(group).strip(" ,:;—-").split()
    clause = " ".join(words[:max_words])
    return clause.rstrip(",:;—- ")


def _sentence_with(text: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    for sentence in sentences(text):
        match = pattern.search(sentence)
        if match:
            return match
    return None


def _what_changes(f: StoryFacts, context: DayContext) -> list[str]:
    out: list[str] = []
    kind = f.kind
    model, maker = f.model, f.maker
    if model and named_in(model, f.title, f.makers) and (kind in ("release", "availability", "benchmark", None)
                                                         or f.topic in ("models", "tools")):
        total, active = f.sizes()
        if total and active:
            out.append(f"{model} activates only {active:g}B of its {total:g}B parameters per token (mixture of "
                       f"experts), so it runs far cheaper than its size suggests.")
        elif total and total <= 20:
            out.append(f"At {total:g}B parameters, {model} is small enough to run on a single GPU or a workstation, "
                       f"so teams can host it themselves.")
        elif total and total >= 100:
            out.append(f"At {total:g}B parameters, {model} needs a multi-GPU server to run.")
        if _OPEN_WEIGHTS.search(f.text) and kind in ("release", None):
            api = f" instead of calling {possessive(maker)} API" if maker else ""
            out.append(f"{model}'s weights are open: teams can download, fine-tune and run it on their own "
                       f"hardware{api}.")
        window = _CONTEXT.search(f.text)
        if window:
            out.append(f"A {window.group(1).replace(' ', '')}-token context window lets {model} take in long "
                       f"documents or a whole codebase in one request.")
    subject = f.subject or model
    if kind in ("release", "availability") and subject:
        available = _sentence_with(f.text, _AVAILABLE)
        # Only where the subject is what becomes available ("Deep Research is now available on Gemini 2.5 Pro" says
        # nothing of the kind about Gemini 2.5 Pro).
        if available and model_key(subject) in model_key(available.string[:available.start()]) \
                and model_key(subject) not in model_key(available.group(2)) and not _STAGE.match(available.group(2)):
            where, what = available.group(1).lower(), _clause(available, 2, 14)
            if where in ("via", "through", "in", "on"):
                out.append(f"{subject} can now be used through {what}.")
            else:
                out.append(f"{subject} now comes with {what}.")
    price = _sentence_with(f.text, _PRICE_MOVE)
    if price:
        out.append(f"The price moves from {price.group(1)} to {price.group(2)}.")
    retire = _sentence_with(f.text, _RETIRE)
    if retire and subject:
        out.append(f"{subject} goes away {retire.group(1)}: anyone using it must move before then.")
    if kind == "funding":
        out += _funding(f, context)
    elif kind == "acquisition":
        out += _acquisition(f)
    elif kind == "law":
        out += _law(f)
    elif kind == "court":
        clause = _sentence_with(f.text, _COURT_CLAUSE)
        if clause:
            out.append(f"At stake: {_clause(clause)}.")
    elif kind == "security":
        advice = _sentence_with(f.text, _ADVICE)
        exposed = _sentence_with(f.text, _EXPOSED)
        if advice:
            out.append(f"{cap(_clause(advice))}.")
        elif exposed:
            out.append(f"What was affected: {_clause(exposed)}.")
    elif kind == "outage" and subject:
        out.append(f"Apps and teams that rely on {subject} saw failed requests while the incident lasted.")
    elif kind == "partnership":
        bring = _sentence_with(f.text, _BRING)
        if bring:
            out.append(f"The partnership means {f.actor + ' ' if f.actor else ''}{_clause(bring)}."
                       if bring.group(1).lower().startswith(("embeds", "will"))
                       else f"The partnership aims {_clause(bring)}.")
    elif kind == "hire":
        lead = _sentence_with(f.text, _LEAD)
        before = _sentence_with(f.text, _BEFORE)
        if lead:
            out.append(f"The new role: {_clause(lead)}.")
        if before:
            out.append(f"Background: {_clause(before)}.")
    return out


def _funding(f: StoryFacts, context: DayContext) -> list[str]:
    out: list[str] = []
    amounts = list(f.amounts)
    raised = amount_with_role(amounts, "raised")
    valuation = amount_with_role(amounts, "valuation")
    revenue = amount_with_role(amounts, "revenue")
    who = f.actor
    if not who or not (raised or valuation):
        return out
    purpose = next((m for s in sentences(f.text) if raised and raised.value in s
                    for m in [_PURPOSE.search(s)] if m), None)
    if raised and purpose:
        out.append(f"{who} raised {raised.value} to {_clause(purpose)}.")
    elif raised and valuation:
        out.append(f"{who} raised {raised.value}, which values it at {valuation.value}.")
    elif valuation:
        out.append(f"{who} is now valued at {valuation.value}.")
    if valuation and revenue:
        ratio = _ratio(valuation.value, revenue.value)
        if ratio:
            out.append(f"At {valuation.value} against {revenue.value} of revenue, investors pay about {ratio:.0f} "
                       f"times its revenue.")
    mine = context.raised.get(f.story_id)
    others = [v for sid, v in context.raised.items() if sid != f.story_id]
    if raised and mine and others:
        n = len(others) + 1
        largest = mine >= max(others)
        out.append(f"{raised.value} is the largest of the {n} funding rounds in today's briefing." if largest
                   else f"{raised.value} is one of {n} funding rounds in today's briefing.")
    return out


def _ratio(a: str, b: str) -> float | None:
    va, vb = money_value(a), money_value(b)
    return va / vb if va and vb and va > vb else None


def _acquisition(f: StoryFacts) -> list[str]:
    buyer = f.actor
    evidence = next((e.sentence for e in f.events if e.kind == "acquisition"), "")
    match = _TARGET.search(evidence)
    target = match.group(1) if match else None
    if not buyer or not target or target == buyer or buyer in target:
        return []
    price = amount_with_role(list(f.amounts), "deal")
    cost = f" for {price.value}" if price else ""
    return [f"{target} now belongs to {buyer}{cost}: its product and team now serve {possessive(buyer)} plans."]


def _law(f: StoryFacts) -> list[str]:
    """What a law now in force changes. The law is the one the headline names (one the text only compares it with
    is not it), and what it requires comes from a sentence about it."""
    out: list[str] = []
    law = next((name for name in f.laws if name in f.title), None)
    if law and part_of_longer_name(law, f.title):
        # "California's Transparency in Frontier AI Act" holds "AI Act", which is another law: name none.
        law = None
    places = f.jurisdictions
    where = f" in {places[0]}" if places else ""
    about = re.compile(rf"{re.escape(law)}|\b(?:the|this|new) (?:law|act|bill)\b|^It\b" if law else
                       r"\b(?:the|this|new) (?:law|act|bill)\b|^It\b", re.IGNORECASE)
    obligation = next((m for sentence in sentences(f.text) if about.search(sentence)
                       for m in [_OBLIGATION.search(sentence)] if m), None)
    if law and obligation:
        out.append(f"{cap(the(law))} now {obligation.group(1).lower()} {_clause(obligation, 2)}.")
    elif law:
        out.append(f"{cap(the(law))} is now law{where}, no longer a proposal.")
    elif places and obligation:
        out.append(f"The new law{where} {obligation.group(1).lower()} {_clause(obligation, 2)}.")
    return out


def _body_sentences(f: StoryFacts) -> list[str]:
    """The sentences of the story's texts that are not one of its headlines."""
    headlines = {_plain_end(line.split(". ", 1)[0]) for line in f.text.splitlines()}
    return [s for s in sentences(f.text) if _plain_end(s) not in headlines and _plain_end(s) != _plain_end(f.title)]


def _plain_end(text: str) -> str:
    return text.strip().rstrip(".!?").strip().lower()


def _compared_with(f: StoryFacts) -> list[str]:
    subject = f.subject
    if not subject:
        return []
    for sentence in _body_sentences(f):
        match = _COMPARE.search(sentence)
        if not match or subject not in sentence[:match.start()]:
            continue
        start = sentence.rfind(subject, 0, match.start())
        clause = " ".join(sentence[start:].rstrip(".!?").split()[:28])
        others = [m for m in f.models if model_key(m) != model_key(subject) and m in clause]
        if model_key(subject) in {model_key(o) for o in others}:
            continue
        return [f"{clause}."]
    return []


_PRONOUN = re.compile(r"^(?:It|They|This|These|The model|The company)\b\s*")


def _figures(f: StoryFacts) -> list[str]:
    for sentence in _body_sentences(f):
        if not any(m in sentence for m in f.metrics):
            continue
        if _MAGNITUDE.search(sentence) and 6 <= len(sentence.split()) <= 35:
            if _PRONOUN.match(sentence):  # "It scores ..." names its subject, or is not quoted
                if not f.subject:
                    continue
                sentence = _PRONOUN.sub(f"{f.subject} ", sentence, count=1)
            return [sentence if sentence.endswith((".", "!")) else f"{sentence}."]
    return []


def _research(f: StoryFacts) -> list[str]:
    if not f.arxiv_areas and f.topic != "research":
        return []
    match = _sentence_with(f.text, _CONTRIBUTION)
    return [f"The result: {_clause(match, 1, 28)}."] if match else []


def why_it_matters(f: StoryFacts, context: DayContext, used: set[str], *, limit: int = 3,
                   summary: str = "") -> list[str]:
    """Up to `limit` bullets for one story, none of them in `used` (which gains the chosen ones) and none
    repeating the summary."""
    candidates = [*_what_changes(f, context), *_compared_with(f), *_figures(f), *_research(f)]
    chosen: list[str] = []
    for bullet in candidates:
        key = fold_space(bullet.lower())
        if key in used or any(similarity(bullet, other) >= 0.6 for other in chosen):
            continue
        if summary and (bullet.rstrip(".") in summary
                        or any(similarity(bullet, sentence) >= 0.5 for sentence in sentences(summary))):
            continue
        chosen.append(bullet)
        used.add(key)
        if len(chosen) >= limit:
            break
    return chosen
