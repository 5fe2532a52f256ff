"""Build bot/data/word-vectors.npz: a small dense vector for every word of the bundled labeled data.

The topic model reads a text's meaning as the weighted mean of its words' vectors (see bot/textmodel.py). The
vectors come from a sentence-embedding model run once per word, here, at build time; classifying needs numpy alone.

    pip install -e '.[vectors]'      # sentence-transformers (with PyTorch; the CPU build is enough)
    python scripts/build_word_vectors.py [--model NAME_OR_PATH] [--out bot/data/word-vectors.npz]
    ai-news train                    # the topic model is fitted on the vectors it is shipped with

Words are the topic model's tokens found in at least `--min-items` items of the bundled topic and about-AI data
(titles and summaries); each word's vector is the model's embedding of the word alone, reduced to `--dims`
dimensions by PCA over the vocabulary and scaled to unit length; its weight is its smoothed inverse document
frequency over those items, so rare words count more in a mean than common ones.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bot.classify import bundled_examples
from bot.relevance import bundled_relevance_examples
from bot.textmodel import VECTORS_FILE, WordVectors, analyze

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def vocabulary(texts: list[str], min_items: int) -> tuple[list[str], np.ndarray]:
    """The words in at least `min_items` texts, sorted, and their smoothed idf weights."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(analyze(text)))
    words = sorted(word for word, count in counts.items() if count >= min_items)
    total = len(texts)
    weights = np.array([math.log((1 + total) / (1 + counts[word])) + 1 for word in words])
    return words, weights


def reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    """PCA to `dims` dimensions, each row scaled to unit length (signs fixed: each axis's largest loading is
    positive, so the same input gives the same file)."""
    centered = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centered, full_matrices=False)
    axes = axes[:dims]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    reduced = centered @ axes.T
    return reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"a sentence-transformers model name or folder (default {DEFAULT_MODEL})")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "bot" / "data" / VECTORS_FILE)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--min-items", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers is not installed: pip install -e '.[vectors]'", file=sys.stderr)
        return 2
    texts = [f"{e.title} {e.summary}" for e in bundled_examples()]
    texts += [f"{e.title} {e.summary}" for e in bundled_relevance_examples()]
    words, weights = vocabulary(texts, args.min_items)
    model = SentenceTransformer(args.model, device="cpu")
    embedded = model.encode(words, batch_size=256, normalize_embeddings=True, show_progress_bar=False)
    vectors = WordVectors(words, reduce(np.asarray(embedded, dtype=np.float64), args.dims), weights)
    vectors.save(args.out)
    print(f"{len(words)} words from {len(texts)} items, {args.dims} dimensions from {args.model}; "
          f"digest {vectors.digest}; saved to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
