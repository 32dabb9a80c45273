"""Word vectors for the word embedding: trained with gensim word2vec, or loaded from a file.

Out-of-vocabulary handling (a vocabulary word the vectors lack): the mean of the vectors of
its characters when the vectors have any of them (the public Chinese-Word-Vectors files
include single characters), else a small random vector drawn from a seeded generator. The
padding and unknown rows are zeros.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors, Word2Vec

from contract.vocab import FIRST_TOKEN_ID, Vocabulary

log = logging.getLogger(__name__)


def _stable_hash(text: str) -> int:
    """gensim's default hash is Python's salted ``hash``; this keeps runs reproducible."""
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(
    sentences: Sequence[Sequence[str]], dim: int, seed: int, epochs: int = 5
) -> KeyedVectors:
    """Skip-gram word2vec on tokenised sentences, single worker so the result is repeatable."""
    model = Word2Vec(
        sentences=[list(s) for s in sentences],
        vector_size=dim,
        window=5,
        min_count=1,
        sg=1,
        workers=1,
        seed=seed,
        epochs=epochs,
        hashfxn=_stable_hash,
    )
    log.info("word2vec: %d words, %d dimensions", len(model.wv), dim)
    return model.wv


def load_vectors(path: str | Path) -> KeyedVectors:
    """word2vec text (.txt/.vec, optionally .gz/.bz2), word2vec binary (.bin) or a gensim
    KeyedVectors file (anything else)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"word vectors not found: {path}")
    suffixes = [s for s in path.suffixes if s not in (".gz", ".bz2")]
    last = suffixes[-1] if suffixes else ""
    if last in (".txt", ".vec", ".bin"):
        vectors = KeyedVectors.load_word2vec_format(
            str(path), binary=last == ".bin", unicode_errors="ignore"
        )
    else:
        vectors = KeyedVectors.load(str(path))
    log.info(
        "loaded %d word vectors of %d dimensions from %s", len(vectors), vectors.vector_size, path
    )
    return vectors


def unit_mean_norm(vectors: KeyedVectors) -> KeyedVectors:
    """The vectors scaled by one factor so their rows' mean length is 1, keeping the relative
    lengths. Published vectors are often far longer (mean length 27.6 in a 100-dimension
    Wikipedia word2vec, against 1.3 for those trained here), and the projection that mixes them
    with the character embedding is initialised for inputs of about unit size."""
    if not len(vectors):
        return vectors
    scale = float(np.linalg.norm(vectors.vectors, axis=1).mean())
    scaled = KeyedVectors(vectors.vector_size)
    scaled.add_vectors(list(vectors.index_to_key), vectors.vectors / max(scale, 1e-12))
    log.info("word vectors scaled by 1/%.3f to a mean length of 1", scale)
    return scaled


def restrict_vectors(vectors: KeyedVectors, needed: Iterable[str]) -> KeyedVectors:
    """Only the ``needed`` words the vectors have, so the rest of a large file can be freed."""
    wanted = [w for w in dict.fromkeys(needed) if w in vectors.key_to_index]
    subset = KeyedVectors(vectors.vector_size)
    if wanted:
        subset.add_vectors(wanted, np.stack([vectors[w] for w in wanted]))
    return subset


def words_beyond(vocab: Vocabulary, vectors: KeyedVectors, count: int) -> list[str]:
    """The first ``count`` words of the vectors (word2vec files list the most frequent first)
    that ``vocab`` lacks: with frozen vectors, words never seen in training still mean
    something at prediction time instead of all becoming the unknown id."""
    known = set(vocab.tokens)
    extra: list[str] = []
    for word in vectors.index_to_key:
        if len(extra) >= count:
            break
        if word and word not in known and not any(c.isspace() for c in word):
            extra.append(word)
    return extra


def embedding_matrix(
    vocab: Vocabulary, vectors: KeyedVectors, seed: int
) -> tuple[np.ndarray, dict[str, int]]:
    """[len(vocab), dim] float32 matrix for the word embedding, and how rows were filled."""
    dim = vectors.vector_size
    rng = np.random.default_rng(seed)
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    scale = float(np.std(vectors.vectors)) if len(vectors) else 0.1
    counts = {"found": 0, "from_chars": 0, "random": 0}
    for row, word in enumerate(vocab.tokens, start=FIRST_TOKEN_ID):
        if word in vectors.key_to_index:
            matrix[row] = vectors[word]
            counts["found"] += 1
            continue
        chars = [c for c in word if c in vectors.key_to_index]
        if chars:
            matrix[row] = np.mean([vectors[c] for c in chars], axis=0)
            counts["from_chars"] += 1
        else:
            matrix[row] = rng.normal(0.0, scale, dim)
            counts["random"] += 1
    log.info("word embedding rows: %s", counts)
    return matrix, counts
