"""What a story says and why it matters, from its own text and entities. Pure and deterministic: no I/O, no model.

- `summary_sentences`: 1-3 whole sentences chosen from a story's items (extractive): sentences that were cut off,
  boilerplate ("Read more", "Comments: 12"), links and near-repeats are skipped; the lead item's opening and the
  sentences sharing most words with the headline come first.
- `why_it_matters`: 2-3 bullets, each built from facts of the story itself (its models, makers, sizes, amounts,
  figures, laws, places, sources, points): what changes, what it is compared with, who is affected, and how it
  connects to the day's other stories. A bullet whose facts are missing is not written; nothing generic is added.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.text import fold_space, sentences

MAX_SENTENCE = 400
MIN_SENTENCE = 30

_BOILERPLATE = re.compile(
    r"^(?:read more|continue reading|comments?\b|score:|points:|article url|click here|subscribe|sign up|"
    r"the post .* appeared first on|this post|source:|via\b|image:|photo:|credit:|advertisement|sponsored|"
    r"share this|listen to|watch:|update:|\[?\d+\s+(?:comments|points))",
    re.IGNORECASE,
)
_ENDS_WELL = re.compile(r"[.!?][\"”’')\]]?$")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_WORD = re.compile(r"[\w][\w'’.-]*\w|\w")
_STOP_TEXT = """a an the and or of to in on for with at by from as is are was were be been its it this that these
those into over after about than how why what who will can could has have had not no but up out more most new now
its their they we our you your his her he she them which while also just"""
_STOP = frozenset(_STOP_TEXT.split())
# "The Batch AI News and Insights: Voice-based AI ..." : a newsletter's label before the sentence proper.
_LABEL_WORD = r"(?:[A-Z0-9][\w.&'’-]*|and|of|the|for|in|on)"
_LABEL = re.compile(rf"^{_LABEL_WORD}(?: {_LABEL_WORD}){{1,7}}:\s+(?=[A-Z0-9\"“])")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def usable_sentence(sentence: str, title: str) -> bool:
    """A whole sentence worth quoting: not cut off, not boilerplate, not a link, not the headline again."""
    if not MIN_SENTENCE <= len(sentence) <= MAX_SENTENCE:
        return False
    if sentence.endswith(("…", "...")) or not _ENDS_WELL.search(sentence):
        return False
    first = sentence[0]
    if not (first.isupper() or first.isdigit() or first in "\"“‘'("):
        return False
    if _BOILERPLATE.search(sentence) or _URL.search(sentence):
        return False
    if len(_WORD.findall(sentence)) < 5:
        return False
    return similarity(sentence, title) < 0.8


@dataclass(frozen=True)
class Passage:
    """One item's text, as the summary chooser needs it."""

    title: str
    summary: str
    lead: bool = False


def summary_sentences(
    passages: Sequence[Passage], *, limit: int = 3, max_chars: int = 480, used: set[str] | None = None
) -> list[str]:
    """Up to `limit` whole sentences (at most `max_chars` in all) from the passages, in reading order.

    `used` holds normalized sentences already used elsewhere in the briefing: they are skipped, and the chosen
    ones are added, so no sentence appears twice in one briefing."""
    used = used if used is not None else set()
    title = passages[0].title if passages else ""
    candidates: list[tuple[float, int, int, str]] = []
    for p_index, passage in enumerate(passages):
        for s_index, raw in enumerate(sentences(passage.summary)[:8]):
            sentence = _LABEL.sub("", raw, count=1)
            if not usable_sentence(sentence, passage.title):
                continue
            score = 1.0 / (1 + s_index) + (0.6 if passage.lead else 0.0) + 1.2 * similarity(sentence, title)
            if re.search(r"\d", sentence):
                score += 0.15
            candidates.append((score, p_index, s_index, sentence))
    chosen: list[tuple[int, int, str]] = []
    total = 0
    for _, p_index, s_index, sentence in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if len(chosen) >= limit:
            break
        key = fold_space(sentence.lower())
        if key in used or any(similarity(sentence, other) >= 0.6 for _, _, other in chosen):
            continue
        if total + len(sentence) + 1 > max_chars and chosen:
            continue
        chosen.append((p_index, s_index, sentence))
        total += len(sentence) + 1
    for _, _, sentence in chosen:
        used.add(fold_space(sentence.lower()))
    return [sentence for _, _, sentence in sorted(chosen)]


# --- facts of a story ----------------------------------------------------------------------------------------

# A law or bill that has passed: signed, enacted, approved or passed, now law, in force.
_PASSED = (r"\bsign(?:s|ed)\b.{0,50}?\b(?:bill|act|law|SB|AB|HB|H\.R\.)\b|\binto law\b|\benact(?:s|ed)?\b"
           r"|\b(?:pass(?:es|ed)?|approv(?:es|ed))\b.{0,50}?\b(?:bill|act|law|rules)\b|\b(?:is )?now law\b"
           r"|\bbecomes? law\b|\btakes? effect\b|\bcomes? into force\b")
EVENT_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("law", _PASSED),
        ("court", r"\bcourt\b|\bjudge\b|\bruling\b|\brules that\b|\blawsuits?\b|\bsu(?:es|ed)\b"
                  r"|\bsettle(?:s|d|ment)\b"),
        ("restriction", r"\bban(?:s|ned)?\b|\bexport controls?\b|\bsanctions?\b|\bfine[sd]?\b|\bprobe\b"
                        r"|\binvestigat(?:es|ion)\b"),
        ("acquisition", r"\bacquir(?:es|ed|e)\b|\bacquisition\b|\bbuys\b|\bto buy\b|\bmerg(?:er|es)\b|\btakeover\b"),
        ("funding", r"\brais(?:es|ed|ing)\b|\bfunding\b|\bseries [a-f]\b|\bvaluation\b|\bvalued at\b"
                    r"|\binvest(?:s|ment)\b"),
        ("security", r"\bbreach\b|\bleak(?:s|ed)?\b|\bvulnerabilit(?:y|ies)\b|\bjailbreaks?\b|\bexploit(?:s|ed)?\b"
                     r"|\bdeepfakes?\b|\bmalware\b|\bprompt injection\b|\battack(?:s|ers)?\b|\bmisuse\b"),
        ("release", r"\breleas(?:es|ed|e)\b|\blaunch(?:es|ed)?\b|\bunveil(?:s|ed)?\b|\bintroduc(?:es|ed|ing)\b"
                    r"|\bdebuts?\b|\bopen[- ]sources?\b|\brolls? out\b|\bnow available\b|\bships\b"
                    r"|\bannounc(?:es|ed)\b"),
        ("partnership", r"\bpartners? with\b|\bpartnership\b|\bteams? up\b|\bdeal\b|\bagreement\b|\bcontract\b"),
        ("benchmark", r"\bbenchmarks?\b|\boutperform(?:s|ed)?\b|\bbeats?\b|\bstate[- ]of[- ]the[- ]art\b|\brecord\b"
                      r"|\btops\b|\bleaderboard\b"),
    )
)
_OPEN_WEIGHTS = re.compile(
    r"\bopen[- ]weights?\b|\bweights are open\b|\bopen[- ]sourc(?:e|es|ed|ing)\b|\bapache[- ]2\.0\b|\bMIT licen[cs]e\b",
    re.IGNORECASE)
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?B\b(?!\s?(?:USD|EUR|dollars?|euros?))")
_ACTIVE = re.compile(r"\bA(\d+(?:\.\d+)?)B\b")
_CONTEXT = re.compile(r"(\d+(?:\.\d+)?\s?[KM])[- ]?(?:tokens?)?[- ]?(?:token\s)?context", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(outperform(?:s|ed|ing)?|beat(?:s|ing)?|surpass(?:es|ed|ing)?|rival(?:s|ling)?|"
    r"compared (?:with|to)|ahead of|on par with|(?:better|faster|cheaper|smaller) than)\s+"
    r"([^.;:!?]{3,80})", re.IGNORECASE)
_MONEY = re.compile(r"(?:US\$|\$|USD\s?)(\d+(?:[.,]\d+)?)\s?(trillion|billion|million|thousand|tn|bn|mn|[KMBT])?\b",
                    re.IGNORECASE)
_SCALE = {"trillion": 1e12, "tn": 1e12, "t": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6,
          "mn": 1e6, "m": 1e6, "thousand": 1e3, "k": 1e3}
JURISDICTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("Italy", r"\bItal(?:y|ian)\b"),
        ("France", r"\bFrance\b|\bFrench\b"),
        ("Germany", r"\bGerman(?:y)?\b"),
        ("Spain", r"\bSpain\b|\bSpanish\b"),
        ("the Netherlands", r"\bNetherlands\b|\bDutch\b"),
        ("Ireland", r"\bIreland\b|\bIrish\b"),
        ("the EU", r"\bEU\b|\bEuropean (?:Union|Commission|Parliament)\b|\bBrussels\b|\bEU AI Act\b"),
        ("California", r"\bCalifornia\b|\bSacramento\b|\bNewsom\b"),
        ("New York", r"\bNew York(?: State)?\b|\bRAISE Act\b"),
        ("Colorado", r"\bColorado\b"),
        ("Texas", r"\bTexas\b"),
        ("Illinois", r"\bIllinois\b"),
        ("the UK", r"\bUK\b|\bU\.K\.|\bBritain\b|\bBritish\b|\bOfcom\b|\bOnline Safety Act\b"),
        ("China", r"\bChina\b|\bChinese\b|\bBeijing\b"),
        ("the US", r"\bU\.S\.|\bUS\b|\bUnited States\b|\bCongress\b|\bWhite House\b|\bSenate\b|\bfederal\b|\bFTC\b"),
        ("Japan", r"\bJapan(?:ese)?\b"),
        ("India", r"\bIndia(?:n)?\b"),
        ("South Korea", r"\bSouth Korea(?:n)?\b|\bKorea(?:n)?\b"),
        ("Canada", r"\bCanad(?:a|ian)\b"),
        ("Brazil", r"\bBrazil(?:ian)?\b"),
        ("Australia", r"\bAustralia(?:n)?\b"),
        ("Singapore", r"\bSingapore\b"),
    )
)
ARXIV_AREAS = {
    "cs.AI": "AI", "cs.CL": "language", "cs.LG": "machine learning", "cs.CV": "computer vision",
    "cs.RO": "robotics", "cs.CR": "security", "cs.SE": "software engineering", "cs.IR": "information retrieval",
    "cs.HC": "human-computer interaction", "cs.MA": "multi-agent systems", "cs.NE": "neural computing",
    "cs.SD": "audio", "eess.AS": "audio", "eess.IV": "imaging", "stat.ML": "machine learning",
    "q-bio.BM": "biology", "physics.ao-ph": "weather and climate",
}


# A headline's leading name followed by a verb: "Sierra raises ...", "Zoox opens ..." (not "Detecting and ...").
_TITLE_SUBJECT = re.compile(r"^((?:[A-Z0-9][\w.&'’-]*)(?: [A-Z0-9][\w.&'’-]*){0,3})(?:'s|’s)?\s+(?:to\s+)?[a-z]+s\b")
_TARGET = re.compile(r"\b(?:acquires|acquired|buys|to buy|to acquire|takes over|merges with)\s+"
                     r"((?:[A-Z0-9][\w.&'’-]*)(?: [A-Z0-9][\w.&'’-]*){0,3})")


def title_subject(title: str) -> str | None:
    """Who a headline is about: its leading proper name ("Sierra raises ..." -> "Sierra")."""
    match = _TITLE_SUBJECT.match(title)
    return match.group(1) if match else None


def money_value(amount: str) -> float | None:
    """A dollar amount's value in dollars ("$4 billion" -> 4e9); None for other currencies or no number."""
    match = _MONEY.search(amount)
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    scale = (match.group(2) or "").lower()
    return number * _SCALE.get(scale, 1.0)


def maker_of(model: str, makers: Mapping[str, str]) -> str | None:
    """Who makes a model, by its family ("Claude Sonnet 4.5" -> Anthropic); the longest family name wins."""
    for family in sorted(makers, key=len, reverse=True):
        if model.lower().startswith(family.lower()):
            return makers[family]
    return None


def the(name: str) -> str:
    """'EU AI Act' -> 'the EU AI Act'; 'SB 53' and 'GDPR' stay as they are."""
    return f"the {name}" if re.search(r"\b(?:Act|Rule|Order|Directive|Regulation)$", name) else name


def a_or_an(word: str) -> str:
    return f"an {word}" if re.match(r"(?i)[aeio]|u(?!n[iu])|AI\b|ML\b|LLM\b|RL\b", word) else f"a {word}"


def join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


@dataclass(frozen=True)
class StoryFacts:
    """Everything a story's bullets may state, gathered from all its items."""

    story_id: str
    title: str
    text: str
    summaries: str
    topic: str
    heading: str
    audience: str
    organizations: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    points: int | None = None
    arxiv_areas: tuple[str, ...] = ()
    makers: Mapping[str, str] = field(default_factory=dict)
    # The organizations and models the headline names: what the story is about, not what it mentions.
    subjects: tuple[str, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of event the text reports, strongest first."""
        return tuple(kind for kind, pattern in EVENT_KINDS if pattern.search(self.text))

    @property
    def headline_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, pattern in EVENT_KINDS if pattern.search(self.title))

    @property
    def kind(self) -> str | None:
        """The main event: what the headline reports, else what the text does."""
        kinds = self.headline_kinds or self.kinds
        return kinds[0] if kinds else None

    @property
    def model(self) -> str | None:
        return self.models[0] if self.models else None

    @property
    def maker(self) -> str | None:
        """The organization behind the story's main model, else its first organization."""
        maker = maker_of(self.model, self.makers) if self.model else None
        return maker or (self.organizations[0] if self.organizations else None)

    @property
    def headline_amount(self) -> str | None:
        """The amount the headline names, else the text's first."""
        in_title = [a for a in self.amounts if a in self.title]
        ranked = in_title or list(self.amounts)
        return ranked[0] if ranked else None

    @property
    def headline_money(self) -> float | None:
        amount = self.headline_amount
        return money_value(amount) if amount else None

    @property
    def actor(self) -> str | None:
        """Who acts in the story: the first organization the headline names, else the headline's subject."""
        for name in self.subjects:
            if name in self.organizations:
                return name
        return title_subject(self.title) or (self.organizations[0] if self.organizations else None)

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


def clause_around(text: str, needle: str, max_words: int = 16) -> str | None:
    """The part of the sentence around `needle`, cut at clause punctuation, at most `max_words` words."""
    for sentence in sentences(text):
        at = sentence.find(needle)
        if at < 0:
            continue
        start = max(sentence.rfind(mark, 0, at) for mark in (",", ";", ":", " — ", " - ", "(")) + 1
        ends = [e for e in (sentence.find(mark, at + len(needle)) for mark in (",", ";", " — ", " - ", ")")) if e > 0]
        end = min(ends) if ends else len(sentence)
        clause = sentence[start:end].strip().rstrip(".!?")
        words = clause.split()
        if len(words) > max_words:
            index = next((i for i, w in enumerate(words) if needle.split()[0] in w), 0)
            low = max(0, min(index - max_words // 2, len(words) - max_words))
            words = words[low:low + max_words]
            clause = " ".join(words)
        if len(words) >= 3:
            return clause
    return None


@dataclass
class DayContext:
    """What a bullet may compare a story with: the other stories shown in the same briefing."""

    # organization -> [(story_id, heading, title)]
    organizations: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # story_id -> dollar amounts of the story
    money: dict[str, float] = field(default_factory=dict)
    coverage_leader: str | None = None
    max_sources: int = 0
    # name -> [(published date, title)] of earlier items (the week before the window), newest first
    history: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, stories: Iterable[StoryFacts], history: Mapping[str, list[tuple[str, str]]] | None = None
           ) -> DayContext:
        context = cls(history=dict(history or {}))
        for facts in stories:
            for org in facts.subjects:
                context.organizations.setdefault(org, []).append((facts.story_id, facts.heading, facts.title))
            value = facts.headline_money
            if value and facts.kind in ("funding", "acquisition", "partnership"):
                context.money[facts.story_id] = value
            if len(facts.sources) > context.max_sources:
                context.max_sources, context.coverage_leader = len(facts.sources), facts.story_id
        return context


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _what_changes(f: StoryFacts, context: DayContext) -> list[str]:
    out: list[str] = []
    kind = f.kind
    model, maker = f.model, f.maker
    if model and (kind in ("release", "benchmark", None) or f.topic == "models"):
        total, active = f.sizes()
        if total and active:
            out.append(f"{model} activates only {active:g}B of its {total:g}B parameters per token (mixture of "
                       f"experts), so it runs far cheaper than its size suggests.")
        elif total and total <= 20:
            out.append(f"At {total:g}B parameters, {model} is small enough to run on a single GPU or a workstation, "
                       f"so teams can host it themselves.")
        elif total and total >= 100:
            out.append(f"At {total:g}B parameters, {model} needs a multi-GPU server; most teams will use it "
                       f"through an API.")
        if _OPEN_WEIGHTS.search(f.text):
            api = f" instead of calling {possessive(maker)} API" if maker else ""
            out.append(f"{model} comes with open weights: teams can download, fine-tune and run it on their own "
                       f"hardware{api}.")
        context_window = _CONTEXT.search(f.text)
        if context_window:
            out.append(f"A {context_window.group(1).replace(' ', '')}-token context window lets {model} take in "
                       f"long documents or a whole codebase in one request.")
    if kind == "funding" and f.headline_amount:
        who = f.actor
        rank = ""
        mine = context.money.get(f.story_id)
        others = [v for sid, v in context.money.items() if sid != f.story_id]
        if mine and others:
            rank = (", the largest sum in today's briefing" if mine >= max(others)
                    else f", one of {len(others) + 1} deals with a dollar figure today")
        valuation = next((a for a in f.amounts if re.search(rf"(?:valu\w+|worth)\D{{0,20}}{re.escape(a)}", f.text)),
                         None)
        at = f" at a {valuation} valuation" if valuation and valuation != f.headline_amount else ""
        if who:
            out.append(f"{who} gets {f.headline_amount} of new money{at}{rank}.")
    if kind == "acquisition" and f.actor:
        buyer = f.actor
        target_match = _TARGET.search(f.title)
        target = target_match.group(1) if target_match else None
        price = f" for {f.headline_amount}" if f.headline_amount else ""
        if target and target != buyer:
            out.append(f"{buyer} takes over {target}{price}: one fewer independent player, and {target}'s team and "
                       f"product now serve {buyer}.")
        else:
            out.append(f"{buyer} grows by acquisition{price}.")
    places = f.jurisdictions
    where = f" in {places[0]}" if places else ""
    law = next((name for name in f.laws if name in f.title), None)
    if kind == "law" or (f.laws and f.topic == "regulation"):
        passed = re.search(_PASSED, f.text, re.IGNORECASE) is not None
        if passed and law:
            out.append(f"{law} is now law{where}, no longer a proposal: companies that build or deploy AI there have "
                       f"obligations to meet.")
        elif passed and places:
            out.append(f"{places[0]} now has a law of its own, no longer a proposal: companies that build or deploy "
                       f"AI there have obligations to meet.")
        elif law:
            out.append(f"{law} changes what companies that build or deploy AI{where} must do.")
        other_laws = [name for name in f.laws if name != law][:1]
        if other_laws and (law or passed):
            out.append(f"Read it against {the(other_laws[0])}, which the coverage sets it beside.")
    elif kind == "court":
        parties = join_words(list(f.organizations[:2]))
        if parties:
            out.append(f"A legal fight involving {parties}: rulings like this set precedent for the whole industry.")
    elif kind == "restriction" and places:
        hit = join_words(list(f.organizations[:2])) or "companies"
        out.append(f"Rules set in {places[0]} now constrain what {hit} can sell or do there.")
    if kind == "security":
        target = model or maker
        if target:
            out.append(f"Anyone relying on {target} should check whether they are exposed and what {maker or target} "
                       f"has fixed.")
    return out


def _compared_with(f: StoryFacts) -> list[str]:
    out: list[str] = []
    others = [m for m in f.models[1:4] if f.model and not m.startswith(f.model)]
    if f.model and others:
        out.append(f"{f.model} is set against {join_words(others)}: those are the models to compare it with.")
        return out
    subject = f.model or f.actor
    if subject:
        for sentence in sentences(f.summaries):
            match = _COMPARE.search(sentence)
            if match and subject in sentence[: match.start()]:
                clause = clause_around(sentence, match.group(1), max_words=20)
                if clause:
                    lead = "" if subject in clause else f"{subject} "
                    out.append(f"Compared with the field: {lead}{clause}.")
                break
    return out


def _figures(f: StoryFacts, already: str) -> list[str]:
    out: list[str] = []
    for figure in (*f.metrics[:2], *f.amounts[:2]):
        if figure in already or figure in f.title:
            continue
        clause = clause_around(f.text, figure)
        if clause and figure in clause and _readable(clause):
            out.append(f"By the numbers: {clause}.")
            break
    return out


def _readable(clause: str) -> bool:
    """Prose, not a list of counters: several words, no pictographs (GitHub's "⭐ 47,650 stars 🍴 3")."""
    if any(unicodedata.category(ch) == "So" for ch in clause):
        return False
    return len(re.findall(r"[A-Za-z]{3,}", clause)) >= 4


def _who(f: StoryFacts, context: DayContext) -> list[str]:
    out: list[str] = []
    if f.topic == "regulation" or f.kind in ("law", "court", "restriction"):
        named = [o for o in f.organizations if o not in f.subjects][:2] or list(f.subjects[:2])
        if named and f.audience:
            out.append(f"Most relevant to {f.audience}; the coverage names {join_words(named)}.")
    else:
        named = list(f.subjects[:2]) or [n for n in (f.maker, f.model) if n][:2]
        if named and f.audience:
            out.append(f"Most relevant to {f.audience}, especially those working with {join_words(named)}.")
    if not out and f.jurisdictions and f.audience:
        out.append(f"Most relevant to {f.audience} in {join_words(list(f.jurisdictions[:2]))}.")
    if not out and f.arxiv_areas and f.audience:
        out.append(f"Most relevant to {f.audience} working on {join_words(list(f.arxiv_areas[:2]))}.")
    for org in f.subjects:
        elsewhere = [(sid, heading, title) for sid, heading, title in context.organizations.get(org, [])
                     if sid != f.story_id]
        if elsewhere:
            _, heading, title = elsewhere[0]
            where = "" if heading == f.heading else f" in {heading.lower()}"
            out.append(f"{org} is in another story today{where}: “{title}”.")
            break
    for name in f.subjects:
        earlier = [(day, title) for day, title in context.history.get(name, []) if title != f.title]
        if earlier:
            day, title = earlier[0]
            out.append(f"It follows earlier {name} news this week: “{title}” ({day}).")
            break
    return out


def _attention(f: StoryFacts, context: DayContext) -> list[str]:
    out: list[str] = []
    if len(f.sources) >= 2:
        most = ", the most of any story today" if context.coverage_leader == f.story_id else ""
        out.append(f"Covered by {len(f.sources)} sources ({join_words(list(f.sources[:4]))}){most}.")
    if f.points and f.points >= 10:
        strength = "so practitioners are paying attention" if f.points >= 100 else "a sign of practitioner interest"
        out.append(f"It drew {f.points} points on Hacker News, {strength}.")
    actor = f.actor
    first_party = [source for source in f.sources if actor and actor.split()[0].lower() in source.lower()]
    if first_party and actor:
        out.append(f"This comes from {possessive(actor)} own announcement ({first_party[0]}), not from a report "
                   f"about it.")
    elif len(f.sources) == 1 and not f.points and actor:
        out.append(f"{f.sources[0]} is the only source on it so far; expect more detail on {actor} as others "
                   f"report.")
    if f.arxiv_areas:
        out.append(f"{a_or_an(join_words(list(f.arxiv_areas[:2]))).capitalize()} paper on arXiv: a research result "
                   f"that has not been turned into a product yet.")
    return out


def why_it_matters(f: StoryFacts, context: DayContext, used: set[str], *, limit: int = 3,
                   summary: str = "") -> list[str]:
    """2-3 bullets for one story, none of them in `used` (which gains the chosen ones)."""
    candidates = [*_what_changes(f, context), *_compared_with(f), *_figures(f, summary), *_who(f, context),
                  *_attention(f, context)]
    chosen: list[str] = []
    for bullet in candidates:
        key = fold_space(bullet.lower())
        if key in used or any(similarity(bullet, other) >= 0.7 for other in chosen):
            continue
        chosen.append(bullet)
        used.add(key)
        if len(chosen) >= limit:
            break
    return chosen
