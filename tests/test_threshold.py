"""Choosing the decoder's thresholds on dev data."""

from __future__ import annotations

import numpy as np
import pytest

from contract.decode import WindowOutputs, decode_rows, scoring_answer
from contract.encode import Encoder
from contract.examples import AnswerSpan, AnswerType, QAExample
from model.evaluate import evaluate
from model.threshold import MIN_SCORE_GRID, DevChoice, score_dev, threshold_grid

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
    thresholds=None,
    answer_type: np.ndarray = SPAN_TYPE,
) -> DevChoice:
    encoded = [Encoder().encode(e.question, e.passage) for e in examples]
    outputs = WindowOutputs(bio, [answer_type] * len(examples))
    thresholds = threshold_grid() if thresholds is None else thresholds
    return score_dev(examples, encoded, outputs, top_k=5, metric=metric, thresholds=thresholds)


NAME, WITNESS = PASSAGE.index("张三"), PASSAGE.index("李四")


def test_the_grid_pairs_every_min_score_with_no_fallback_and_lower_floors() -> None:
    grid = threshold_grid()
    assert (0.05, None) in grid and (0.05, 0.0) in grid and (0.05, 0.05) in grid
    assert (0.5, 0.5) in grid and (0.5, 0.55) not in grid
    assert len(grid) == sum(2 + i for i in range(1, len(MIN_SCORE_GRID) + 1))


def test_single_answer_questions_keep_the_lowest_threshold_that_scores_best() -> None:
    # the best span is the answer whatever the threshold below its score
    bio = bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.6)])
    choice = dev_set([span_question("q", "被告人是谁？", ["张三"])], [bio], "cmrc")
    assert (choice.min_score, choice.fallback_min_score) == (0.05, None)
    assert (choice.scores["em"], choice.scores["f1"]) == (100.0, 100.0)


def test_the_threshold_that_drops_the_weak_fragment_wins() -> None:
    # with a multi-answer question in the set, every span above the threshold is an answer:
    # the 0.6 fragment must go while the 0.8 second answer stays
    single = span_question("q1", "被告人是谁？", ["张三"])
    multi = span_question("q2", "本案涉及哪些人？", ["张三", "李四"])
    bio = [
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.6)]),
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.8)]),
    ]
    choice = dev_set([single, multi], bio, "cmrc")
    assert (choice.min_score, choice.scores["em"]) == (0.65, 100.0)
    fixed = dev_set([single, multi], bio, "cmrc", [(0.5, None)])
    assert (fixed.min_score, fixed.scores["em"]) == (0.5, 50.0)


def test_a_weak_only_answer_needs_the_fallback_and_its_floor_is_the_highest_that_keeps_it() -> None:
    # the fragment forces min_score above 0.6, so the 0.4 answer of the third question is only
    # given by the fallback; any floor up to 0.4 keeps it, the most cautious one is chosen
    single = span_question("q1", "被告人是谁？", ["张三"])
    multi = span_question("q2", "本案涉及哪些人？", ["张三", "李四"])
    weak = span_question("q3", "证人是谁？", ["李四"])
    bio = [
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.6)]),
        bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.9), (WITNESS, WITNESS + 2, 0.8)]),
        bio_rows(len(PASSAGE), [(WITNESS, WITNESS + 2, 0.4)]),
    ]
    choice = dev_set([single, multi, weak], bio, "cmrc")
    assert (choice.min_score, choice.fallback_min_score, choice.scores["em"]) == (0.65, 0.4, 100.0)
    strict = dev_set([single, multi, weak], bio, "cmrc", [(0.65, None)])
    assert strict.scores["em"] == pytest.approx(200 / 3)


def test_an_unanswerable_question_is_won_by_a_threshold_above_its_best_span() -> None:
    none = QAExample("q", "被告人住在哪里？", PASSAGE, (), AnswerType.NONE, (("",),))
    bio = [bio_rows(len(PASSAGE), [(NAME, NAME + 2, 0.72)])]
    choice = dev_set([none], bio, "cjrc")
    assert (choice.min_score, choice.fallback_min_score, choice.scores["f1"]) == (0.75, None, 100)
    assert dev_set([none], bio, "cjrc", [(0.5, None)]).scores["f1"] == 0.0
    # with a fallback floor below its score the span comes back
    assert dev_set([none], bio, "cjrc", [(0.75, 0.7)]).scores["f1"] == 0.0
    # the answer-type head saying "none" wins whatever the thresholds
    said_none = dev_set([none], bio, "cjrc", [(0.05, 0.0)], answer_type=NONE_TYPE)
    assert said_none.scores["f1"] == 100.0


def test_each_pair_scores_what_decoding_with_it_scores() -> None:
    # score_dev decodes each min_score twice and derives the other floors; check that against
    # decoding with every pair directly, on noisy outputs
    rng = np.random.default_rng(0)
    examples = [
        span_question("q1", "被告人是谁？", ["张三"]),
        span_question("q2", "本案涉及哪些人？", ["张三", "李四"]),
        span_question("q3", "证人是谁？", ["李四"]),
        QAExample("q4", "被告人住在哪里？", PASSAGE, (), AnswerType.NONE, (("",),)),
    ]
    encoded = [Encoder().encode(e.question, e.passage) for e in examples]
    bio = [rng.dirichlet([3.0, 1.0, 1.0], size=len(PASSAGE)) for _ in examples]
    types = [rng.dirichlet([4.0, 1.0, 1.0, 2.0]) for _ in examples]
    for pair in threshold_grid()[::7]:
        outputs = WindowOutputs(bio, types)
        choice = score_dev(examples, encoded, outputs, top_k=5, metric="cmrc", thresholds=[pair])
        predictions = decode_rows(
            encoded, outputs, top_k=5, min_score=pair[0], fallback_min_score=pair[1]
        )
        pairs = zip(examples, predictions, strict=True)
        answers = {example.id: scoring_answer(p, True) for example, p in pairs}
        assert choice.scores == evaluate(examples, answers, "cmrc"), pair


def test_no_threshold_to_try_is_an_error() -> None:
    with pytest.raises(ValueError, match="no thresholds to try"):
        score_dev([], [], WindowOutputs(), top_k=5, metric="cmrc", thresholds=())
