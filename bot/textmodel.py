"""The learned part of topic classification: TF-IDF word features and a linear SVM, as plain arrays.

`train_text_model` fits scikit-learn's TfidfVectorizer and LinearSVC (deterministic) and keeps only what
prediction needs: the vocabulary (words, and with `ngrams=2` also pairs of adjacent words, "open source",
"data center"), the idf weights and the decision function's coefficients. `TextModel`
predicts with numpy alone, exactly as scikit-learn would (a test holds them equal), so a process that only
classifies never imports scikit-learn. Saved as an .npz loaded with allow_pickle=False: a model file can
hold arrays and strings, never code.

A model may also read what a text means, not only which words it holds: `WordVectors` gives each word a small dense
vector (taken once from a sentence-embedding model, see `scripts/build_word_vectors.py`) and a text the weighted mean
of its words' vectors, so words no labeled example holds still land near the ones it does ("assassination" near
"attack"). Such a model keeps one more block of coefficients for the text's vector, fitted with the words'.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

TOKEN = re.compile(r"(?u)\b\w\w+\b")
FORMAT = 1


def _fold(text: str) -> str:
    """Lower-case, accents stripped (scikit-learn's strip_accents='unicode')."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    marks = [ord(c) for c in set(text) if unicodedata.combining(c)]
    return text.translate(dict.fromkeys(marks)) if marks else text


def analyze(text: str, ngrams: int = 1) -> list[str]:
    """scikit-learn's default word analyzer with strip_accents='unicode': lower-case, strip accents, tokens; with
    `ngrams=2` then every two adjacent tokens joined by a space, as ngram_range=(1, 2) gives them."""
    tokens = TOKEN.findall(_fold(text))
    if ngrams == 2:
        return tokens + [f"{first} {second}" for first, second in itertools.pairwise(tokens)]
    return tokens


_SEPARATOR = "\x00"
# TOKEN's matches found left to right, without its word boundaries: a scan tries a word at its first character and
# then resumes after it, so every match starts and ends at a boundary anyway; the engine tries them faster so.
_TOKEN_OR_SEPARATOR = re.compile(rf"{_SEPARATOR}|\w\w+")
_END, _UNKNOWN = -1, -2  # the ids of a separator and of a term the model does not know
_NO_TERMS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def data_digest(texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None) -> str:
    """Identifies the training data a model was built from (an example of weight 1 counts as one without)."""
    digest = hashlib.sha256()
    for text, label, weight in zip(texts, labels, [1.0] * len(texts) if weights is None else weights, strict=True):
        mark = "" if weight == 1.0 else f"\x1f{weight:g}"
        digest.update(f"{label}\x1f{text}{mark}\x1e".encode())
    return digest.hexdigest()[:16]


class Tokenized:
    """A batch of texts, each given as the same number of parts, folded and tokenized once, in one pass, for every
    model that reads them (see `TextModel.decision_of`): the parts joined by NUL (which no token holds), and the
    tokens of the whole string with a separator between every two parts."""

    def __init__(self, rows: Sequence[Sequence[str]]) -> None:
        self.rows = len(rows)
        self.width = len(rows[0]) if rows else 1
        if any(len(row) != self.width for row in rows):
            raise ValueError("every text must have the same number of parts")
        self._parts = rows
        joined = _SEPARATOR.join(map(_fold, itertools.chain.from_iterable(rows)))
        clean = joined.count(_SEPARATOR) == self.rows * self.width - 1
        self.tokens: list[str] | None = _TOKEN_OR_SEPARATOR.findall(joined) if clean else None

    def texts(self, repeats: Sequence[int]) -> list[str]:
        """The texts themselves: each row's parts joined by ". ", each part `repeats` times."""
        return [". ".join(part for part, times in zip(row, repeats, strict=True) for _ in range(times))
                for row in self._parts]


class WordVectors:
    """A dense vector per word (rows of unit length) and a weight per word (rarer words weigh more). `embed` gives
    each text the weighted sum of its known words' vectors, scaled to unit length; a text with no known word gets
    zeros. Words are the topic model's tokens (lower-case, accents stripped, two characters or more)."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray, weights: np.ndarray) -> None:
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words) or self.weights.shape != (len(
                self.words),):
            raise ValueError(f"{len(self.words)} words need one vector row and one weight each")
        self.dims = self.vectors.shape[1]
        self._index = {word: i for i, word in enumerate(self.words)}
        self._weighted = self.vectors * self.weights[:, None]
        self._lookup = {**self._index, _SEPARATOR: _END}
        digest = hashlib.sha256("\x1e".join(self.words).encode())
        digest.update(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
        digest.update(np.ascontiguousarray(weights, dtype=np.float32).tobytes())
        self.digest = digest.hexdigest()[:16]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (zeros for a text with no known word), a word counting as often as the text
        holds it."""
        index = self._index
        rows: list[int] = []
        ids: list[int] = []
        for row, text in enumerate(texts):
            for token in analyze(text):
                found = index.get(token)
                if found is not None:
                    rows.append(row)
                    ids.append(found)
        return self._sum(np.asarray(rows, dtype=np.int64), np.asarray(ids, dtype=np.int64),
                         np.ones(len(ids), dtype=np.int64), len(texts))

    def embed_parts(self, tokenized: Tokenized, repeats: Sequence[int]) -> np.ndarray:
        """The rows `embed` gives the texts that `tokenized` holds in parts, each part `repeats` times, to the
        last bit, without building the texts."""
        if tokenized.tokens is None:  # a part holds a NUL itself: the texts themselves
            return self.embed(tokenized.texts(repeats))
        tokens = tokenized.tokens
        ids = np.fromiter(map(self._lookup.get, tokens, itertools.repeat(_UNKNOWN)), dtype=np.int64,
                          count=len(tokens))
        parts = np.cumsum(ids == _END)
        times = np.asarray(repeats, dtype=np.int64)[parts % tokenized.width]
        kept = (ids >= 0) & (times > 0)
        return self._sum(parts[kept] // tokenized.width, ids[kept], times[kept], tokenized.rows)

    def _sum(self, rows: np.ndarray, ids: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
        """Each row's words with their counts summed, added in one fixed order (by word), so that the same words
        give the same bits however they were listed."""
        out = np.zeros((size, self.dims))
        if not len(ids):
            return out
        keys, where = np.unique(rows * len(self.words) + ids, return_inverse=True)
        totals = np.bincount(where, weights=counts).astype(np.int64)
        key_rows, key_ids = keys // len(self.words), keys % len(self.words)
        contributions = self._weighted[key_ids] * totals[:, None]
        starts = np.flatnonzero(np.r_[True, key_rows[1:] != key_rows[:-1]])
        out[key_rows[starts]] = np.add.reduceat(contributions, starts, axis=0)
        norms = np.linalg.norm(out, axis=1)
        nonzero = norms > 0
        out[nonzero] /= norms[nonzero, None]
        return out

    def save(self, target: Path | IO[bytes]) -> None:
        np.savez_compressed(target, format=np.array(FORMAT), words=np.array(self.words, dtype=np.str_),
                            vectors=self.vectors.astype(np.float16), weights=self.weights.astype(np.float32))

    @classmethod
    def load(cls, source: Path | IO[bytes]) -> WordVectors:
        with np.load(source, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"word vectors format {int(data['format'])} is not supported (expected {FORMAT})")
            return cls(data["words"].tolist(), data["vectors"], data["weights"])


class TextModel:
    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 classes: Sequence[str], digest: str = "", dense: np.ndarray | None = None,
                 vectors: WordVectors | None = None) -> None:
        """`dense`: with `vectors`, the coefficients (classes, vector dimensions) of the text's word-vector mean,
        which the decision adds to the words' sum."""
        self.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        self.terms = list(vocabulary)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)  # (classes, terms)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = tuple(classes)
        self.digest = digest
        self._weights = self.coef.T.copy()  # (terms, classes): one row per term, for fast sums
        self._lookup = {**self.vocabulary, _SEPARATOR: _END}
        # Pairs of words (a token never holds a space): each known pair as (first word's index * terms + second's),
        # sorted, with the pair's own index. Both words of a known pair are known: a pair is in as many texts as
        # each of its words, and both were kept on the same minimum.
        self._size = max(len(self.terms), 1)  # term indexes of one text are keyed as row * _size + index
        pairs = [index for index, term in enumerate(self.terms) if " " in term]
        self.ngrams = 2 if pairs else 1
        words = [self.terms[index].partition(" ") for index in pairs]
        keys = (np.array([self.vocabulary[first] for first, _, _ in words], dtype=np.int64) * self._size
                + np.array([self.vocabulary[second] for _, _, second in words], dtype=np.int64))
        order = np.argsort(keys, kind="stable")
        self._pair_keys = keys[order]
        self._pair_terms = np.array(pairs, dtype=np.int64)[order]
        if (dense is None) != (vectors is None):
            raise ValueError("a model of word vectors needs both its coefficients and the word vectors")
        self.vectors = vectors
        self.dense = None if dense is None else np.asarray(dense, dtype=np.float64)
        if self.dense is not None and vectors is not None and self.dense.shape != (len(self.classes), vectors.dims):
            raise ValueError(f"word-vector coefficients of shape {self.dense.shape} do not fit {len(self.classes)} "
                             f"classes and {vectors.dims}-dimensional word vectors")

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values (rows: texts, columns: classes), as LinearSVC.decision_function gives them."""
        return self.decision_of(Tokenized([(text,) for text in texts]), (1,))

    def decision_of(self, tokenized: Tokenized, repeats: Sequence[int]) -> np.ndarray:
        """The decision values of the texts that `tokenized` holds in parts, each text being its parts joined by
        ". ", each part `repeats` times (0: left out): `(2, 1)` reads (title, summary) as "title. title. summary"
        without building that text or tokenizing the title twice."""
        row_of, term_of, counts = self._term_counts(tokenized, repeats)
        out = np.tile(self.intercept, (tokenized.rows, 1))
        if self.dense is not None and self.vectors is not None and tokenized.rows:
            # einsum sums each row on its own: a text scores the same to the last bit in any batch (a matrix
            # product's blocking would depend on the batch size)
            out += np.einsum("ij,kj->ik", self.vectors.embed_parts(tokenized, repeats), self.dense)
        if not len(term_of):
            return out
        weights = (1.0 + np.log(counts.astype(np.float64))) * self.idf[term_of]  # sublinear tf-idf
        norms = np.sqrt(np.bincount(row_of, weights=weights * weights, minlength=tokenized.rows))
        weights /= norms[row_of]  # l2 per text
        contributions = self._weights[term_of] * weights[:, None]
        starts = np.flatnonzero(np.r_[True, row_of[1:] != row_of[:-1]])
        out[row_of[starts]] += np.add.reduceat(contributions, starts, axis=0)
        return out

    def _term_counts(self, tokenized: Tokenized, repeats: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The known terms of each text with their counts, as three arrays (row, term index, count): rows in
        order, each row's terms in the order they first occur (which fixes the order of the sums above).

        The whole batch was tokenized as one string (see `Tokenized`) and is counted with numpy: one dictionary
        lookup per token, instead of a Counter per text. A part repeated n times adds n to the count of each of
        its tokens and puts them where their first copy stands: the text's tokens in order are those of its
        parts in order, and no token spans the ". " between two parts."""
        if len(repeats) != tokenized.width:
            raise ValueError(f"{len(repeats)} repeats for texts of {tokenized.width} parts")
        if tokenized.tokens is None:  # a part holds a NUL itself: one text at a time
            return self._term_counts_each(tokenized.texts(repeats))
        tokens = tokenized.tokens
        if not tokens:
            return _NO_TERMS
        ids = np.fromiter(map(self._lookup.get, tokens, itertools.repeat(_UNKNOWN)), dtype=np.int64,
                          count=len(tokens))
        parts = np.cumsum(ids == _END)  # the part each token is in (rows one after the other)
        times = np.asarray(repeats, dtype=np.int64)[parts % tokenized.width]
        kept = (ids >= 0) & (times > 0)
        size = self._size
        rows, terms, counts = parts[kept] // tokenized.width, ids[kept], times[kept]
        # Where each occurrence stands in its text as scikit-learn's analyzer lists them: every word in order, then
        # every pair in order (four places per token: a pair across two parts sits between them).
        span = 4 * (len(tokens) + 1)
        places = 2 * rows * span + 4 * np.flatnonzero(kept)
        if self.ngrams == 2:
            pair_rows, pair_terms, pair_counts, pair_places = self._pairs(ids, parts, times, tokenized.width, span)
            rows, terms = np.r_[rows, pair_rows], np.r_[terms, pair_terms]
            counts, places = np.r_[counts, pair_counts], np.r_[places, pair_places]
        keys = rows * size + terms
        order = np.lexsort((places, keys))  # by term, then place: the first of a term is its first occurrence
        ordered = keys[order]
        if not len(ordered):
            return _NO_TERMS
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        summed = np.add.reduceat(counts[order], starts)
        by_first = np.argsort(places[order][starts], kind="stable")
        unique = ordered[starts][by_first]
        return unique // size, unique % size, summed[by_first]

    def _pairs(self, ids: np.ndarray, parts: np.ndarray, times: np.ndarray, width: int, span: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The known pairs of adjacent words of each text (row, pair's term index, count, place): the text being
        its parts each repeated, a pair is two neighbours inside a part, the last word of a part's copy and the
        first of the next copy, or the last of a part and the first of the next part read (empty parts and
        parts left out skipped), as in the text the parts make; places as `_term_counts` gives them."""
        # inside a part: two neighbouring tokens, neither a separator, in a part that is read
        inner = np.flatnonzero((ids[:-1] >= 0) & (ids[1:] >= 0) & (times[:-1] > 0))
        first_word, second_word = [ids[inner]], [ids[inner + 1]]
        pair_counts, pair_rows = [times[inner]], [parts[inner] // width]
        pair_places = [(2 * (parts[inner] // width) + 1) * span + 4 * inner]
        # across parts: each part's first and last token (known or not) and where the part ends
        is_token = ids != _END
        positions = np.flatnonzero(is_token)
        if len(positions):
            part_of = parts[positions]
            firsts = positions[np.r_[True, part_of[1:] != part_of[:-1]]]
            lasts = positions[np.r_[part_of[1:] != part_of[:-1], True]]
            part = parts[firsts]  # the parts that hold tokens, in order
            read = times[firsts] > 0
            firsts, lasts, part = firsts[read], lasts[read], part[read]
            repeat = times[firsts]
            row = part // width
            end = 4 * lasts + 1
            # a part read twice or more: its last word, then its first again
            again = repeat >= 2
            first_word.append(ids[lasts[again]])
            second_word.append(ids[firsts[again]])
            pair_counts.append(repeat[again] - 1)
            pair_rows.append(row[again])
            pair_places.append((2 * row[again] + 1) * span + end[again])
            # the last word of a part, then the first of the next part read in the same text
            follows = np.flatnonzero(row[1:] == row[:-1])
            first_word.append(ids[lasts[follows]])
            second_word.append(ids[firsts[follows + 1]])
            pair_counts.append(np.ones(len(follows), dtype=np.int64))
            pair_rows.append(row[follows])
            pair_places.append((2 * row[follows] + 1) * span + end[follows] + 1)
        a, b = np.concatenate(first_word), np.concatenate(second_word)
        pair_rows_all, pair_counts_all, pair_places_all = (np.concatenate(pair_rows), np.concatenate(pair_counts),
                                                           np.concatenate(pair_places))
        known = (a >= 0) & (b >= 0)
        keys = a[known] * self._size + b[known]
        found = np.searchsorted(self._pair_keys, keys)
        found[found == len(self._pair_keys)] = 0
        hit = self._pair_keys[found] == keys if len(self._pair_keys) else np.zeros(len(keys), dtype=bool)
        return (pair_rows_all[known][hit], self._pair_terms[found[hit]], pair_counts_all[known][hit],
                pair_places_all[known][hit])

    def _term_counts_each(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vocabulary = self.vocabulary
        rows: list[int] = []
        terms: list[int] = []
        counts: list[int] = []
        for row, text in enumerate(texts):
            for term, n in Counter(analyze(text, self.ngrams)).items():
                index = vocabulary.get(term)
                if index is not None:
                    rows.append(row)
                    terms.append(index)
                    counts.append(n)
        return (np.asarray(rows, dtype=np.int64), np.asarray(terms, dtype=np.int64),
                np.asarray(counts, dtype=np.int64))

    def save(self, target: Path | IO[bytes]) -> None:
        """The model's arrays; a model of word vectors keeps its coefficients and the digest of its word vectors
        (the vectors themselves are a file of their own, shared by every model built on them)."""
        arrays: dict[str, Any] = {
            "format": np.array(FORMAT), "vocabulary": np.array(self.terms, dtype=np.str_), "idf": self.idf,
            "coef": self.coef, "intercept": self.intercept, "classes": np.array(self.classes, dtype=np.str_),
            "digest": np.array(self.digest, dtype=np.str_)}
        if self.dense is not None and self.vectors is not None:
            arrays |= {"dense": self.dense, "vectors_digest": np.array(self.vectors.digest, dtype=np.str_)}
        np.savez_compressed(target, **arrays)

    @classmethod
    def load(cls, source: Path | IO[bytes], vectors: WordVectors | None = None) -> TextModel:
        """A saved model; one built on word vectors needs the same `vectors` it was trained with."""
        with np.load(source, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"model format {int(data['format'])} is not supported (expected {FORMAT})")
            dense = None
            if "dense" in data.files:
                wanted = str(data["vectors_digest"])
                if vectors is None or vectors.digest != wanted:
                    found = "none" if vectors is None else vectors.digest
                    raise ValueError(f"the model reads texts with word vectors {wanted}, and the word vectors "
                                     f"given are {found}; train it again with `ai-news train`")
                dense = data["dense"]
            return cls(data["vocabulary"].tolist(), data["idf"], data["coef"], data["intercept"],
                       [str(c) for c in data["classes"]], str(data["digest"]), dense,
                       vectors if dense is not None else None)


def train_text_model(texts: Sequence[str], labels: Sequence[str], c: float = 1.0,
                     kind: Literal["svm", "logistic"] = "svm", weights: Sequence[float] | None = None,
                     ngrams: Literal[1, 2] = 1, min_df: int = 1, vectors: WordVectors | None = None,
                     vector_weight: float = 0.5) -> TextModel:
    """Fit TF-IDF words (with `ngrams=2` also pairs of adjacent words) and a linear SVM (or logistic regression)
    with scikit-learn, each example counting with its weight (1 when not given), keeping the terms found in at least
    `min_df` texts; deterministic for the same data. With `vectors`, each text's word-vector mean, scaled by
    `vector_weight`, is a block of features beside the words."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, ngrams), min_df=min_df, sublinear_tf=True, strip_accents="unicode")
    features = vectorizer.fit_transform(texts)
    terms = features.shape[1]
    if vectors is not None:
        features = hstack([features, csr_matrix(vectors.embed(texts) * vector_weight)]).tocsr()
    model: LinearSVC | LogisticRegression = (
        LinearSVC(C=c, class_weight="balanced", random_state=0) if kind == "svm"
        else LogisticRegression(C=c, class_weight="balanced", max_iter=2000))
    model.fit(features, labels, sample_weight=None if weights is None else np.asarray(weights, dtype=float))
    vocabulary = vectorizer.get_feature_names_out()
    coef = model.coef_
    intercept = model.intercept_
    classes = [str(c) for c in model.classes_]
    if len(classes) == 2:  # a binary SVM keeps one row: the second class's; spell out both
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    dense = None if vectors is None else coef[:, terms:] * vector_weight
    return TextModel([str(t) for t in vocabulary], vectorizer.idf_, coef[:, :terms], intercept, classes,
                     data_digest(texts, labels, weights), dense, vectors)


VECTORS_FILE = "word-vectors.npz"


@functools.cache
def bundled_word_vectors() -> WordVectors:
    """The word vectors shipped with the package (bot/data/word-vectors.npz; read once per process: every topic model
    and the briefing's story matching share them)."""
    with (resources.files("bot") / "data" / VECTORS_FILE).open("rb") as handle:
        return WordVectors.load(handle)
