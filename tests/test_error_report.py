"""The error report: answer types given per gold type, and where first spans lie."""

from __future__ import annotations

import pytest

from contract.decode import Answer, Prediction
from contract.examples import AnswerSpan, AnswerType, QAExample
from model.error_report import error_report, format_error_report, placement

PASSAGE = "被告人张三于2019年5月在北京盗窃手机一部。"
GOLD = AnswerSpan("张三", 3)


def _answer(start: int, end: int) -> Answer:
    return Answer(PASSAGE[start:end], start, end, 0.9)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (3, 5, "exact"),
        (3, 7, "covers"),
        (0, 5, "covers"),
        (3, 4, "inside"),
        (4, 5, "inside"),
        (4, 8, "overlaps"),
        (2, 4, "overlaps"),
        (5, 9, "elsewhere"),
        (0, 3, "elsewhere"),
    ],
)
def test_placement_against_one_gold_span(start, end, expected) -> None:
    assert placement(_answer(start, end), [GOLD]) == expected


def test_placement_takes_the_best_over_gold_spans() -> None:
    other = AnswerSpan("2019年5月", 6)
    assert placement(_answer(6, 14), [GOLD, other]) == "covers"
    assert placement(_answer(6, 13), [GOLD, other]) == "exact"


def _example(kind: AnswerType, answers: tuple[AnswerSpan, ...] = ()) -> QAExample:
    reference = {
        AnswerType.SPAN: tuple(a.text for a in answers),
        AnswerType.YES: ("YES",),
        AnswerType.NO: ("NO",),
        AnswerType.NONE: ("",),
    }[kind]
    return QAExample(f"q-{kind}", "问题？", PASSAGE, answers, kind, (reference,))


def _prediction(kind: AnswerType, *answers: Answer) -> Prediction:
    return Prediction(kind, answers, {})


def test_report_counts_given_types_per_gold_type_and_first_span_placements() -> None:
    examples = [
        _example(AnswerType.SPAN, (GOLD,)),
        _example(AnswerType.SPAN, (GOLD,)),
        _example(AnswerType.SPAN, (GOLD,)),
        _example(AnswerType.NO),
        _example(AnswerType.NONE),
    ]
    predictions = [
        _prediction(AnswerType.SPAN, _answer(3, 7), _answer(3, 5)),  # first answer decides
        _prediction(AnswerType.SPAN),  # a span question decoded with no span: none
        _prediction(AnswerType.YES),
        _prediction(AnswerType.YES),
        _prediction(AnswerType.SPAN, _answer(0, 2)),
    ]
    report = error_report(examples, predictions)
    assert report["answer_types"] == {
        "span": {"span": 1, "yes": 1, "no": 0, "none": 1},
        "yes": {"span": 0, "yes": 0, "no": 0, "none": 0},
        "no": {"span": 0, "yes": 1, "no": 0, "none": 0},
        "none": {"span": 1, "yes": 0, "no": 0, "none": 0},
    }
    assert report["span_placement"] == {
        "exact": 0,
        "covers": 1,
        "inside": 0,
        "overlaps": 0,
        "elsewhere": 0,
    }
    assert format_error_report(report).splitlines() == [
        "| gold \\ given | span | yes | no | none |",
        "| --- | --- | --- | --- | --- |",
        "| span | 1 | 1 | 0 | 1 |",
        "| yes | 0 | 0 | 0 | 0 |",
        "| no | 0 | 1 | 0 | 0 |",
        "| none | 1 | 0 | 0 | 0 |",
        "",
        "| first span against the gold | exact | covers | inside | overlaps | elsewhere |",
        "| --- | --- | --- | --- | --- | --- |",
        "| span questions | 0 | 1 | 0 | 0 | 0 |",
    ]


def test_report_refuses_predictions_that_do_not_pair_with_the_examples() -> None:
    with pytest.raises(ValueError):
        error_report([_example(AnswerType.NONE)], [])
