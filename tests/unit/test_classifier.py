"""The topic classifier: the shipped model, its reproducibility, and topics that only exist in config."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest

from bot.classify import (
    ALSO_WEIGHT,
    EVIDENCE_SCORE,
    MIN_DF,
    MIN_EXAMPLES,
    NGRAMS,
    VECTOR_WEIGHT,
    LabeledExample,
    TopicClassifier,
    bundled_examples,
    bundled_model,
    bundled_word_vectors,
    example_text,
    train,
    training_data,
)
from bot.taxonomy import Taxonomy, load_taxonomy
from bot.textmodel import TextModel, Tokenized, WordVectors, data_digest, train_text_model

CLEAR = {
    "models": ("Meta releases Llama 4 Scout and Maverick, open-weight mixture-of-experts models",
               "The new models use a mixture-of-experts architecture and support a 10M token context window."),
    "research": ("Researchers show scaling laws hold for protein language models in a new arXiv paper",
                 "The paper measures how loss falls with model size and data across six protein benchmarks."),
    "robotics": ("Figure's humanoid robot starts work on BMW's assembly line",
                 "The humanoid robots move sheet-metal parts in the Spartanburg plant."),
    "products": ("ChatGPT adds shopping features for all users",
                 "Users can now compare products and see prices directly in ChatGPT conversations."),
    "business": ("Mistral AI raises €600 million in a Series B round led by General Catalyst",
                 "The funding values the Paris startup at about $6 billion."),
    "infrastructure": ("Microsoft to spend $80 billion on AI data centers this fiscal year",
                       "The company is building data centers to train models and run cloud services."),
    "regulation": ("EU lawmakers approve the AI Act, the first comprehensive AI law",
                   "The regulation bans some uses and sets obligations for high-risk systems."),
    "safety": ("Criminals use voice-cloning AI to impersonate relatives in phone scams, police warn",
               "Scammers clone a family member's voice from social media clips to demand urgent payments."),
    "tools": ("LangChain releases LangGraph 0.2 with new checkpointing for agent workflows",
              "Developers can persist and resume agent state with the library's new API."),
}


@pytest.fixture(scope="module")
def classifier(taxonomy: Taxonomy) -> TopicClassifier:
    return TopicClassifier(taxonomy, bundled_model())


@pytest.mark.parametrize("topic", list(CLEAR))
def test_every_topic_on_an_unseen_clear_headline(classifier: TopicClassifier, topic: str) -> None:
    (topics, scores), = classifier.topics([CLEAR[topic]])
    assert topics[0] == topic
    assert scores[topic] == max(scores.values())


def test_a_paper_on_a_safety_subject_is_research_and_safety(classifier: TopicClassifier) -> None:
    (topics, _), = classifier.topics([(
        "Researchers show chain-of-thought monitoring catches reward hacking in a new arXiv paper",
        "The paper evaluates how well monitors detect misbehaviour in reasoning traces across benchmarks.")])
    assert set(topics[:2]) == {"research", "safety"}


def test_multi_label(classifier: TopicClassifier) -> None:
    (topics, scores), = classifier.topics([(
        "OpenAI raises $40 billion to build more data centers",
        "The funding round values OpenAI at $300 billion; the money pays for GPUs and power for its Stargate data "
        "centers.")])
    assert set(topics[:2]) == {"business", "infrastructure"}
    assert all(scores[t] > 0 for t in topics)


def test_a_topic_that_requires_evidence_leads_only_items_that_name_it(taxonomy: Taxonomy) -> None:
    slugs = taxonomy.slugs
    safety, business = slugs.index("safety"), slugs.index("business")
    assert taxonomy.topics[safety].evidence_required
    scores = np.zeros((3, len(slugs)))
    scores[:, safety], scores[:, business] = 0.5, 0.3
    scores[2, safety] = EVIDENCE_SCORE  # the model is sure of the third
    matched = np.zeros(scores.shape, dtype=bool)
    matched[1, safety] = True  # the second text names a harm
    essay, incident, sure = TopicClassifier(taxonomy, None).rank(scores, matched)
    assert essay[0] == ("business", "safety")  # the model's pick may follow, not lead
    assert incident[0][0] == "safety"
    assert sure[0][0] == "safety"
    lenient = taxonomy.model_copy(update={"topics": tuple(
        t.model_copy(update={"evidence_required": False}) for t in taxonomy.topics)})
    assert TopicClassifier(lenient, None).rank(scores, matched)[0][0][0] == "safety"


def test_plagiarism_is_a_harm_named_and_a_cheat_sheet_is_not(classifier: TopicClassifier) -> None:
    (topics, _), = classifier.topics([("CNET's AI Journalist Appears to Have Committed Extensive Plagiarism", "")])
    assert topics[0] == "safety"
    (topics, _), = classifier.topics([("ChatGPT Cheat Sheet", "")])
    assert topics[0] != "safety"


def test_an_essay_on_ai_with_no_harm_named_is_not_a_safety_story(classifier: TopicClassifier) -> None:
    (topics, _), = classifier.topics([("AI fatigue is real and nobody talks about it", "")])
    assert topics[0] != "safety"
    (topics, _), = classifier.topics([("Hackers used an AI agent to break into a hospital's network", "")])
    assert topics[0] == "safety"


def test_shipped_labeled_set_is_large_and_sourced() -> None:
    examples = bundled_examples()
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.topics[0]] = counts.get(e.topics[0], 0) + 1
        assert e.source.startswith(("fixture:", "event:", "feed:")), e.source
    assert len(counts) == 9 and min(counts.values()) >= 60


def test_shipped_model_was_built_from_the_shipped_labeled_set(taxonomy: Taxonomy) -> None:
    model = bundled_model()
    data = training_data(bundled_examples(), taxonomy.slugs)
    assert model.digest == data_digest(*data), "labeled data changed: run `ai-news train` and commit"
    assert set(model.classes) == set(taxonomy.slugs)


def test_an_example_also_trains_its_second_topic_at_a_lower_weight() -> None:
    def example(n: int, *topics: str) -> LabeledExample:
        return LabeledExample(title=f"headline {n}", topics=topics, source="feed:test")

    examples = [example(n, "safety") for n in range(MIN_EXAMPLES)] + \
        [example(n, "tools") for n in range(MIN_EXAMPLES, 2 * MIN_EXAMPLES)] + \
        [example(90, "safety", "tools"), example(91, "tools", "robotics"), example(92, "robotics")]
    def rows(topics: list[str] | None = None) -> list[tuple[str, str, float]]:
        return [(text.split(".")[0], label, weight)
                for text, label, weight in zip(*training_data(examples, topics), strict=True)]

    data = training_data(examples)
    rows_all = rows()
    assert ("headline 90", "safety", 1.0) in rows_all and ("headline 90", "tools", ALSO_WEIGHT) in rows_all
    # Robotics has too few examples to be learned: neither as a second topic nor as a first.
    assert [r for r in rows_all if r[0] in ("headline 91", "headline 92")] == [("headline 91", "tools", 1.0)]
    assert len(rows_all) == 2 * MIN_EXAMPLES + 3
    # Only the given topics count: a second topic outside them is dropped.
    assert [r for r in rows(["safety", "robotics"]) if r[0] == "headline 90"] == [("headline 90", "safety", 1.0)]
    assert data_digest(*data) != data_digest(data.texts, data.labels)


def test_training_is_deterministic_and_numpy_prediction_equals_scikit_learn(taxonomy: Taxonomy) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    texts, labels, weights = training_data(bundled_examples(), taxonomy.slugs)
    retrained = train(bundled_examples(), taxonomy.slugs)
    shipped = bundled_model()
    probe = [example_text(*CLEAR[t]) for t in CLEAR] + ["Zürich café naïve résumé: accents", ""]
    np.testing.assert_allclose(retrained.decision(probe), shipped.decision(probe), atol=1e-9)

    from scipy.sparse import csr_matrix, hstack

    def features(texts: list[str], fit: bool = False) -> object:
        words = vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)
        return hstack([words, csr_matrix(bundled_word_vectors().embed(texts) * VECTOR_WEIGHT)]).tocsr()

    vectorizer = TfidfVectorizer(ngram_range=(1, NGRAMS), min_df=MIN_DF, sublinear_tf=True, strip_accents="unicode")
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(features(texts, fit=True), labels,
                                                                        sample_weight=weights)
    np.testing.assert_allclose(shipped.decision(probe), svm.decision_function(features(probe)), atol=1e-9)


def _word_model() -> TextModel:
    """A model of words alone (the about-AI model's text part), next to the topic model of words and pairs."""
    from bot.relevance import bundled_relevance_model

    return bundled_relevance_model().text


@pytest.mark.parametrize("which", ["words and pairs", "words"])
def test_a_batch_is_scored_exactly_as_its_texts_one_by_one(which: str) -> None:
    """The batch is tokenized as one string: each text's values stay the same to the last bit, whatever the
    texts hold (accents, a Greek final sigma, a NUL, nothing at all)."""
    shipped = bundled_model() if which == "words and pairs" else _word_model()
    assert shipped.ngrams == (2 if which == "words and pairs" else 1)
    probe = [example_text(*CLEAR[t]) for t in CLEAR] + [
        "Zürich café naïve résumé: accents", "", "ΟΔΥΣΣΕΥΣ. ΟΔΥΣΣΕΥΣ. model", "a\x00b OpenAI\x00GPT model",
        "Déjà vu: ﬁne-tuning ＬＬＭ models", "GPU GPU GPU inference inference chips",
    ]
    each = np.vstack([shipped.decision([text]) for text in probe])
    assert np.array_equal(shipped.decision(probe), each)
    clean = [text for text in probe if "\x00" not in text]
    assert np.array_equal(shipped.decision(clean), np.vstack([shipped.decision([text]) for text in clean]))
    for batched, counted in zip(shipped._term_counts(Tokenized([(t,) for t in clean]), (1,)),
                                shipped._term_counts_each(clean), strict=True):
        assert np.array_equal(batched, counted)  # same terms, counts and order as a Counter per text
    assert shipped.decision([]).shape == (0, len(shipped.classes))


PARTS = [
    ("OpenAI releases GPT-5", "The model tops every benchmark. GPT GPT"), ("Zürich café", "naïve résumé"),
    ("ΟΔΥΣΣΕΥΣ", "ΟΔΥΣΣΕΥΣ model ς"), ("a\x00b OpenAI", "GPT\x00model"), ("Déjà vu: ﬁne-tuning", "ＬＬＭ models…"),
    ("", ""), ("GPU", ""), ("", "inference chips"), ("x. y", "z. . ."), ("Ab\u0301", "\u0301c"), ("ΑΣ'", "'Σ b"),
]


def _random_part(rng: random.Random) -> str:
    alphabet = "aAbBσΣςé\u0301ﬁ .,'-_:\n\x00ＬΟ0123456789"
    words = ["openai", "gpt", "model", "models", "inference", "chips", "the", "of", "a", "benchmark", "robot",
             "Zürich", "naïve"]
    return "".join(rng.choice(words) + " " if rng.random() < 0.5 else rng.choice(alphabet)
                   for _ in range(rng.randrange(0, 30)))


@pytest.mark.parametrize("which", ["words and pairs", "words"])
def test_texts_in_parts_are_scored_as_the_texts_they_make(which: str) -> None:
    """decision_of reads (title, body) with repeats (2, 1) exactly as decision reads example_text(title, body),
    to the last bit, tokenized once for parts that other models read (repeat 0): a pair of words across two parts
    (the title's last word and its first again, the title's last and the body's first) counts as in the text."""
    shipped = bundled_model() if which == "words and pairs" else _word_model()
    rng = random.Random(7)
    rows = PARTS + [(_random_part(rng), _random_part(rng)) for _ in range(300)]
    texts = [example_text(title, body) for title, body in rows]
    expected = shipped.decision(texts)
    clean = [row for row in rows if "\x00" not in "".join(row)]
    for batch in (rows, clean):
        wanted = shipped.decision([example_text(*row) for row in batch])
        assert np.array_equal(shipped.decision_of(Tokenized(batch), (2, 1)), wanted)
        widened = Tokenized([(title, "ignored words GPU", body) for title, body in batch])
        assert np.array_equal(shipped.decision_of(widened, (2, 0, 1)), wanted)
    assert np.array_equal(np.vstack([shipped.decision_of(Tokenized([row]), (2, 1)) for row in rows]), expected)
    assert shipped.decision_of(Tokenized([]), (1,)).shape == (0, len(shipped.classes))


def test_pairs_of_words_are_features_as_scikit_learn_counts_them() -> None:
    """A model of words and pairs scores texts as scikit-learn's TfidfVectorizer(ngram_range=(1, 2)) and LinearSVC
    do, pairs across the ". " of two parts included; a pair only one text holds is not kept (min_df=2)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    from bot.textmodel import train_text_model

    texts = ["open source model weights", "source open the books", "open source library for agents",
             "data center power deal", "center of data gravity", "the data center build out", "new model weights"]
    labels = ["tools", "business", "tools", "infrastructure", "business", "infrastructure", "models"]
    model = train_text_model(texts, labels, ngrams=2, min_df=2)
    assert model.ngrams == 2 and "open source" in model.vocabulary and "data center" in model.vocabulary
    assert "source open" not in model.vocabulary
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(vectorizer.fit_transform(texts), labels)
    rows = [("Open source", "data center"), ("data", "center data center"), ("", "open source"), ("source", ""),
            ("model weights", "open")]
    probe = [example_text(title, body) for title, body in rows]
    np.testing.assert_allclose(model.decision(probe), svm.decision_function(vectorizer.transform(probe)), atol=1e-9)
    assert np.array_equal(model.decision_of(Tokenized(rows), (2, 1)), model.decision(probe))


def _vectors() -> WordVectors:
    """Four words in two dimensions: "attack" and "assault" point one way, "chip" and "wafer" the other."""
    return WordVectors(["attack", "assault", "chip", "wafer"],
                       np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]), np.array([1.0, 2.0, 1.0, 1.0]))


def test_a_text_vector_is_the_weighted_mean_of_its_known_words() -> None:
    vectors = _vectors()
    rows = vectors.embed(["Attack", "attack assault", "an assault on a chip fab", "nothing known here", ""])
    np.testing.assert_allclose(rows[0], [1.0, 0.0])
    mean = np.array([1.0, 0.0]) + 2 * np.array([0.8, 0.6])
    np.testing.assert_allclose(rows[1], mean / np.linalg.norm(mean))
    mean = 2 * np.array([0.8, 0.6]) + np.array([0.0, 1.0])
    np.testing.assert_allclose(rows[2], mean / np.linalg.norm(mean))
    assert not rows[3].any() and not rows[4].any()  # no known word: zeros, never a division by zero
    repeated = vectors.embed(["chip chip attack"])[0]  # a word counts as often as the text holds it
    mean = 2 * np.array([0.0, 1.0]) + np.array([1.0, 0.0])
    np.testing.assert_allclose(repeated, mean / np.linalg.norm(mean))


def test_texts_in_parts_get_the_vectors_of_the_texts_they_make() -> None:
    vectors = _vectors()
    rows = [("Attack on a chip", "wafer wafer"), ("", "assault"), ("nothing", ""), ("a\x00b attack", "chip")]
    for repeats in ((2, 1), (1, 0), (0, 1)):
        texts = Tokenized(rows).texts(repeats)
        assert np.array_equal(vectors.embed_parts(Tokenized(rows), repeats), vectors.embed(texts))
        clean = [row for row in rows if "\x00" not in "".join(row)]
        assert np.array_equal(vectors.embed_parts(Tokenized(clean), repeats), vectors.embed(Tokenized(clean).texts(
            repeats)))


def test_a_model_with_word_vectors_scores_as_scikit_learn_with_the_vector_block() -> None:
    """The word vectors are one more block of features: the model predicts as LinearSVC fitted on the TF-IDF words
    beside the scaled text vectors does, and a word no example holds still moves a text by its vector."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectors = _vectors()
    texts = ["attack on the grid", "attack claimed by a group", "new chip for servers", "chip plant opens",
             "the group claimed it", "servers and the grid"]
    labels = ["safety", "safety", "infrastructure", "infrastructure", "safety", "infrastructure"]
    model = train_text_model(texts, labels, min_df=1, vectors=vectors, vector_weight=0.5)
    vectorizer = TfidfVectorizer(min_df=1, sublinear_tf=True, strip_accents="unicode")
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(
        hstack([vectorizer.fit_transform(texts), csr_matrix(vectors.embed(texts) * 0.5)]).tocsr(), labels)
    probe = ["an assault", "wafer", "attack chip", "unknown words only", ""]
    expected = svm.decision_function(
        hstack([vectorizer.transform(probe), csr_matrix(vectors.embed(probe) * 0.5)]).tocsr())
    np.testing.assert_allclose(model.decision(probe), np.column_stack([-expected, expected]), atol=1e-9)
    assert model.classes == ("infrastructure", "safety")
    scores = model.decision(["an assault", "a wafer"])  # neither word is in any example: the vectors decide
    assert scores[0, 1] > scores[0, 0] and scores[1, 0] > scores[1, 1]
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    assert np.array_equal(TextModel.load(buffer, vectors).decision(probe), model.decision(probe))


def test_a_model_built_on_word_vectors_needs_the_same_vectors() -> None:
    buffer = io.BytesIO()
    bundled_model().save(buffer)
    with pytest.raises(ValueError, match=r"word vectors \w+, and the word vectors given are none"):
        buffer.seek(0)
        TextModel.load(buffer)
    with pytest.raises(ValueError, match="train it again with `ai-news train`"):
        buffer.seek(0)
        TextModel.load(buffer, _vectors())
    buffer.seek(0)
    assert TextModel.load(buffer, bundled_word_vectors()).classes == bundled_model().classes


def test_model_files_hold_no_code() -> None:
    buffer = io.BytesIO()
    bundled_model().save(buffer)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:  # would raise on any pickled object
        assert all(data[name].dtype != object for name in data.files)
    buffer.seek(0)
    assert TextModel.load(buffer, bundled_word_vectors()).classes == bundled_model().classes
    buffer = io.BytesIO()
    bundled_word_vectors().save(buffer)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
    buffer.seek(0)
    assert WordVectors.load(buffer).digest == bundled_word_vectors().digest


def test_topic_added_in_config_works_on_keywords(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "config" / "topics.yaml").read_text()
    (tmp_path / "topics.yaml").write_text(text + (
        "  - slug: climate\n    title: Climate\n    description: AI for weather and climate\n"
        "    keywords: [weather forecasting, climate model, extreme weather, flood forecasting]\n"))
    taxonomy = load_taxonomy(tmp_path / "topics.yaml")
    classifier = TopicClassifier(taxonomy, bundled_model())
    (topics, _), (other, _) = classifier.topics([
        ("New AI weather forecasting system predicts extreme weather days earlier",
         "The climate model improves flood forecasting and weather forecasting for ten-day horizons."),
        CLEAR["regulation"]])
    assert topics[0] == "climate"
    assert other[0] == "regulation"
    assert "climate" not in classifier.learned


def test_renamed_topic_keeps_working_on_keywords(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "config" / "topics.yaml").read_text()
    (tmp_path / "topics.yaml").write_text(text.replace("slug: regulation", "slug: policy"))
    classifier = TopicClassifier(load_taxonomy(tmp_path / "topics.yaml"), bundled_model())
    (topics, _), = classifier.topics([CLEAR["regulation"]])
    assert topics[0] == "policy"
    assert "regulation" not in classifier.learned


def test_the_batch_tokenizer_finds_each_texts_tokens_and_one_separator_between_texts() -> None:
    from bot.textmodel import _SEPARATOR, _TOKEN_OR_SEPARATOR, TOKEN

    texts = ["a b cd e_f 1 22 x-ray", "Ünïcode ß straße Ⅻ ²³ ab", "", "I/O, a.b.c; GPT-4o (o1)", "__ _a a_ 9a"]
    texts += [f"{e.title}. {e.summary}".lower() for e in bundled_examples()[:300]]
    expected = [t for text in texts for t in (*TOKEN.findall(text), _SEPARATOR)][:-1]
    assert _TOKEN_OR_SEPARATOR.findall(_SEPARATOR.join(texts)) == expected
