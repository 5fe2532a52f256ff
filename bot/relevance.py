"""Is an item about AI at all? A calibrated probability for every item, and the decision taken from it.

Two stages, both linear, so prediction needs numpy alone:
1. a text model (TF-IDF words of title and summary, logistic regression) gives a decision value;
2. a small logistic regression turns that value and the signals the entity extractor already finds (an AI term
   or AI lab in the title, in the summary, a model name) into a probability. It is fitted on out-of-fold
   decision values (stacking), so the probability is calibrated on texts the text model had not seen.

An item is about AI when its probability reaches the model's threshold (chosen at training time on the
cross-validated probabilities, for precision first: a briefing must not fill up with general news). Items that
are not stay in the archive and in search, but never enter a briefing, an alert or a topic answer. A source
marked `ai_only` in sources.yaml skips the check.

The labeled sets are real items: `bot/data/labeled/*.jsonl` (AI headlines by topic) and
`bot/data/relevance/*.jsonl` (feed items from general-tech and AI feeds, each labeled about AI or not).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.briefing.summary import boilerplate
from bot.entities import AnyEntities, EntityExtractor
from bot.patterns import Caseless
from bot.settings import ConfigError
from bot.text import sentences
from bot.textmodel import TextModel, Tokenized, train_text_model

MODEL_FILE = "relevance-model.npz"
FORMAT = 2  # 2: the stack also reads the text decision's positive part
SUMMARY_CHARS = 400
AI_CLASS = "ai"
OTHER_CLASS = "other"
SIGNALS = ("ai_term_title", "ai_term_summary", "model_name", "ai_terms", "ai_hints")
# The threshold is the lowest probability whose cross-validated precision reaches this; the decision then keeps
# as much recall as that precision allows. Cross-validation on this set runs above what real days show (their
# items are newer and unlike the training headlines), and a story wrongly in a briefing costs more than one left
# in the archive: the target leaves a margin.
TARGET_PRECISION = 0.975


class RelevanceExample(BaseModel):
    """One labeled item: its title, the feed's summary (may be empty), whether AI is its main subject."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str = Field(min_length=2)
    summary: str = ""
    ai: bool
    source: str = ""
    feed: bool = Field(default=True, description="a feed item as feeds write it (False: a clean AI headline)")


class Signals(NamedTuple):
    """What the entity extractor sees: AI terms (labs, 'LLM', 'machine learning' ...), model names, and weaker
    hints (a GPU, inference, agents)."""

    ai_term_title: float
    ai_term_summary: float
    model_name: float
    ai_terms: float
    ai_hints: float

    @classmethod
    def of(cls, extractor: EntityExtractor, title: str, summary: str, entities: AnyEntities | None = None
           ) -> Signals:
        body = content(summary)
        in_title = extractor.ai_term_count(title)
        in_summary = extractor.ai_term_count(body)
        models = entities.models if entities is not None else extractor.extract(f"{title}. {summary}").models
        hints = extractor.ai_hint_count(f"{title} {body}")
        return cls(float(in_title > 0), float(in_summary > 0), float(bool(models)),
                   math.log1p(in_title + in_summary), math.log1p(hints))


@functools.lru_cache(maxsize=4096)  # an item's summary is cleaned for its signals, its text and its story
def content(summary: str) -> str:
    """The summary without feed boilerplate ("Score: 121 Comments: 92 By: ..."), at most SUMMARY_CHARS."""
    kept = [s for s in sentences(summary[:SUMMARY_CHARS * 2]) if not boilerplate(s)]
    return " ".join(kept)[:SUMMARY_CHARS]


def relevance_text(title: str, summary: str) -> str:
    # The title is what every source has and what readers see: it counts twice.
    return f"{title}. {title}. {content(summary)}"


# Listings are not news about AI, whoever posts them and whatever they are named after: job ads and hiring threads
# ("Tasklet (YC P26) Is Hiring ...", "Terra API (YC W21) Hiring: ...", "Linum (YC W23) is a hiring ...", "Legion
# Health (YC S21, AI-Driven Psychiatry) Hiring ...", "Lantern (YC W24) – Hiring Engineers ...", "Ask HN: Who is
# hiring? (May 2026)") and meetups or hackathons named after an AI product.
# In lower case, as a caseless pattern must be written ("(YC W26)", "Ask HN" in any case).
_LISTING = Caseless(r"\((?:yc )?[a-z]\d{2}\b[^()]{0,60}\) (?:[-\u2013\u2014] )?(?:(?:is|are) (?:a |now )?)?hiring\b|"
                    r"^ask hn: (?:who is hiring|who wants to be hired|freelancer\? seeking freelancer)|"
                    r"\b(?:meetups?|meet-ups?|hackathons?|user groups?|"
                    r"happy hours?)\b")


def listing(title: str) -> bool:
    """A job ad, a hiring thread, a meetup or a hackathon: never about AI."""
    return _LISTING.found(title)


@dataclass(frozen=True)
class Decision:
    score: float  # calibrated probability that the item is about AI
    about_ai: bool


class RelevanceModel:
    """The text model, the stacking weights over [text decision, its positive part, *SIGNALS], and the threshold."""

    def __init__(self, text: TextModel, weights: np.ndarray, intercept: float, threshold: float,
                 digest: str = "") -> None:
        self.text = text
        self.weights = np.asarray(weights, dtype=np.float64)
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.digest = digest
        self._ai_column = text.classes.index(AI_CLASS)

    def text_decision(self, texts: Sequence[str]) -> np.ndarray:
        values: np.ndarray = self.text.decision(texts)[:, self._ai_column]
        return values

    def probabilities(self, texts: Sequence[str], signals: Sequence[Signals]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        return self._stacked(self.text_decision(texts), signals)

    def _stacked(self, text: np.ndarray, signals: Sequence[Signals]) -> np.ndarray:
        return _sigmoid(stack_features(text, np.asarray(signals, dtype=np.float64)) @ self.weights + self.intercept)

    def decide(self, items: Sequence[tuple[str, str]], signals: Sequence[Signals], tokenized: Tokenized | None = None,
               repeats: Sequence[int] = (2, 1)) -> list[Decision]:
        """A decision for each (title, summary). `tokenized` may hold the texts already tokenized in parts, read
        with `repeats` as relevance_text reads them (the title twice, the summary's content once)."""
        if tokenized is None:
            scores = self.probabilities([relevance_text(t, s) for t, s in items], signals)
        elif not items:
            scores = np.zeros(0)
        else:
            text = self.text.decision_of(tokenized, repeats)[:, self._ai_column]
            scores = self._stacked(text, signals)
        return [Decision(round(float(p), 3), bool(p >= self.threshold) and not listing(title))
                for p, (title, _) in zip(scores, items, strict=True)]

    def save(self, target: Path | IO[bytes]) -> None:
        np.savez_compressed(
            target, format=np.array(FORMAT), vocabulary=np.array(self.text.terms, dtype=np.str_),
            idf=self.text.idf, coef=self.text.coef, intercept=self.text.intercept,
            classes=np.array(self.text.classes, dtype=np.str_), weights=self.weights,
            stack_intercept=np.array(self.intercept), threshold=np.array(self.threshold),
            signals=np.array(SIGNALS, dtype=np.str_), digest=np.array(self.digest, dtype=np.str_),
        )

    @classmethod
    def load(cls, source: Path | IO[bytes]) -> RelevanceModel:
        with np.load(source, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"relevance model format {int(data['format'])} is not supported (expected {FORMAT}); "
                                 "rebuild it with `ai-news train`")
            if tuple(str(s) for s in data["signals"]) != SIGNALS:
                raise ValueError("relevance model was built for other signals; rebuild it with `ai-news train`")
            text = TextModel([str(t) for t in data["vocabulary"]], data["idf"], data["coef"], data["intercept"],
                             [str(c) for c in data["classes"]])
            return cls(text, data["weights"], float(data["stack_intercept"]), float(data["threshold"]),
                       str(data["digest"]))


def stack_features(decisions: np.ndarray, signals: np.ndarray) -> np.ndarray:
    """What the stack reads: the text decision, its positive part (the decision's scale is not the same on both
    sides of zero: without it, items the text model leans against were given 0.29 where 42% were about AI), its part
    above 1 (where it bends again: without it, items given 0.71 were 81% about AI), and the signals."""
    return np.column_stack([decisions, np.maximum(decisions, 0.0), np.maximum(decisions - 1.0, 0.0),
                            signals.reshape(len(decisions), -1)])


def _sigmoid(values: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(values, -40, 40)))
    return result


def bundled_relevance_model() -> RelevanceModel:
    with (resources.files("bot") / "data" / MODEL_FILE).open("rb") as handle:
        return RelevanceModel.load(handle)


# --- the labeled set and training ---------------------------------------------------------------------------

def load_relevance_examples(files: Iterable[tuple[str, str]]) -> list[RelevanceExample]:
    """Parse labeled JSON lines from (name, text) pairs; a bad line is a ConfigError naming file and line."""
    examples = []
    problems = []
    for name, text in files:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                examples.append(RelevanceExample.model_validate_json(line))
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(map(str, error["loc"])) or "line"
                problems.append(f"{name}:{number}: {where}: {error['msg']}")
    if problems:
        raise ConfigError("invalid about-AI examples:\n  " + "\n  ".join(problems[:20]))
    return examples


def bundled_relevance_examples() -> list[RelevanceExample]:
    """The labeled feed items (bot/data/relevance/) plus the AI headlines of the topic set (bot/data/labeled/)."""
    data = resources.files("bot") / "data"
    files = sorted((entry.name, entry.read_text(encoding="utf-8")) for entry in (data / "relevance").iterdir()
                   if entry.name.endswith(".jsonl"))
    examples = load_relevance_examples(files)
    for entry in sorted((data / "labeled").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jsonl"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    examples.append(RelevanceExample(title=row["title"], summary=row.get("summary", ""), ai=True,
                                                     source=row.get("source", ""), feed=False))
    return _unique(examples)


def _unique(examples: Sequence[RelevanceExample]) -> list[RelevanceExample]:
    seen: set[str] = set()
    out = []
    for example in examples:
        key = " ".join(example.title.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


@dataclass(frozen=True)
class RelevanceEvaluation:
    """Cross-validated figures of the about-AI decision."""

    examples: int
    positives: int
    folds: int
    threshold: float
    precision: float
    recall: float
    f1: float
    accuracy: float
    brier: float
    calibration: tuple[tuple[float, float, int], ...]  # (mean predicted, observed share, count) per bin

    def report(self) -> str:
        lines = [
            f"about AI or not: {self.folds}-fold cross-validation, figures on the {self.examples} labeled feed items "
            f"({self.positives} about AI; the AI headlines of the topic set are trained on too)",
            f"threshold {self.threshold:.2f}: precision {self.precision:.3f}  recall {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  accuracy {self.accuracy:.3f}",
            f"calibration: Brier score {self.brier:.3f} (0 is perfect); predicted vs observed share about AI:",
        ]
        lines += [f"  {mean:4.2f} -> {share:4.2f}  ({count} items)" for mean, share, count in self.calibration]
        return "\n".join(lines)


def _features(extractor: EntityExtractor, examples: Sequence[RelevanceExample]) -> tuple[list[str], np.ndarray]:
    texts = [relevance_text(e.title, e.summary) for e in examples]
    signals = np.asarray([Signals.of(extractor, e.title, e.summary) for e in examples], dtype=np.float64)
    return texts, signals


def _fit_text(texts: Sequence[str], labels: Sequence[str]) -> TextModel:
    return train_text_model(texts, labels, c=1.0, kind="logistic")


def _out_of_fold(texts: Sequence[str], labels: Sequence[str], folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    values = np.zeros(len(texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(np.zeros(len(texts)), labels):
        model = _fit_text([texts[i] for i in train_index], [labels[i] for i in train_index])
        column = model.classes.index(AI_CLASS)
        values[test_index] = model.decision([texts[i] for i in test_index])[:, column]
    return values


def _fit_stack(decisions: np.ndarray, signals: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    stack = LogisticRegression(C=10.0, max_iter=1000)
    stack.fit(stack_features(decisions, signals), truth)
    return np.asarray(stack.coef_[0], dtype=np.float64), float(stack.intercept_[0])


def _threshold(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """The lowest threshold whose precision reaches TARGET_PRECISION (0.5 if none does). Measured on feed items
    only, whose mix of AI and general news is what the decision meets in use."""
    for threshold in np.arange(0.30, 0.951, 0.01):
        chosen = probabilities >= threshold
        if chosen.sum() and truth[chosen].mean() >= TARGET_PRECISION:
            return round(float(threshold), 2)
    return 0.5


def train_relevance(extractor: EntityExtractor, examples: Sequence[RelevanceExample], *, folds: int = 5,
                    seed: int = 0) -> tuple[RelevanceModel, RelevanceEvaluation]:
    """Fit the model on every example; its stacking weights and threshold come from out-of-fold values, which
    also give the cross-validated figures returned with it."""
    if len({e.ai for e in examples}) < 2 or len(examples) < 4 * folds:
        raise ConfigError("the about-AI set needs examples of both kinds, at least "
                          f"{4 * folds} in all, to train a model")
    texts, signals = _features(extractor, examples)
    labels = [AI_CLASS if e.ai else OTHER_CLASS for e in examples]
    truth = np.asarray([e.ai for e in examples], dtype=bool)
    decisions = _out_of_fold(texts, labels, folds, seed)
    # The stack is fitted on feed items only: their mix of AI and general news is what the decision meets in
    # use, and the probabilities are calibrated for it. Its own probabilities, out of fold too, give the threshold
    # and the figures.
    feeds = np.asarray([e.feed for e in examples], dtype=bool)
    d, sig, y = decisions[feeds], signals[feeds], truth[feeds]
    weights, intercept = _fit_stack(d, sig, y)
    probabilities = np.zeros(len(y))
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + 1)
    for train_index, test_index in splitter.split(np.zeros(len(y)), y):
        w, b = _fit_stack(d[train_index], sig[train_index], y[train_index])
        probabilities[test_index] = _sigmoid(stack_features(d[test_index], sig[test_index]) @ w + b)
    threshold = _threshold(probabilities, y)
    evaluation = _evaluation(probabilities, y, threshold, folds)
    text = _fit_text(texts, labels)
    return RelevanceModel(text, weights, intercept, threshold, text.digest), evaluation


def _evaluation(probabilities: np.ndarray, truth: np.ndarray, threshold: float, folds: int) -> RelevanceEvaluation:
    chosen = probabilities >= threshold
    tp = int((chosen & truth).sum())
    precision = tp / max(1, int(chosen.sum()))
    recall = tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    bins = []
    edges = np.linspace(0, 1, 6)
    for low, high in itertools.pairwise(edges):
        inside = (probabilities >= low) & ((probabilities < high) | (high == 1.0))
        if inside.any():
            bins.append((float(probabilities[inside].mean()), float(truth[inside].mean()), int(inside.sum())))
    return RelevanceEvaluation(
        examples=len(truth), positives=int(truth.sum()), folds=folds, threshold=threshold, precision=precision,
        recall=recall, f1=f1, accuracy=float((chosen == truth).mean()),
        brier=float(np.mean((probabilities - truth) ** 2)), calibration=tuple(bins),
    )


def evaluate_relevance(extractor: EntityExtractor, examples: Sequence[RelevanceExample], folds: int = 5
                       ) -> RelevanceEvaluation:
    return train_relevance(extractor, examples, folds=folds)[1]
