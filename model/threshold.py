"""Dev scoring with the decoder's ``min_score`` chosen on the dev set.

``min_score`` is the one decoding setting that depends on how the trained model is
calibrated: below it, fragments and extra answers are dropped (a span question keeps its most
probable span). Like the null-answer threshold of SQuAD 2.0 systems, it is chosen where dev F1
is highest, and the run's contract carries that value into the export.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contract.decode import decode_rows, scoring_answer
from contract.encode import EncodedExample
from contract.examples import QAExample
from model.evaluate import evaluate

MIN_SCORE_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))
"""Thresholds tried when tuning: 0.05, 0.1, ..., 0.95 (low ones win on sets where every
question has an answer and the model is not yet confident)."""


def score_dev(
    examples: Sequence[QAExample],
    encoded: Sequence[EncodedExample],
    outputs: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
    *,
    top_k: int,
    metric: str,
    min_scores: Sequence[float],
) -> tuple[float, dict[str, Any]]:
    """The ``min_score`` among ``min_scores`` with the highest dev F1 (the lowest on ties),
    and the scores it gets. ``outputs`` are the BIO and answer-type rows of ``encoded``."""
    if not min_scores:
        raise ValueError("no min_score to try")
    multi_answer = any(len(reference) > 1 for e in examples for reference in e.references)
    bio, types = outputs

    def scored_at(min_score: float) -> tuple[float, dict[str, Any]]:
        predictions = decode_rows(encoded, bio, types, top_k=top_k, min_score=min_score)
        answers = {
            example.id: scoring_answer(prediction, multi_answer)
            for example, prediction in zip(examples, predictions, strict=True)
        }
        return min_score, evaluate(examples, answers, metric)

    return max(map(scored_at, min_scores), key=lambda scored: (scored[1]["f1"], -scored[0]))
