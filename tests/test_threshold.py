"""Choosing the decoder's min_score on dev data."""

from __future__ import annotations

import numpy as np
import pytest

from contract.encode import Encoder
from contract.examples import AnswerSpan, AnswerType, QAExample
from model.threshold import MIN_SCORE_GRID, score_dev

PASSAGE = "被告人张三，男，汉族。证人李四作证。"
SPAN_TYPE = np.array([0.97, 0.01, 0.01, 0.01])
NONE_TYPE = np.array([0.01, 0.01, 0.01, 0.97])


def bio_rows(length: int, spans: list[tuple[int, int, float]]) -> np.ndarray:
    """O everywhere (0.99) except the given (first, last_exclusive, confidence) spans."""
    rows = np.tile([0.99, 0.005, 0.005], (length, 1))
    for first, last, confidence in spans:
        rest = (1 - confidence) / 2
        rows[first] = [rest, confidence, rest]
        rows[first + 1 : last] = [rest, rest, confidence]
    return rows


def span_question(qid: str, question: str, texts: list[str]) -> QAExample:
    answers = tuple(AnswerSpan(text, PASSAGE.index(text)) for text in texts)
    return QAExample(qid, question, PASSAGE, answers, AnswerType.SPAN, (tuple(texts),))


def dev_set(
    examples: list[QAExample],
    bio: list[np.ndarray],
    metric: str,
    grid=MIN_SCORE_GRID,
    answer_type: np.ndarray = SPAN_TYPE,
):
    encoded = [Encoder().encode(e.question, e.passage) for e in examples]
    outputs = (bio, [answer_type] * len(examples))
    return score_dev(examples, encoded, outputs, top_k=5, metric=metric, min_scores=grid)


NAME, WITNESS = PASSAGE.index("张三"), PASSAGE.index("李四")


def test_single_answer_questions_keep_the_lowest_threshold_that_scores_best() -> None:
    # the best span is the answer whatever the threshold below its score
    bio = bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.6)])
    min_score, scores = dev_set([span_question("q", "被告人是谁？", ["张三"])], [bio], "cmrc")
    assert (min_score, scores["em"], scores["f1"]) == (0.05, 100.0, 100.0)


def test_the_threshold_that_drops_the_weak_fragment_wins() -> None:
    # with a multi-answer question in the set, every span above the threshold is an answer:
    # the 0.6 fragment must go while the 0.8 second answer stays
    single = span_question("q1", "被告人是谁？", ["张三"])
    multi = span_question("q2", "本案涉及哪些人？", ["张三", "李四"])
    bio = [
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.6)]),
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.8)]),
    ]
    min_score, scores = dev_set([single, multi], bio, "cmrc")
    assert (min_score, scores["em"]) == (0.65, 100.0)
    fixed, scores = dev_set([single, multi], bio, "cmrc", grid=(0.5,))
    assert (fixed, scores["em"]) == (0.5, 50.0)


def test_unanswerable_is_the_type_heads_call_not_the_thresholds() -> None:
    # a span question always gets its most probable span, however weak; "none" must come from
    # the answer-type head
    none = QAExample("q", "被告人住在哪里？", PASSAGE, (), AnswerType.NONE, (("",),))
    bio = [bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.72)])]
    assert dev_set([none], bio, "cjrc")[1]["f1"] == 0.0
    min_score, scores = dev_set([none], bio, "cjrc", answer_type=NONE_TYPE)
    assert (min_score, scores["f1"]) == (0.05, 100.0)


def test_a_weak_only_answer_is_kept_above_the_threshold() -> None:
    single = span_question("q", "证人是谁？", ["李四"])
    bio = [bio_rows(len(PASSAGE), [(WITNESS, WITNESS + 2, 0.4)])]
    min_score, scores = dev_set([single], bio, "cmrc", grid=(0.9,))
    assert (min_score, scores["em"]) == (0.9, 100.0)


def test_no_threshold_to_try_is_an_error() -> None:
    with pytest.raises(ValueError, match="no min_score to try"):
        score_dev([], [], ([], []), top_k=5, metric="cmrc", min_scores=())
