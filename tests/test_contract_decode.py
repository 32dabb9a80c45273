from __future__ import annotations

import math

import numpy as np
import pytest

from contract.config import ContractConfig
from contract.decode import (
    MAX_POINTED_SPAN,
    WindowOutputs,
    combine_type_probs,
    decode,
    most_probable_span,
    pointed_span,
    tag_spans,
    window_spans,
)
from contract.encode import Encoder, answer_positions, window_tags
from contract.examples import AnswerSpan, AnswerType
from contract.tensors import ANSWER_TYPE_PROBS, BIO_PROBS, BOUNDARY_PROBS

SPAN_TYPE = np.array([0.97, 0.01, 0.01, 0.01])


def probs(tags: list[int], confidence: float = 0.9) -> np.ndarray:
    rest = (1.0 - confidence) / 2
    out = np.full((len(tags), 3), rest)
    out[np.arange(len(tags)), tags] = confidence
    return out


def test_window_spans_and_geometric_mean_score() -> None:
    bio = probs([0, 1, 2, 2, 0, 1, 0, 2, 2, 1])
    bio[2] = [0.1, 0.2, 0.7]
    spans = window_spans(bio)
    assert [(a, b) for a, b, _ in spans] == [(1, 4), (5, 6), (7, 9), (9, 10)]
    assert spans[0][2] == pytest.approx(math.exp((math.log(0.9) * 2 + math.log(0.7)) / 3))
    assert spans[1][2] == pytest.approx(0.9)


def test_several_spans_decode_to_exact_original_offsets() -> None:
    passage = " 被告人Ｚｈａｎｇ Ｓａｎ与被告人李四😀共同盗窃。\r\n"
    answers = [AnswerSpan("Ｚｈａｎｇ Ｓａｎ", 4), AnswerSpan("李四😀", passage.index("李四"))]
    example = Encoder().encode("被告人有哪些？", passage)
    tags = [window_tags(w, answer_positions(example.passage, answers)) for w in example.windows]
    prediction = decode(
        example, WindowOutputs([probs(t) for t in tags], [SPAN_TYPE]), top_k=5, min_score=0.5
    )
    assert prediction.answer_type is AnswerType.SPAN
    found = sorted((a.start, a.end, a.text) for a in prediction.answers)
    assert found == sorted((a.start, a.end, a.text) for a in answers)
    for answer in prediction.answers:
        assert passage[answer.start : answer.end] == answer.text


def test_spans_seen_in_overlapping_windows_are_merged() -> None:
    passage = "甲" * 10 + "张三" + "乙" * 10
    encoder = Encoder(ContractConfig(window_len=16, window_stride=6))
    example = encoder.encode("谁？", passage)
    (span,) = answer_positions(example.passage, [AnswerSpan("张三", 10)])
    tags = [window_tags(w, [span]) for w in example.windows]
    assert sum(1 in t for t in tags) == 2  # both windows hold the answer
    bio = [probs(t, 0.8 + 0.1 * i) for i, t in enumerate(tags)]
    prediction = decode(example, WindowOutputs(bio, [SPAN_TYPE] * 2), top_k=5, min_score=0.0)
    assert [(a.text, a.start) for a in prediction.answers] == [("张三", 10)]
    assert prediction.answers[0].score == pytest.approx(0.9)


def test_overlapping_rivals_keep_the_best_and_top_k_and_threshold_apply() -> None:
    example = Encoder().encode("谁？", "甲乙丙丁戊己庚辛")
    bio = probs([1, 2, 2, 0, 1, 0, 1, 0])
    bio[4] = [0.3, 0.6, 0.1]
    prediction = decode(example, WindowOutputs([bio], [SPAN_TYPE]), top_k=2, min_score=0.0)
    assert [a.text for a in prediction.answers] == ["甲乙丙", "庚"]
    prediction = decode(example, WindowOutputs([bio], [SPAN_TYPE]), top_k=5, min_score=0.7)
    assert [a.text for a in prediction.answers] == ["甲乙丙", "庚"]
    prediction = decode(example, WindowOutputs([bio], [SPAN_TYPE]), top_k=5, min_score=0.5)
    assert [a.text for a in prediction.answers] == ["甲乙丙", "庚", "戊"]


@pytest.mark.parametrize(
    ("type_probs", "expected"),
    [
        ([0.1, 0.8, 0.05, 0.05], AnswerType.YES),
        ([0.1, 0.05, 0.8, 0.05], AnswerType.NO),
        ([0.1, 0.05, 0.05, 0.8], AnswerType.NONE),
    ],
)
def test_non_span_types_return_no_answers(type_probs: list[float], expected) -> None:
    example = Encoder().encode("是否？", "甲乙丙")
    prediction = decode(
        example, WindowOutputs([probs([1, 2, 0])], [np.array(type_probs)]), top_k=5, min_score=0
    )
    assert prediction.answer_type is expected
    assert prediction.answers == ()
    assert prediction.type_probs[expected.value] == pytest.approx(0.8)


def test_span_type_without_confident_spans_is_none_without_a_fallback() -> None:
    example = Encoder().encode("谁？", "甲乙丙")
    prediction = decode(
        example, WindowOutputs([probs([1, 2, 0], 0.4)], [SPAN_TYPE]), top_k=5, min_score=0.5
    )
    assert prediction.answer_type is AnswerType.NONE
    assert prediction.answers == ()


def test_the_fallback_gives_the_most_probable_span_above_its_floor() -> None:
    example = Encoder().encode("谁？", "甲乙丙丁")
    bio = probs([0, 1, 2, 0], 0.4)
    bio[0] = [0.5, 0.4, 0.1]  # a B nearly as likely as O, but it would lower the ratio

    def decoded(floor: float):
        return decode(
            example,
            WindowOutputs([bio], [SPAN_TYPE]),
            top_k=5,
            min_score=0.5,
            fallback_min_score=floor,
        )

    prediction = decoded(0.4)
    assert prediction.answer_type is AnswerType.SPAN
    (answer,) = prediction.answers
    assert (answer.text, answer.start, answer.end) == ("乙丙", 1, 3)
    assert answer.score == pytest.approx(0.4)
    assert decoded(0.45).answer_type is AnswerType.NONE and decoded(0.45).answers == ()


def test_most_probable_span_maximises_the_likelihood_ratio_against_all_o() -> None:
    bio = np.array(
        [[0.8, 0.1, 0.1], [0.4, 0.35, 0.25], [0.3, 0.1, 0.6], [0.4, 0.1, 0.5], [0.9, 0.05, 0.05]]
    )
    first, last, ratio, score = most_probable_span(bio)

    def log_ratio(s: int, e: int) -> float:
        tags = [1] + [2] * (e - s - 1)
        return sum(math.log(bio[s + k, t] / bio[s + k, 0]) for k, t in enumerate(tags))

    spans = [(s, e) for s in range(5) for e in range(s + 1, 6)]
    assert (first, last) == max(spans, key=lambda span: log_ratio(*span)) == (1, 4)
    assert ratio == pytest.approx(log_ratio(1, 4))
    assert score == pytest.approx((0.35 * 0.6 * 0.5) ** (1 / 3))


def test_a_passage_without_characters_is_none() -> None:
    example = Encoder().encode("谁？", "   ")
    outputs = WindowOutputs([np.zeros((0, 3))], [SPAN_TYPE])
    prediction = decode(example, outputs, top_k=5, min_score=0.5, fallback_min_score=0.0)
    assert prediction.answer_type is AnswerType.NONE
    assert prediction.answers == ()


def test_window_type_probabilities_combine_max_mean_min() -> None:
    per_window = np.array([[0.9, 0.0, 0.0, 0.1], [0.1, 0.2, 0.0, 0.7]])
    raw = np.array([0.9, 0.1, 0.0, 0.1])
    assert combine_type_probs(per_window) == pytest.approx(raw / raw.sum())


def test_decode_checks_the_number_of_windows() -> None:
    example = Encoder().encode("谁？", "甲乙丙")
    with pytest.raises(ValueError, match="expected outputs for 1 windows, got 2 BIO"):
        decode(example, WindowOutputs([probs([0, 0, 0])] * 2, [SPAN_TYPE]), top_k=1, min_score=0)


def test_padded_rows_are_ignored() -> None:
    example = Encoder().encode("谁？", "甲乙丙")
    padded = probs([0, 1, 2, 1, 2, 2])  # positions 3.. are padding
    prediction = decode(example, WindowOutputs([padded], [SPAN_TYPE]), top_k=5, min_score=0)
    assert [a.text for a in prediction.answers] == ["乙丙"]


def _boundary(starts: list[float], ends: list[float]) -> np.ndarray:
    """Boundary rows [n, 2]: where answers start, and where they end."""
    return np.stack([starts, ends], axis=-1)


def test_boundary_head_places_each_tag_span_end_within_the_span() -> None:
    bio = probs([0, 1, 2, 2, 2, 0, 1, 0])
    ends = _boundary([1 / 8] * 8, [0.0, 0.05, 0.6, 0.1, 0.05, 0.1, 0.1, 0.0])
    spans = tag_spans(bio, ends)
    # [1, 5) is cut after position 2, where the head expects the end; [6, 7) cannot move;
    # the end mass outside a span (position 5) does not extend it.
    assert [(a, b) for a, b, _ in spans] == [(1, 3), (6, 7)]
    assert spans[0][2] == pytest.approx(0.9)
    assert [(a, b) for a, b, _ in tag_spans(bio)] == [(1, 5), (6, 7)]
    assert window_spans(bio) == tag_spans(bio)


def test_pointed_span_has_the_most_probable_start_and_end_in_order_and_in_reach() -> None:
    outside = probs([0] * 6)
    starts = [0.05, 0.05, 0.5, 0.05, 0.05, 0.3]
    assert pointed_span(outside, _boundary(starts, [0.1, 0.1, 0.1, 0.6, 0.05, 0.05])) == (2, 4)
    # The likeliest end lies before the likeliest start: the best ordered pair wins.
    assert pointed_span(outside, _boundary(starts, [0.7, 0.05, 0.05, 0.05, 0.1, 0.05])) == (2, 5)
    far = np.full((MAX_POINTED_SPAN + 10, 2), 0.001)
    far[0, 0], far[MAX_POINTED_SPAN + 5, 1], far[MAX_POINTED_SPAN - 1, 1] = 0.9, 0.9, 0.05
    assert pointed_span(probs([0] * len(far)), far) == (0, MAX_POINTED_SPAN)
    assert pointed_span(probs([1]), _boundary([1.0], [1.0])) == (0, 1)


def test_pointed_span_stops_before_the_next_answer_the_tags_begin() -> None:
    # Two answers, [1, 3) and [4, 6): the start of the first and the end of the second are
    # the likeliest pair, but the tags begin the second answer at 4.
    bio = probs([0, 1, 2, 0, 1, 2, 0])
    boundary = _boundary([0, 0.6, 0, 0, 0.4, 0, 0], [0, 0, 0.4, 0, 0, 0.6, 0])
    assert pointed_span(bio, boundary) == (1, 3)
    assert [(a, b) for a, b, _ in window_spans(bio, boundary)] == [(1, 3), (4, 6)]
    # A B at the pointed start itself does not limit it.
    assert pointed_span(probs([1, 2, 2]), _boundary([1, 0, 0], [0, 0, 1])) == (0, 3)


def test_window_spans_put_the_pointed_span_first_and_keep_other_tag_spans_below_it() -> None:
    bio = probs([0, 1, 2, 2, 0, 0, 1, 2, 0])
    bio[7] = [0.02, 0.03, 0.95]
    boundary = _boundary(
        [0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.9, 0.05, 0.0],
        [0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.7, 0.0],
    )
    spans = window_spans(bio, boundary)
    # The head points at [6, 8) though the tags rate [1, 4) as high; [1, 4) follows, its end
    # placed at 4 and its score capped at the pointed span's.
    assert [(a, b) for a, b, _ in spans] == [(6, 8), (1, 4)]
    pointed = math.sqrt(0.9 * 0.95)
    assert spans[0][2] == pytest.approx(pointed)
    assert spans[1][2] == pytest.approx(min(0.9, pointed))
    # A pointed span starting where the tags see the middle of an answer scores low (its
    # first character is rarely B), and the tag span it overlaps is dropped.
    bio = probs([0, 1, 2, 2, 2, 0])
    spans = window_spans(bio, _boundary([0.1, 0, 0.9, 0, 0, 0], [0, 0.1, 0, 0.9, 0, 0]))
    assert [(a, b) for a, b, _ in spans] == [(2, 4)]
    assert spans[0][2] == pytest.approx(math.sqrt(0.05 * 0.9))
    assert window_spans(np.zeros((0, 3)), np.zeros((0, 2))) == []


def test_decode_uses_the_boundary_rows_for_spans_and_the_fallback() -> None:
    example = Encoder().encode("谁？", "被告人李四某甲")
    bio = probs([0, 0, 0, 1, 2, 2, 2])
    boundary = [_boundary([0.0, 0.0, 0.0, 0.8, 0.1, 0.1, 0.0], [0.0, 0.0, 0.0, 0.1, 0.7, 0.1, 0.1])]
    outputs = WindowOutputs([bio], [SPAN_TYPE], boundary)
    found = decode(example, outputs, top_k=5, min_score=0.5)
    assert [(a.text, a.start, a.end) for a in found.answers] == [("李四", 3, 5)]
    weak = WindowOutputs([probs([0, 0, 0, 1, 2, 2, 2], 0.4)], [SPAN_TYPE], boundary)
    fallback = decode(example, weak, top_k=5, min_score=0.5, fallback_min_score=0.0)
    assert [a.text for a in fallback.answers] == ["李四"]
    with pytest.raises(ValueError, match="got 1 BIO and 1 answer-type rows and 2 boundary rows"):
        decode(example, WindowOutputs([bio], [SPAN_TYPE], boundary * 2), top_k=5, min_score=0)


def test_window_outputs_collect_named_batches_and_cut_rows() -> None:
    outputs = WindowOutputs()
    for rows in (2, 1):
        outputs.add(
            {BIO_PROBS: np.zeros((rows, 4, 3)), ANSWER_TYPE_PROBS: np.zeros((rows, 4))}, rows
        )
    assert len(outputs) == 3
    assert outputs.boundary is None
    assert outputs.rows(1, 2).bio == outputs.bio[1:3]

    with_head = WindowOutputs()
    for rows in (2, 1):
        with_head.add(
            {
                BIO_PROBS: np.zeros((rows, 4, 3)),
                ANSWER_TYPE_PROBS: np.zeros((rows, 4)),
                BOUNDARY_PROBS: np.full((rows, 4, 2), rows),
            },
            rows,
        )
    cut = with_head.rows(1, 2)
    assert [float(b[0, 0]) for b in cut.boundary] == [2.0, 1.0]

    short = {BIO_PROBS: np.zeros((2, 4, 3)), ANSWER_TYPE_PROBS: np.zeros((1, 4))}
    with pytest.raises(ValueError, match=r"bio_probs and answer_type_probs for 2 rows, got "):
        outputs.add(short, 2)
    with pytest.raises(ValueError, match=r"'boundary_probs': \[3, 4, 2\]"):
        outputs.add(
            {**short, ANSWER_TYPE_PROBS: np.zeros((2, 4)), BOUNDARY_PROBS: np.zeros((3, 4, 2))}, 2
        )
    with pytest.raises(ValueError, match=r"got \{'bio_probs': \[2, 4, 3\]\}"):
        outputs.add({BIO_PROBS: np.zeros((2, 4, 3))}, 2)
    assert len(outputs) == 3  # nothing appended by a refused call
