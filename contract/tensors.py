"""Encoded windows to the named, padded arrays the model signature takes (and the names back).

Padding is the empty string for text inputs and 0.0 for features; lengths are rounded up to
a bucket so a served model sees few distinct shapes (each new shape costs a trace). Each row
also states its real lengths, so the served model ignores whatever padding a server adds when
it merges requests of different lengths (TF Serving's ``pad_variable_length_inputs`` pads with
the tensor's first value, not with ours).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contract.config import ContractConfig
from contract.encode import EncodedExample, EncodedQuestion, PassageWindow

PAD = ""
PASSAGE_CHARS = "passage_chars"
PASSAGE_WORDS = "passage_words"
QUESTION_CHARS = "question_chars"
QUESTION_WORDS = "question_words"
PASSAGE_MATCH = "passage_match"
PASSAGE_LENGTH = "passage_length"
QUESTION_LENGTH = "question_length"
TEXT_INPUTS = (PASSAGE_CHARS, PASSAGE_WORDS, QUESTION_CHARS, QUESTION_WORDS)
INPUT_NAMES = (*TEXT_INPUTS, PASSAGE_MATCH, PASSAGE_LENGTH, QUESTION_LENGTH)

BIO_PROBS = "bio_probs"
ANSWER_TYPE_PROBS = "answer_type_probs"
BOUNDARY_PROBS = "boundary_probs"
OUTPUT_NAMES = (BIO_PROBS, ANSWER_TYPE_PROBS)
"""Every model version has these; models trained with a boundary head add ``BOUNDARY_PROBS``."""

Row = tuple[EncodedQuestion, PassageWindow]


def bucketed(length: int, bucket: int, cap: int) -> int:
    """``length`` rounded up to a multiple of ``bucket``, at most ``cap`` (and at least 1)."""
    return min(cap, max(bucket, -(-length // bucket) * bucket))


def batch_inputs(rows: Sequence[Row], config: ContractConfig) -> dict[str, np.ndarray]:
    """Stack (question, window) rows into the model's named inputs."""
    if not rows:
        raise ValueError("no rows to batch")
    passage_len = bucketed(
        max(len(w.chars) for _, w in rows), config.passage_bucket, config.window_len
    )
    question_len = bucketed(
        max(len(q.chars) for q, _ in rows), config.question_bucket, config.max_question_len
    )
    batch = len(rows)
    arrays = {
        PASSAGE_CHARS: np.full((batch, passage_len), PAD, dtype=object),
        PASSAGE_WORDS: np.full((batch, passage_len), PAD, dtype=object),
        QUESTION_CHARS: np.full((batch, question_len), PAD, dtype=object),
        QUESTION_WORDS: np.full((batch, question_len), PAD, dtype=object),
        PASSAGE_MATCH: np.zeros((batch, passage_len, 2), dtype=np.float32),
        PASSAGE_LENGTH: np.zeros(batch, dtype=np.int32),
        QUESTION_LENGTH: np.zeros(batch, dtype=np.int32),
    }
    for row, (question, window) in enumerate(rows):
        n, m = len(window.chars), len(question.chars)
        arrays[PASSAGE_CHARS][row, :n] = window.chars
        arrays[PASSAGE_WORDS][row, :n] = window.words
        arrays[QUESTION_CHARS][row, :m] = question.chars
        arrays[QUESTION_WORDS][row, :m] = question.words
        if n:
            arrays[PASSAGE_MATCH][row, :n] = window.match
        arrays[PASSAGE_LENGTH][row] = n
        arrays[QUESTION_LENGTH][row] = m
    return arrays


def window_rows(encoded: Sequence[EncodedExample]) -> list[Row]:
    """Every (question, window) row of many examples, in order: what ``decode_rows`` expects."""
    return [(example.question, window) for example in encoded for window in example.windows]
