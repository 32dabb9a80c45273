"""Dev scoring with the decoder's thresholds chosen on the dev set.

``min_score`` and ``fallback_min_score`` are the decoding settings that depend on how the
trained model is calibrated: how sure an answer must be to be listed, and how sure a span
question's most probable span must be when nothing reaches ``min_score`` (below it, or with no
fallback, the question is unanswerable). Like the null-answer threshold of SQuAD 2.0 systems,
they are chosen where dev F1 is highest, and the run's contract carries them into the export.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contract.decode import Prediction, WindowOutputs, decode_rows, scoring_answer
from contract.encode import EncodedExample
from contract.examples import AnswerType, QAExample
from model.evaluate import evaluate

MIN_SCORE_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))
"""Thresholds tried when tuning: 0.05, 0.1, ..., 0.95 (low ones win on sets where every
question has an answer and the model is not yet confident)."""

Thresholds = tuple[float, float | None]
"""``(min_score, fallback_min_score)``; None: no fallback."""


def threshold_grid() -> list[Thresholds]:
    """The pairs tried when tuning: every grid ``min_score``, without a fallback and with a
    fallback floor of 0 or of any grid value up to it."""
    return [
        (min_score, floor)
        for min_score in MIN_SCORE_GRID
        for floor in (None, 0.0, *(value for value in MIN_SCORE_GRID if value <= min_score))
    ]


@dataclass(frozen=True)
class DevChoice:
    """The thresholds that scored best on dev, and their scores (``evaluate``'s dict)."""

    min_score: float
    fallback_min_score: float | None
    scores: dict[str, Any]


def score_dev(
    examples: Sequence[QAExample],
    encoded: Sequence[EncodedExample],
    outputs: WindowOutputs,
    *,
    top_k: int,
    metric: str,
    thresholds: Sequence[Thresholds],
) -> DevChoice:
    """The pair among ``thresholds`` with the highest dev F1; on ties the lowest ``min_score``
    and then the most cautious fallback. ``outputs`` are the window rows of ``encoded``. Each
    ``min_score`` is decoded twice (no fallback, fallback floor 0); every other floor only
    filters the second decoding's fallback answers."""
    if not thresholds:
        raise ValueError("no thresholds to try")
    multi_answer = any(len(reference) > 1 for e in examples for reference in e.references)
    floors_by_min_score: dict[float, list[float | None]] = defaultdict(list)
    for min_score, floor in thresholds:
        floors_by_min_score[min_score].append(floor)

    choices = []
    for min_score, floors in floors_by_min_score.items():
        strict = decode_rows(encoded, outputs, top_k=top_k, min_score=min_score)
        lenient = decode_rows(
            encoded, outputs, top_k=top_k, min_score=min_score, fallback_min_score=0.0
        )
        for floor in floors:
            predictions = [
                _with_floor(without, with_any, floor)
                for without, with_any in zip(strict, lenient, strict=True)
            ]
            answers = {
                example.id: scoring_answer(prediction, multi_answer)
                for example, prediction in zip(examples, predictions, strict=True)
            }
            choices.append(DevChoice(min_score, floor, evaluate(examples, answers, metric)))
    return max(
        choices,
        key=lambda c: (c.scores["f1"], -c.min_score, _caution(c.fallback_min_score)),
    )


def _with_floor(strict: Prediction, lenient: Prediction, floor: float | None) -> Prediction:
    """The prediction decoded with fallback floor ``floor``, from the same example decoded
    without a fallback and with floor 0: the fallback answer is whatever the second adds."""
    if floor is None or strict.answers or lenient.answer_type is not AnswerType.SPAN:
        return strict
    if lenient.answers and lenient.answers[0].score >= floor:
        return lenient
    return strict


def _caution(floor: float | None) -> float:
    """Higher for a fallback that answers less often (no fallback at all is the most)."""
    return 2.0 if floor is None else floor
